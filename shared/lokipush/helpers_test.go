package lokipush

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zlib"
)

// Compressors, as clients use them: standard gzip, raw DEFLATE (what Loki
// reads as "deflate"), zlib (what RFC 9110 calls "deflate"), and Snappy's
// block format (what Promtail sends).
func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func rawDeflate(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zlibDeflate(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func snap(b []byte) []byte { return snappy.Encode(nil, b) }

// protoBody marshals streams as a push request, uncompressed.
func protoBody(t testing.TB, streams ...push.Stream) []byte {
	t.Helper()
	pr := push.PushRequest{Streams: streams}
	b, err := pr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ts(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// The same request in both formats: two streams, structured metadata on one
// entry, escapes in a line, a label value and a metadata value.
const sampleJSON = `{"streams":[
 {"stream":{"app":"api","env":"prod","quote":"say \"hi\""},"values":[
   ["1700000000000000001","line one"],
   ["1700000000000000002","line \"two\"\n\u00e9",{"trace_id":"abc","user":"a\tb"}]]},
 {"stream":{"app":"worker"},"values":[["1700000000000000003","three"]]}]}`

func sampleProto(t testing.TB) []byte {
	return protoBody(t,
		push.Stream{Labels: `{app="api", env="prod", quote="say \"hi\""}`, Entries: []push.Entry{
			{Timestamp: ts(1700000000000000001), Line: "line one"},
			{Timestamp: ts(1700000000000000002), Line: "line \"two\"\n\u00e9",
				StructuredMetadata: push.LabelsAdapter{{Name: "trace_id", Value: "abc"}, {Name: "user", Value: "a\tb"}}},
		}},
		push.Stream{Labels: `{app="worker"}`, Entries: []push.Entry{{Timestamp: ts(1700000000000000003), Line: "three"}}},
	)
}

var sampleWant = &Request{Streams: []Stream{
	{Labels: map[string]string{"app": "api", "env": "prod", "quote": `say "hi"`}, Entries: []Entry{
		{Time: ts(1700000000000000001), Line: "line one"},
		{Time: ts(1700000000000000002), Line: "line \"two\"\n\u00e9", Metadata: []Label{{"trace_id", "abc"}, {"user", "a\tb"}}},
	}},
	{Labels: map[string]string{"app": "worker"}, Entries: []Entry{{Time: ts(1700000000000000003), Line: "three"}}},
}}

// diffRequest describes how got differs from want, or is "".
func diffRequest(got, want *Request) string {
	if got == nil || want == nil {
		if got != want {
			return fmt.Sprintf("got %v, want %v", got, want)
		}
		return ""
	}
	var d []string
	if len(got.Streams) != len(want.Streams) {
		return fmt.Sprintf("%d streams, want %d", len(got.Streams), len(want.Streams))
	}
	for i, g := range got.Streams {
		w := want.Streams[i]
		if labelString(g.Labels) != labelString(w.Labels) {
			d = append(d, fmt.Sprintf("stream %d: labels %s, want %s", i, labelString(g.Labels), labelString(w.Labels)))
		}
		if len(g.Entries) != len(w.Entries) {
			d = append(d, fmt.Sprintf("stream %d: %d entries, want %d", i, len(g.Entries), len(w.Entries)))
			continue
		}
		for j, ge := range g.Entries {
			we := w.Entries[j]
			if !ge.Time.Equal(we.Time) || ge.Time.Location() != time.UTC {
				d = append(d, fmt.Sprintf("stream %d entry %d: time %v, want %v (UTC)", i, j, ge.Time, we.Time))
			}
			if ge.Line != we.Line {
				d = append(d, fmt.Sprintf("stream %d entry %d: line %q, want %q", i, j, ge.Line, we.Line))
			}
			if !slices.Equal(ge.Metadata, we.Metadata) {
				d = append(d, fmt.Sprintf("stream %d entry %d: metadata %v, want %v", i, j, ge.Metadata, we.Metadata))
			}
		}
	}
	return strings.Join(d, "\n")
}

// hideLen hides a reader's Len, as an HTTP request body does.
type hideLen struct{ r *bytes.Reader }

func (h hideLen) Read(p []byte) (int, error) { return h.r.Read(p) }

// failingReader fails after its data, as a body whose client hangs up.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}
