// Package envelope is the message format ingestion and delivery exchange:
// the envelope of a delivery message, packing many events into size-bounded
// messages with the attributes that go with them, and what the delivery core
// asks of its queue (a Delay, a Parked message, a Requeued remainder). It
// knows nothing of SQS's API; shared/queue carries these messages over it,
// and shared/ingest and shared/deliver use this package without linking that
// adapter.
package envelope

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Version is the current envelope format.
const Version = 1

// MaxMessageBytes is the SQS limit (Amazon SQS quotas) on one message,
// message attributes included: 256 KiB. AWS has since raised the payload
// limit to 1 MiB, but 256 KiB queues still exist and Lambda batches stay
// small, so logstream packs for the classic limit.
const MaxMessageBytes = 256 * 1024

// Attributes every delivery message carries: which stream its events belong
// to and how many there are.
const (
	AttrProjectID  = "project_id"
	AttrStreamID   = "stream_id"
	AttrEventCount = "event_count"
)

// ArchiveStreamID is the StreamID of the messages ingestion enqueues to
// the archive queue (shared/eventarchive): the events of a project as
// received, for no stream. It is no stream id (stream.ValidStreamID), so it
// can never be mistaken for one.
const ArchiveStreamID = "archive"

// attrOverheadSlop counts an attribute's name and data type, generously.
const attrOverheadSlop = 64

// Envelope is the body of every delivery message: events of one stream.
// One stream per message means a delivery failure retries only that stream's
// events, never another stream's.
type Envelope struct {
	V         int               `json:"v"`
	ProjectID string            `json:"project_id"`
	StreamID  string            `json:"stream_id"`
	Events    []json.RawMessage `json:"events"`
}

// Message is one packed message: its body and what its attributes say.
type Message struct {
	Body      []byte
	Events    int
	ProjectID string
	StreamID  string
	// Attributes are extra string attributes (a parked message's reason);
	// Pack leaves room for them only through its maxBytes.
	Attributes map[string]string
	// Delay keeps a new message invisible for that long (at most MaxDelay).
	Delay      time.Duration
	attrsBytes int
}

// Size is what SQS counts against its limits: body plus attributes.
func (m Message) Size() int {
	n := len(m.Body) + m.attrsBytes
	for k, v := range m.Attributes {
		n += len(k) + len(v) + attrOverheadSlop
	}
	return n
}

// ErrEventTooLarge is returned by Pack for an event that cannot fit a message.
var ErrEventTooLarge = errors.New("event does not fit in one SQS message")

// Pack packs events of one stream into as few messages as fit maxBytes each
// (body and attributes), preserving their order. events must be compact JSON.
func Pack(projectID, streamID string, events []json.RawMessage, maxBytes int) ([]Message, error) {
	head, err := json.Marshal(struct {
		V         int    `json:"v"`
		ProjectID string `json:"project_id"`
		StreamID  string `json:"stream_id"`
	}{Version, projectID, streamID})
	if err != nil {
		return nil, err
	}
	// {"v":1,"project_id":"…","stream_id":"…","events":[ … ]}
	prefix := append(head[:len(head)-1:len(head)-1], []byte(`,"events":[`)...)
	const suffix = "]}"
	// attribute values: project id, stream id, and a count of up to 6 digits
	attrs := len(AttrProjectID) + len(projectID) + len(AttrStreamID) + len(streamID) + len(AttrEventCount) + 6 + attrOverheadSlop
	budget := maxBytes - attrs - len(prefix) - len(suffix)

	var out []Message
	var body []byte
	n := 0
	flush := func() {
		if n == 0 {
			return
		}
		body = append(body, suffix...)
		out = append(out, Message{Body: body, Events: n, ProjectID: projectID, StreamID: streamID, attrsBytes: attrs})
		body, n = nil, 0
	}
	used := 0
	for i, ev := range events {
		need := len(ev)
		if n > 0 {
			need++ // comma
		}
		if len(ev) > budget {
			return nil, fmt.Errorf("event %d is %d bytes, more than the %d a message can carry: %w", i, len(ev), budget, ErrEventTooLarge)
		}
		if n > 0 && used+need > budget {
			flush()
			need = len(ev)
		}
		if n == 0 {
			body = make([]byte, 0, min(maxBytes, len(prefix)+len(suffix)+estimate(events[i:], budget)))
			body = append(body, prefix...)
			used = 0
		} else {
			body = append(body, ',')
		}
		body = append(body, ev...)
		used += need
		n++
	}
	flush()
	return out, nil
}

// estimate sizes the next message's buffer so appends rarely reallocate.
func estimate(rest []json.RawMessage, budget int) int {
	total := 0
	for _, ev := range rest {
		total += len(ev) + 1
		if total >= budget {
			return budget
		}
	}
	return total
}

// Decode parses a message body.
func Decode(body []byte) (Envelope, error) {
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Envelope{}, fmt.Errorf("decode envelope: %w", err)
	}
	if env.V != Version {
		return Envelope{}, fmt.Errorf("decode envelope: unsupported version %d", env.V)
	}
	if env.ProjectID == "" || env.StreamID == "" {
		return Envelope{}, errors.New("decode envelope: project_id and stream_id are required")
	}
	return env, nil
}
