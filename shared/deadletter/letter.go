package deadletter

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/stream"
)

// Reason is why a letter's events were parked (stream.DeadLetterReason).
type Reason = stream.DeadLetterReason

// Letter is one stored dead letter: events of one stream parked together,
// for one reason, from one delivery message. Its events are stored beside
// it and read only when asked for (Letters.Events), so listing letters costs
// what their small index entries cost.
type Letter struct {
	// ID is derived from what was parked (LetterID): the same events parked
	// twice from the same message, as a crash between parking and deleting
	// does, are one letter.
	ID              string `json:"id"`
	ProjectID       string `json:"project_id"`
	StreamID        string `json:"stream_id"`
	DestinationType string `json:"destination_type"`
	Reason          Reason `json:"reason"`
	// Error is the last error, as the delivery function recorded it
	// (already redacted of the stream's secrets there).
	Error  string `json:"error"`
	Events int    `json:"events"`
	// Bytes is the size of the events as JSON.
	Bytes int `json:"bytes"`
	// ReceiveCount is how many times the events had been received.
	ReceiveCount int `json:"receive_count"`
	// SourceMessageID is the delivery message the events came from.
	SourceMessageID string    `json:"source_message_id"`
	ParkedAt        time.Time `json:"parked_at"`
	ExpiresAt       time.Time `json:"expires_at"`
	// Revision counts the letter's Replaces: its events are stored under
	// its id and revision, so a Replace writes the new events beside the
	// old ones before the index points at them.
	Revision int `json:"-"`
	// Claim is the job working on the letter, until ClaimUntil
	// (Letters.Claim): two jobs whose filters overlap never both send, or
	// one send and the other purge, the same events.
	Claim      string    `json:"-"`
	ClaimUntil time.Time `json:"-"`
}

// LetterID derives a letter's id from what identifies its parking: the
// stream, the source message, the reason and the events themselves. A DLQ
// message parked twice for one source message (the delivery function died
// between parking and deleting the source) has the same id both times;
// the parts of a parking split over several DLQ messages have different
// ones.
func LetterID(projectID, streamID, sourceMessageID string, why Reason, events []json.RawMessage, body []byte) string {
	h := sha256.New()
	for _, s := range []string{projectID, streamID, sourceMessageID, string(why)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	for _, e := range events {
		h.Write(e)
		h.Write([]byte{'\n'})
	}
	h.Write(body)
	sum := h.Sum(nil)
	return "dl_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16]))
}

// ValidLetterID reports whether id could be a LetterID.
func ValidLetterID(id string) bool {
	if len(id) != 29 || !strings.HasPrefix(id, "dl_") {
		return false
	}
	for _, c := range id[3:] {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// Message is one message received from a DLQ, as Parse needs it.
type Message struct {
	MessageID string
	Body      string
	// Attributes are the message's string attributes.
	Attributes map[string]string
	// SentAt is when the message was sent to the DLQ, or, for one SQS
	// redrive moved there, when it was first sent (SQS keeps SentTimestamp).
	SentAt time.Time
}

// Parsed is a DLQ message read as a letter and its events: an undecodable
// body is one event, the body as a JSON string.
type Parsed struct {
	Letter Letter
	Events []json.RawMessage
}

// Parse reads a message of a destination type's DLQ. A message the delivery
// core parked carries its reason (envelope.AttrParkedCode and friends); one
// SQS redrive moved there carries none and becomes ReasonUnrecorded, its
// source being itself (SQS keeps the message id when it moves a message).
// A body compressed by ingestion (envelope.AttrEncoding: a delivery message
// SQS redrive moved after maxReceiveCount, or an unreadable one parked as it
// came) is inflated first. A body that is not an envelope is
// ReasonUndecodable, kept whole under the project its attributes name, if
// any: inflated if it inflates, else as it came.
func Parse(m Message, destinationType string, now time.Time) Parsed {
	a := m.Attributes
	l := Letter{DestinationType: destinationType, SourceMessageID: m.MessageID, ParkedAt: now.UTC(),
		Reason: stream.ReasonUnrecorded, Error: "exhausted receives, no reason recorded"}
	if code := Reason(a[envelope.AttrParkedCode]); code.Valid() {
		l.Reason = code
		l.Error = a[envelope.AttrParkedReason]
	} else if a[envelope.AttrParkedReason] != "" {
		// Parked by a delivery function older than reason codes.
		l.Reason, l.Error = stream.ReasonPermanent, a[envelope.AttrParkedReason]
	}
	if src := a[envelope.AttrParkedFrom]; src != "" {
		l.SourceMessageID = src
	}
	if t, err := time.Parse(time.RFC3339Nano, a[envelope.AttrParkedAt]); err == nil {
		l.ParkedAt = t.UTC()
	} else if !m.SentAt.IsZero() && l.Reason != stream.ReasonUnrecorded {
		l.ParkedAt = m.SentAt.UTC()
	}
	l.ReceiveCount, _ = strconv.Atoi(a[envelope.AttrParkedReceives])
	body, err := envelope.Inflate(m.Body, a[envelope.AttrEncoding])
	if err == nil {
		// Read as the envelope it is; a body that does not inflate is kept
		// as it came, below.
		m.Body = string(body)
	}
	var env envelope.Envelope
	if err == nil {
		env, err = decode(m.Body)
	}
	if err != nil {
		if l.Reason != stream.ReasonUndecodable || l.Error == "" {
			l.Reason, l.Error = stream.ReasonUndecodable, "undecodable message: "+err.Error()
		}
		l.ProjectID, l.StreamID = a[envelope.AttrProjectID], a[envelope.AttrStreamID]
		if !stream.ValidProjectID(l.ProjectID) || !stream.ValidStreamID(l.StreamID) {
			// A name that is not a project's cannot be shown to one.
			l.ProjectID, l.StreamID = "", ""
		}
		// Kept whole, as one JSON string, so it can be peeked at like any
		// event (a body that is not UTF-8 has its bad bytes replaced).
		raw, _ := json.Marshal(m.Body)
		l.Events, l.Bytes = 1, len(m.Body)
		l.ID = LetterID(l.ProjectID, l.StreamID, l.SourceMessageID, l.Reason, nil, []byte(m.Body))
		return Parsed{Letter: l, Events: []json.RawMessage{raw}}
	}
	l.ProjectID, l.StreamID = env.ProjectID, env.StreamID
	l.Events = len(env.Events)
	for _, e := range env.Events {
		l.Bytes += len(e)
	}
	l.ID = LetterID(l.ProjectID, l.StreamID, l.SourceMessageID, l.Reason, env.Events, nil)
	return Parsed{Letter: l, Events: env.Events}
}

func decode(body string) (envelope.Envelope, error) {
	var env envelope.Envelope
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		return env, err
	}
	switch {
	case env.V != envelope.Version:
		return env, fmt.Errorf("envelope version %d", env.V)
	case !stream.ValidProjectID(env.ProjectID) || !stream.ValidStreamID(env.StreamID):
		return env, errors.New("envelope names no valid project and stream")
	case len(env.Events) == 0:
		return env, errors.New("envelope has no events")
	}
	return env, nil
}
