package archive

import (
	"bytes"
	"testing"

	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// BenchmarkEncode measures Encode alone on 10 000 corpus events (JSON lines
// with two metadata pairs each), against the floor of gzipping the same
// events as NDJSON.
func BenchmarkEncode(b *testing.B) {
	evs := sinktest.Corpus(b, 10_000)
	pb := pushBodies(b, evs)[0]
	req, err := lokipush.Parse(bytes.NewReader(pb.Body), pb.ContentType, pb.ContentEncoding, lokipush.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	size := 0
	for _, ev := range evs {
		size += len(ev)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(size))
		var obj Object
		for b.Loop() {
			if obj, err = Encode("acme", req); err != nil {
				b.Fatal(err)
			}
		}
		sinktest.ReportPerEvent(b, len(evs), len(obj.Body))
	})
	b.Run("gzip-floor", func(b *testing.B) { sinktest.BenchmarkGzipFloor(b, evs) })
}
