package deliver

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/stream"
)

// BenchmarkHandleMetrics is a full batch (10 messages of 100 events, two
// streams) to a sender that takes everything at once, without metrics and
// with them (latency, batch size and both lags of every event, written to
// io.Discard): the metrics' share of the core's own work, which a real
// send's network time dwarfs. Report the ratio of the two.
func BenchmarkHandleMetrics(b *testing.B) {
	t0 := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	var recs []events.SQSMessage
	for m := range 10 {
		evs := make([]string, 100)
		for i := range evs {
			evs[i] = fmt.Sprintf(`{"event_id":"e-%d-%d","timestamp":%q,"action":"PasswordsAuthenticate","status":"success","user_id":"user-live-%d"}`,
				m, i, t0.Add(-time.Duration(i)*time.Second).Format(time.RFC3339Nano), i)
		}
		recs = append(recs, sentAt(record(b, fmt.Sprint("m", m), "p", []string{"a", "b"}[m%2], evs...), t0.Add(-time.Second)))
	}
	ev := events.SQSEvent{Records: recs}
	for _, tc := range []struct {
		name    string
		metrics *metrics.Emitter
	}{
		{"without", nil},
		{"with", &metrics.Emitter{Out: io.Discard, Function: "deliver-http", Now: func() time.Time { return t0 }}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := &Core{Streams: activeStreams(map[string]stream.Status{"a": stream.StatusActive, "b": stream.StatusActive}),
				Sender: senderFunc(func(context.Context, stream.Stream, Batch) error { return nil }),
				Limits: Limits{MaxBytes: 5 << 20, MaxEvents: 1000}, Log: quietLog(), Now: func() time.Time { return t0 },
				CacheTTL: time.Hour, Metrics: tc.metrics, DestinationType: "http"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Handle(context.Background(), ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
