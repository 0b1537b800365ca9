// Package sinktest holds what the destination senders' tests share: a fixed
// corpus of vendor-shaped auth events, a stream builder, a golden-file check,
// and the compression floor the senders' benchmarks are measured against.
package sinktest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/stream"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// Epoch is the hour Corpus dates its events in: 2026-11-24T07:00Z. Golden
// files hold these dates, so they stay fixed; a test that sends the corpus
// through a sender which compares dates with the clock (Datadog's window,
// Loki's stamping) must give that sender Now, never the wall clock, or it
// turns red the day the fixture grows too old.
var Epoch = time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)

// Now is the clock for senders fed the Corpus: an hour after Epoch, when
// every corpus event is recent.
func Now() time.Time { return Epoch.Add(time.Hour) }

// Corpus returns n auth events (Stytch, Auth0 and Okta shapes, from
// events/auth/mixed.ndjson), each with a unique event_id and a timestamp as
// ingestion stamps them within the hour after Epoch, always the same for the
// same n.
func Corpus(tb testing.TB, n int) []json.RawMessage {
	tb.Helper()
	return CorpusAt(tb, n, Epoch)
}

// CorpusAt is Corpus dated within the hour after base instead of Epoch: for
// tests that move the clock.
func CorpusAt(tb testing.TB, n int, base time.Time) []json.RawMessage {
	tb.Helper()
	src, err := samples.FS.ReadFile("auth/mixed.ndjson")
	if err != nil {
		tb.Fatal(err)
	}
	var lines []map[string]any
	for _, l := range bytes.Split(src, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			tb.Fatal(err)
		}
		lines = append(lines, m)
	}
	out := make([]json.RawMessage, n)
	for i := range out {
		m := lines[i%len(lines)]
		m["event_id"] = fmt.Sprintf("0190b5b0-%04x-7000-8000-%012x", i/len(lines)%0x10000, i)
		ts := base.UTC().Add(time.Duration(i/60%60)*time.Minute + time.Duration(i%60)*time.Second + time.Duration(i%1000)*time.Millisecond)
		m["timestamp"] = ts.Format("2006-01-02T15:04:05.000Z")
		b, err := json.Marshal(m)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// Stream returns an active stream of the given type whose destination
// config is cfg (secrets in clear, as delivery sees them after unsealing).
func Stream(tb testing.TB, typ string, cfg any) stream.Stream {
	tb.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	st := stream.Stream{ID: "str_0123456789abcdef", ProjectID: "project-test-1", Name: "test",
		DestinationType: typ, DestinationConfig: raw, Status: stream.StatusActive}
	if _, err := st.Destination(); err != nil {
		tb.Fatalf("test stream config: %v", err)
	}
	return st
}

// Golden compares got with testdata/<name>.golden, or rewrites that file
// when the tests run with -update. Review the diff of a rewritten file.
func Golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run the tests with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the golden file (run with -update and review the diff)\n got: %.600s\nwant: %.600s", path, got, want)
	}
}

// BenchmarkGzipFloor is the floor every sender's encode+compress benchmark
// is compared with: the same events as NDJSON through the same gzip writer,
// nothing else. Call it from a sender's benchmark as a sub-benchmark.
func BenchmarkGzipFloor(b *testing.B, evs []json.RawMessage) {
	ndjson := bytes.Join(rawBytes(evs), []byte("\n"))
	var buf bytes.Buffer
	b.ReportAllocs()
	b.SetBytes(int64(len(ndjson)))
	for b.Loop() {
		buf.Reset()
		sink.Gzip(&buf, ndjson)
	}
	ReportPerEvent(b, len(evs), buf.Len())
}

// ReportPerEvent adds events/s and wire bytes/event to a benchmark whose
// every iteration encoded n events into wire bytes.
func ReportPerEvent(b *testing.B, n, wire int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(wire)/float64(n), "bytes/event")
}

func rawBytes(evs []json.RawMessage) [][]byte {
	out := make([][]byte, len(evs))
	for i, e := range evs {
		out[i] = e
	}
	return out
}
