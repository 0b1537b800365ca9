// Package dlqueue is the SQS side of the dead-letter store: it receives
// from the DLQs for the drain (deadletter.DLQ) and sends redriven events back
// to their stream's delivery queue (deadletter.Redriver).
package dlqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/queue"
	"github.com/logstream/logstream/shared/stream"
)

// API is the part of the SQS client the drain uses.
type API interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

// visibility hides a received DLQ message from other drains while this one
// stores it: far longer than storing ten letters takes, and short enough
// that a drain that died leaves it to the next tick.
const visibility = 60 * time.Second

// DLQ receives and deletes DLQ messages.
type DLQ struct{ Client API }

var _ deadletter.DLQ = (*DLQ)(nil)

// Receive returns up to 10 messages with every attribute, without waiting.
func (d *DLQ) Receive(ctx context.Context, url string) ([]deadletter.Received, error) {
	out, err := d.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: int32(visibility / time.Second),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameSentTimestamp},
	})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", url, err)
	}
	msgs := make([]deadletter.Received, 0, len(out.Messages))
	for _, m := range out.Messages {
		r := deadletter.Received{ReceiptHandle: aws.ToString(m.ReceiptHandle), Message: deadletter.Message{
			MessageID: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), Attributes: map[string]string{}}}
		for k, v := range m.MessageAttributes {
			if v.StringValue != nil {
				r.Attributes[k] = *v.StringValue
			}
		}
		if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
			r.SentAt = time.UnixMilli(ms).UTC()
		}
		msgs = append(msgs, r)
	}
	return msgs, nil
}

// Delete deletes received messages (queue.DeleteBatch: 10 per call).
func (d *DLQ) Delete(ctx context.Context, url string, handles []string) error {
	return queue.DeleteBatch(ctx, d.Client, url, handles)
}

// Redriver sends events back to their stream's delivery queue, packed and
// compressed as ingestion does: the delivery function takes them as any others.
type Redriver struct {
	Publisher *queue.Publisher
	// QueueURLs are the delivery queues by destination type.
	QueueURLs map[string]string
}

var _ deadletter.Redriver = (*Redriver)(nil)

// Redrive publishes evs to the delivery queue of s's destination type.
func (r *Redriver) Redrive(ctx context.Context, s stream.Stream, evs []json.RawMessage) error {
	url := r.QueueURLs[s.DestinationType]
	if url == "" {
		return fmt.Errorf("no delivery queue for destination type %q", s.DestinationType)
	}
	msgs, err := envelope.Pack(s.ProjectID, s.ID, evs, envelope.MaxMessageBytes)
	if err != nil {
		return err
	}
	if err := envelope.CompressAll(msgs); err != nil {
		return err
	}
	return r.Publisher.Publish(ctx, url, msgs)
}
