// Package pushtest builds Loki push requests for tests of what reads them
// (the parser, the archive, the bridge): the same push in every form Loki
// accepts, the protobuf written with Loki's own types
// (github.com/grafana/loki/pkg/push). It does not use logstream's Loki
// sender, so a reader's tests need no sender; the sender's tests
// (shared/sink/loki) check that what it sends reads as these pushes do.
package pushtest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
)

// Content types of a push (Loki HTTP API, "Ingest logs"). Written out
// rather than taken from lokipush, whose own tests may use this package.
const (
	contentTypeProtobuf = "application/x-protobuf"
	contentTypeJSON     = "application/json"
)

// Labels is the label set of the stream Bodies pushes: env="prod" and the
// labels logstream's sender gives a stream of project "project-test-1".
var Labels = map[string]string{"env": "prod", "service": "project-test-1", "source": "logstream"}

// maxMetadataValue is the longest event_id or request_id that becomes
// structured metadata, as logstream's sender has it.
const maxMetadataValue = 1024

// Body is one encoding of a push.
type Body struct {
	Name, ContentType, ContentEncoding string
	Body                               []byte
}

// Bodies is the push of evs (one stream, Labels) as protobuf+snappy, JSON
// plain, gzip and deflate: one entry per event, its line the event, its
// time the event's "timestamp" (now when it has none), its event_id and
// request_id as structured metadata, in time order.
func Bodies(tb testing.TB, evs []json.RawMessage, now time.Time) []Body {
	tb.Helper()
	entries := Entries(tb, evs, now)

	pr := push.PushRequest{Streams: []push.Stream{{Labels: labelString(Labels), Entries: entries}}}
	raw, err := pr.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	plain := appendJSON(tb, entries)
	var gz, deflated bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(plain)
	gw.Close()
	fw, _ := flate.NewWriter(&deflated, flate.DefaultCompression)
	fw.Write(plain)
	fw.Close()
	return []Body{
		{"protobuf+snappy", contentTypeProtobuf, "", snappy.Encode(nil, raw)},
		{"json", contentTypeJSON, "", plain},
		{"json+gzip", contentTypeJSON, "gzip", gz.Bytes()},
		{"json+deflate", contentTypeJSON, "deflate", deflated.Bytes()},
	}
}

// Entries are the entries Bodies pushes for evs, worked out with
// encoding/json.
func Entries(tb testing.TB, evs []json.RawMessage, now time.Time) []push.Entry {
	tb.Helper()
	out := make([]push.Entry, 0, len(evs))
	for _, ev := range evs {
		e := push.Entry{Timestamp: now, Line: string(ev)}
		var members map[string]json.RawMessage
		if json.Unmarshal(ev, &members) != nil {
			out = append(out, e) // not an object: sent as it is
			continue
		}
		str := func(name string) string {
			var s string
			json.Unmarshal(members[name], &s)
			return s
		}
		if ts, err := time.Parse(time.RFC3339Nano, str("timestamp")); err == nil && ts.Year() >= 1678 && ts.Year() <= 2261 {
			e.Timestamp = ts
		}
		for _, name := range []string{"event_id", "request_id"} {
			if v := str(name); v != "" && len(members[name]) <= maxMetadataValue+2 {
				e.StructuredMetadata = append(e.StructuredMetadata, push.LabelAdapter{Name: name, Value: v})
			}
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b push.Entry) int { return cmp.Compare(a.Timestamp.UnixNano(), b.Timestamp.UnixNano()) })
	return out
}

// labelString is ls in Prometheus' label syntax, sorted by name, as a
// protobuf push carries it.
func labelString(ls map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ls)) {
		parts = append(parts, k+"="+strconv.Quote(ls[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// appendJSON is entries as Loki's JSON push body:
// {"streams":[{"stream":{…},"values":[["<ns>","<line>",{metadata}],…]}]}.
func appendJSON(tb testing.TB, entries []push.Entry) []byte {
	values := make([][]any, 0, len(entries))
	for _, e := range entries {
		v := []any{strconv.FormatInt(e.Timestamp.UnixNano(), 10), e.Line}
		if len(e.StructuredMetadata) > 0 {
			meta := map[string]string{}
			for _, l := range e.StructuredMetadata {
				meta[l.Name] = l.Value
			}
			v = append(v, meta)
		}
		values = append(values, v)
	}
	body, err := json.Marshal(map[string]any{"streams": []any{map[string]any{"stream": Labels, "values": values}}})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// Gunzip decompresses b or fails the test.
func Gunzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
