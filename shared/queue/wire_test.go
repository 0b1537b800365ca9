package queue

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/shared/envelope"
)

// fakeRedeliverSQS records the messages Redelivery sends.
type fakeRedeliverSQS struct {
	fakeSQS
}

func (f *fakeRedeliverSQS) ChangeMessageVisibilityBatch(context.Context, *sqs.ChangeMessageVisibilityBatchInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	return &sqs.ChangeMessageVisibilityBatchOutput{}, nil
}

func (f *fakeRedeliverSQS) DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	return &sqs.DeleteMessageBatchOutput{}, nil
}

// wire renders what SQS receives for one message, body and attributes in
// name order, so a test can pin it byte for byte.
func wire(e types.SendMessageBatchRequestEntry) string {
	var b strings.Builder
	b.WriteString(aws.ToString(e.MessageBody))
	for _, k := range slices.Sorted(maps.Keys(e.MessageAttributes)) {
		v := e.MessageAttributes[k]
		b.WriteString("\n" + k + " " + aws.ToString(v.DataType) + " " + aws.ToString(v.StringValue))
	}
	return b.String()
}

// TestWireFormat pins the bytes ingestion and delivery exchange over SQS:
// a message in the queue of an older or newer deployment must still be read
// the same way, and a DLQ message redriven by hand must still be delivered.
func TestWireFormat(t *testing.T) {
	evs := []json.RawMessage{json.RawMessage(`{"event_id":"e1","n":1}`), json.RawMessage(`{"event_id":"e2","s":"é\"x"}`)}
	at := time.Date(2026, 11, 24, 10, 0, 0, 123000000, time.UTC)
	const traced = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 req-7"
	tests := []struct {
		name string
		send func(t *testing.T, c *fakeRedeliverSQS) error
		want string
	}{
		{
			name: "delivery message",
			send: func(t *testing.T, c *fakeRedeliverSQS) error {
				msgs, err := envelope.Pack("proj_1", "str_1", evs, envelope.MaxMessageBytes)
				if err != nil {
					t.Fatal(err)
				}
				return (&Publisher{Client: c}).Publish(context.Background(), "q", msgs)
			},
			want: `{"v":1,"project_id":"proj_1","stream_id":"str_1","events":[{"event_id":"e1","n":1},{"event_id":"e2","s":"é\"x"}]}` +
				"\nevent_count Number 2\nproject_id String proj_1\nstream_id String str_1",
		},
		{
			name: "parked events",
			send: func(t *testing.T, c *fakeRedeliverSQS) error {
				r := &Redelivery{Client: c, DLQURL: "dlq", Now: func() time.Time { return at }}
				return r.Park(context.Background(), envelope.Parked{SourceMessageID: "m-1", ProjectID: "proj_1", StreamID: "str_1",
					Events: evs[1:], Reason: "permanent: 400 bad event", Code: "permanent", ReceiveCount: 3})
			},
			want: `{"v":1,"project_id":"proj_1","stream_id":"str_1","events":[{"event_id":"e2","s":"é\"x"}]}` +
				"\nevent_count Number 1\nlogstream_parked_at String 2026-11-24T10:00:00.123Z\nlogstream_reason String permanent: 400 bad event" +
				"\nlogstream_reason_code String permanent" +
				"\nlogstream_receive_count String 3\nlogstream_source_message_id String m-1\nproject_id String proj_1\nstream_id String str_1",
		},
		{
			name: "traced delivery message",
			send: func(t *testing.T, c *fakeRedeliverSQS) error {
				msgs, err := envelope.Pack("proj_1", "str_1", evs[:1], envelope.MaxMessageBytes-envelope.TraceReserve)
				if err != nil {
					t.Fatal(err)
				}
				msgs[0].Attributes = map[string]string{envelope.AttrTrace: traced}
				return (&Publisher{Client: c}).Publish(context.Background(), "q", msgs)
			},
			want: `{"v":1,"project_id":"proj_1","stream_id":"str_1","events":[{"event_id":"e1","n":1}]}` +
				"\nevent_count Number 1\nlogstream_trace String " + traced + "\nproject_id String proj_1\nstream_id String str_1",
		},
		{
			name: "parked events keep their trace",
			send: func(t *testing.T, c *fakeRedeliverSQS) error {
				r := &Redelivery{Client: c, DLQURL: "dlq", Now: func() time.Time { return at }}
				return r.Park(context.Background(), envelope.Parked{SourceMessageID: "m-1", ProjectID: "proj_1", StreamID: "str_1",
					Events: evs[1:], Reason: "permanent: 400 bad event", Code: "permanent", ReceiveCount: 3, Trace: traced})
			},
			want: `{"v":1,"project_id":"proj_1","stream_id":"str_1","events":[{"event_id":"e2","s":"é\"x"}]}` +
				"\nevent_count Number 1\nlogstream_parked_at String 2026-11-24T10:00:00.123Z\nlogstream_reason String permanent: 400 bad event" +
				"\nlogstream_reason_code String permanent" +
				"\nlogstream_receive_count String 3\nlogstream_source_message_id String m-1" +
				"\nlogstream_trace String " + traced + "\nproject_id String proj_1\nstream_id String str_1",
		},
		{
			name: "parked unreadable body",
			send: func(t *testing.T, c *fakeRedeliverSQS) error {
				r := &Redelivery{Client: c, DLQURL: "dlq", Now: func() time.Time { return at }}
				return r.Park(context.Background(), envelope.Parked{SourceMessageID: "m-2", Body: "not json", Reason: "decode envelope: bad"})
			},
			want: "not json\nlogstream_parked_at String 2026-11-24T10:00:00.123Z\nlogstream_reason String decode envelope: bad" +
				"\nlogstream_receive_count String 1\nlogstream_source_message_id String m-2",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			c := &fakeRedeliverSQS{fakeSQS{send: func(call int, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
				for _, e := range in.Entries {
					got = append(got, wire(e))
				}
				return failFirst(nil, false)(call, in)
			}}}
			if err := tc.send(t, c); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("sent\n%s\nwant\n%s", strings.Join(got, "\n--\n"), tc.want)
			}
		})
	}
}
