package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/shared/topology"
)

// sqsAPI is the part of the SQS client an event source mapping uses.
type sqsAPI interface {
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(context.Context, *sqs.ChangeMessageVisibilityBatchInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

// SQS allows at most 10 messages per ReceiveMessage and per batch call.
const sqsBatchMax = 10

// mapping emulates a Lambda event source mapping on an SQS queue: pollers
// long-poll the queue, gather a batch (up to BatchSize messages or until
// MaximumBatchingWindow has passed since the first message arrived), invoke
// the function synchronously, and delete the messages the invocation
// succeeded for. Failed messages are left alone: they become visible again
// when the visibility timeout expires, and the queue's redrive policy moves
// them to the DLQ after maxReceiveCount receives, exactly as in AWS.
//
// The number of pollers scales as Lambda scales a standard queue's mapping
// (see scaler): each poller receives a batch and then invokes the function
// with it before it receives again, so the pollers running are the mapping's
// concurrent batches, and never more than its maximum concurrency.
type mapping struct {
	fn       *function
	source   topology.EventSource
	queue    QueueResources
	region   string
	sqs      sqsAPI
	scale    *scaler
	waitTime time.Duration // long-poll wait per ReceiveMessage
	log      *slog.Logger
}

// Lambda's scaling of a standard queue's event source mapping, from the
// Lambda Developer Guide ("Configuring scaling behavior for SQS event source
// mappings"): when messages are available Lambda starts with five concurrent
// batches; while messages are still available it adds pollers, up to 300 a
// minute; when traffic is low it scales back to five, and, only on a mapping
// without a maximum concurrency, to as few as two. Without
// ScalingConfig.MaximumConcurrency a mapping processes at most 1,000 batches
// at once (and no more than the account's unreserved concurrency allows).
const (
	lambdaSQSStartBatches = 5
	lambdaSQSMinBatches   = 2 // without MaximumConcurrency only
	lambdaSQSMaxBatches   = 1000
)

// concurrencyLimits returns the fewest and the most pollers (concurrent
// batches) of a mapping whose ScalingConfig.MaximumConcurrency is
// maxConcurrency (0: unset), with a local cap (0: none) that lowers both.
func concurrencyLimits(maxConcurrency, limit int) (lo, hi int) {
	lo, hi = lambdaSQSStartBatches, maxConcurrency
	if maxConcurrency <= 0 {
		lo, hi = lambdaSQSMinBatches, lambdaSQSMaxBatches
	}
	if limit > 0 {
		hi = min(hi, limit)
	}
	return min(lo, hi), hi
}

// scaler decides how many pollers a mapping runs, between lo and hi. It
// grows by one poller when a poller's batch shows a backlog: its first
// receive came back as full as it asked (more messages were waiting), or no
// other poller is left receiving (every one is invoking the function, so a
// message that arrives now waits for one to finish). It shrinks by one when a
// poller's long poll comes back empty. This is the essence of Lambda's
// documented behaviour, simplified (localstack/README.md, "How an event
// source mapping scales"): Lambda's own signals are not documented; its
// scale-up rate (300 pollers a minute) is not emulated, which at a maximum of
// tens makes a second or two of difference; nor is its backoff while
// invocations fail, nor any throttling (reserved concurrency, the account's
// quota).
type scaler struct {
	lo, hi int

	mu      sync.Mutex
	pollers int // running
	polling int // of which receiving, not invoking
	// changed, when set (tests), is called with every new poller count.
	changed func(pollers int)
}

// add reserves a new poller unless hi are running; the caller starts it.
func (s *scaler) add() bool {
	if s.pollers >= s.hi {
		return false
	}
	s.pollers++
	s.polling++
	if s.changed != nil {
		s.changed(s.pollers)
	}
	return true
}

// start reserves the first lo pollers and returns how many to start.
func (s *scaler) start() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for n < s.lo && s.add() {
		n++
	}
	return n
}

// received records that a poller got a batch and now invokes the function
// with it; it reports whether to start another poller.
func (s *scaler) received(backlog bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polling--
	return (backlog || s.polling == 0) && s.add()
}

// invoked records that a poller is receiving again.
func (s *scaler) invoked() {
	s.mu.Lock()
	s.polling++
	s.mu.Unlock()
}

// empty records a poller's empty long poll and reports whether the poller
// stops: it does while more than lo are running and another is receiving.
// The last receiving poller never stops: were it to, with every other one
// invoking, nothing would receive what arrives next until an invocation
// ended (what a loaded CI machine once showed: messages sent a little
// late waited out a 30 s function timeout).
func (s *scaler) empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pollers <= s.lo || s.polling <= 1 {
		return false
	}
	s.remove()
	return true
}

// stopped records a receiving poller that stops with the mapping.
func (s *scaler) stopped() {
	s.mu.Lock()
	s.remove()
	s.mu.Unlock()
}

func (s *scaler) remove() {
	s.pollers--
	s.polling--
	if s.changed != nil {
		s.changed(s.pollers)
	}
}

// run starts the pollers and returns when all have stopped. pollCtx stops
// receiving; invokeCtx bounds invocations already under way, so Close can let
// them finish first.
func (m *mapping) run(pollCtx, invokeCtx context.Context) {
	var wg sync.WaitGroup
	var start func()
	start = func() {
		// Called by run, or by a poller still counted in wg: never after
		// wg.Wait has returned.
		wg.Go(func() { m.poll(pollCtx, invokeCtx, start) })
	}
	for range m.scale.start() {
		start()
	}
	wg.Wait()
}

// poll is one poller: it receives a batch, invokes the function with it, and
// receives again, until pollCtx ends or the scaler retires it. grow starts
// another poller.
func (m *mapping) poll(pollCtx, invokeCtx context.Context, grow func()) {
	backoff := time.Duration(0)
	for pollCtx.Err() == nil {
		batch, backlog, err := m.gather(pollCtx)
		if pollCtx.Err() != nil {
			// Stopping: hand received messages back at once instead of
			// leaving them invisible for a whole visibility timeout.
			m.release(invokeCtx, batch)
			m.scale.stopped()
			return
		}
		if len(batch) > 0 {
			if m.scale.received(backlog) {
				grow()
			}
			m.process(invokeCtx, batch)
			m.scale.invoked()
		}
		if err != nil {
			// Like Lambda's poller, back off on errors (queue deleted,
			// stand-in restarting) instead of spinning.
			backoff = min(max(2*backoff, 500*time.Millisecond), 10*time.Second)
			m.log.Warn("receive messages", "err", err, "retry_in", backoff)
			sleep(pollCtx, backoff)
			continue
		}
		backoff = 0
		if len(batch) == 0 && m.scale.empty() {
			return
		}
	}
	m.scale.stopped()
}

// gather receives one batch. It returns as soon as BatchSize messages are in
// hand, when the batching window has passed since the first one arrived, or
// when a long poll comes back empty with nothing gathered. backlog reports
// that the first receive that brought messages came back as full as it
// asked: more were probably waiting.
func (m *mapping) gather(ctx context.Context) (batch []sqstypes.Message, backlog bool, err error) {
	var first time.Time
	for len(batch) < m.source.BatchSize {
		wait := m.waitTime
		if len(batch) > 0 {
			remaining := m.source.MaxBatchingWindow - time.Since(first)
			if remaining <= 0 {
				break
			}
			// WaitTimeSeconds is whole seconds; below one second, short-poll.
			wait = min(wait, remaining.Truncate(time.Second))
		}
		ask := min(sqsBatchMax, m.source.BatchSize-len(batch))
		out, err := m.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(m.queue.URL),
			MaxNumberOfMessages:         int32(ask),
			WaitTimeSeconds:             int32(wait / time.Second),
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			return batch, backlog, err
		}
		if len(out.Messages) == 0 {
			if len(batch) == 0 {
				return nil, false, nil
			}
			if wait == 0 {
				sleep(ctx, min(100*time.Millisecond, m.source.MaxBatchingWindow-time.Since(first)))
				if ctx.Err() != nil {
					return batch, backlog, nil
				}
			}
			continue
		}
		if len(batch) == 0 {
			first = time.Now()
			backlog = len(out.Messages) >= ask
		}
		batch = append(batch, out.Messages...)
		if m.source.MaxBatchingWindow <= 0 {
			break
		}
	}
	return batch, backlog, nil
}

// process invokes the function with one batch and deletes what succeeded.
func (m *mapping) process(ctx context.Context, batch []sqstypes.Message) {
	ev := m.event(batch)
	payload, err := json.Marshal(ev)
	if err != nil {
		m.log.Error("encode SQS event", "err", err)
		return
	}
	start := time.Now()
	out, err := m.fn.invoke(ctx, payload)
	if err != nil {
		// An invocation error, timeout or panic fails the whole batch: nothing
		// is deleted and every message is retried after its visibility timeout.
		m.log.Error("function invocation failed; batch left for retry", "err", err, "messages", len(batch), "ms", time.Since(start).Milliseconds())
		return
	}
	failed, err := m.failures(out, batch)
	if err != nil {
		m.log.Error("batch treated as failed", "err", err, "messages", len(batch))
		return
	}
	var done []sqstypes.Message
	for _, msg := range batch {
		if !failed[aws.ToString(msg.MessageId)] {
			done = append(done, msg)
		}
	}
	m.delete(ctx, done)
	m.log.Debug("batch processed", "messages", len(batch), "failed", len(failed), "ms", time.Since(start).Milliseconds())
}

// failures reads the function's partial batch response. With
// ReportBatchItemFailures, Lambda treats the batch as a complete success for
// an empty or null batchItemFailures list or an empty or null response, and
// as a complete failure for invalid JSON, an empty or null itemIdentifier (a
// misspelt key reads as null), or an itemIdentifier that is not a message of
// the batch. Without ReportBatchItemFailures the response is not read.
func (m *mapping) failures(out []byte, batch []sqstypes.Message) (map[string]bool, error) {
	if !m.source.ReportBatchItemFailures {
		return nil, nil
	}
	var resp *struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("invalid partial batch response: %w", err)
	}
	if resp == nil || len(resp.BatchItemFailures) == 0 {
		return nil, nil
	}
	inBatch := make(map[string]bool, len(batch))
	for _, msg := range batch {
		inBatch[aws.ToString(msg.MessageId)] = true
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		id := aws.ToString(f.ItemIdentifier)
		switch {
		case id == "":
			return nil, errors.New("batchItemFailures entry with an empty or null itemIdentifier")
		case !inBatch[id]:
			return nil, fmt.Errorf("batchItemFailures itemIdentifier %q is not a message of this batch", id)
		}
		failed[id] = true
	}
	return failed, nil
}

// event converts received messages to the event Lambda sends: system
// attributes under attributes, message attributes with Lambda's field names
// (and empty list fields, as Lambda sends them), the queue ARN as
// eventSourceARN.
func (m *mapping) event(batch []sqstypes.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(batch))}
	for _, msg := range batch {
		rec := events.SQSMessage{
			MessageId:              aws.ToString(msg.MessageId),
			ReceiptHandle:          aws.ToString(msg.ReceiptHandle),
			Body:                   aws.ToString(msg.Body),
			Md5OfBody:              aws.ToString(msg.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(msg.MD5OfMessageAttributes),
			Attributes:             map[string]string{},
			MessageAttributes:      map[string]events.SQSMessageAttribute{},
			EventSourceARN:         m.queue.ARN,
			EventSource:            "aws:sqs",
			AWSRegion:              m.region,
		}
		for k, v := range msg.Attributes {
			rec.Attributes[k] = v
		}
		for k, v := range msg.MessageAttributes {
			a := events.SQSMessageAttribute{
				StringValue:      v.StringValue,
				BinaryValue:      v.BinaryValue,
				StringListValues: append([]string{}, v.StringListValues...),
				BinaryListValues: append([][]byte{}, v.BinaryListValues...),
				DataType:         aws.ToString(v.DataType),
			}
			rec.MessageAttributes[k] = a
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

// delete removes processed messages, ten per DeleteMessageBatch call.
func (m *mapping) delete(ctx context.Context, msgs []sqstypes.Message) {
	for len(msgs) > 0 {
		n := min(sqsBatchMax, len(msgs))
		entries := make([]sqstypes.DeleteMessageBatchRequestEntry, n)
		for i, msg := range msgs[:n] {
			entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle}
		}
		out, err := m.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(m.queue.URL), Entries: entries})
		switch {
		case err != nil:
			m.log.Error("delete processed messages; they will be delivered again", "err", err, "messages", n)
		case len(out.Failed) > 0:
			m.log.Error("delete processed messages; some will be delivered again", "failed", len(out.Failed), "code", aws.ToString(out.Failed[0].Code), "message", aws.ToString(out.Failed[0].Message))
		}
		msgs = msgs[n:]
	}
}

// release makes received but unprocessed messages visible again at once. The
// runner does this on shutdown so a restart picks them up without waiting out
// the visibility timeout; the receive still counts toward maxReceiveCount, as
// it does when Lambda's poller scales down.
func (m *mapping) release(ctx context.Context, msgs []sqstypes.Message) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for len(msgs) > 0 {
		n := min(sqsBatchMax, len(msgs))
		entries := make([]sqstypes.ChangeMessageVisibilityBatchRequestEntry, n)
		for i, msg := range msgs[:n] {
			entries[i] = sqstypes.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle, VisibilityTimeout: 0}
		}
		if _, err := m.sqs.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(m.queue.URL), Entries: entries}); err != nil {
			m.log.Warn("release unprocessed messages", "err", err, "messages", n)
		}
		msgs = msgs[n:]
	}
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
