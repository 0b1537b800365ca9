package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/shared/envelope"
)

// RedeliverAPI is the part of the SQS client Redelivery uses.
type RedeliverAPI interface {
	SQSAPI
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

// Redelivery is a delivery function's own queue and its DLQ: it delays the
// next receive of failed messages, puts back the undelivered rest of a partly
// delivered one, and parks what can never be delivered.
type Redelivery struct {
	Client   RedeliverAPI
	QueueURL string
	DLQURL   string
	Now      func() time.Time
}

// Delay sets each failed message's visibility timeout to its delay, so SQS
// offers it again only then (ChangeMessageVisibility: 0 to 12 hours, counted
// from now; 10 entries per batch call).
func (r *Redelivery) Delay(ctx context.Context, delays []envelope.Delay) error {
	var errs []error
	for start := 0; start < len(delays); start += MaxBatchEntries {
		chunk := delays[start:min(start+MaxBatchEntries, len(delays))]
		in := &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(r.QueueURL)}
		for i, d := range chunk {
			secs := int32(min((d.After+time.Second-1)/time.Second, 12*3600))
			in.Entries = append(in.Entries, types.ChangeMessageVisibilityBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(d.ReceiptHandle), VisibilityTimeout: secs,
			})
		}
		out, err := r.Client.ChangeMessageVisibilityBatch(ctx, in)
		if err != nil {
			errs = append(errs, fmt.Errorf("ChangeMessageVisibilityBatch: %w", err))
			continue
		}
		for _, f := range out.Failed {
			errs = append(errs, fmt.Errorf("ChangeMessageVisibilityBatch entry %s: %s: %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message)))
		}
	}
	return errors.Join(errs...)
}

// Ack deletes delivered messages before the invocation ends, so a slow
// neighbour in the same batch does not keep them invisible and due for a
// second delivery if the invocation fails (DeleteMessageBatch, 10 entries per
// call). The event source mapping deletes them again when the invocation
// returns: deleting a deleted message with its receipt handle succeeds.
func (r *Redelivery) Ack(ctx context.Context, receipts []envelope.Receipt) error {
	handles := make([]string, len(receipts))
	for i, m := range receipts {
		handles[i] = m.ReceiptHandle
	}
	return DeleteBatch(ctx, r.Client, r.QueueURL, handles)
}

// Park sends p's messages (envelope.Parked.Messages) to the DLQ.
func (r *Redelivery) Park(ctx context.Context, p envelope.Parked) error {
	msgs, err := p.Messages(r.now())
	if err != nil {
		return err
	}
	return (&Publisher{Client: r.Client}).Publish(ctx, r.DLQURL, msgs)
}

// Requeue publishes the undelivered rest of a message to the function's own
// queue, delayed by the retry delay (SendMessageBatch's DelaySeconds, at most
// 15 minutes), with the attempts so far as an attribute. The caller deletes
// the original only once this succeeded.
func (r *Redelivery) Requeue(ctx context.Context, q envelope.Requeued) error {
	msgs, err := q.Messages()
	if err != nil {
		return err
	}
	return (&Publisher{Client: r.Client}).Publish(ctx, r.QueueURL, msgs)
}

func (r *Redelivery) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
