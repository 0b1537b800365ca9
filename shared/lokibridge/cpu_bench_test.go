package lokibridge

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/lokibridge/s3archive"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// cpuTime is the process's user plus system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU runs push b.N times and reports the test process's CPU per
// push (cpu-µs/push): the stand-in runs in its own process, so this is the
// bridge's share alone, SDK and HTTP client included.
func reportCPU(b *testing.B, push func()) {
	b.Helper()
	start := cpuTime(b)
	n := 0
	for b.Loop() {
		push()
		n++
	}
	b.ReportMetric(float64((cpuTime(b)-start).Microseconds())/float64(n), "cpu-µs/push")
}

// BenchmarkSmallPushS3 is issue 15's small push: 10 entries as Promtail
// sends them (protobuf+snappy), through the handler into the S3 stand-in
// with the real SDK client, one push at a time.
func BenchmarkSmallPushS3(b *testing.B) {
	benchSmallPush(b, false)
}

// BenchmarkSmallPushSQS is the same push with the bridge's queue: the push
// is spooled to the SQS stand-in for the archiver.
func BenchmarkSmallPushSQS(b *testing.B) {
	benchSmallPush(b, true)
}

// benchSmallPush sends the 10-entry push through a handler on the S3
// stand-in, with the bridge queue on the SQS stand-in when queued.
func benchSmallPush(b *testing.B, queued bool) {
	cfg := standin.AWSConfig(b)
	ctx := context.Background()
	_, bucket := standin.S3(b, ctx, cfg, "lokibench")
	store, err := s3archive.New(cfg, s3archive.Options{Bucket: bucket, UsePathStyle: true})
	if err != nil {
		b.Fatal(err)
	}
	h := newTestHandler(b, store, lokipush.Limits{}, nil)
	if queued {
		queue, err := NewSQSQueue(cfg, standin.Queue(b, ctx, cfg, "lokibench"))
		if err != nil {
			b.Fatal(err)
		}
		h.queue = queue
	}
	req := push(alice, pushBodies(b, sinktest.Corpus(b, 10))[0], nil)
	b.ReportAllocs()
	reportCPU(b, func() { handleOK(b, h, req) })
}
