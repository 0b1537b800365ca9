package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/queue"
)

// newRedelivery provisions a fresh delivery queue and DLQ on the stand-in.
func newRedelivery(t *testing.T, ctx context.Context) (*queue.Redelivery, runner.QueueResources, *sqs.Client) {
	t.Helper()
	cfg := standin.AWSConfig(t)
	res, err := runner.Provision(ctx, cfg, standin.Spec(t))
	if err != nil {
		t.Fatal(err)
	}
	q := res.Queues[destination.HTTP]
	client := sqs.NewFromConfig(cfg)
	return &queue.Redelivery{Client: client, QueueURL: q.URL, DLQURL: q.DLQURL}, q, client
}

// Parked events reach the DLQ as an ordinary delivery message (so a redrive
// delivers them again), with the reason and provenance as attributes; an
// unreadable body is parked as it was.
func TestParkInTheDLQ(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, q, client := newRedelivery(t, ctx)

	// Enough large events that they need more than one parked message.
	var evs []json.RawMessage
	for i := range 700 {
		evs = append(evs, json.RawMessage(fmt.Sprintf(`{"event_id":"e%04d","pad":"%s"}`, i, strings.Repeat("y", 500))))
	}
	reason := "rejected: Loki answered 400 " + strings.Repeat("é", 800) // longer than the kept reason
	if err := r.Park(ctx, envelope.Parked{SourceMessageID: "src-1", ProjectID: "proj_p", StreamID: "str_p", Events: evs,
		Reason: reason, ReceiveCount: 2}); err != nil {
		t.Fatal(err)
	}
	if err := r.Park(ctx, envelope.Parked{SourceMessageID: "src-2", Body: "not an envelope", Reason: "undecodable message"}); err != nil {
		t.Fatal(err)
	}
	got, raw := 0, 0
	// A generous deadline: beside the end-to-end tests' stacks (make test
	// runs packages in parallel), the SQS stand-in can take a while.
	for deadline := time.Now().Add(50 * time.Second); (got < len(evs) || raw < 1) && time.Now().Before(deadline); {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.DLQURL), MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			attr := func(k string) string { return aws.ToString(m.MessageAttributes[k].StringValue) }
			if aws.ToString(m.Body) == "not an envelope" {
				raw++
				if attr(envelope.AttrParkedReason) != "undecodable message" || attr(envelope.AttrParkedFrom) != "src-2" {
					t.Errorf("raw parked message attributes %v", m.MessageAttributes)
				}
				continue
			}
			env, err := envelope.Decode([]byte(aws.ToString(m.Body)))
			if err != nil {
				t.Fatal(err)
			}
			got += len(env.Events)
			if env.ProjectID != "proj_p" || env.StreamID != "str_p" || attr(envelope.AttrParkedFrom) != "src-1" ||
				attr(envelope.AttrParkedReceives) != "2" || !strings.HasPrefix(attr(envelope.AttrParkedReason), "rejected: Loki answered 400") ||
				len(attr(envelope.AttrParkedReason)) > 1024 || attr(envelope.AttrParkedAt) == "" || attr("stream_id") != "str_p" {
				t.Errorf("parked message %s attributes %v", env.StreamID, m.MessageAttributes)
			}
		}
	}
	if got != len(evs) || raw != 1 {
		t.Fatalf("DLQ holds %d of %d parked events and %d raw messages", got, len(evs), raw)
	}
}

// A delayed message stays invisible for its delay.
func TestDelayHidesTheMessage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, q, client := newRedelivery(t, ctx)
	for _, body := range []string{"a", "b"} {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	receive := func() []string {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, VisibilityTimeout: 1})
		if err != nil {
			t.Fatal(err)
		}
		var delays []envelope.Delay
		var bodies []string
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			after := time.Hour
			if aws.ToString(m.Body) == "b" {
				after = 0
			}
			delays = append(delays, envelope.Delay{MessageID: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), After: after})
		}
		if err := r.Delay(ctx, delays); err != nil {
			t.Fatal(err)
		}
		return bodies
	}
	if got := receive(); len(got) != 2 {
		t.Fatalf("first receive %v", got)
	}
	time.Sleep(1500 * time.Millisecond)
	// "a" was delayed an hour; "b" was made visible at once.
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "b" {
		t.Fatalf("after the delays, received %d messages", len(out.Messages))
	}
}

// An acked message is gone at once, and deleting it again — what the event
// source mapping does when the invocation returns — is not an error.
func TestAckDeletesAndMayBeRepeated(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, q, client := newRedelivery(t, ctx)
	for _, body := range []string{"a", "b"} {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, VisibilityTimeout: 1, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	var acks []envelope.Receipt
	for _, m := range out.Messages {
		if aws.ToString(m.Body) == "a" {
			acks = append(acks, envelope.Receipt{MessageID: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle)})
		}
	}
	if len(out.Messages) != 2 || len(acks) != 1 {
		t.Fatalf("received %d messages", len(out.Messages))
	}
	for range 2 {
		if err := r.Ack(ctx, acks); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	// "b" comes back after its visibility timeout; "a" never does.
	var bodies []string
	for range 3 {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
	}
	if len(bodies) != 1 || bodies[0] != "b" {
		t.Fatalf("after the ack, received %v; want [b]", bodies)
	}
}

// The undelivered rest of a message goes back on the delivery queue as an
// ordinary delivery message, delayed (DelaySeconds), with the attempts so far
// as an attribute the core adds to the receive count (issue 12).
func TestRequeuePutsTheRestBackDelayed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, q, client := newRedelivery(t, ctx)
	evs := []json.RawMessage{json.RawMessage(`{"event_id":"e3"}`), json.RawMessage(`{"event_id":"e4"}`)}
	if err := r.Requeue(ctx, envelope.Requeued{SourceMessageID: "src-1", ProjectID: "proj_p", StreamID: "str_p", Events: evs,
		Attempts: 3, After: 2 * time.Second, EnqueuedAt: time.UnixMilli(1_700_000_000_000)}); err != nil {
		t.Fatal(err)
	}
	// A rest whose delay is longer than SQS allows (15 min) waits 15 min:
	// it must not show up in this test either.
	if err := r.Requeue(ctx, envelope.Requeued{SourceMessageID: "src-2", ProjectID: "proj_p", StreamID: "str_p", Events: evs[:1],
		Attempts: 1, After: time.Hour}); err != nil {
		t.Fatal(err)
	}
	receive := func(wait int32) []sqstypes.Message {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10,
			WaitTimeSeconds: wait, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Messages
	}
	if got := receive(0); len(got) != 0 {
		t.Fatalf("received %d messages before their delay", len(got))
	}
	var got []sqstypes.Message
	for deadline := time.Now().Add(15 * time.Second); len(got) == 0 && time.Now().Before(deadline); {
		got = receive(1)
	}
	if len(got) != 1 {
		t.Fatalf("received %d messages after the 2 s delay, want the first rest alone", len(got))
	}
	m := got[0]
	env, err := envelope.Decode([]byte(aws.ToString(m.Body)))
	if err != nil {
		t.Fatal(err)
	}
	attr := func(k string) string { return aws.ToString(m.MessageAttributes[k].StringValue) }
	if env.ProjectID != "proj_p" || env.StreamID != "str_p" || len(env.Events) != 2 || string(env.Events[1]) != `{"event_id":"e4"}` ||
		attr(envelope.AttrAttempts) != "3" || attr(envelope.AttrEnqueuedAt) != "1700000000000" ||
		attr(envelope.AttrStreamID) != "str_p" || attr(envelope.AttrEventCount) != "2" {
		t.Fatalf("requeued message %s with attributes %v", aws.ToString(m.Body), m.MessageAttributes)
	}
	if more := receive(1); len(more) != 0 {
		t.Fatalf("the rest delayed an hour (capped at 15 min) came back within seconds")
	}
}
