// Package queue is the SQS adapter: a publisher that sends packed messages
// (shared/envelope) with SendMessageBatch and retries only the entries SQS
// refused, and Redelivery, a delivery function's own queue and DLQ, which
// delays retries, puts back the undelivered rest of a partly delivered
// message, and parks what cannot be delivered. The message format
// itself is shared/envelope's.
package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/shared/envelope"
)

// SendMessageBatch limits (Amazon SQS quotas): the sum of the messages in one
// call may be at most 256 KiB, message attributes included, in at most 10
// entries.
const (
	MaxBatchBytes   = 256 * 1024
	MaxBatchEntries = 10
)

// SQSAPI is the part of the SQS client the publisher uses.
type SQSAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Publisher sends packed messages to a queue.
type Publisher struct {
	Client SQSAPI
	// MaxAttempts bounds how often one entry is tried (default 5). The SDK's
	// own retryer already retries whole failed calls; this loop covers the
	// entries a successful call reports as failed.
	MaxAttempts int
	// Backoff returns the pause before attempt n (n ≥ 1); default exponential
	// with full jitter from 50 ms, capped at 2 s.
	Backoff func(n int) time.Duration
}

// PublishError says how many messages were sent before publishing gave up,
// and which: SQS may accept some entries of a batch and refuse others.
type PublishError struct {
	Sent, Failed int
	// Accepted are the positions in Publish's msgs that SQS accepted, in
	// order: what a retry with an Idempotency-Key must not send again.
	Accepted []int
	Err      error
}

func (e *PublishError) Error() string {
	return fmt.Sprintf("enqueue: %d of %d messages not accepted by SQS: %v", e.Failed, e.Sent+e.Failed, e.Err)
}

func (e *PublishError) Unwrap() error { return e.Err }

// MessagesSent is e.Sent, for consumers that declare their own interface
// (ingest.PublishError).
func (e *PublishError) MessagesSent() int { return e.Sent }

// AcceptedMessages is e.Accepted, for ingest.AcceptedMessages.
func (e *PublishError) AcceptedMessages() []int { return e.Accepted }

// Publish sends every message to queueURL. It returns nil only when SQS
// accepted all of them; otherwise a *PublishError with the counts.
func (p *Publisher) Publish(ctx context.Context, queueURL string, msgs []envelope.Message) error {
	var accepted []int
	offset := 0
	for _, batch := range Batches(msgs) {
		ok, err := p.sendBatch(ctx, queueURL, batch)
		for _, i := range ok {
			accepted = append(accepted, offset+i)
		}
		offset += len(batch)
		if err != nil {
			return &PublishError{Sent: len(accepted), Failed: len(msgs) - len(accepted), Accepted: accepted, Err: err}
		}
	}
	return nil
}

// Batches groups messages into SendMessageBatch calls within SQS's entry and
// payload limits.
func Batches(msgs []envelope.Message) [][]envelope.Message {
	var out [][]envelope.Message
	var cur []envelope.Message
	size := 0
	for _, m := range msgs {
		if len(cur) == MaxBatchEntries || (len(cur) > 0 && size+m.Size() > MaxBatchBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, m)
		size += m.Size()
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// sendBatch sends one batch and answers the positions in batch that SQS
// accepted, in order.
func (p *Publisher) sendBatch(ctx context.Context, queueURL string, batch []envelope.Message) ([]int, error) {
	attempts := p.MaxAttempts
	if attempts <= 0 {
		attempts = 5
	}
	// Entries go out in batch order, each under its position's id (a map's
	// order would shuffle them from call to call).
	ids := make([]string, len(batch))
	pending := make(map[string]envelope.Message, len(batch))
	for i, m := range batch {
		ids[i] = fmt.Sprintf("m%d", i)
		pending[ids[i]] = m
	}
	accepted := func() []int {
		var ok []int
		for i := range batch {
			if _, left := pending[ids[i]]; !left {
				ok = append(ok, i)
			}
		}
		return ok
	}
	var lastErr error
	for attempt := 1; attempt <= attempts && len(pending) > 0; attempt++ {
		if attempt > 1 {
			if err := sleep(ctx, p.backoff(attempt-1)); err != nil {
				return accepted(), errors.Join(lastErr, err)
			}
		}
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL)}
		for _, id := range ids {
			m, ok := pending[id]
			if !ok {
				continue
			}
			in.Entries = append(in.Entries, types.SendMessageBatchRequestEntry{
				Id:                aws.String(id),
				MessageBody:       aws.String(string(m.Body)),
				MessageAttributes: attributes(m),
				DelaySeconds:      delaySeconds(m.Delay),
			})
		}
		out, err := p.Client.SendMessageBatch(ctx, in)
		if err != nil {
			lastErr = fmt.Errorf("SendMessageBatch: %w", err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		for _, ok := range out.Successful {
			delete(pending, aws.ToString(ok.Id))
		}
		for _, f := range out.Failed {
			lastErr = fmt.Errorf("SendMessageBatch entry %s: %s: %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message))
			if f.SenderFault {
				// The request itself is wrong (size, attributes): retrying cannot help.
				return accepted(), lastErr
			}
		}
	}
	if len(pending) > 0 {
		if lastErr == nil {
			lastErr = errors.New("SendMessageBatch did not report every entry")
		}
		return accepted(), lastErr
	}
	return accepted(), nil
}

func (p *Publisher) backoff(n int) time.Duration {
	if p.Backoff != nil {
		return p.Backoff(n)
	}
	d := min(50*time.Millisecond<<min(n, 10), 2*time.Second)
	return rand.N(d) + time.Millisecond
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// delaySeconds is a message's DelaySeconds: whole seconds, rounded up so a
// retry never comes sooner than asked, within SQS's 0 to 900.
func delaySeconds(d time.Duration) int32 {
	return int32(min((max(d, 0)+time.Second-1)/time.Second, envelope.MaxDelay/time.Second))
}

// attributes are the message's SQS attributes: which stream its events
// belong to, how many there are, and any extra ones (a parked message's
// reason). SQS refuses empty attribute values, so those are left out.
func attributes(m envelope.Message) map[string]types.MessageAttributeValue {
	out := make(map[string]types.MessageAttributeValue, 3+len(m.Attributes))
	str := func(k, v string) {
		if v != "" {
			out[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	str(envelope.AttrProjectID, m.ProjectID)
	str(envelope.AttrStreamID, m.StreamID)
	if m.Events > 0 {
		out[envelope.AttrEventCount] = types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(m.Events))}
	}
	for k, v := range m.Attributes {
		str(k, v)
	}
	return out
}
