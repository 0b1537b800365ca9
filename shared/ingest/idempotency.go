package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/httpapi"
	"github.com/logstream/logstream/shared/logevent"
)

// IdempotencyHeader names the request header that makes a retry of an
// ingest request enqueue only what the earlier attempt did not.
const IdempotencyHeader = httpapi.IdempotencyHeader

// KeepAttempts is how long a key is remembered, from its first attempt.
const KeepAttempts = 24 * time.Hour

// Attempts keeps what requests with an Idempotency-Key did, per project
// (shared/store.Attempts keeps them in the table).
type Attempts interface {
	// Get answers the attempt stored for the key, found or not. It may
	// answer an expired one: the caller checks ExpiresAt.
	Get(ctx context.Context, projectID, key string) (Attempt, bool, error)
	// Put stores the attempt (one write), replacing any before it.
	Put(ctx context.Context, projectID, key string, a Attempt) error
}

// Attempt is what the requests with one key have done so far.
type Attempt struct {
	// BodyHash identifies the request: hex SHA-256 of its Content-Type,
	// Content-Encoding and body as sent. A key reused for another request is
	// refused.
	BodyHash string
	// StartedAt is the first attempt's clock. Every attempt stamps with it,
	// so a retry gives the events that lack a timestamp the same one, and
	// the derived event ids the same time.
	StartedAt time.Time
	// ExpiresAt is StartedAt + KeepAttempts: after it the key is new again.
	ExpiresAt time.Time
	// Sent names, per stream id, the messages SQS accepted, as marks
	// ("<index>:<digest>", see mark).
	Sent map[string][]string
	// Done is set once every message was enqueued; Result is then the
	// answer every later attempt gets.
	Done   bool
	Result Result
}

// AcceptedMessages is what a Publisher's error may add (queue.PublishError
// does): the positions of the messages SQS accepted before it gave up. Without
// it nothing of that stream's publish counts as sent, so a retry sends it all
// again: duplicates, never a loss.
type AcceptedMessages interface {
	AcceptedMessages() []int
}

// idempotencyKey is the request's Idempotency-Key, "" without one.
func idempotencyKey(key string) (string, error) {
	if err := httpapi.CheckIdempotencyKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// errKeyReused answers a key sent again with another request.
func errKeyReused() error {
	return &httpapi.Error{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", Field: IdempotencyHeader,
		Message: fmt.Sprintf("this %s was used in the last %s for a request with another body; use a new key for a new request",
			IdempotencyHeader, KeepAttempts)}
}

// bodyHash identifies a request by what decides its events: how the body is
// encoded and the body itself, as sent.
func bodyHash(contentType, contentEncoding string, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d:%s\n%d:%s\n", len(contentType), contentType, len(contentEncoding), contentEncoding)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// keyedStamper stamps a keyed request the same way on every attempt: the
// first attempt's time, and event ids derived from the project, the key and
// the event's place among those that lack one (Parse asks in body order).
// The ids are UUIDv7 in form, with started's milliseconds, so they sort with
// the ids logstream stamps otherwise.
func keyedStamper(projectID, key string, started time.Time) logevent.Stamper {
	n := 0
	return logevent.Stamper{
		Now: func() time.Time { return started },
		NewID: func() string {
			sum := sha256.Sum256([]byte(projectID + "\x00" + key + "\x00" + strconv.Itoa(n)))
			n++
			var u uuid.UUID
			var ms [8]byte
			binary.BigEndian.PutUint64(ms[:], uint64(started.UnixMilli()))
			copy(u[:6], ms[2:])
			copy(u[6:], sum[:10])
			u[6] = 0x70 | u[6]&0x0f // version 7 (RFC 9562 §5.7)
			u[8] = 0x80 | u[8]&0x3f // variant 10
			return u.String()
		},
	}
}

// mark names a stream's message by its place and content, so a retry skips
// a message only if it packs the very same one there: a stream whose packing
// changed between attempts (its filters edited) gets its messages again
// rather than losing any.
func mark(i int, m envelope.Message) string {
	sum := sha256.Sum256(m.Body)
	return strconv.Itoa(i) + ":" + hex.EncodeToString(sum[:8])
}

// ledger is what a keyed request has enqueued: Attempt.Sent, updated as
// this attempt publishes. A nil ledger tracks nothing (a request without a
// key, or logstream's own events).
type ledger map[string][]string

// unsent is the stream's messages not yet enqueued and their marks; with a
// nil ledger, all of them and no marks.
func (l ledger) unsent(streamID string, msgs []envelope.Message) ([]envelope.Message, []string) {
	if l == nil {
		return msgs, nil
	}
	done := l[streamID]
	var todo []envelope.Message
	var marks []string
	for i, m := range msgs {
		if k := mark(i, m); !slices.Contains(done, k) {
			todo, marks = append(todo, m), append(marks, k)
		}
	}
	return todo, marks
}

// sent records that the messages with these marks were enqueued: all of
// them after a publish without error, else those the error names.
func (l ledger) sent(streamID string, marks []string, err error) {
	if l == nil {
		return
	}
	if err == nil {
		l[streamID] = append(l[streamID], marks...)
		return
	}
	var am AcceptedMessages
	if !errors.As(err, &am) {
		return
	}
	for _, i := range am.AcceptedMessages() {
		if i >= 0 && i < len(marks) {
			l[streamID] = append(l[streamID], marks[i])
		}
	}
}

// count is how many messages the ledger names.
func (l ledger) count() int {
	n := 0
	for _, marks := range l {
		n += len(marks)
	}
	return n
}
