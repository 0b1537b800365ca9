package lokipush

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink/loki"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

var senderNow = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

func senderConfig(format string) *destination.GrafanaLokiConfig {
	return &destination.GrafanaLokiConfig{Hostname: "loki.example.com", Format: format,
		Labels: map[string]string{"env": "prod", "team": "identity", "quoted": "a \"b\" \\ é"}}
}

// roundTripEvents are corpus events plus the awkward ones: no timestamp
// (stamped with senderNow), escapes and non-ASCII in the line and the ids,
// and an id too long to be metadata.
func roundTripEvents(t testing.TB, n int) []json.RawMessage {
	evs := sinktest.Corpus(t, n)
	return append(evs,
		json.RawMessage(`{"event_id":"evt-no-timestamp","action":"Ping"}`),
		json.RawMessage(`{"event_id":"evt-\"quoted\"\n","request_id":"req-é-😀","timestamp":"2026-11-24T07:00:00.5Z","msg":"tab\there\u2028\u0000"}`),
		json.RawMessage(`{"event_id":"`+string(bytes.Repeat([]byte("x"), 2000))+`","timestamp":"2026-11-24T07:00:01Z"}`),
	)
}

// TestSenderRoundTrip: what logstream's own Loki sender (shared/sink/loki)
// sends, in both its formats, Parse reads back as the events it encoded:
// one stream with the sender's labels, one entry per event, sorted, each
// line the event as sent, with its event_id and request_id as metadata.
func TestSenderRoundTrip(t *testing.T) {
	evs := roundTripEvents(t, 300)
	for _, format := range []string{destination.LokiFormatProtobuf, destination.LokiFormatJSON} {
		t.Run(format, func(t *testing.T) {
			cfg := senderConfig(format)
			st := sinktest.Stream(t, destination.GrafanaLoki, cfg)
			body, ct, ce, err := loki.Encode(st, cfg, evs, senderNow)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(bytes.NewReader(body), ct, ce, Limits{})
			if err != nil {
				t.Fatalf("Parse(%s, %q): %v", ct, ce, err)
			}
			want := &Request{Streams: []Stream{{
				Labels:  map[string]string{"env": "prod", "team": "identity", "quoted": "a \"b\" \\ é", loki.LabelService: st.ProjectID, loki.LabelSource: loki.SourceValue},
				Entries: expectEntries(t, evs),
			}}}
			if d := diffRequest(got, want); d != "" {
				t.Error(d)
			}
		})
	}
}

// expectEntries is what the sender makes of evs, worked out from the events
// with encoding/json rather than the sender's own code.
func expectEntries(t testing.TB, evs []json.RawMessage) []Entry {
	var out []Entry
	for _, ev := range evs {
		var f struct {
			Timestamp string `json:"timestamp"`
			EventID   string `json:"event_id"`
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal(ev, &f); err != nil {
			t.Fatal(err)
		}
		e := Entry{Time: senderNow, Line: string(ev)}
		if f.Timestamp != "" {
			tm, err := time.Parse(time.RFC3339Nano, f.Timestamp)
			if err != nil {
				t.Fatal(err)
			}
			e.Time = tm.UTC()
		}
		if f.EventID != "" && len(f.EventID) <= 1024 {
			e.Metadata = append(e.Metadata, Label{loki.MetadataEventID, f.EventID})
		}
		if f.RequestID != "" {
			e.Metadata = append(e.Metadata, Label{loki.MetadataRequestID, f.RequestID})
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return cmp.Compare(a.Time.UnixNano(), b.Time.UnixNano()) })
	return out
}

// TestParseMatchesLoki: for protobuf, Parse gives what Loki's own decoding
// gives (golang/snappy-strict Decode, then PushRequest.Unmarshal).
func TestParseMatchesLoki(t *testing.T) {
	cfg := senderConfig(destination.LokiFormatProtobuf)
	body, ct, ce, err := loki.Encode(sinktest.Stream(t, destination.GrafanaLoki, cfg), cfg, roundTripEvents(t, 50), senderNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{body, snap(sampleProto(t))} {
		got, err := Parse(bytes.NewReader(b), ct, ce, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if d := diffRequest(got, lokiDecode(t, b)); d != "" {
			t.Error(d)
		}
	}
}

// lokiDecode decodes a protobuf body as Loki does, into Parse's types.
func lokiDecode(t testing.TB, body []byte) *Request {
	t.Helper()
	raw, err := snappy.DecodeStrict(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	var pr push.PushRequest
	if err := pr.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	req := &Request{}
	for _, s := range pr.Streams {
		ls, err := parseLabels(s.Labels)
		if err != nil {
			t.Fatal(err)
		}
		st := Stream{Labels: ls}
		for _, e := range s.Entries {
			en := Entry{Time: e.Timestamp, Line: e.Line}
			for _, l := range e.StructuredMetadata {
				en.Metadata = append(en.Metadata, Label(l))
			}
			st.Entries = append(st.Entries, en)
		}
		req.Streams = append(req.Streams, st)
	}
	return req
}

// TestSnappyBlocks confirms that s2.Decode reads standard Snappy blocks
// (the format Loki's clients write, https://github.com/google/snappy/blob/main/format_description.txt)
// exactly as a strict Snappy decoder does: hand-assembled blocks with every
// element type, and blocks from a Snappy encoder.
func TestSnappyBlocks(t *testing.T) {
	tests := []struct {
		name  string
		block []byte
		want  []byte
	}{
		// Literal "abc" (tag 0b000010_00), then a 1-byte-offset copy of 9
		// bytes at offset 3 (tag 0b000_101_01, offset 0x03).
		{"literal and copy-1", []byte{12, 0x08, 'a', 'b', 'c', 0x15, 0x03}, []byte("abcabcabcabc")},
		// Literal "ab", a 2-byte-offset copy of 64 at offset 2
		// (tag 0b111111_10, offset 0x0002 little-endian).
		{"copy-2", []byte{66, 0x04, 'a', 'b', 0xfe, 0x02, 0x00}, bytes.Repeat([]byte("ab"), 33)},
		// Literal "xyz", a 4-byte-offset copy of 6 at offset 3.
		{"copy-4", []byte{9, 0x08, 'x', 'y', 'z', 0x17, 0x03, 0, 0, 0}, []byte("xyzxyzxyz")},
		// A 61-byte literal takes the one-byte length form (tag 60<<2).
		{"long literal", append([]byte{61, 60 << 2, 60}, bytes.Repeat([]byte("q"), 61)...), bytes.Repeat([]byte("q"), 61)},
		{"empty", []byte{0}, []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			strict, err := snappy.DecodeStrict(nil, tt.block)
			if err != nil || !bytes.Equal(strict, tt.want) {
				t.Fatalf("test block is not standard Snappy: %q, %v", strict, err)
			}
			if n, err := s2.DecodedLen(tt.block); err != nil || n != len(tt.want) {
				t.Errorf("DecodedLen = %d, %v; want %d", n, err, len(tt.want))
			}
			got, err := s2.Decode(nil, tt.block)
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Errorf("s2.Decode = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	// Snappy-encoded bodies of every shape the sender makes, and then some.
	for _, n := range []int{0, 1, 100, 70_000, 1 << 20} {
		src := bytes.Repeat([]byte(sampleJSON), n/len(sampleJSON)+1)[:n]
		block := snappy.Encode(nil, src)
		strict, err := snappy.DecodeStrict(nil, block)
		if err != nil || !bytes.Equal(strict, src) {
			t.Fatalf("%d bytes: strict decode: %v", n, err)
		}
		if got, err := s2.Decode(nil, block); err != nil || !bytes.Equal(got, src) {
			t.Errorf("%d bytes: s2.Decode: %v", n, err)
		}
	}
}
