package queue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/queue"
)

// Depth reads what SQS counts in a queue: a parked message in the DLQ, a
// visible one, one received and not deleted (in flight), one sent delayed.
func TestDepthCountsTheQueue(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, q, client := newRedelivery(t, ctx)
	d := &queue.Depths{Client: client}

	for _, url := range []string{q.URL, q.DLQURL} {
		if v, f, dl, err := d.Depth(ctx, url); err != nil || v+f+dl != 0 {
			t.Fatalf("fresh queue %s: %d %d %d, %v; want all 0", url, v, f, dl, err)
		}
	}
	if err := r.Park(ctx, envelope.Parked{SourceMessageID: "src-1", Body: "not an envelope", Reason: "undecodable message"}); err != nil {
		t.Fatal(err)
	}
	for _, in := range []*sqs.SendMessageInput{
		{QueueUrl: aws.String(q.URL), MessageBody: aws.String("received")},
		{QueueUrl: aws.String(q.URL), MessageBody: aws.String("delayed"), DelaySeconds: 900},
	} {
		if _, err := client.SendMessage(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10,
		VisibilityTimeout: 900, WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %d messages, %v", len(out.Messages), err)
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String("visible")}); err != nil {
		t.Fatal(err)
	}

	if v, f, dl, err := d.Depth(ctx, q.URL); err != nil || [3]int64{v, f, dl} != [3]int64{1, 1, 1} {
		t.Errorf("queue: visible %d, in flight %d, delayed %d, %v; want 1 1 1", v, f, dl, err)
	}
	if v, f, dl, err := d.Depth(ctx, q.DLQURL); err != nil || [3]int64{v, f, dl} != [3]int64{1, 0, 0} {
		t.Errorf("DLQ: visible %d, in flight %d, delayed %d, %v; want 1 0 0", v, f, dl, err)
	}
	if _, _, _, err := d.Depth(ctx, q.URL+"-missing"); err == nil {
		t.Error("a missing queue's depth: no error")
	} else if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a missing queue: %v, want SQS's refusal", err)
	}
}
