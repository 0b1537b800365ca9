package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/localstack/chaos"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/queue"
	"github.com/logstream/logstream/shared/stream"
)

// TestCompressedDeliveryMessages: ingestion compresses its delivery
// messages (envelope.Compress, logstream_encoding), and both ends read them:
//   - a request's events, compressed on the http delivery queue, reach the
//     stream's receiver, every one;
//   - a compressed delivery message that SQS redrive moves to the DLQ after
//     maxReceiveCount (not parked by the delivery core: it keeps its body and
//     attributes as ingestion sent them) is read by the dead-letter drain into
//     the store with its events, as ReasonUnrecorded. The message is sent, as
//     ingestion sends it, to a queue of the test's own whose redrive policy
//     targets the stack's http DLQ, so SQS itself moves it there.
func TestCompressedDeliveryMessages(t *testing.T) {
	cfg := standin.AWSConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := startStack(t, ctx, fastSpec(t))
	base := st.URL()
	good := newReceiver(t, 200)
	goodID := createStream(t, base, "good", good.srv.URL+"/hook", "active")

	// 200 events in one request: one delivery message, compressed.
	const total = 200
	var lines []string
	for i := range total {
		line, _ := json.Marshal(map[string]any{"seq": i, "event_id": fmt.Sprintf("evt_%04d", i), "type": "user.session.start",
			"actor": fmt.Sprintf("user%d@example.com", i%37)})
		lines = append(lines, string(line))
	}
	if code, out := do(t, "POST", base+"/v1/projects/"+project+"/events", "application/json", "", []byte("["+strings.Join(lines, ",")+"]")); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %s", code, out)
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		distinct, _, _, bad := good.snapshot()
		if len(bad) > 0 {
			t.Fatalf("receiver saw %v", bad[:min(3, len(bad))])
		}
		if distinct == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver has %d of %d events", distinct, total)
		}
	}

	// A compressed delivery message of the stream, moved to the http DLQ by
	// SQS redrive after one receive.
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "auth", "okta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var okta []json.RawMessage
	if err := json.Unmarshal(raw, &okta); err != nil {
		t.Fatal(err)
	}
	for i, ev := range okta {
		var b bytes.Buffer
		if err := json.Compact(&b, ev); err != nil {
			t.Fatal(err)
		}
		okta[i] = json.RawMessage(b.String())
	}
	msgs, err := envelope.Pack(project, goodID, okta, envelope.MaxMessageBytes)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("pack: %d messages, %v", len(msgs), err)
	}
	if err := envelope.CompressAll(msgs); err != nil || msgs[0].Attributes[envelope.AttrEncoding] != envelope.EncodingGzip {
		t.Fatalf("the Okta batch was not compressed: %v", err)
	}
	c := sqs.NewFromConfig(cfg)
	dlq := st.Resources().Queues[destination.HTTP]
	redrive, _ := json.Marshal(map[string]string{"deadLetterTargetArn": dlq.DLQARN, "maxReceiveCount": "1"})
	src, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("compress-src-%d", time.Now().UnixNano())),
		Attributes: map[string]string{string(sqstypes.QueueAttributeNameRedrivePolicy): string(redrive)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: src.QueueUrl}) })
	if err := (&queue.Publisher{Client: c}).Publish(ctx, aws.ToString(src.QueueUrl), msgs); err != nil {
		t.Fatal(err)
	}
	// The first receive counts one and makes it visible again at once; the
	// next finds it past maxReceiveCount and SQS moves it to the DLQ.
	for queueDepth(t, ctx, c, aws.ToString(src.QueueUrl)) > 0 {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: src.QueueUrl, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			if aws.ToString(m.MessageAttributes[envelope.AttrEncoding].StringValue) != envelope.EncodingGzip {
				t.Fatalf("the message lost its encoding on the way: %v", m.MessageAttributes)
			}
			if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: src.QueueUrl,
				ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
				t.Fatal(err)
			}
		}
		if ctx.Err() != nil {
			t.Fatal("the message was never moved to the DLQ")
		}
	}

	admin := chaos.NewClient(base, adminKey, nil)
	for {
		var s deadletter.Summary
		if err := admin.JSON(ctx, http.MethodGet, "/v1/projects/"+project+"/dead-letters", nil, &s); err != nil {
			t.Fatal(err)
		}
		if n := streamEvents(s, goodID, stream.ReasonUnrecorded); n == len(okta) {
			break
		} else if n > len(okta) || ctx.Err() != nil {
			t.Fatalf("the store holds %d of the redriven message's %d events: %+v", n, len(okta), s)
		}
		time.Sleep(250 * time.Millisecond)
	}
	var peek json.RawMessage
	if err := admin.JSON(ctx, http.MethodGet, "/v1/projects/"+project+"/dead-letters/events?stream_id="+goodID, nil, &peek); err != nil {
		t.Fatal(err)
	}
	var first struct {
		EventID string `json:"event_id"`
	}
	_ = json.Unmarshal(okta[0], &first)
	if !strings.Contains(string(peek), first.EventID) {
		t.Fatalf("the store's events of the stream do not hold the Okta batch's %s: %.300s", first.EventID, peek)
	}
}

// bufWriter adapts a strings.Builder to json.Compact's *bytes.Buffer-free use.
type bufWriter struct{ b *strings.Builder }

func (w *bufWriter) Write(p []byte) (int, error) { return w.b.Write(p) }
