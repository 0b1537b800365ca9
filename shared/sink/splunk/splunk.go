package splunk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/jsonobj"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/stream"
)

const (
	// MaxRequestBytes bounds a request body, measured before compression so
	// it holds whether a collector counts compressed or decompressed bytes.
	// Splunk Cloud Platform documents an HEC maximum content length of 1 MB
	// per request (Splunk Cloud Platform Service Details → service limits);
	// Splunk Enterprise's limits.conf [http_input] max_content_length was
	// 1000000 in older releases and is 838860800 (800 MB) now. 1,000,000
	// bytes is within all of them, whichever "MB" is meant.
	MaxRequestBytes = 1_000_000

	// MaxEventBytes is the largest event sent. props.conf TRUNCATE, "the
	// default maximum line length (in bytes)", is 10000 and the _json source
	// type does not raise it: a longer event would be indexed cut short,
	// which leaves invalid JSON in _raw. Such an event is parked instead, with
	// the reason. (inputs.conf [http] maxEventSize, 5 MB by default, is far
	// above this.)
	MaxEventBytes = 10_000

	// envelopeBudget is what the envelope adds to one event with ordinary
	// metadata: {"time":…,"host":"logstream","source":…,"sourcetype":…,
	// "index":…,"event":…}\n is 94 bytes with the defaults and no index. A
	// stream with very long metadata can exceed it; its batches are then
	// found too large before sending and split by the core, never truncated.
	envelopeBudget = 400
)

// Limits of one HEC request. HEC documents no maximum number of events per
// request; 500 keeps a request of typical auth events (0.3–2 KB) well under
// MaxRequestBytes and a failed request cheap to repeat.
var Limits = deliver.Limits{
	MaxEvents:     500,
	MaxBytes:      MaxRequestBytes - 500*envelopeBudget,
	MaxEventBytes: MaxEventBytes,
}

// Host is the host field of every event (see the package doc).
const Host = "logstream"

// Defaults for a stream that leaves source or sourcetype empty.
const (
	DefaultSource     = "logstream"
	DefaultSourcetype = "_json"
)

// destinationName names HEC in error texts.
const destinationName = "Splunk HEC"

// Sender posts batches to the stream's HTTP Event Collector. Its Client must
// enforce netguard's policy and a timeout. A Sender must not be copied after
// its first Send.
type Sender struct {
	Client    *http.Client
	UserAgent string
	// Now is the clock for HTTP-date Retry-After values (default time.Now).
	Now func() time.Time

	once    sync.Once
	channel string
}

var _ deliver.Sender = (*Sender)(nil)

// Channel is the X-Splunk-Request-Channel this Sender sends: a random UUID,
// the same for all its requests. HEC requires a channel, as a GUID, when the
// token has indexer acknowledgement enabled (code 10 "Data channel is
// missing" otherwise) and ignores it when not.
func (s *Sender) Channel() string {
	s.once.Do(func() { s.channel = uuid.NewString() })
	return s.channel
}

// plainBufs holds the uncompressed bodies between sends; only the gzip
// output goes to the transport, so these are free again when Send returns.
var plainBufs = sync.Pool{New: func() any { return new([]byte) }}

// Send delivers the batch in one request and succeeds only when HEC accepted
// it. Events that cannot be sent (not a JSON object, larger than
// MaxEventBytes) are left out and reported in a *deliver.PartialError once the
// others are accepted.
func (s *Sender) Send(ctx context.Context, st stream.Stream, b deliver.Batch) error {
	c, err := st.Destination()
	if err != nil {
		return deliver.Classify(deliver.Permanent, err)
	}
	cfg, ok := c.(*destination.SplunkHECConfig)
	if !ok {
		return deliver.Classify(deliver.Permanent, fmt.Errorf("stream %s is a %s stream, not %s", st.ID, st.DestinationType, destination.SplunkHEC))
	}
	if len(b.Events) == 0 {
		return nil // HEC would answer code 5 "No data"
	}

	plain := plainBufs.Get().(*[]byte)
	body, failed := Encode((*plain)[:0], Metadata(cfg), b.Events)
	defer func() { *plain = body[:0]; plainBufs.Put(plain) }()
	if len(failed) == len(b.Events) {
		return allFailed(failed)
	}
	if len(body) > MaxRequestBytes {
		// Found before sending: the core splits the batch and tries again.
		return deliver.Classify(deliver.TooLarge, fmt.Errorf("stream %s: %d events encode to %d bytes, over HEC's %d-byte request limit",
			st.ID, len(b.Events)-len(failed), len(body), MaxRequestBytes))
	}
	var gz bytes.Buffer
	gz.Grow(len(body)/4 + 512)
	sink.Gzip(&gz, body)

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.EventURL(), bytes.NewReader(gz.Bytes()))
	if err != nil {
		return deliver.Classify(deliver.Permanent, fmt.Errorf("build request for stream %s: %w", st.ID, err))
	}
	req.Header.Set("Authorization", "Splunk "+cfg.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("X-Splunk-Request-Channel", s.Channel())
	req.Header.Set("User-Agent", s.UserAgent)
	ans, err := sink.Do(s.Client, req, sink.SecretsOf(cfg))
	if err != nil {
		return err
	}
	if ans != nil {
		return ans.ErrAs(destinationName, Classify(ans.StatusCode, ans.Body), s.now())
	}
	if len(failed) > 0 {
		return &deliver.PartialError{Failed: failed}
	}
	return nil
}

// allFailed is the error of a batch none of whose events could be sent.
func allFailed(failed map[int]error) error {
	if len(failed) == 1 {
		for _, err := range failed {
			return err
		}
	}
	return &deliver.PartialError{Failed: failed}
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Metadata is the part of every envelope of cfg's stream that follows the
// time: host, source, sourcetype, index when set, and the "event" key.
func Metadata(cfg *destination.SplunkHECConfig) []byte {
	source, sourcetype := cfg.Source, cfg.Sourcetype
	if source == "" {
		source = DefaultSource
	}
	if sourcetype == "" {
		sourcetype = DefaultSourcetype
	}
	b := make([]byte, 0, 64+len(source)+len(sourcetype)+len(cfg.Index))
	b = appendField(b, "host", Host)
	b = appendField(b, "source", source)
	b = appendField(b, "sourcetype", sourcetype)
	if cfg.Index != "" {
		b = appendField(b, "index", cfg.Index)
	}
	return append(b, `,"event":`...)
}

func appendField(b []byte, key, value string) []byte {
	var v bytes.Buffer
	enc := json.NewEncoder(&v)
	enc.SetEscapeHTML(false) // "<eu>" reads better in Splunk's raw view than "\u003ceu\u003e"
	_ = enc.Encode(value)    // a string always encodes
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return append(b, bytes.TrimSuffix(v.Bytes(), []byte("\n"))...)
}

// errNotObject is an event that is not a JSON object: HEC would refuse the
// whole request for it (code 6 "Invalid data format").
var errNotObject = errors.New("event is not a JSON object")

// Encode appends to dst the HEC envelope of each event, newline-terminated,
// with meta from Metadata. Events it cannot send are left out and returned
// by their index in evs, each with its classified reason.
func Encode(dst, meta []byte, evs []json.RawMessage) ([]byte, map[int]error) {
	var failed map[int]error
	fail := func(i int, err error) {
		if failed == nil {
			failed = map[int]error{}
		}
		failed[i] = err
	}
	for i, ev := range evs {
		if len(ev) > MaxEventBytes {
			fail(i, deliver.Classify(deliver.TooLarge, fmt.Errorf("event %d is %d bytes, over the %d-byte event limit (Splunk's default TRUNCATE)", i, len(ev), MaxEventBytes)))
			continue
		}
		ts, ok := topLevelString(ev, "timestamp")
		if !ok {
			fail(i, deliver.Classify(deliver.Rejected, fmt.Errorf("event %d: %w", i, errNotObject)))
			continue
		}
		dst = append(dst, '{')
		if t, ok := parseTimestamp(ts); ok {
			dst = append(dst, `"time":`...)
			dst = appendEpoch(dst, t)
			dst = append(dst, meta...)
		} else {
			dst = append(dst, meta[1:]...) // no time: drop the leading comma
		}
		dst = append(dst, ev...)
		dst = append(dst, '}', '\n')
	}
	return dst, failed
}

// appendEpoch appends t as epoch seconds with a millisecond fraction,
// HEC's "<sec>.<ms>" time format.
func appendEpoch(b []byte, t time.Time) []byte {
	b = strconv.AppendInt(b, t.Unix(), 10)
	ms := t.Nanosecond() / int(time.Millisecond)
	return append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
}

// parseTimestamp reads an RFC 3339 timestamp. Times before 1970 are refused:
// HEC's time is a non-negative epoch, and ingestion stamps the present.
func parseTimestamp(s []byte) (time.Time, bool) {
	if len(s) == 0 {
		return time.Time{}, false
	}
	t, ok := parseUTC(s)
	if !ok {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, string(s)); err != nil {
			return time.Time{}, false
		}
	}
	if t.Unix() < 0 {
		return time.Time{}, false
	}
	return t, true
}

// parseUTC is the allocation-free fast path for the form ingestion writes,
// "2006-01-02T15:04:05[.fraction]Z". Anything else is left to time.Parse.
func parseUTC(s []byte) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(b []byte) int {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(s[0:4]), num(s[5:7]), num(s[8:10])
	hour, minute, sec := num(s[11:13]), num(s[14:16]), num(s[17:19])
	nsec := 0
	if frac := s[19 : len(s)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		if nsec = num(frac[1:]); nsec < 0 {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			nsec *= 10
		}
	}
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // 31 February and the like
		return time.Time{}, false
	}
	return t, true
}

// topLevelString walks the JSON object obj and returns the raw (still
// escaped) contents of the first top-level string member named key as
// written, or nil when obj has no such member. ok is false when obj is not a
// well-formed object at the top level. The walk checks structure (quotes,
// brackets, separators), not every detail of the JSON grammar: ingestion has
// validated the events; this keeps a damaged one from corrupting the request.
func topLevelString(obj []byte, key string) (val []byte, ok bool) {
	err := jsonobj.Members(obj, func(name, value []byte) bool {
		if val == nil && value[0] == '"' && string(name) == key {
			val = value[1 : len(value)-1]
		}
		return true
	})
	if err != nil {
		return nil, false
	}
	return val, true
}

// hecAnswer is HEC's answer body: {"text":"Invalid token","code":4}, with
// "invalid-event-number" for code 6.
type hecAnswer struct {
	Text string `json:"text"`
	Code *int   `json:"code"`
}

// Classify classifies an HEC error answer: by the code in its body when the
// body is HEC's JSON, else by the status (sink.ClassOfStatus). Codes, with
// the status HEC sends them with ("Troubleshoot HTTP Event Collector" →
// possible error codes):
//
//	1 Token disabled (403), 2 Token is required (401), 3 Invalid
//	authorization (401), 4 Invalid token (403)            → Permanent: the customer must fix the token
//	5 No data, 6 Invalid data format, 12 Event field is
//	required, 13 Event field cannot be blank, 15 Error in
//	handling indexed fields (400)                         → Rejected: the payload; the core isolates the event
//	7 Incorrect index (400)                               → Permanent: the stream's index is not allowed for the token
//	8 Internal server error (500), 9 Server is busy (503),
//	18–20 HEC is unhealthy (503)                          → Retryable
//	10 Data channel is missing, 11 Invalid data channel,
//	14 ACK is disabled, 16 Query string authorization is
//	not enabled (400)                                     → Permanent: collector configuration
//
// A 413 (the request exceeded max_content_length; HEC answers it in plain
// text) is TooLarge and a 429 Retryable, whatever the body says.
func Classify(status int, body []byte) deliver.Class {
	switch status {
	case http.StatusRequestEntityTooLarge:
		return deliver.TooLarge
	case http.StatusTooManyRequests:
		return deliver.Retryable
	}
	var a hecAnswer
	if json.Unmarshal(body, &a) != nil || a.Code == nil {
		return sink.ClassOfStatus(status)
	}
	switch *a.Code {
	case 1, 2, 3, 4, 7, 10, 11, 14, 16:
		return deliver.Permanent
	case 5, 6, 12, 13, 15:
		return deliver.Rejected
	case 8, 9, 18, 19, 20:
		return deliver.Retryable
	}
	return sink.ClassOfStatus(status)
}
