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
)

// maxReasonBytes keeps a reason readable and the attributes small.
const maxReasonBytes = 1024

// parkReserve is left in each parked message for the attributes above.
const parkReserve = maxReasonBytes + 512

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
	Reason              string
	ReceiveCount        int
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
	if p.Events == nil {
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
