package loki

import (
	"bytes"
	"testing"

	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// BenchmarkEncode measures what Send does before the network: parse,
// sort, encode and compress 1000 events, with the pooled encoder Send uses.
func BenchmarkEncode(b *testing.B) {
	evs := sinktest.Corpus(b, 1000)
	size := 0
	for _, ev := range evs {
		size += len(ev)
	}
	for _, format := range []string{destination.LokiFormatProtobuf, destination.LokiFormatJSON} {
		b.Run(format, func(b *testing.B) {
			cfg := goldenConfig(format)
			st := sinktest.Stream(b, destination.GrafanaLoki, cfg)
			var e encoder
			wire := 0
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				body, _, _, err := e.encode(st, cfg, evs, receiverNow, true)
				if err != nil {
					b.Fatal(err)
				}
				wire = len(body)
				e.reset()
			}
			sinktest.ReportPerEvent(b, len(evs), wire)
		})
	}
	// The JSON body's compression alone, with the same gzip writer: the
	// bound on the json figure, since the body is larger than the events'
	// NDJSON (each line a JSON string, its quotes escaped; the timestamps
	// and structured metadata) and gzip's time follows its input's size.
	b.Run("json-gzip-only", func(b *testing.B) {
		cfg := goldenConfig(destination.LokiFormatJSON)
		st := sinktest.Stream(b, destination.GrafanaLoki, cfg)
		var e encoder
		if _, _, _, err := e.encode(st, cfg, evs, receiverNow, true); err != nil {
			b.Fatal(err)
		}
		raw := bytes.Clone(e.raw)
		var buf bytes.Buffer
		b.ReportAllocs()
		b.SetBytes(int64(size))
		for b.Loop() {
			buf.Reset()
			sink.Gzip(&buf, raw)
		}
		sinktest.ReportPerEvent(b, len(evs), buf.Len())
	})
	b.Run("gzip-floor", func(b *testing.B) { sinktest.BenchmarkGzipFloor(b, evs) })
}
