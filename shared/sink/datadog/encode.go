package datadog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/jsonobj"
)

// Defaults for what a stream's config leaves unset.
const (
	DefaultSource  = "logstream"
	DefaultService = "logstream"
	// Hostname is the host of an event that names none: the events come
	// from a platform, not a machine, and "logstream" tells the customer
	// which pipe they came through without posing as one of their hosts.
	Hostname = "logstream"
)

const (
	// maxSummaryBytes bounds a summary copied into message, so the envelope
	// of an entry stays small and bounded (see Limits).
	maxSummaryBytes = 256
	// Datadog drops a log dated more than 18 hours in the past or 2 hours in
	// the future, while answering 202 for the request ("Log events can be
	// submitted up to 18 hours in the past and 2 hours in the future", Send
	// logs; "Datadog rejects a log entry if its official date is older than
	// 18 hours in the past", Pipelines → Preprocessing → Date attribute).
	// The margin covers the time until Datadog processes the entry and any
	// clock difference.
	maxPast   = 18 * time.Hour
	maxFuture = 2 * time.Hour
	margin    = 10 * time.Minute
)

// envelope is the stream's part of every entry, each field pre-encoded as
// `"name":value,` once per Send.
type envelope struct {
	source, service, tags, hostname []byte
}

func newEnvelope(cfg *destination.DatadogConfig) envelope {
	source, service := cfg.Source, cfg.Service
	if source == "" {
		source = DefaultSource
	}
	if service == "" {
		service = DefaultService
	}
	env := envelope{
		source:   member("ddsource", source),
		service:  member("service", service),
		hostname: member("hostname", Hostname),
	}
	if len(cfg.Tags) > 0 {
		// Tags are "key:value" or "value", comma-separated (Send logs:
		// ddtags); validation keeps commas out of a tag.
		env.tags = member("ddtags", strings.Join(cfg.Tags, ","))
	}
	return env
}

// member encodes `"name":"value",` without HTML escaping, which would only
// lengthen the value.
func member(name, value string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(value) // a string always encodes
	v := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	out := make([]byte, 0, len(name)+len(v)+4)
	out = append(out, '"')
	out = append(out, name...)
	out = append(out, '"', ':')
	out = append(out, v...)
	return append(out, ',')
}

// fields is what an entry's envelope depends on: which reserved names the
// event already has, its timestamp, and a candidate for message.
type fields struct {
	source, service, tags, host, message bool
	timestamp                            []byte // raw JSON value, or nil
	summary                              []byte // raw JSON string, or nil
	summaryRank                          int    // index in summaryFields; lower wins
}

// summaryFields are the top-level fields, in order of preference, whose
// string value becomes the entry's message when the event has none: the
// one-line descriptions of the vendor event shapes logstream carries (Okta's
// displayMessage, which Datadog's own docs suggest remapping as the message;
// Auth0's description; Stytch's action).
var summaryFields = [...]string{"displayMessage", "description", "action"}

func (f *fields) note(key, value []byte) {
	switch string(key) {
	case "ddsource":
		f.source = true
	case "service":
		f.service = true
	case "ddtags":
		f.tags = true
	case "host", "hostname":
		f.host = true
	case "message":
		f.message = true
	case "timestamp":
		if f.timestamp == nil {
			f.timestamp = value
		}
	default:
		for rank, name := range summaryFields {
			if string(key) == name && (f.summary == nil || rank < f.summaryRank) &&
				len(value) >= 2 && value[0] == '"' && len(value) <= maxSummaryBytes {
				f.summary, f.summaryRank = value, rank
			}
		}
	}
}

var errNotObject = errors.New("not a JSON object")

// scan reads the top-level members of the JSON object ev and notes those in
// fields; open is the index of its '{'. It locates values rather than
// validating them: an event whose structure is broken is refused here, one
// with a subtler fault is left for Datadog's 400 (and the core's bisection)
// to isolate. Events reach the sender compact and valid from ingestion.
func scan(ev []byte) (f fields, open int, empty bool, err error) {
	empty = true
	badName := false
	err = jsonobj.Members(ev, func(key, value []byte) bool {
		empty = false
		// A name spelled with escapes ("ho\u0073t") is the same name to
		// Datadog.
		name, ok := jsonobj.Unescape(key)
		if !ok {
			badName = true
			return false
		}
		f.note(name, value)
		return true
	})
	if err != nil || badName {
		return fields{}, 0, false, errNotObject
	}
	return f, jsonobj.Open(ev), empty, nil
}

// encode appends to dst the JSON array of Datadog log entries for evs: each
// event's own members with the envelope's in front (see the package doc).
// Events Datadog would silently drop for their date are left out and
// returned by index, as Rejected errors for the core to park. An event that
// is not a JSON object fails the whole batch as Rejected, so the core
// isolates it; an entry or a payload over Datadog's limits fails it as
// TooLarge, so the core splits it. Nothing is ever truncated.
func encode(dst *bytes.Buffer, evs []json.RawMessage, env envelope, now time.Time) (dropped map[int]error, err error) {
	if len(evs) > maxEntries {
		return nil, deliver.Classify(deliver.TooLarge,
			fmt.Errorf("%d events in one batch; Datadog takes at most %d logs per request", len(evs), maxEntries))
	}
	start := dst.Len()
	dst.WriteByte('[')
	first := true
	for i, ev := range evs {
		f, open, empty, err := scan(ev)
		if err != nil {
			return nil, deliver.Classify(deliver.Rejected, fmt.Errorf("event %d: %w", i, err))
		}
		if why := outOfWindow(f.timestamp, now); why != "" {
			if dropped == nil {
				dropped = map[int]error{}
			}
			dropped[i] = deliver.Classify(deliver.Rejected, fmt.Errorf("event %d: %s", i, why))
			continue
		}
		if !first {
			dst.WriteByte(',')
		}
		first = false
		entry := dst.Len()
		dst.WriteByte('{')
		// The stream's settings fill in what the event leaves out; a field
		// the event has itself is its own (Datadog reads it as the same
		// reserved attribute), and a JSON object must not repeat a name.
		if !f.source {
			dst.Write(env.source)
		}
		if !f.service {
			dst.Write(env.service)
		}
		if env.tags != nil && !f.tags {
			dst.Write(env.tags)
		}
		if !f.host {
			dst.Write(env.hostname)
		}
		if !f.message {
			// message is required (Send logs, HTTPLogItem).
			dst.WriteString(`"message":`)
			if f.summary != nil {
				dst.Write(f.summary)
			} else {
				dst.WriteString(`""`)
			}
			dst.WriteByte(',')
		}
		if empty {
			// Nothing follows the envelope: swap its last comma for the brace.
			dst.Truncate(dst.Len() - 1)
			dst.WriteByte('}')
		} else {
			dst.Write(bytes.TrimRight(ev[open+1:], " \t\r\n"))
		}
		if n := dst.Len() - entry; n > maxLogBytes {
			dst.Truncate(start)
			return nil, deliver.Classify(deliver.TooLarge,
				fmt.Errorf("event %d makes a %d-byte log; Datadog truncates logs over %d bytes", i, n, maxLogBytes))
		}
	}
	dst.WriteByte(']')
	if n := dst.Len() - start; n > maxPayloadBytes {
		dst.Truncate(start)
		return nil, deliver.Classify(deliver.TooLarge,
			fmt.Errorf("%d logs make a %d-byte payload; Datadog takes at most %d bytes per request", len(evs)-len(dropped), n, maxPayloadBytes))
	}
	return dropped, nil
}

// outOfWindow says why Datadog would drop a log dated ts, or "" if it would
// keep it. A timestamp that is missing or not RFC 3339 is left for Datadog,
// which then dates the log on receipt.
func outOfWindow(ts []byte, now time.Time) string {
	if ts == nil {
		return ""
	}
	var t time.Time
	if t.UnmarshalJSON(ts) != nil { // strict RFC 3339, no allocation
		return ""
	}
	switch {
	case now.Sub(t) > maxPast-margin:
		return fmt.Sprintf("dated %s, more than %v before now; Datadog drops logs older than %v", ts, maxPast-margin, maxPast)
	case t.Sub(now) > maxFuture-margin:
		return fmt.Sprintf("dated %s, more than %v after now; Datadog drops logs dated over %v ahead", ts, maxFuture-margin, maxFuture)
	}
	return ""
}
