package lokipush

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink/loki"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// benchPush is one request body, as a client sends it.
type benchPush struct {
	name    string
	body    []byte
	ct, ce  string
	decoded int // bytes after Content-Encoding and snappy
	entries int
}

// benchPushes are logstream's Loki sender's bodies for n corpus events: gzip
// JSON and protobuf+snappy as it sends them, and the JSON uncompressed.
func benchPushes(tb testing.TB, n int) []benchPush {
	evs := sinktest.Corpus(tb, n)
	var out []benchPush
	for _, format := range []string{destination.LokiFormatJSON, destination.LokiFormatProtobuf} {
		cfg := senderConfig(format)
		body, ct, ce, err := loki.Encode(sinktest.Stream(tb, destination.GrafanaLoki, cfg), cfg, evs, senderNow)
		if err != nil {
			tb.Fatal(err)
		}
		if format == destination.LokiFormatProtobuf {
			d, _ := s2.DecodedLen(body)
			out = append(out, benchPush{name: "protobuf-snappy", body: body, ct: ct, ce: ce, decoded: d, entries: n})
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			tb.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out,
			benchPush{name: "json", body: plain, ct: ct, decoded: len(plain), entries: n},
			benchPush{name: "gzip-json", body: body, ct: ct, ce: ce, decoded: len(plain), entries: n})
	}
	return out
}

// benchLimits are the defaults but for the body: 10k events are 12 MB of
// plain JSON, over the 6 MB default.
var benchLimits = Limits{MaxBodyBytes: 16 << 20}

// BenchmarkParse parses pushes of 1k and 10k auth events on one core:
// MB/s of decoded body, entries/s, and the allocations per push.
func BenchmarkParse(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		for _, p := range benchPushes(b, n) {
			b.Run(fmt.Sprintf("%s/%dk", p.name, n/1000), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(p.decoded))
				for b.Loop() {
					if _, err := Parse(bytes.NewReader(p.body), p.ct, p.ce, benchLimits); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(p.entries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
				b.ReportMetric(float64(len(p.body)), "body-bytes")
			})
		}
	}
}

// BenchmarkParse10MB is a push of 10 MB of JSON (~17k events) in each
// format, with the memory it costs: alloc-MB is everything Parse allocates
// for it (TotalAlloc, the peak heap it adds were the GC never to run: an
// upper bound of the real peak), live-MB the heap the parsed Request holds
// after a GC, body-MB the body as sent.
func BenchmarkParse10MB(b *testing.B) {
	const target = 10_000_000
	per := 0
	for _, p := range benchPushes(b, 1000) {
		if p.name == "json" {
			per = p.decoded / 1000
		}
	}
	lim := benchLimits
	for _, p := range benchPushes(b, target/per) {
		b.Run(p.name, func(b *testing.B) {
			var req *Request
			live := heapDelta(func() {
				var err error
				req, err = Parse(bytes.NewReader(p.body), p.ct, p.ce, lim)
				if err != nil {
					b.Fatal(err)
				}
			})
			runtime.KeepAlive(req)
			b.ReportAllocs()
			b.SetBytes(int64(p.decoded))
			for b.Loop() {
				if _, err := Parse(bytes.NewReader(p.body), p.ct, p.ce, lim); err != nil {
					b.Fatal(err)
				}
			}
			alloc := allocated(func() { _, _ = Parse(bytes.NewReader(p.body), p.ct, p.ce, lim) })
			b.ReportMetric(float64(alloc)/1e6, "alloc-MB")
			b.ReportMetric(float64(live)/1e6, "live-MB")
			b.ReportMetric(float64(len(p.body))/1e6, "body-MB")
			b.ReportMetric(float64(p.entries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// heapDelta is how much more heap is live, after a GC, once f has run.
func heapDelta(f func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}
