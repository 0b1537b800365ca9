package deliver

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/stream"
)

func TestBreakerOpensProbesAndCloses(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	b := &Breaker{Threshold: 3, Base: 10 * time.Second, Max: 25 * time.Second, Now: func() time.Time { return now }}
	key := [2]string{"p", "s"}
	other := [2]string{"p", "t"}
	allow := func(wantOK, wantProbe bool) {
		t.Helper()
		ok, probe, _ := b.Allow(key)
		if ok != wantOK || probe != wantProbe {
			t.Fatalf("Allow at %s = %v, probe %v; want %v, %v", now.Format(time.TimeOnly), ok, probe, wantOK, wantProbe)
		}
	}
	for range 2 {
		allow(true, false)
		b.Done(key, true, "timeout")
	}
	allow(true, false)
	b.Done(other, true, "timeout") // another stream's failures are its own
	b.Done(key, true, "timeout")   // the third in a row opens it
	if !b.Open(key) || b.Open(other) {
		t.Fatalf("after 3 failures: open = %v (other %v), want true (false)", b.Open(key), b.Open(other))
	}
	if ok, _, wait := b.Allow(key); ok || wait != 10*time.Second {
		t.Fatalf("open circuit: Allow = %v, wait %s; want false, 10s", ok, wait)
	}
	now = now.Add(10 * time.Second)
	allow(true, true)            // one probe
	allow(false, false)          // and only one, while it runs
	b.Done(key, true, "timeout") // it failed: open twice as long
	if _, _, wait := b.Allow(key); wait != 20*time.Second {
		t.Fatalf("after a failed probe the circuit opens for %s, want 20s", wait)
	}
	now = now.Add(20 * time.Second)
	allow(true, true)
	b.Done(key, true, "timeout")
	if _, _, wait := b.Allow(key); wait != 25*time.Second {
		t.Fatalf("open period %s, want at most Max (25s)", wait)
	}
	now = now.Add(25 * time.Second)
	allow(true, true)
	b.Done(key, false, "") // the endpoint answers: closed
	allow(true, false)
	allow(true, false)

	// A probe whose invocation never reported lets another probe a Base later.
	for range 3 {
		b.Done(key, true, "timeout")
	}
	now = now.Add(10 * time.Second)
	allow(true, true)
	allow(false, false)
	now = now.Add(10 * time.Second)
	allow(true, true)

	var nilBreaker *Breaker
	if ok, _, _ := nilBreaker.Allow(key); !ok {
		t.Fatal("a nil Breaker must allow everything")
	}
	nilBreaker.Done(key, true, "")
}

// A stream whose destination keeps timing out stops costing requests after
// Threshold invocations: its messages come back on the schedule, unsent and
// counted as failures, while another stream in the same batches is delivered
// every time; a single probe then brings it back.
func TestCoreDefersAFailingStreamWithoutSending(t *testing.T) {
	now := time.Unix(2_000_000, 0)
	var down atomic.Bool
	down.Store(true)
	snd := &fakeSender{send: func(ctx context.Context, s stream.Stream, n int) error {
		if s.ID == "dead" && down.Load() {
			return context.DeadlineExceeded
		}
		return nil
	}}
	health := &tallyHealth{}
	c := &Core{
		Streams: activeStreams(map[string]stream.Status{"dead": stream.StatusActive, "quiet": stream.StatusActive}),
		Sender:  snd, Limits: Limits{MaxEvents: 100, MaxBytes: 1 << 20}, Health: health,
		Breaker: &Breaker{Threshold: 3, Base: time.Minute, Max: time.Hour, Now: func() time.Time { return now }},
		Log:     quietLog(),
	}
	batch := func(n int) events.SQSEvent {
		return events.SQSEvent{Records: []events.SQSMessage{
			record(t, "d1", "p", "dead", `{"n":1}`), record(t, "d2", "p", "dead", `{"n":2}`),
			record(t, "q", "p", "quiet", `{"n":3}`),
		}}
	}
	requests := func(id string) int {
		snd.mu.Lock()
		defer snd.mu.Unlock()
		n := 0
		for _, s := range snd.got {
			if s.streamID == id {
				n++
			}
		}
		return n
	}
	for i := 1; i <= 5; i++ {
		resp, err := c.Handle(context.Background(), batch(i))
		if err != nil {
			t.Fatal(err)
		}
		if got := failures(resp); !slices.Equal(got, []string{"d1", "d2"}) {
			t.Fatalf("invocation %d: retried %v, want the dead stream's two messages only", i, got)
		}
	}
	if n := requests("dead"); n != 3 {
		t.Errorf("requests to the dead stream over 5 invocations = %d, want 3 (then deferred unsent)", n)
	}
	if n := requests("quiet"); n != 5 {
		t.Errorf("requests to the quiet stream = %d, want one per invocation (5)", n)
	}
	if got := health.failed.Load(); got != 10 {
		t.Errorf("failures counted = %d, want 10 (two events per invocation, sent or deferred)", got)
	}
	if !strings.HasPrefix(health.reason.Load().(string), "context deadline exceeded") {
		t.Errorf("the stream's last error while deferred = %q, want the destination's own last failure", health.reason.Load())
	}

	// The endpoint is back; after the open period one message probes.
	down.Store(false)
	now = now.Add(time.Minute)
	resp, _ := c.Handle(context.Background(), batch(6))
	if got := failures(resp); !slices.Equal(got, []string{"d2"}) {
		t.Fatalf("probe invocation: retried %v, want d2 (held while d1 probes)", got)
	}
	resp, _ = c.Handle(context.Background(), batch(7))
	if got := failures(resp); len(got) != 0 {
		t.Fatalf("after a good probe: retried %v, want nothing", got)
	}
	if n := requests("dead"); n != 3+1+1 {
		t.Errorf("requests to the dead stream = %d, want 5 (3 failed, the probe, one after)", n)
	}
}

type tallyHealth struct {
	delivered, failed atomic.Int64
	reason            atomic.Value
}

func (h *tallyHealth) RecordDelivery(_ context.Context, _, _ string, n int, _ time.Time) error {
	h.delivered.Add(int64(n))
	return nil
}

func (h *tallyHealth) RecordFailure(_ context.Context, _, _ string, n int, reason string, _ time.Time) error {
	h.reason.Store(reason)
	h.failed.Add(int64(n))
	return nil
}
