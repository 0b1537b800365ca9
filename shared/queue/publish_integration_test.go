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
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/queue"
)

// Packed messages near the size limit are accepted by SQS and come back whole.
func TestPublishToSQS(t *testing.T) {
	cfg := standin.AWSConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := runner.Provision(ctx, cfg, standin.Spec(t))
	if err != nil {
		t.Fatal(err)
	}
	url := res.Queues[destination.HTTP].URL
	client := sqs.NewFromConfig(cfg)

	var evs []json.RawMessage
	for i := range 3000 {
		evs = append(evs, json.RawMessage(fmt.Sprintf(`{"event_id":"e%05d","pad":"%s"}`, i, strings.Repeat("x", i%700))))
	}
	msgs, err := envelope.Pack("proj_q", "str_q", evs, envelope.MaxMessageBytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 3 {
		t.Fatalf("want the corpus to need several messages, got %d", len(msgs))
	}
	if err := (&queue.Publisher{Client: client}).Publish(ctx, url, msgs); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	// The stand-in can pause for seconds while other packages' tests load
	// it, so an empty receive is not the end: the messages must all come
	// within 30 s.
	deadline := time.Now().Add(30 * time.Second)
	for received := 0; received < len(msgs); {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("received %d of %d messages in 30 s", received, len(msgs))
			}
			continue
		}
		for _, m := range out.Messages {
			env, err := envelope.Decode([]byte(aws.ToString(m.Body)))
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(m.MessageAttributes["stream_id"].StringValue) != "str_q" {
				t.Fatalf("attributes %v", m.MessageAttributes)
			}
			for _, e := range env.Events {
				var v struct {
					EventID string `json:"event_id"`
				}
				json.Unmarshal(e, &v)
				got[v.EventID]++
			}
			received++
		}
	}
	if len(got) != len(evs) {
		t.Fatalf("got %d distinct events back, sent %d", len(got), len(evs))
	}
}
