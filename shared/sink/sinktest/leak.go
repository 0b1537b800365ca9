package sinktest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/stream"
)

// Encoding is one way a destination may echo a credential back in its
// answer: an echoing receiver writes a credential with Encode, and a leak
// check looks for every encoding of it.
type Encoding struct {
	Name   string
	Encode func(string) string
}

// Encodings are the ways a destination may echo what it received: as it is,
// base64 (standard and URL alphabets), JSON-escaped (as Go writes it, and
// ASCII-only as Python's and PHP's encoders do), URL-encoded, HTML-escaped
// (as Go does, and with names as PHP's htmlentities does), and its UTF-8
// bytes read as Latin-1 or Windows-1252 (the mojibake of Python's
// http.server and Node echoing a header).
var Encodings = []Encoding{
	{"raw", func(s string) string { return s }},
	{"base64", func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }},
	{"base64url", func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }},
	{"json", jsonString},
	{"json ascii", jsonASCII},
	{"url query", url.QueryEscape},
	{"url path", url.PathEscape},
	{"html", html.EscapeString},
	{"html entities", htmlEntities},
	{"latin-1 mojibake", func(s string) string { return mojibake(s, nil) }},
	{"windows-1252 mojibake", func(s string) string { return mojibake(s, cp1252) }},
}

// htmlEntities escapes s as PHP's htmlentities does: the HTML specials and
// every non-ASCII character by name where it has a common one, by number
// otherwise.
func htmlEntities(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch name, ok := entityNames[r]; {
		case ok:
			b.WriteString("&" + name + ";")
		case r >= 0x80:
			fmt.Fprintf(&b, "&#%d;", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

var entityNames = map[rune]string{'"': "quot", '&': "amp", '<': "lt", '>': "gt", '\'': "#039",
	'é': "eacute", 'è': "egrave", 'ü': "uuml", 'ß': "szlig", '€': "euro", '©': "copy"}

// mojibake is s's UTF-8 bytes each read as one character: the byte's own
// code point (Latin-1), or high's character for it (Windows-1252).
func mojibake(s string, high map[byte]rune) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if r, ok := high[s[i]]; ok {
			b.WriteRune(r)
		} else {
			b.WriteRune(rune(s[i]))
		}
	}
	return b.String()
}

// cp1252 are the characters Windows-1252 has at 0x80–0x9F that are not the
// byte's own code point.
var cp1252 = map[byte]rune{0x80: '€', 0x82: '‚', 0x83: 'ƒ', 0x84: '„', 0x85: '…', 0x86: '†',
	0x87: '‡', 0x88: 'ˆ', 0x89: '‰', 0x8a: 'Š', 0x8b: '‹', 0x8c: 'Œ', 0x8e: 'Ž', 0x91: '‘',
	0x92: '’', 0x93: '“', 0x94: '”', 0x95: '•', 0x96: '–', 0x97: '—', 0x98: '˜', 0x99: '™',
	0x9a: 'š', 0x9b: '›', 0x9c: 'œ', 0x9e: 'ž', 0x9f: 'Ÿ'}

// jsonString is s JSON-escaped as encoding/json writes it, without quotes.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// jsonASCII is s JSON-escaped with every non-ASCII character as \uXXXX
// (surrogate pairs beyond the BMP) and "/" as "\/": the defaults of
// Python's json.dumps and PHP's json_encode.
func jsonASCII(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\' || r == '/':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r >= 0x7f && r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Leaks returns a description of each form of each secret that text
// carries: any Encoding of the whole secret, and for the raw secret also
// any part of it of minPart bytes or more (a secret cut in half by a
// length cap). Secrets shorter than 4 bytes are not looked for.
func Leaks(text string, minPart int, secrets ...string) []string {
	var out []string
	for _, s := range secrets {
		if len(s) < 4 {
			continue
		}
		for _, e := range Encodings {
			if f := e.Encode(s); len(f) >= 4 && strings.Contains(text, f) {
				out = append(out, fmt.Sprintf("%s form of %.12q…", e.Name, s))
			}
		}
		if minPart <= 0 || minPart >= len(s) {
			continue
		}
		for i := 0; i+minPart <= len(s); i++ {
			if !utf8.RuneStart(s[i]) {
				continue
			}
			j := i + minPart
			for j < len(s) && !utf8.RuneStart(s[j]) {
				j++
			}
			if strings.Contains(text, s[i:j]) {
				out = append(out, fmt.Sprintf("part %q of %.12q…", s[i:j], s))
				break
			}
		}
	}
	return out
}

// Outputs are the texts a failed delivery leaves where people read them:
// the sender's error, the health record's last error, the reasons of what
// was parked in the DLQ (its logstream_reason attribute), and the log.
type Outputs struct {
	Err    error
	Health []string
	Parked []string
	Log    string
}

// NoLeaks fails tb unless the delivery failed, and for each output that
// shows any form of secrets or any piece of parts minPart bytes long (see
// Leaks). With wantMark, the send error must also show where it redacted.
func (o Outputs) NoLeaks(tb testing.TB, secrets, parts []string, minPart int, wantMark bool) {
	tb.Helper()
	if o.Err == nil {
		tb.Fatal("the destination's refusal was taken for a delivery")
	}
	for place, text := range o.All() {
		if leaks := append(Leaks(text, 0, secrets...), Leaks(text, minPart, parts...)...); len(leaks) > 0 {
			tb.Errorf("%s shows %s:\n%.600s", place, strings.Join(leaks, ", "), text)
		}
	}
	if wantMark && !strings.Contains(o.Err.Error(), "[REDACTED]") {
		tb.Errorf("error %q does not show where a credential was", o.Err)
	}
}

// All is every output text, labelled, for a leak check.
func (o Outputs) All() map[string]string {
	m := map[string]string{"log": o.Log}
	if o.Err != nil {
		m["send error"] = o.Err.Error()
	}
	for i, h := range o.Health {
		m["health.last_error "+strconv.Itoa(i)] = h
	}
	for i, p := range o.Parked {
		m["logstream_reason "+strconv.Itoa(i)] = p
	}
	return m
}

// Deliver sends evs once through sender, then once more through the real
// delivery core (one SQS message, first receive) with an in-memory health
// store, DLQ and JSON log, and returns what each left behind.
func Deliver(tb testing.TB, sender deliver.Sender, limits deliver.Limits, st stream.Stream, evs []json.RawMessage, key string) Outputs {
	tb.Helper()
	now := time.Now()
	var out Outputs
	out.Err = sender.Send(context.Background(), st, deliver.Batch{Events: evs, Key: key, EnqueuedAt: now})

	msgs, err := envelope.Pack(st.ProjectID, st.ID, evs, 200<<10)
	if err != nil || len(msgs) != 1 {
		tb.Fatalf("pack: %v (%d messages)", err, len(msgs))
	}
	rec := &recorder{}
	var log bytes.Buffer
	core := &deliver.Core{
		Streams: fixed(st), Sender: sender, Limits: limits, Queue: rec, Health: rec, Suspend: rec,
		Backoff: deliver.Backoff{Base: time.Second, Max: time.Minute},
		Log:     slog.New(slog.NewJSONHandler(&log, nil)),
	}
	_, _ = core.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: key, ReceiptHandle: key + "-1", Body: string(msgs[0].Body),
		Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": strconv.FormatInt(now.UnixMilli(), 10)},
	}}})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out.Health, out.Parked, out.Log = rec.health, rec.parked, log.String()
	if len(out.Health) == 0 {
		tb.Fatalf("the core recorded no failure (send error: %v)", out.Err)
	}
	return out
}

type fixed stream.Stream

func (f fixed) Get(context.Context, string, string) (stream.Stream, error) {
	return stream.Stream(f), nil
}

// recorder is the core's health store, DLQ and suspender, in memory.
type recorder struct {
	mu             sync.Mutex
	health, parked []string
}

func (r *recorder) Record(_ context.Context, _, _ string, t stream.Tally, _ time.Time) (stream.FailureRun, error) {
	if t.LastError == "" {
		return stream.FailureRun{}, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.health = append(r.health, t.LastError)
	return stream.FailureRun{}, nil
}

func (r *recorder) Delay(context.Context, []envelope.Delay) error { return nil }

func (r *recorder) Ack(context.Context, []envelope.Receipt) error { return nil }

func (r *recorder) Park(_ context.Context, p envelope.Parked) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.parked = append(r.parked, p.Reason)
	return nil
}

func (r *recorder) Suspend(_ context.Context, _, _, reason string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.health = append(r.health, reason) // the stream's status_reason, shown like health
	return true, nil
}

// AccessKeyID is the access key id in a SigV4 Authorization header value
// (its Credential=<id>/<scope>), for AWS receivers that echo it.
func AccessKeyID(authorization string) string {
	_, cred, _ := strings.Cut(authorization, "Credential=")
	id, _, _ := strings.Cut(cred, "/")
	return id
}

// NowEvent is one event dated now, which every destination's window takes.
func NowEvent() []json.RawMessage {
	ev, _ := json.Marshal(map[string]any{"event_id": "0190b5b0-0000-7000-8000-0000000e0001",
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano), "type": "user.session.start"})
	return []json.RawMessage{ev}
}
