package dlqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/queue"
	"github.com/logstream/logstream/shared/stream"
)

type fakeSQS struct {
	sent []types.SendMessageBatchRequestEntry
}

func (f *fakeSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.sent = append(f.sent, in.Entries...)
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

// A redrive sends its events as ingestion does: packed, and compressed
// where that makes a message smaller; the delivery function reads either.
func TestRedriveSendsAsIngestionDoes(t *testing.T) {
	for _, tc := range []struct {
		name           string
		events         int
		wantCompressed bool
	}{
		{"many events, compressed", 200, true},
		{"one small event, plain", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var evs []json.RawMessage
			for i := range tc.events {
				evs = append(evs, json.RawMessage(fmt.Sprintf(`{"event_id":"e%03d","type":"user.session.start"}`, i)))
			}
			c := &fakeSQS{}
			r := &Redriver{Publisher: &queue.Publisher{Client: c}, QueueURLs: map[string]string{"http": "q-http"}}
			s := stream.Stream{ProjectID: "proj_a", ID: "str_1", DestinationType: "http"}
			if err := r.Redrive(context.Background(), s, evs); err != nil {
				t.Fatal(err)
			}
			if len(c.sent) != 1 {
				t.Fatalf("%d messages sent", len(c.sent))
			}
			enc := ""
			if a, ok := c.sent[0].MessageAttributes[envelope.AttrEncoding]; ok {
				enc = aws.ToString(a.StringValue)
			}
			if (enc == envelope.EncodingGzip) != tc.wantCompressed {
				t.Fatalf("encoding %q", enc)
			}
			env, err := envelope.Open(aws.ToString(c.sent[0].MessageBody), enc)
			if err != nil || len(env.Events) != tc.events || env.StreamID != "str_1" {
				t.Fatalf("reads as %d events of %s: %v", len(env.Events), env.StreamID, err)
			}
		})
	}
}
