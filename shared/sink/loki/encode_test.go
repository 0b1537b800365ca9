package loki

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/snappy"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink/sinktest"
	"github.com/logstream/logstream/shared/stream"
)

func goldenConfig(format string) *destination.GrafanaLokiConfig {
	return &destination.GrafanaLokiConfig{Hostname: "logs-prod-eu-west-0.grafana.net", Username: "123456",
		Password: "glc_golden-secret", Format: format, Labels: map[string]string{"env": "prod", "team": "identity"}}
}

// goldenEvents are a few corpus events out of order, and one without a
// timestamp, which is stamped with receiverNow.
func goldenEvents(t *testing.T) []json.RawMessage {
	c := sinktest.Corpus(t, 10)
	return []json.RawMessage{c[7], c[1], c[9], c[0], json.RawMessage(`{"event_id":"evt-no-timestamp","action":"Ping"}`), c[8]}
}

// decodeProto reads a protobuf push body as Loki does.
func decodeProto(t *testing.T, body []byte) push.PushRequest {
	t.Helper()
	raw, err := snappy.DecodeStrict(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	var pr push.PushRequest
	if err := pr.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	return pr
}

func gunzip(t *testing.T, body []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// renderProto shows a decoded push request as readable, sorted JSON.
func renderProto(t *testing.T, pr push.PushRequest) []byte {
	type goldenEntry struct {
		TS       string            `json:"ts"`
		Line     string            `json:"line"`
		Metadata map[string]string `json:"structured_metadata,omitempty"`
	}
	type goldenStream struct {
		Labels  string        `json:"labels"`
		Entries []goldenEntry `json:"entries"`
	}
	var out []goldenStream
	for _, s := range pr.Streams {
		gs := goldenStream{Labels: s.Labels}
		for _, e := range s.Entries {
			ge := goldenEntry{TS: e.Timestamp.UTC().Format(time.RFC3339Nano), Line: e.Line}
			for _, m := range e.StructuredMetadata {
				if ge.Metadata == nil {
					ge.Metadata = map[string]string{}
				}
				ge.Metadata[m.Name] = m.Value
			}
			gs.Entries = append(gs.Entries, ge)
		}
		out = append(out, gs)
	}
	b, err := json.MarshalIndent(map[string]any{"streams": out}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestGolden(t *testing.T) {
	tests := []struct {
		format, contentType, contentEncoding string
		render                               func(t *testing.T, body []byte) []byte
	}{
		{destination.LokiFormatProtobuf, "application/x-protobuf", "", func(t *testing.T, body []byte) []byte {
			return renderProto(t, decodeProto(t, body))
		}},
		{destination.LokiFormatJSON, "application/json", "gzip", func(t *testing.T, body []byte) []byte {
			var buf bytes.Buffer
			if err := json.Indent(&buf, gunzip(t, body), "", "  "); err != nil {
				t.Fatal(err)
			}
			return append(buf.Bytes(), '\n')
		}},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			cfg := goldenConfig(tc.format)
			st := sinktest.Stream(t, destination.GrafanaLoki, cfg)
			body, ct, ce, err := Encode(st, cfg, goldenEvents(t), receiverNow)
			if err != nil {
				t.Fatal(err)
			}
			if ct != tc.contentType || ce != tc.contentEncoding {
				t.Errorf("headers %q %q, want %q %q", ct, ce, tc.contentType, tc.contentEncoding)
			}
			sinktest.Golden(t, tc.format, tc.render(t, body))
		})
	}
}

// Both formats carry the same entries: same order, timestamps, lines and
// metadata.
func TestFormatsAgree(t *testing.T) {
	evs := sinktest.Corpus(t, 50)
	cfg := goldenConfig(destination.LokiFormatProtobuf)
	st := sinktest.Stream(t, destination.GrafanaLoki, cfg)
	pb, _, _, err := Encode(st, cfg, evs, receiverNow)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Format = destination.LokiFormatJSON
	js, _, _, err := Encode(st, cfg, evs, receiverNow)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t}
	fromJSON, _, err := r.parseJSON(bytes.NewReader(gunzip(t, js)))
	if err != nil {
		t.Fatal(err)
	}
	fromProto := decodeProto(t, pb).Streams
	if len(fromJSON) != 1 || len(fromProto) != 1 || fromJSON[0].Labels != fromProto[0].Labels {
		t.Fatalf("streams differ: %v vs %v", fromJSON, fromProto)
	}
	a, b := fromProto[0].Entries, fromJSON[0].Entries
	if len(a) != len(evs) || len(b) != len(evs) {
		t.Fatalf("%d and %d entries, want %d", len(a), len(b), len(evs))
	}
	for i := range a {
		if !a[i].Timestamp.Equal(b[i].Timestamp) || a[i].Line != b[i].Line || !slices.Equal(a[i].StructuredMetadata, b[i].StructuredMetadata) {
			t.Fatalf("entry %d differs:\nprotobuf %v\njson     %v", i, a[i], b[i])
		}
	}
}

func TestParseEvent(t *testing.T) {
	const fallback = int64(42)
	ts := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixNano()
	}
	tests := []struct {
		name, event    string
		ts             int64
		eventID, reqID string
	}{
		{"stytch", `{"event_id":"e1","timestamp":"2026-11-24T07:32:11.793Z","request_id":"r1","x":{"y":1}}`,
			ts("2026-11-24T07:32:11.793Z"), "e1", "r1"},
		{"nanoseconds kept", `{"timestamp":"2026-11-24T07:32:11.123456789Z"}`, ts("2026-11-24T07:32:11.123456789Z"), "", ""},
		{"no fraction", `{"timestamp":"2026-11-24T07:32:11Z"}`, ts("2026-11-24T07:32:11Z"), "", ""},
		{"offset", `{"timestamp":"2026-11-24T09:32:11+02:00"}`, ts("2026-11-24T07:32:11Z"), "", ""},
		{"no timestamp", `{"event_id":"e1"}`, fallback, "e1", ""},
		{"unparseable timestamp", `{"timestamp":"yesterday"}`, fallback, "", ""},
		{"numeric timestamp", `{"timestamp":1764000000}`, fallback, "", ""},
		{"beyond int64 nanoseconds", `{"timestamp":"9999-01-01T00:00:00Z"}`, fallback, "", ""},
		{"nested fields ignored", `{"debug":{"timestamp":"2026-11-24T07:32:11Z","event_id":"inner","request_id":"inner"}}`, fallback, "", ""},
		{"field names as values ignored", `{"a":"event_id","b":["request_id","timestamp"]}`, fallback, "", ""},
		{"escaped value decoded", `{"request_id":"req\u002d1\"x"}`, fallback, "", `req-1"x`},
		{"non-string ids ignored", `{"event_id":7,"request_id":null}`, fallback, "", ""},
		{"empty id omitted", `{"event_id":"","request_id":"r"}`, fallback, "", "r"},
		{"oversized id omitted", `{"request_id":"` + strings.Repeat("r", maxMetadataValue+1) + `"}`, fallback, "", ""},
		{"not an object", `["event_id","e1"]`, fallback, "", ""},
		{"not JSON", `event_id=e1`, fallback, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			en := parseEvent([]byte(tc.event), fallback)
			if en.ts != tc.ts || en.eventID != tc.eventID || en.requestID != tc.reqID || string(en.line) != tc.event {
				t.Errorf("got ts=%d id=%q req=%q line=%q, want ts=%d id=%q req=%q", en.ts, en.eventID, en.requestID, en.line, tc.ts, tc.eventID, tc.reqID)
			}
		})
	}
}

// Entries are sorted by timestamp; equal timestamps keep the batch's order.
func TestEntriesSortedStably(t *testing.T) {
	evs := []json.RawMessage{
		json.RawMessage(`{"event_id":"b1","timestamp":"2026-11-24T07:00:02Z"}`),
		json.RawMessage(`{"event_id":"a","timestamp":"2026-11-24T07:00:01Z"}`),
		json.RawMessage(`{"event_id":"b2","timestamp":"2026-11-24T07:00:02.000Z"}`),
		json.RawMessage(`{"event_id":"none"}`), // stamped receiverNow: last
		json.RawMessage(`{"event_id":"b3","timestamp":"2026-11-24T09:00:02+02:00"}`),
	}
	cfg := goldenConfig(destination.LokiFormatProtobuf)
	body, _, _, err := Encode(sinktest.Stream(t, destination.GrafanaLoki, cfg), cfg, evs, receiverNow)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range decodeProto(t, body).Streams[0].Entries {
		got = append(got, e.StructuredMetadata[0].Value)
	}
	if want := "a b1 b2 b3 none"; strings.Join(got, " ") != want {
		t.Fatalf("order %v, want %s", got, want)
	}
}

// Hostile label values survive the label string: Loki parses back exactly
// what was configured.
func TestLabelStringEscapes(t *testing.T) {
	tests := []struct{ name, project, value string }{
		{"plain", "project-test-1", "prod"},
		{"quote and backslash", `p"q\r`, `a\"b\\`},
		{"newline and tab", "line1\nline2", "a\tb\r\n"},
		{"label syntax", `x", evil="1`, `}{,=`},
		{"unicode", "プロジェクト", "é🙂\u2028"},
		{"control and invalid UTF-8", "\x00\x1b[31m", "\xff\xfe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := stream.Stream{ProjectID: tc.project}
			cfg := &destination.GrafanaLokiConfig{Labels: map[string]string{"env": tc.value, "source": "spoofed"}}
			s := LabelString(st, cfg)
			got, err := parseLabels(s)
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			want := map[string]string{"source": "logstream", "service": tc.project, "env": tc.value}
			if !maps.Equal(got, want) {
				t.Fatalf("%s parsed as %q, want %q", s, got, want)
			}
			if strings.ContainsAny(s, "\n\r") {
				t.Errorf("raw line break in %q", s)
			}
		})
	}
}

func TestLabelStringForm(t *testing.T) {
	st := stream.Stream{ProjectID: "project-test-1"}
	cfg := &destination.GrafanaLokiConfig{Labels: map[string]string{"team": "identity", "env": "prod", "empty": ""}}
	if got, want := LabelString(st, cfg), `{env="prod", service="project-test-1", source="logstream", team="identity"}`; got != want {
		t.Fatalf("LabelString = %s, want %s", got, want)
	}
}

func FuzzLabelString(f *testing.F) {
	f.Add("project-test-1", "prod")
	f.Add(`a"b\c`, "x\ny")
	f.Add("\xff\x00}", `", b="`)
	f.Fuzz(func(t *testing.T, project, value string) {
		s := LabelString(stream.Stream{ProjectID: project}, &destination.GrafanaLokiConfig{Labels: map[string]string{"env": value}})
		got, err := parseLabels(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want := map[string]string{"source": "logstream"}
		if project != "" {
			want["service"] = project
		}
		if value != "" {
			want["env"] = value
		}
		if !maps.Equal(got, want) {
			t.Fatalf("%q parsed as %q, want %q", s, got, want)
		}
	})
}
