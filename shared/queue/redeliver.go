package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Attributes of a message parked in a DLQ by the delivery core, beside the
// project_id, stream_id and event_count every delivery message carries. A
// message that SQS redrive moved there has none of these: it ran out of
// receives instead.
const (
	AttrParkedReason   = "logstream_reason"
	AttrParkedFrom     = "logstream_source_message_id"
	AttrParkedAt       = "logstream_parked_at"
	AttrParkedReceives = "logstream_receive_count"
)

// maxReasonBytes keeps a reason readable and the attributes small.
const maxReasonBytes = 1024

// parkReserve is left in each parked message for the attributes above.
const parkReserve = maxReasonBytes + 512

// RedeliverAPI is the part of the SQS client Redelivery uses.
type RedeliverAPI interface {
	SQSAPI
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

// Redelivery is a delivery function's own queue and its DLQ: it delays the
// next receive of failed messages and parks what can never be delivered.
type Redelivery struct {
	Client   RedeliverAPI
	QueueURL string
	DLQURL   string
	Now      func() time.Time
}

// Delay is when one failed message may be received again.
type Delay struct {
	MessageID     string
	ReceiptHandle string
	After         time.Duration
}

// Parked is what goes to the DLQ for one source message: its events that can
// never be delivered as they are, or its whole body when it cannot be read.
type Parked struct {
	SourceMessageID     string
	ProjectID, StreamID string
	Events              []json.RawMessage
	Body                string // set instead of Events for an undecodable message
	Reason              string
	ReceiveCount        int
}

// Delay sets each failed message's visibility timeout to its delay, so SQS
// offers it again only then (ChangeMessageVisibility: 0 to 12 hours, counted
// from now; 10 entries per batch call).
func (r *Redelivery) Delay(ctx context.Context, delays []Delay) error {
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

// Park sends p to the DLQ: its events packed like any delivery message (so a
// redrive delivers them again), or its unreadable body as it was, with the
// reason, the source message and when it happened as attributes.
func (r *Redelivery) Park(ctx context.Context, p Parked) error {
	attrs := map[string]string{
		AttrParkedReason:   truncate(p.Reason, maxReasonBytes),
		AttrParkedFrom:     p.SourceMessageID,
		AttrParkedAt:       r.now().UTC().Format(time.RFC3339Nano),
		AttrParkedReceives: strconv.Itoa(max(p.ReceiveCount, 1)),
	}
	var msgs []Message
	if p.Events == nil {
		msgs = []Message{{Body: []byte(p.Body), Attributes: attrs}}
	} else {
		var err error
		if msgs, err = Pack(p.ProjectID, p.StreamID, p.Events, MaxMessageBytes-parkReserve); err != nil {
			return fmt.Errorf("park events of message %s: %w", p.SourceMessageID, err)
		}
		for i := range msgs {
			msgs[i].Attributes = attrs
		}
	}
	return (&Publisher{Client: r.Client}).Publish(ctx, r.DLQURL, msgs)
}

func (r *Redelivery) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
