package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/metrics/emftest"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
)

// stepClock is a clock that moves only when a send takes time, so every
// latency and lag is known to the millisecond.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sentAt gives m the SentTimestamp SQS gives a message enqueued at t.
func sentAt(m events.SQSMessage, t time.Time) events.SQSMessage {
	m.ReceiptHandle = "rh-" + m.MessageId
	m.Attributes = map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": fmt.Sprint(t.UnixMilli())}
	return m
}

// Every invocation writes {Function, DestinationType} with each count and
// the distributions of its sends and deliveries, {…, Reason} per park
// reason, and with the opt-in detail each project's and stream's lines.
func TestInvocationMetrics(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	ev := func(n int, age time.Duration) string {
		return fmt.Sprintf(`{"n":%d,"timestamp":%q}`, n, t0.Add(-age).Format(time.RFC3339Nano))
	}
	streams := map[string]stream.Status{"a": stream.StatusActive, "b": stream.StatusActive, "paused": stream.StatusPaused}
	type line struct {
		counts                             [4]int // delivered, retried, parked, filtered
		latency, batch, lagTS, lagEnqueued []float64
	}
	tests := []struct {
		name    string
		records func(t *testing.T) []events.SQSMessage
		send    func(s stream.Stream, evs []string) error
		detail  metrics.Detail
		limits  Limits
		want    map[string]line
		parked  map[string]int // Reason → events
	}{
		{name: "delivered in two sends",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{
					sentAt(record(t, "m1", "p", "a", ev(1, time.Minute), ev(2, 90*time.Second)), t0.Add(-2*time.Second)),
					sentAt(record(t, "m2", "p", "a", ev(3, time.Second)), t0.Add(-time.Second)),
				}
			},
			limits: Limits{MaxBytes: 1 << 20, MaxEvents: 2},
			want: map[string]line{"": {counts: [4]int{3, 0, 0, 0},
				latency: []float64{7, 7}, batch: []float64{2, 1},
				lagTS:       []float64{60_007, 90_007, 1_014},
				lagEnqueued: []float64{2_007, 2_007, 1_014}}},
		},
		{name: "an event without a timestamp has no lag from it",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{sentAt(record(t, "m1", "p", "a", `{"n":1}`, `{"n":2,"timestamp":"2026-07-01T13:59:00+02:00"}`), t0)}
			},
			want: map[string]line{"": {counts: [4]int{2, 0, 0, 0}, latency: []float64{7}, batch: []float64{2},
				lagTS: []float64{60_007}, lagEnqueued: []float64{7, 7}}},
		},
		{name: "parked, retried and filtered",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{
					sentAt(record(t, "m1", "p", "a", evn(1), evn(2)), t0),
					sentAt(record(t, "m2", "p", "b", evn(3)), t0),
					sentAt(record(t, "m3", "p", "paused", evn(4), evn(5)), t0),
					sentAt(record(t, "m4", "p", "deleted", evn(6)), t0),
					{MessageId: "junk", ReceiptHandle: "rh-junk", Body: "not an envelope"},
				}
			},
			send: func(s stream.Stream, _ []string) error {
				if s.ID == "a" {
					return Classify(Permanent, errors.New("401 unauthorized"))
				}
				return errors.New("503 unavailable")
			},
			want:   map[string]line{"": {counts: [4]int{0, 1, 3, 3}, latency: []float64{7, 7}, batch: []float64{2, 1}}},
			parked: map[string]int{"permanent": 2, "undecodable": 1},
		},
		{name: "each project's and stream's lines",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{
					sentAt(record(t, "m1", "p1", "a", evn(1), evn(2)), t0),
					sentAt(record(t, "m2", "p2", "a", evn(3)), t0),
					sentAt(record(t, "m3", "p2", "b", evn(4)), t0),
				}
			},
			// The streams go one after the other (Concurrency 1), each
			// send moving the clock 7 ms.
			detail: metrics.DetailStream,
			want: map[string]line{
				"":                     {counts: [4]int{4, 0, 0, 0}, latency: []float64{7, 7, 7}, batch: []float64{2, 1, 1}, lagEnqueued: []float64{7, 7, 14, 21}},
				",Project=p1":          {counts: [4]int{2, 0, 0, 0}, latency: []float64{7}, batch: []float64{2}, lagEnqueued: []float64{7, 7}},
				",Project=p2":          {counts: [4]int{2, 0, 0, 0}, latency: []float64{7, 7}, batch: []float64{1, 1}, lagEnqueued: []float64{14, 21}},
				",Project=p1,Stream=a": {counts: [4]int{2, 0, 0, 0}, latency: []float64{7}, batch: []float64{2}, lagEnqueued: []float64{7, 7}},
				",Project=p2,Stream=a": {counts: [4]int{1, 0, 0, 0}, latency: []float64{7}, batch: []float64{1}, lagEnqueued: []float64{14}},
				",Project=p2,Stream=b": {counts: [4]int{1, 0, 0, 0}, latency: []float64{7}, batch: []float64{1}, lagEnqueued: []float64{21}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &stepClock{now: t0}
			q := &fakeQueue{}
			var out bytes.Buffer
			c := newCore(sendFunc(nil), q, cmpLimits(tc.limits))
			c.Streams = activeStreams(streams)
			c.Now = clock.Now
			c.Concurrency = 1 // one stream at a time, so each send's time is the clock's alone
			c.Sender = senderFunc(func(_ context.Context, s stream.Stream, b Batch) error {
				clock.advance(7 * time.Millisecond)
				if tc.send == nil {
					return nil
				}
				evs := make([]string, len(b.Events))
				for i, e := range b.Events {
					evs[i] = string(e)
				}
				return tc.send(s, evs)
			})
			c.Metrics = &metrics.Emitter{Out: &out, Function: topology.DeliverFunctionID("http"), Detail: tc.detail, Now: clock.Now}
			c.DestinationType = "http"
			if _, err := c.Handle(context.Background(), events.SQSEvent{Records: tc.records(t)}); err != nil {
				t.Fatal(err)
			}
			lines := emftest.Lines(t, out.Bytes())
			base := "Function=deliver-http,DestinationType=http"
			want := map[string]bool{}
			for k := range tc.want {
				want[base+k] = true
			}
			for r := range tc.parked {
				want[base+",Reason="+r] = true
			}
			if !slices.Equal(emftest.Keys(lines), emftest.Keys(want)) {
				t.Fatalf("lines %v, want %v", emftest.Keys(lines), emftest.Keys(want))
			}
			for r, n := range tc.parked {
				d := lines[base+",Reason="+r]
				if got := d.Metrics[topology.MetricEventsParked].Values; len(d.Metrics) != 1 || !slices.Equal(got, []float64{float64(n)}) {
					t.Errorf("parked for %s: %+v, want %d", r, d.Metrics, n)
				}
			}
			for k, w := range tc.want {
				d := lines[base+k]
				for i, name := range []string{topology.MetricEventsDelivered, topology.MetricEventsRetried, topology.MetricEventsParked, topology.MetricEventsFiltered} {
					if m, ok := d.Metrics[name]; !ok || m.Array || m.Values[0] != float64(w.counts[i]) {
						t.Errorf("%s: %s = %+v, want %d", k, name, m, w.counts[i])
					}
				}
				for name, want := range map[string][]float64{topology.MetricDestinationLatency: w.latency, topology.MetricBatchSize: w.batch,
					topology.MetricLagFromTimestamp: w.lagTS, topology.MetricLagFromEnqueue: w.lagEnqueued} {
					got := d.Metrics[name].Values
					slices.Sort(got)
					want = slices.Sorted(slices.Values(want))
					if !slices.Equal(got, want) || (len(want) > 0 && !d.Metrics[name].Array) {
						t.Errorf("%s: %s = %v, want %v", k, name, got, want)
					}
				}
			}
		})
	}
}

func cmpLimits(l Limits) Limits {
	if l.MaxEvents == 0 {
		return bigLimits
	}
	return l
}

type senderFunc func(ctx context.Context, s stream.Stream, b Batch) error

func (f senderFunc) Send(ctx context.Context, s stream.Stream, b Batch) error { return f(ctx, s, b) }

// RFC 3339 timestamps read without time.Parse give time.Parse's instant.
func TestRFC3339Millis(t *testing.T) {
	for _, s := range []string{"2026-07-01T12:00:00Z", "2026-07-01T12:00:00.123456789Z", "1970-01-01T00:00:00.5Z",
		"2024-02-29T23:59:59.999+05:30", "2000-03-01T00:00:00-08:00", "2026-12-31T23:59:59.1Z"} {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := rfc3339Millis([]byte(s)); !ok || got != want.UnixMilli() {
			t.Errorf("%s: %d %v, want %d", s, got, ok, want.UnixMilli())
		}
	}
	for _, s := range []string{"", "2026-07-01", "2026-07-01 12:00:00Z", "2026-13-01T12:00:00Z", "2026-07-01T12:00:00", "2026-07-01T12:00:00.Z",
		"2026-07-01T12:00:00+0200"} {
		if _, ok := rfc3339Millis([]byte(s)); ok {
			t.Errorf("%q read as a time", s)
		}
	}
	raw := []byte(`{"a":1,"timestamp":"2026-07-01T12:00:00.123Z"}`)
	if n := testing.AllocsPerRun(100, func() { timestampMillis(raw) }); n != 0 {
		t.Errorf("%v allocations per event timestamp", n)
	}
}
