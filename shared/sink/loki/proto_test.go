package loki

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
)

// lokiMarshal is what Loki's own types write for the same request.
func lokiMarshal(t testing.TB, labels string, entries []entry) []byte {
	t.Helper()
	pes := make([]push.Entry, len(entries))
	for i, en := range entries {
		var sm push.LabelsAdapter
		if en.eventID != "" {
			sm = append(sm, push.LabelAdapter{Name: MetadataEventID, Value: en.eventID})
		}
		if en.requestID != "" {
			sm = append(sm, push.LabelAdapter{Name: MetadataRequestID, Value: en.requestID})
		}
		pes[i] = push.Entry{Timestamp: time.Unix(0, en.ts).UTC(), Line: string(en.line), StructuredMetadata: sm}
	}
	b, err := (&push.PushRequest{Streams: []push.Stream{{Labels: labels, Entries: pes}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAppendPushMatchesLoki: the hand-written encoder writes exactly the
// bytes Loki's generated Marshal writes, and Loki's Unmarshal reads them back.
func TestAppendPushMatchesLoki(t *testing.T) {
	labels := `{service="p", source="logstream"}`
	many := make([]entry, 5000)
	for i := range many {
		many[i] = entry{ts: 1700000000000000000 + int64(i), line: []byte(`{"n":1}`), eventID: "evt_" + strings.Repeat("x", i%40)}
	}
	tests := []struct {
		name    string
		labels  string
		entries []entry
	}{
		{name: "no entries", labels: labels},
		{name: "no labels, no entries"},
		{name: "empty entry at the epoch", labels: labels, entries: []entry{{}}},
		{name: "whole second", labels: labels, entries: []entry{{ts: 1700000000 * 1e9, line: []byte("l")}}},
		{name: "nanoseconds only", labels: labels, entries: []entry{{ts: 7, line: []byte("l")}}},
		{name: "before the epoch", labels: labels, entries: []entry{{ts: -1, line: []byte("l")}, {ts: -1e9 - 5, line: []byte("m")}}},
		{name: "int64 extremes", labels: labels, entries: []entry{{ts: math.MinInt64}, {ts: math.MaxInt64}}},
		{name: "event id only", labels: labels, entries: []entry{{ts: 1, line: []byte("a"), eventID: "evt_1"}}},
		{name: "request id only", labels: labels, entries: []entry{{ts: 1, line: []byte("a"), requestID: "req_1"}}},
		{name: "both ids, empty line", labels: labels, entries: []entry{{ts: 1, eventID: "evt_1", requestID: "req_1"}}},
		{name: "unicode", labels: `{service="日本", source="logstream", x="é\n\"q\""}`, entries: []entry{{ts: 1, line: []byte(`{"msg":"héllo ✓ 𝄞"}`), eventID: "ü", requestID: "\x00\xff"}}},
		{name: "large line", labels: labels, entries: []entry{{ts: 1, line: bytes.Repeat([]byte("x"), 1<<20), eventID: strings.Repeat("e", 200)}}},
		{name: "many entries", labels: labels, entries: many},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := lokiMarshal(t, tt.labels, tt.entries)
			got := appendPush([]byte("prefix"), tt.labels, tt.entries)
			if !bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[len("prefix"):], want) {
				t.Fatalf("appendPush wrote %d bytes unlike Loki's %d:\n got %x\nwant %x", len(got)-len("prefix"), len(want), head(got[len("prefix"):]), head(want))
			}
			var pr push.PushRequest
			if err := pr.Unmarshal(got[len("prefix"):]); err != nil {
				t.Fatalf("Loki cannot read it: %v", err)
			}
		})
	}
}

func head(b []byte) []byte { return b[:min(len(b), 64)] }

// FuzzAppendPush: for any labels and entry, the encoder writes what Loki's
// Marshal writes.
func FuzzAppendPush(f *testing.F) {
	f.Add(`{a="b"}`, int64(1700000000000000001), []byte(`{"a":1}`), "evt_1", "req_1")
	f.Add("", int64(-1), []byte{}, "", "")
	f.Fuzz(func(t *testing.T, labels string, ts int64, line []byte, eventID, requestID string) {
		entries := []entry{{ts: ts, line: line, eventID: eventID, requestID: requestID}, {ts: ts / 3, line: line[:len(line)/2]}}
		if got, want := appendPush(nil, labels, entries), lokiMarshal(t, labels, entries); !bytes.Equal(got, want) {
			t.Fatalf("appendPush\n got %x\nwant %x", got, want)
		}
	})
}
