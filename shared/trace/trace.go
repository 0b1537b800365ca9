// Package trace carries one request's trace context from ingestion, through
// the delivery queues, to the delivery functions, so the path of a batch of
// events can be followed across functions: a W3C Trace Context
// (https://www.w3.org/TR/trace-context/, "traceparent") and the platform's
// own request id, in one SQS message attribute, and a span line in each
// function's log.
//
// It is W3C's format rather than X-Ray's because it is what a platform's own
// tracing (OpenTelemetry) sends in the ingest request's traceparent header,
// which ingestion continues; X-Ray reads W3C trace ids too (its Root is the
// same 128 bits, the first 32 of them a time).
package trace

import (
	"context"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Header is the HTTP header of a W3C trace context; RequestIDHeader the
// header a platform names its own request with.
const (
	Header          = "traceparent"
	RequestIDHeader = "x-request-id"
)

// MaxRequestIDBytes bounds the request id a message carries.
const MaxRequestIDBytes = 128

// MaxCarrierBytes is the longest Carrier value: a traceparent, a space and
// a request id.
const MaxCarrierBytes = 55 + 1 + MaxRequestIDBytes

// Context is one span's place in a trace.
type Context struct {
	TraceID [16]byte
	SpanID  [8]byte
	Flags   byte // bit 0: sampled
	// RequestID is the platform's id of the request that brought the
	// events (its X-Request-Id, else API Gateway's request id).
	RequestID string
}

// Valid reports whether c names a trace: W3C forbids all-zero ids.
func (c Context) Valid() bool {
	return c.TraceID != [16]byte{} && c.SpanID != [8]byte{}
}

// Traceparent is c as a W3C traceparent header value (version 00).
func (c Context) Traceparent() string {
	var b [55]byte
	copy(b[:], "00-")
	hex.Encode(b[3:35], c.TraceID[:])
	b[35] = '-'
	hex.Encode(b[36:52], c.SpanID[:])
	b[52] = '-'
	hex.Encode(b[53:55], []byte{c.Flags})
	return string(b[:])
}

// TraceIDString is the trace id as 32 lowercase hex digits.
func (c Context) TraceIDString() string { return hex.EncodeToString(c.TraceID[:]) }

// SpanIDString is the span id as 16 lowercase hex digits.
func (c Context) SpanIDString() string { return hex.EncodeToString(c.SpanID[:]) }

// ParseTraceparent reads a W3C traceparent header value. It accepts
// version 00 exactly, and a later version's first four fields (the
// specification's rule for versions it does not know), and refuses
// version ff, upper-case hex and all-zero ids.
func ParseTraceparent(s string) (Context, bool) {
	var c Context
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return c, false
	}
	var v [1]byte
	if !lowerHex(s[0:2]) || !lowerHex(s[3:35]) || !lowerHex(s[36:52]) || !lowerHex(s[53:55]) {
		return c, false
	}
	hex.Decode(v[:], []byte(s[0:2]))
	switch {
	case v[0] == 0xff:
		return c, false
	case v[0] == 0 && len(s) != 55:
		return c, false
	case v[0] > 0 && len(s) > 55 && s[55] != '-':
		return c, false
	}
	hex.Decode(c.TraceID[:], []byte(s[3:35]))
	hex.Decode(c.SpanID[:], []byte(s[36:52]))
	var f [1]byte
	hex.Decode(f[:], []byte(s[53:55]))
	c.Flags = f[0]
	if !c.Valid() {
		return Context{}, false
	}
	return c, true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Start begins a span: a child of parent when it names a trace (parent's
// trace id and flags, a new span id), else the root of a new, sampled
// trace. The request id is parent's.
func Start(parent Context) Context {
	c := parent
	if !parent.Valid() {
		c = Context{Flags: 1, RequestID: parent.RequestID}
		for c.TraceID == [16]byte{} {
			put64(c.TraceID[:8], rand.Uint64())
			put64(c.TraceID[8:], rand.Uint64())
		}
	}
	c.SpanID = [8]byte{}
	for c.SpanID == [8]byte{} {
		put64(c.SpanID[:], rand.Uint64())
	}
	return c
}

func put64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}

// CleanRequestID makes a platform's request id safe to carry and log: at
// most MaxRequestIDBytes, printable, no spaces (a space ends the
// traceparent in Carrier), on a rune boundary.
func CleanRequestID(id string) string {
	id = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return '_'
		}
		return r
	}, strings.TrimSpace(id))
	if len(id) > MaxRequestIDBytes {
		id = id[:MaxRequestIDBytes]
		for len(id) > 0 && !utf8.ValidString(id) {
			id = id[:len(id)-1]
		}
	}
	return id
}

// Carrier is c as the value of a message attribute: its traceparent, then
// a space and the request id when there is one.
func (c Context) Carrier() string {
	if c.RequestID == "" {
		return c.Traceparent()
	}
	return c.Traceparent() + " " + c.RequestID
}

// ParseCarrier reads a Carrier value.
func ParseCarrier(s string) (Context, bool) {
	tp, rid, _ := strings.Cut(s, " ")
	c, ok := ParseTraceparent(tp)
	if !ok {
		return Context{}, false
	}
	c.RequestID = CleanRequestID(rid)
	return c, true
}

type ctxKey struct{}

// With returns ctx carrying c: ingestion's span, which every message it
// enqueues names as its parent.
func With(ctx context.Context, c Context) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// From is the Context ctx carries, if any.
func From(ctx context.Context) (Context, bool) {
	c, ok := ctx.Value(ctxKey{}).(Context)
	return c, ok && c.Valid()
}

// Span is one unit of work of a trace, logged when it ends.
type Span struct {
	Name   string
	Ctx    Context
	Parent [8]byte // zero for a root span
	Start  time.Time
}

// NewSpan starts a span named name under parent (a new trace when parent
// is not valid) at start.
func NewSpan(name string, parent Context, start time.Time) Span {
	s := Span{Name: name, Ctx: Start(parent), Start: start}
	if parent.Valid() {
		s.Parent = parent.SpanID
	}
	return s
}

// Log writes the span's line: "span" at info level with its name, ids,
// the platform's request id, its duration and attrs. A local view of a
// trace is every line with its trace_id.
func (s Span) Log(ctx context.Context, log *slog.Logger, end time.Time, attrs ...any) {
	args := []any{"span", s.Name, "trace_id", s.Ctx.TraceIDString(), "span_id", s.Ctx.SpanIDString()}
	if s.Parent != [8]byte{} {
		args = append(args, "parent_id", hex.EncodeToString(s.Parent[:]))
	}
	if s.Ctx.RequestID != "" {
		args = append(args, "request_id", s.Ctx.RequestID)
	}
	args = append(args, "duration_ms", float64(end.Sub(s.Start).Microseconds())/1000)
	log.InfoContext(ctx, "span", append(args, attrs...)...)
}
