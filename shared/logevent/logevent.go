// Package logevent parses the batches of activity events a platform posts to
// logstream and stamps each event with a stable id and a timestamp.
//
// An event is any JSON object. logstream owns two fields of it: event_id (kept
// when the sender gives one, otherwise the vendor's own id — Okta's uuid,
// Auth0's log_id — or else a fresh UUIDv7) and timestamp (RFC 3339; when
// absent, the vendor's own time — Okta's published, Auth0's date — or else the
// time of ingestion). The timestamp must lie in a plausible Window around the
// time of ingestion. Types starting with ReservedTypePrefix are logstream's own.
// Every other field passes through untouched.
package logevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/klauspost/compress/gzip"
	"github.com/logstream/logstream/shared/jsonobj"
)

// Field names logstream reads and, when absent, adds to every event.
const (
	FieldID        = "event_id"
	FieldTimestamp = "timestamp"
	maxIDLength    = 128
)

// Vendor is an event source whose events carry their own id and time under
// other names. When an event has no event_id (timestamp), Parse takes the
// vendor's id (time) instead, so a batch sent twice keeps its ids and
// receivers can drop the duplicates. An event is the vendor's when both of
// its members are JSON strings. Stytch needs no entry: its event logs carry
// event_id and timestamp themselves.
type Vendor struct {
	Name, ID, Time string
}

// Vendors are the vendors Parse knows, in the order it tries them.
var Vendors = [...]Vendor{
	{Name: "Okta", ID: "uuid", Time: "published"}, // System Log API, LogEvent
	{Name: "Auth0", ID: "log_id", Time: "date"},   // Management API, GET /api/v2/logs
}

// TypeFields are the top-level members that name an event's type, in the
// order shared/sink/eventbridge prefers them for DetailType: Okta's
// "eventType", the generic and Auth0's "type", "event_type", and Stytch's
// "action".
var TypeFields = [...]string{"eventType", "type", "event_type", "action"}

// ReservedTypePrefix starts the types of the events logstream emits itself
// (logstream.stream.created, logstream.test …), which reach a project's
// streams without passing through Parse. Parse refuses a client's event whose
// type starts with it, in any case and after leading white space, so no
// client can pass its events off as logstream's.
const ReservedTypePrefix = "logstream."

// Window is the span of event times accepted as plausible, around the time
// of ingestion.
type Window struct {
	MaxAge   time.Duration // how long before now
	MaxAhead time.Duration // how long after now
}

// DefaultWindow accepts events from 30 days before now to 2 hours after.
// Back: wide enough for a platform that re-sends weeks of backlog after an
// outage, while a year 0001 or a Unix-epoch zero is refused; the
// destinations with a window of their own are narrower still (Loki:
// reject_old_samples_max_age, 7 days by default; Datadog: 18 hours), and
// those senders park what they would drop.
// Ahead: Datadog's own allowance (2 hours), room for a sender's clock that
// runs fast; Loki allows 10 minutes (creation_grace_period).
var DefaultWindow = Window{MaxAge: 30 * 24 * time.Hour, MaxAhead: 2 * time.Hour}

// Bounds are the oldest and the newest time accepted at now.
func (w Window) Bounds(now time.Time) (oldest, newest time.Time) {
	return now.Add(-w.MaxAge), now.Add(w.MaxAhead)
}

// Contains reports whether t is in the window at now, bounds included.
func (w Window) Contains(t, now time.Time) bool {
	oldest, newest := w.Bounds(now)
	return !t.Before(oldest) && !t.After(newest)
}

// String says what the window is, in words: "30 days before now to 2 hours
// after".
func (w Window) String() string {
	return span(w.MaxAge) + " before now to " + span(w.MaxAhead) + " after"
}

func span(d time.Duration) string {
	unit := func(n int64, name string) string {
		if n == 1 {
			return "1 " + name
		}
		return fmt.Sprintf("%d %ss", n, name)
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return unit(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return unit(int64(d/time.Minute), "minute")
	}
	return d.String()
}

// Event is one accepted event.
type Event struct {
	ID   string
	Time time.Time
	// Raw is the event as a compact, single-line JSON object that contains
	// event_id and timestamp, ready to be written as one JSON line.
	Raw json.RawMessage
	// index is where Raw's top-level members are, as Parse found them while
	// it read the fields it owns: for each member in order, the offsets in
	// Raw of its name (from after the opening quote to the closing one) and
	// of the end of its value, which starts right after the name's `":`
	// (Raw is compact). Members reads it so that each stream's filters find
	// members without walking the event again; nil for an event Parse did
	// not make.
	index []uint32
}

// Members calls fn with the name and raw value of each top-level member of
// Raw, in order, until fn returns false, as jsonobj.Members does, but from
// the index Parse kept when there is one: no byte of Raw is scanned.
func (e *Event) Members(fn func(key, value []byte) bool) error {
	if e.index == nil {
		return jsonobj.Members(e.Raw, fn)
	}
	for i := 0; i+2 < len(e.index); i += 3 {
		ks, ke, ve := e.index[i], e.index[i+1], e.index[i+2]
		if !fn(e.Raw[ks:ke], e.Raw[ke+2:ve]) {
			return nil
		}
	}
	return nil
}

// Limits bound what one request may carry. Every limit is checked before the
// work it protects: the body before decompression, the decompressed stream
// while it is read, each event before it is stored.
type Limits struct {
	MaxBodyBytes    int64 // the body as sent (compressed or not)
	MaxDecodedBytes int64 // the body after decompression
	MaxEvents       int   // events per request
	MaxEventBytes   int   // one event, compact, after stamping
	// Window bounds each event's timestamp around the time of ingestion;
	// the zero Window accepts only the very time of ingestion.
	Window Window
}

// DefaultLimits fit API Gateway and Lambda: HTTP API payloads are at most 10 MB
// and a synchronous Lambda invocation payload at most 6 MB (base64 for binary
// bodies adds a third), so 4 MiB as sent is the most that always arrives. An
// event must fit one SQS message (256 KiB) with its envelope.
var DefaultLimits = Limits{
	MaxBodyBytes:    4 << 20,
	MaxDecodedBytes: 32 << 20,
	MaxEvents:       10_000,
	MaxEventBytes:   200 << 10,
	Window:          DefaultWindow,
}

// Kind classifies a parse error; the HTTP boundary maps it to a status.
type Kind int

// Kinds of parse errors.
const (
	KindInvalid     Kind = iota + 1 // malformed input: 400
	KindTooLarge                    // a size or count limit: 413
	KindUnsupported                 // content type or encoding: 415
)

// Error is a parse error. Index is the zero-based event index it concerns, or
// -1 when it concerns the whole body.
type Error struct {
	Kind  Kind
	Code  string
	Index int
	Msg   string
}

func (e *Error) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("event %d: %s", e.Index, e.Msg)
	}
	return e.Msg
}

func errorf(kind Kind, code string, index int, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Index: index, Msg: fmt.Sprintf(format, args...)}
}

// Stamper supplies what Parse adds to events that lack it.
type Stamper struct {
	Now   func() time.Time
	NewID func() string
}

// NewID returns a fresh time-ordered UUIDv7 string.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

func (s Stamper) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s Stamper) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	return NewID()
}

// Format is how events are laid out in a body.
type Format int

// Body formats.
const (
	FormatSniff  Format = iota // decide from the first non-blank byte
	FormatArray                // a JSON array of objects (a lone object is accepted too)
	FormatNDJSON               // one object per line
)

// MediaTypes are the Content-Types a batch may be sent as, and the format
// each one means. text/plain is not one: a body sent as text is not known to
// be JSON at all, so it is refused (415) rather than guessed at.
var MediaTypes = []struct {
	Name   string
	Format Format
}{
	{"application/json", FormatSniff}, // an array, or one object (which is also one NDJSON line)
	{"application/x-ndjson", FormatNDJSON},
	{"application/ndjson", FormatNDJSON},
	{"application/jsonl", FormatNDJSON},
	{"application/x-jsonlines", FormatNDJSON},
	{"application/jsonlines", FormatNDJSON},
}

// FormatOf maps a Content-Type to a body format. An empty Content-Type sniffs.
func FormatOf(contentType string) (Format, error) {
	if strings.TrimSpace(contentType) == "" {
		return FormatSniff, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, errorf(KindUnsupported, "unsupported_media_type", -1, "malformed Content-Type %q; %s", contentType, acceptedTypes())
	}
	for _, t := range MediaTypes {
		if mt == t.Name {
			return t.Format, nil
		}
	}
	return 0, errorf(KindUnsupported, "unsupported_media_type", -1, "unsupported Content-Type %q; %s", mt, acceptedTypes())
}

// acceptedTypes says which Content-Types a batch may be sent as.
func acceptedTypes() string {
	var ndjson []string
	for _, t := range MediaTypes[2:] {
		ndjson = append(ndjson, t.Name)
	}
	return fmt.Sprintf("send %s (an array of event objects, or one object) or %s (one object a line; also %s)",
		MediaTypes[0].Name, MediaTypes[1].Name, strings.Join(ndjson, ", "))
}

// Decode returns the decompressed body, bounded by lim. contentEncoding is the
// request's Content-Encoding header.
func Decode(body []byte, contentEncoding string, lim Limits) ([]byte, error) {
	if int64(len(body)) > lim.MaxBodyBytes {
		return nil, errorf(KindTooLarge, "payload_too_large", -1,
			"request body is %d bytes; the limit is %d", len(body), lim.MaxBodyBytes)
	}
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
		if int64(len(body)) > lim.MaxDecodedBytes {
			return nil, errorf(KindTooLarge, "payload_too_large", -1,
				"request body is %d bytes; the limit is %d", len(body), lim.MaxDecodedBytes)
		}
		return body, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, errorf(KindInvalid, "invalid_body", -1, "body is not valid gzip: %v", err)
		}
		defer zr.Close()
		// Read one byte past the limit so a body that inflates beyond it is
		// refused without ever holding more than the limit in memory.
		out, err := io.ReadAll(io.LimitReader(zr, lim.MaxDecodedBytes+1))
		if err != nil {
			return nil, errorf(KindInvalid, "invalid_body", -1, "body is not valid gzip: %v", err)
		}
		if int64(len(out)) > lim.MaxDecodedBytes {
			return nil, errorf(KindTooLarge, "payload_too_large", -1,
				"decompressed body exceeds the limit of %d bytes", lim.MaxDecodedBytes)
		}
		return out, nil
	}
	return nil, errorf(KindUnsupported, "unsupported_media_type", -1,
		"unsupported Content-Encoding %q: send gzip or none", contentEncoding)
}

// Parse splits a decoded body into events, validates them and stamps the
// missing ids and timestamps. Either every event is accepted or none is.
//
// Each event is read once: jsonobj.CompactValue validates it (JSON and
// UTF-8), compacts it into one arena per request and notes where its
// top-level members are, and the fields Parse owns are then read from those
// notes, not from the bytes again.
func Parse(body []byte, format Format, lim Limits, st Stamper) ([]Event, error) {
	if format == FormatSniff {
		format = sniff(body)
	}
	p := &parser{now: st.now().UTC(), win: lim.Window, st: st}
	if format == FormatArray {
		// An array is compacted whole before any event is stamped, so its
		// first fault in JSON is the one answered, as a decoder would.
		objs, err := p.splitArray(body, lim)
		if err != nil {
			return nil, err
		}
		return p.stampAll(len(objs), lim, func(i int) (compacted, *Error) { return objs[i], nil })
	}
	lines, err := splitLines(body, lim)
	if err != nil {
		return nil, err
	}
	p.grow(len(body), len(lines))
	return p.stampAll(len(lines), lim, func(i int) (compacted, *Error) {
		o, end, ok := p.compact(lines[i], 0)
		if !ok || end != len(lines[i]) { // lines are trimmed: nothing may follow
			return compacted{}, invalidLine(lines[i])
		}
		return o, nil
	})
}

// stampAll stamps the n events next returns, in order.
func (p *parser) stampAll(n int, lim Limits, next func(i int) (compacted, *Error)) ([]Event, error) {
	if n == 0 {
		return nil, errorf(KindInvalid, "no_events", -1, "the request contains no events")
	}
	out := make([]Event, 0, n)
	for i := range n {
		o, err := next(i)
		if err == nil {
			var ev Event
			if ev, err = p.stamp(o); err == nil && len(ev.Raw) > lim.MaxEventBytes {
				err = errorf(KindTooLarge, "event_too_large", 0,
					"event is %d bytes; the limit is %d", len(ev.Raw), lim.MaxEventBytes)
			}
			out = append(out, ev)
		}
		if err != nil {
			err.Index = i
			return nil, err
		}
	}
	return out, nil
}

// stampRoom is the room kept in front of each compacted event for the two
// fields stamp may add and the brace before them: `{"event_id":"<uuid>",`
// and `"timestamp":"<RFC 3339 nano>",` take 96 bytes, and a vendor's id of
// up to 60 bytes fits too. An event that needs more is copied once.
const stampRoom = 128

// parser holds what Parse shares across a request's events: one arena for
// their bytes and one slab for their indexes, so an event costs no
// allocation of its own unless either runs out.
type parser struct {
	// arena holds every event as Raw has it: each compacted after stampRoom
	// bytes the stamped fields are written into. Raw is capped, so an
	// append to one event never writes into the next.
	arena []byte
	// slab holds every event's index (3 offsets a member), after 6 entries
	// kept for the stamped fields.
	slab    []uint32
	scratch []byte // the stamped fields, reused across events
	now     time.Time
	win     Window
	st      Stamper
}

// compacted is one event in the arena: room is its stampRoom bytes and then
// the compacted value; idx is where its entries are in the slab.
type compacted struct {
	room     []byte
	from, to int
}

// grow makes room for events whose bytes take at most size before
// compaction (compacting never lengthens JSON).
func (p *parser) grow(size, events int) {
	p.arena = slices.Grow(p.arena, size+events*stampRoom)
	p.slab = slices.Grow(p.slab, events*3*24)
}

// compact compacts the value at s[i] (after white space) into the arena
// and returns it and where it ends in s; ok is false when no valid JSON
// value in valid UTF-8 starts there.
func (p *parser) compact(s []byte, i int) (o compacted, end int, ok bool) {
	at, from := len(p.arena), len(p.slab)
	p.arena = slices.Grow(p.arena, stampRoom)[:at+stampRoom]
	p.slab = append(p.slab, 0, 0, 0, 0, 0, 0)
	out, end, ok := jsonobj.CompactValue(p.arena, s, i, &p.slab)
	if !ok {
		p.arena, p.slab = p.arena[:at], p.slab[:from]
		return compacted{}, i, false
	}
	p.arena = out
	return compacted{room: out[at:len(out):len(out)], from: from, to: len(p.slab)}, end, true
}

func sniff(body []byte) Format {
	t := bytes.TrimLeft(body, " \t\r\n\ufeff")
	if len(t) > 0 && t[0] == '[' {
		return FormatArray
	}
	return FormatNDJSON
}

// splitArray compacts each element of the JSON array body into the arena.
func (p *parser) splitArray(body []byte, lim Limits) ([]compacted, error) {
	// The arena starts with room for the body and the stamped fields of
	// events of 512 bytes, and grows as append does if they are smaller.
	p.grow(len(body), len(body)>>9+1)
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '[' {
		return nil, locateArrayError(body, lim)
	}
	var objs []compacted
	if i = skipSpace(body, i+1); i < len(body) && body[i] == ']' {
		i++
	} else {
		for {
			if len(objs) >= lim.MaxEvents {
				return nil, errorf(KindTooLarge, "too_many_events", -1,
					"request has more than %d events; split it", lim.MaxEvents)
			}
			o, end, ok := p.compact(body, i)
			if !ok {
				// Walk the body again with a decoder only to name the bad event.
				return nil, locateArrayError(body, lim)
			}
			objs = append(objs, o)
			if i = skipSpace(body, end); i < len(body) && body[i] == ',' {
				i = skipSpace(body, i+1)
				continue
			}
			if i < len(body) && body[i] == ']' {
				i++
				break
			}
			return nil, locateArrayError(body, lim)
		}
	}
	if skipSpace(body, i) != len(body) {
		return nil, locateArrayError(body, lim)
	}
	return objs, nil
}

// skipSpace is where JSON white space from b[i] ends.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// locateArrayError explains why body is not a valid array of JSON values,
// naming the first bad element when there is one.
func locateArrayError(body []byte, lim Limits) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('[') {
		return errorf(KindInvalid, "invalid_json", -1, "body must be a JSON array of event objects")
	}
	for n := 0; dec.More(); n++ {
		if n >= lim.MaxEvents {
			return errorf(KindTooLarge, "too_many_events", -1, "request has more than %d events; split it", lim.MaxEvents)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return errorf(KindInvalid, "invalid_json", n, "invalid JSON: %v", err)
		}
		// The decoder takes bytes that are not UTF-8 inside strings;
		// AppendCompact, which sent the body here, does not.
		if !utf8.Valid(raw) {
			return errUTF8(n)
		}
	}
	return errorf(KindInvalid, "invalid_json", -1, "body must be a JSON array of event objects, with nothing after it")
}

func splitLines(body []byte, lim Limits) ([][]byte, error) {
	var raws [][]byte
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSpace(bytes.TrimPrefix(line, []byte("\ufeff")))
		if len(line) == 0 {
			continue
		}
		if len(raws) >= lim.MaxEvents {
			return nil, errorf(KindTooLarge, "too_many_events", -1,
				"request has more than %d events; split it", lim.MaxEvents)
		}
		raws = append(raws, line)
	}
	return raws, nil
}

// stamp checks the fields logstream owns of one compacted event and writes
// the missing ones right after its opening brace, into the room before it.
func (p *parser) stamp(o compacted) (Event, *Error) {
	obj := o.room[stampRoom:]
	if len(obj) == 0 || obj[0] != '{' {
		return Event{}, errorf(KindInvalid, "invalid_event", 0, "an event must be a JSON object")
	}
	// The fields stamped below go first in Raw, so their index entries are
	// the six kept first and compact's follow, shifted once Raw is known.
	idx := p.slab[o.from:o.to:o.to]
	m, err := readMembers(obj, idx[6:])
	if err != nil {
		return Event{}, err
	}
	id, ts := m.sources()
	var ev Event
	prefix := p.scratch[:0]
	defer func() { p.scratch = prefix[:0] }() // reused: Raw copies it
	if ev.ID, prefix, err = stampID(id, p.st, prefix); err != nil {
		return Event{}, err
	}
	added := [2]int{len(prefix)} // where the stamped timestamp starts in prefix
	if ev.Time, prefix, err = stampTime(ts, p.now, p.win, prefix); err != nil {
		return Event{}, err
	}
	added[1] = len(prefix)
	ev.index = idx[6:]
	if len(prefix) == 0 {
		ev.Raw = json.RawMessage(obj)
		return ev, nil
	}
	// Raw is '{', prefix, then obj after its brace: obj's offsets move by
	// len(prefix), and the stamped fields get entries of their own.
	for i := 6; i < len(idx); i++ {
		idx[i] += uint32(len(prefix))
	}
	// appendField wrote each stamped field as `"name":value,` at
	// prefix[from:to], which is Raw[1+from : 1+to]. The six reserved
	// entries are filled from the back, timestamp first, so the used ones
	// end where obj's begin.
	n := 6
	for _, f := range [...]struct {
		name     string
		from, to int
	}{{FieldTimestamp, added[0], added[1]}, {FieldID, 0, added[0]}} {
		if f.to == f.from {
			continue
		}
		n -= 3
		ks := uint32(1 + f.from + 1)
		idx[n], idx[n+1], idx[n+2] = ks, ks+uint32(len(f.name)), uint32(1+f.to-1)
	}
	ev.index = idx[n:]
	if obj[1] == '}' {
		prefix = prefix[:len(prefix)-1] // an empty object: no comma after the last added field
	}
	// '{' and prefix end where obj[1] is, in the room before obj when they
	// fit, else in a copy.
	if start := stampRoom - len(prefix); start >= 0 {
		o.room[start] = '{'
		copy(o.room[start+1:], prefix)
		ev.Raw = json.RawMessage(o.room[start:])
		return ev, nil
	}
	out := make([]byte, 0, 1+len(prefix)+len(obj)-1)
	out = append(out, '{')
	out = append(out, prefix...)
	ev.Raw = append(out, obj[1:]...)
	return ev, nil
}

// invalidLine says why a line AppendCompact refused is not an event: its
// JSON error as encoding/json words it, or that it is not UTF-8. Only a
// refused line pays for the second look.
func invalidLine(raw []byte) *Error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return errorf(KindInvalid, "invalid_json", 0, "invalid JSON: %v", err)
	}
	return errUTF8(0)
}

func errUTF8(index int) *Error {
	return errorf(KindInvalid, "invalid_event", index, "an event must be valid UTF-8")
}

// stampID is the event's id: its own (event_id or a vendor's field), or a
// new one. It appends event_id to prefix when the event lacks it.
func stampID(id source, st Stamper, prefix []byte) (string, []byte, *Error) {
	if id.raw == nil {
		newID := st.newID()
		return newID, appendField(prefix, FieldID, newID), nil
	}
	text, ok := jsonobj.Text(id.raw)
	if !ok || len(text) == 0 || len(text) > maxIDLength {
		return "", nil, errorf(KindInvalid, "invalid_event_id", 0,
			"%s must be a non-empty string of at most %d bytes", id.idName(), maxIDLength)
	}
	own := string(text)
	if id.vendor != nil {
		prefix = appendField(prefix, FieldID, own)
	}
	return own, prefix, nil
}

// stampTime is the event's time: its own (timestamp or a vendor's field),
// which must fall within win, or now. It appends timestamp to prefix when the
// event lacks it.
func stampTime(ts source, now time.Time, win Window, prefix []byte) (time.Time, []byte, *Error) {
	if ts.raw == nil {
		// RFC 3339 needs no JSON escaping: appended as it is formatted.
		prefix = append(prefix, `"`+FieldTimestamp+`":"`...)
		prefix = now.AppendFormat(prefix, time.RFC3339Nano)
		return now, append(prefix, '"', ','), nil
	}
	text, ok := jsonobj.Text(ts.raw)
	t, err := time.Parse(time.RFC3339Nano, string(text))
	if !ok || err != nil {
		return time.Time{}, nil, errorf(KindInvalid, "invalid_timestamp", 0,
			"%s must be an RFC 3339 string such as 2026-11-24T10:00:00Z", ts.timeName())
	}
	t = t.UTC()
	if !win.Contains(t, now) {
		oldest, newest := win.Bounds(now)
		return time.Time{}, nil, errorf(KindInvalid, "timestamp_out_of_range", 0,
			"%s %s is outside the accepted window of %s (%s to %s)", ts.timeName(), text, win,
			oldest.Format(time.RFC3339), newest.Format(time.RFC3339))
	}
	if ts.vendor != nil {
		prefix = appendField(prefix, FieldTimestamp, string(text))
	}
	return t, prefix, nil
}

// appendField appends `"name":"value",` (value JSON-escaped).
func appendField(b []byte, name, value string) []byte {
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	b = jsonobj.AppendString(b, value)
	return append(b, ',')
}

// members are the raw values of the top-level members Parse reads.
type members struct {
	id, ts json.RawMessage
	vendor [len(Vendors)]struct{ id, ts json.RawMessage }
}

// source is where an owned field's value comes from: the raw value, and the
// vendor whose member it is (nil for the event's own event_id or timestamp).
type source struct {
	raw    json.RawMessage
	vendor *Vendor
}

// sources picks where event_id and timestamp come from: the event's own
// members, else those of the first vendor whose two members are both strings.
func (m *members) sources() (id, ts source) {
	id, ts = source{raw: m.id}, source{raw: m.ts}
	for i := range Vendors {
		vid, vts := m.vendor[i].id, m.vendor[i].ts
		if !isString(vid) || !isString(vts) {
			continue
		}
		if id.raw == nil {
			id = source{raw: vid, vendor: &Vendors[i]}
		}
		if ts.raw == nil {
			ts = source{raw: vts, vendor: &Vendors[i]}
		}
		break
	}
	return id, ts
}

// idName and timeName name the member a value came from, for error messages.
func (s source) idName() string {
	if s.vendor == nil {
		return FieldID
	}
	return fmt.Sprintf("%s (%s's id, taken as %s)", s.vendor.ID, s.vendor.Name, FieldID)
}

func (s source) timeName() string {
	if s.vendor == nil {
		return FieldTimestamp
	}
	return fmt.Sprintf("%s (%s's time, taken as %s)", s.vendor.Time, s.vendor.Name, FieldTimestamp)
}

func isString(raw []byte) bool { return len(raw) > 0 && raw[0] == '"' }

// readMembers reads the members Parse needs from the top level of a
// compact, valid JSON object, from index (three offsets a member, as
// jsonobj.CompactValue notes them), matching names exactly once their
// escapes are decoded (encoding/json's struct decoding would also match
// "EVENT_ID"), and refuses a type with the reserved prefix. A repeated
// member Parse reads is refused: receivers would disagree on which counts.
// membersDecoder in the tests is the slow, obviously correct oracle it is
// fuzzed against.
func readMembers(obj []byte, index []uint32) (m members, perr *Error) {
	set := func(dst *json.RawMessage, name string, value []byte, code string) bool {
		if *dst != nil {
			perr = errorf(KindInvalid, code, 0, "%s appears more than once", name)
			return false
		}
		*dst = value
		return true
	}
	member := func(key, value []byte) bool {
		if name, ok := jsonobj.Unescape(key); ok {
			key = name
		}
		// string(key) in comparisons does not allocate; a string kept would.
		switch string(key) {
		case FieldID:
			return set(&m.id, FieldID, value, "invalid_event_id")
		case FieldTimestamp:
			return set(&m.ts, FieldTimestamp, value, "invalid_timestamp")
		}
		for _, f := range TypeFields {
			if string(key) != f {
				continue
			}
			if t, ok := jsonobj.Text(value); ok && reserved(t) {
				perr = errorf(KindInvalid, "reserved_type", 0, "%s %q starts with %q, which is reserved for the events logstream emits itself",
					f, t, ReservedTypePrefix)
				return false
			}
			return true
		}
		for i, v := range Vendors {
			switch string(key) {
			case v.ID:
				return set(&m.vendor[i].id, v.ID, value, "invalid_event_id")
			case v.Time:
				return set(&m.vendor[i].ts, v.Time, value, "invalid_timestamp")
			}
		}
		return true
	}
	for i := 0; i+2 < len(index); i += 3 {
		ks, ke, ve := index[i], index[i+1], index[i+2]
		if !member(obj[ks:ke], obj[ke+2:ve]) {
			break
		}
	}
	if perr != nil {
		return members{}, perr
	}
	return m, nil
}

// reserved reports whether an event type starts with ReservedTypePrefix,
// ignoring case and leading white space (as EventBridge's DetailType and
// most receivers' comparisons would).
func reserved(typ []byte) bool {
	t := bytes.TrimLeftFunc(typ, unicode.IsSpace)
	return len(t) >= len(ReservedTypePrefix) && bytes.EqualFold(t[:len(ReservedTypePrefix)], []byte(ReservedTypePrefix))
}

// IsTooLarge reports whether err is a size or count limit.
func IsTooLarge(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == KindTooLarge
}
