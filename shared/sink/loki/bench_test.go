package loki

import (
	"testing"

	"github.com/logstream/logstream/shared/destination"
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
	b.Run("gzip-floor", func(b *testing.B) { sinktest.BenchmarkGzipFloor(b, evs) })
}
