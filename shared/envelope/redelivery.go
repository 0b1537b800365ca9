package envelope

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
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
	// AttrParkedCode is the reason's category (the stream health's
	// dead-letter reasons: permanent, rejected, too_large, gone, exhausted,
	// suspended; or undecodable), so a reader groups dead letters without
	// parsing the reason's text.
	AttrParkedCode = "logstream_reason_code"
)

// AttrAttempts is on a message that carries the undelivered rest of an
// earlier one (Requeued): how many times its events were received before it
// was published. The delivery core adds it to the message's own
// ApproximateReceiveCount, so the retry schedule and the last receive
// (maxReceiveCount) count every attempt at those events, not only this
// message's.
const AttrAttempts = "logstream_attempts"

// AttrEnqueuedAt is on the same messages: when ingestion first queued their
// events (Unix milliseconds, as SQS's SentTimestamp), which senders use as a
// time that stays the same across retries (deliver.Batch.EnqueuedAt).
const AttrEnqueuedAt = "logstream_enqueued_at"

// AttrTrace is on a delivery message that ingestion enqueued for a traced
// request, and on the parked and requeued messages made of its events: the
// trace context and the platform's request id (trace.Context.Carrier: a
// W3C traceparent naming ingestion's span, a space, the request id). One
// attribute, not two: a parked message already carries nine of the ten
// SQS allows (its events are parked plain, without AttrEncoding; a parked
// unreadable body keeps its AttrEncoding but has no project_id, stream_id or
// event_count: TestParkedAttributesWithinSQSLimit).
const AttrTrace = "logstream_trace"

// MaxTraceBytes is the longest AttrTrace value (trace.MaxCarrierBytes);
// TraceReserve the room a message leaves for the attribute.
const (
	MaxTraceBytes = 55 + 1 + 128
	TraceReserve  = len(AttrTrace) + MaxTraceBytes + attrOverheadSlop
)

// MaxDelay is the longest SQS delays a new message (SendMessage's
// DelaySeconds: 0 to 900 seconds).
const MaxDelay = 15 * time.Minute

// maxReasonBytes keeps a reason readable and the attributes small.
const maxReasonBytes = 1024

// parkReserve is left in each parked message for the attributes above;
// requeueReserve in each requeued one for AttrAttempts and AttrEnqueuedAt
// (names, values and attrOverheadSlop each).
const (
	parkReserve    = maxReasonBytes + 512 + TraceReserve
	requeueReserve = 256 + TraceReserve
)

// Receipt names one received message: to delete it once it is delivered.
type Receipt struct {
	MessageID     string
	ReceiptHandle string
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
	// Encoding is Body's AttrEncoding as received, kept with it so a reader
	// can still inflate it ("": plain, or Events are set).
	Encoding string
	Reason   string
	// Code is the reason's category (AttrParkedCode); empty leaves it out.
	Code         string
	ReceiveCount int
	// Trace is the source message's AttrTrace, kept ("": none).
	Trace string
}

// Messages are what p puts in the DLQ, parked at at: its events packed like
// any delivery message (so a redrive delivers them again), or its unreadable
// body as it was, with the reason, the source message and the time as
// attributes.
func (p Parked) Messages(at time.Time) ([]Message, error) {
	attrs := map[string]string{
		AttrParkedReason:   truncate(p.Reason, maxReasonBytes),
		AttrParkedFrom:     p.SourceMessageID,
		AttrParkedAt:       at.UTC().Format(time.RFC3339Nano),
		AttrParkedReceives: strconv.Itoa(max(p.ReceiveCount, 1)),
	}
	if p.Code != "" {
		attrs[AttrParkedCode] = p.Code
	}
	if p.Trace != "" {
		attrs[AttrTrace] = truncate(p.Trace, MaxTraceBytes)
	}
	if p.Events == nil {
		if p.Encoding != "" {
			attrs[AttrEncoding] = p.Encoding
		}
		return []Message{{Body: []byte(p.Body), Attributes: attrs}}, nil
	}
	msgs, err := Pack(p.ProjectID, p.StreamID, p.Events, MaxMessageBytes-parkReserve)
	if err != nil {
		return nil, fmt.Errorf("park events of message %s: %w", p.SourceMessageID, err)
	}
	for i := range msgs {
		msgs[i].Attributes = attrs
	}
	return msgs, nil
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

// Requeued is the rest of a message that was delivered in part: its events the
// destination has not accepted, to be delivered again after After, as a new
// message on the same queue, while the original is deleted. So what a
// destination accepted is never sent to it again (issue 12).
type Requeued struct {
	SourceMessageID     string
	ProjectID, StreamID string
	Events              []json.RawMessage
	// Attempts is how many times these events have been received so far,
	// the original's own receives included.
	Attempts int
	// After is the retry delay; SQS delays a new message by at most
	// MaxDelay, so a longer one is cut to that.
	After time.Duration
	// EnqueuedAt is when ingestion first queued the events (zero: unknown).
	EnqueuedAt time.Time
	// Trace is the source message's AttrTrace, kept ("": none).
	Trace string
}

// Messages are what r puts back on the queue: its events packed like any
// delivery message, with AttrAttempts and AttrEnqueuedAt, delayed by After (at
// most MaxDelay).
// They are fewer events than the message they come from, so they almost
// always fit one message.
func (r Requeued) Messages() ([]Message, error) {
	msgs, err := Pack(r.ProjectID, r.StreamID, r.Events, MaxMessageBytes-requeueReserve)
	if err != nil {
		return nil, fmt.Errorf("requeue events of message %s: %w", r.SourceMessageID, err)
	}
	attrs := map[string]string{AttrAttempts: strconv.Itoa(max(r.Attempts, 1))}
	if !r.EnqueuedAt.IsZero() {
		attrs[AttrEnqueuedAt] = strconv.FormatInt(r.EnqueuedAt.UnixMilli(), 10)
	}
	if r.Trace != "" {
		attrs[AttrTrace] = truncate(r.Trace, MaxTraceBytes)
	}
	for i := range msgs {
		msgs[i].Attributes = attrs
		msgs[i].Delay = min(max(r.After, 0), MaxDelay)
	}
	return msgs, nil
}
