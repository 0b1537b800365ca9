package lokibridge

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/lokipush/pushtest"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// discardStore takes every object and keeps only the size of the last.
type discardStore struct{ last atomic.Int64 }

func (d *discardStore) Put(_ context.Context, _ string, body []byte) error {
	d.last.Store(int64(len(body)))
	return nil
}

func (d *discardStore) Check(context.Context) error { return nil }

// benchFormats are the pushes measured: what Promtail and Alloy send
// (protobuf+snappy) and JSON as other clients send it, plain and gzip.
var benchFormats = []string{"protobuf+snappy", "json", "json+gzip"}

// BenchmarkHandle measures a whole push through the handler — base64,
// decompression, parsing, the archive records, SHA-256 and gzip — with a
// store that discards. MB/s is of the events' JSON (the log lines), the same
// for every format; events/s and the object's bytes/event are reported too,
// and the gzip floor (the same events gzipped as NDJSON, nothing else) is
// the yardstick.
func BenchmarkHandle(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		evs := sinktest.Corpus(b, n)
		size := 0
		for _, ev := range evs {
			size += len(ev)
		}
		bodies := pushBodies(b, evs)
		for _, name := range benchFormats {
			body := find(b, bodies, name)
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				store := &discardStore{}
				// 10 000 events are 12 MB of plain JSON, over the default
				// body limit (Lambda's 6 MB payload); raised to measure it.
				h := newTestHandler(b, store, lokipush.Limits{MaxBodyBytes: 16 << 20}, nil)
				req := push(alice, body, nil)
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					if resp, _ := h.Handle(context.Background(), req); resp.StatusCode != 204 {
						b.Fatalf("%d %s", resp.StatusCode, resp.Body)
					}
				}
				sinktest.ReportPerEvent(b, n, int(store.last.Load()))
			})
		}
		b.Run(fmt.Sprintf("gzip-floor/%d", n), func(b *testing.B) { sinktest.BenchmarkGzipFloor(b, evs) })
	}
}

// BenchmarkPeakMemory10MB pushes 10 MB of log lines (the decompressed body)
// once per iteration and reports, for the first push after a GC:
//
//   - peak-heap-MB: the most the heap's objects (live and not yet swept)
//     grew over the push, sampled with runtime/metrics every 100µs by a
//     second goroutine (metrics.Read does not stop the world);
//   - alloc-MB: what the push allocated in all (MemStats.TotalAlloc delta);
//   - body-MB: the compressed body as the client sends it.
//
// The event itself (the base64 body string, 4/3 of the body) is built
// before the baseline: Lambda's runtime holds it before the handler runs.
// Plain JSON is left out: 10 MB is over Lambda's 6 MB invocation payload.
func BenchmarkPeakMemory10MB(b *testing.B) {
	const target = 10 << 20
	one := sinktest.Corpus(b, 1000)
	avg := 0
	for _, ev := range one {
		avg += len(ev)
	}
	n := target / (avg / len(one))
	evs := sinktest.Corpus(b, n)
	bodies := pushBodies(b, evs)
	for _, name := range []string{"protobuf+snappy", "json+gzip"} {
		body := find(b, bodies, name)
		b.Run(name, func(b *testing.B) {
			h := newTestHandler(b, &discardStore{}, lokipush.Limits{}, nil)
			req := push(alice, body, nil)
			peak, alloc := measure(b, func() { handleOK(b, h, req) })
			b.ResetTimer()
			for b.Loop() {
				handleOK(b, h, req)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(alloc)/(1<<20), "alloc-MB")
			b.ReportMetric(float64(len(body.Body))/(1<<20), "body-MB")
			b.ReportMetric(float64(n), "entries")
		})
	}
}

func handleOK(b *testing.B, h *Handler, req events.APIGatewayV2HTTPRequest) {
	if resp, _ := h.Handle(context.Background(), req); resp.StatusCode != 204 {
		b.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
}

// measure runs f once after a GC and returns how far the heap's objects
// grew above where they started at most, and how much f allocated.
func measure(tb testing.TB, f func()) (peak, alloc uint64) {
	tb.Helper()
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	base := read()
	var (
		top  atomic.Uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	top.Store(base)
	wg.Go(func() {
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			if v := read(); v > top.Load() {
				top.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	f()
	if v := read(); v > top.Load() {
		top.Store(v)
	}
	close(done)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	return top.Load() - base, after.TotalAlloc - before.TotalAlloc
}

func find(tb testing.TB, bodies []pushtest.Body, name string) pushtest.Body {
	tb.Helper()
	for _, b := range bodies {
		if b.Name == name {
			return b
		}
	}
	tb.Fatalf("no %s body", name)
	return pushtest.Body{}
}
