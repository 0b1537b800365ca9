package ingest

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/metrics"
)

// BenchmarkHandleMetrics is one request of 100 events to two streams,
// without metrics and with them (written to io.Discard): the metrics' share
// of ingestion's own work, with queues that answer at once. Report the
// ratio of the two.
func BenchmarkHandleMetrics(b *testing.B) {
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	var evs []string
	for i := range 100 {
		evs = append(evs, fmt.Sprintf(`{"action":"PasswordsAuthenticate","status":"success","user_id":"user-live-%d","timestamp":%q}`,
			i, now.Add(-time.Duration(i)*time.Second).Format(time.RFC3339Nano)))
	}
	req := request([]byte("["+strings.Join(evs, ",")+"]"), map[string]string{"content-type": "application/json"}, false)
	for _, tc := range []struct {
		name    string
		metrics *metrics.Emitter
	}{
		{"without", nil},
		{"with", &metrics.Emitter{Out: io.Discard, Function: "ingest", Now: func() time.Time { return now }}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := newService(&fakeStreams{active: twoStreams}, nil)
			s.Publisher = discard{}
			s.CacheTTL = time.Hour
			s.Stamper.Now = func() time.Time { return now }
			s.Metrics = tc.metrics
			b.ReportAllocs()
			for b.Loop() {
				if resp, _ := s.Handle(context.Background(), req); resp.StatusCode != 202 {
					b.Fatalf("%d %s", resp.StatusCode, resp.Body)
				}
			}
		})
	}
}

// discard is a Publisher whose queues take everything and keep nothing.
type discard struct{}

func (discard) Publish(context.Context, string, []envelope.Message) error { return nil }
