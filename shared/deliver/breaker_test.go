package deliver

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/stream"
)

func TestBreakerOpensProbesAndCloses(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(map[bool]string{false: "in memory", true: "shared"}[shared], func(t *testing.T) {
			now := time.Unix(1_000_000, 0)
			b := &Breaker{Threshold: 3, Base: 10 * time.Second, Max: 25 * time.Second, Now: func() time.Time { return now }}
			if shared {
				b.Shared = &memCircuits{}
			}
			testBreaker(t, b, &now)
		})
	}
}

func testBreaker(t *testing.T, b *Breaker, now *time.Time) {
	ctx := context.Background()
	key := [2]string{"p", "s"}
	other := [2]string{"p", "t"}
	allow := func(wantSend, wantProbe bool) Decision {
		t.Helper()
		if err := b.Prepare(ctx, [][2]string{key}); err != nil {
			t.Fatal(err)
		}
		d, err := b.Allow(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if d.Send != wantSend || d.Probe != wantProbe {
			t.Fatalf("Allow at %s = %+v; want send %v, probe %v", now.Format(time.TimeOnly), d, wantSend, wantProbe)
		}
		return d
	}
	done := func(key [2]string, r Result) {
		t.Helper()
		if err := b.Done(ctx, key, r); err != nil {
			t.Fatal(err)
		}
	}
	timeout := Result{Failed: true, TimedOut: true, Reason: "timeout"}
	for range 2 {
		allow(true, false)
		done(key, timeout)
	}
	allow(true, false)
	done(other, timeout) // another stream's failures are its own
	done(key, timeout)   // the third in a row opens it
	if d := allow(false, false); d.Wait != 10*time.Second || d.Reason != "timeout" {
		t.Fatalf("open circuit: %+v; want a wait of 10s for the last failure", d)
	}
	*now = now.Add(10 * time.Second)
	if d := allow(true, true); d.Timeout != 2*time.Second { // one probe, short: it has been timing out
		t.Fatalf("first probe's timeout %s, want 2s", d.Timeout)
	}
	allow(false, false) // and only one, while it runs
	done(key, timeout)  // it failed: open twice as long
	if d := allow(false, false); d.Wait != 20*time.Second {
		t.Fatalf("after a failed probe the circuit opens for %s, want 20s", d.Wait)
	}
	*now = now.Add(20 * time.Second)
	if d := allow(true, true); d.Timeout != 4*time.Second {
		t.Fatalf("second probe's timeout %s, want 4s (doubled after a timed-out probe)", d.Timeout)
	}
	done(key, Result{Failed: true, Reason: "503"}) // an answer: probes get the full timeout again
	if d := allow(false, false); d.Wait != 25*time.Second {
		t.Fatalf("open period %s, want at most Max (25s)", d.Wait)
	}
	*now = now.Add(25 * time.Second)
	if d := allow(true, true); d.Timeout != 0 {
		t.Fatalf("probe after a 503: timeout %s, want none of its own", d.Timeout)
	}
	done(key, Result{}) // the endpoint answers: closed
	allow(true, false)
	allow(true, false)

	// A probe whose invocation never reported lets another probe a Base later.
	for range 3 {
		done(key, timeout)
	}
	*now = now.Add(10 * time.Second)
	allow(true, true)
	allow(false, false)
	*now = now.Add(10 * time.Second)
	allow(true, true)

	var nilBreaker *Breaker
	if d, _ := nilBreaker.Allow(ctx, key); !d.Send {
		t.Fatal("a nil Breaker must allow everything")
	}
	_ = nilBreaker.Done(ctx, key, timeout)
}

// Containers sharing circuits count failures toward one threshold, defer in
// all of them once it opens, let exactly one probe, and close everywhere on
// its success; a healthy stream costs reads only.
func TestBreakerSharedAcrossContainers(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_000_000, 0)
	store := &memCircuits{}
	containers := make([]*Breaker, 3)
	for i := range containers {
		containers[i] = &Breaker{Threshold: 3, Base: 10 * time.Second, Max: time.Minute, Shared: store, Now: func() time.Time { return now }}
	}
	key := [2]string{"p", "dead"}
	healthy := [2]string{"p", "ok"}
	allow := func(b *Breaker, k [2]string) Decision {
		t.Helper()
		if err := b.Prepare(ctx, [][2]string{k}); err != nil {
			t.Fatal(err)
		}
		d, err := b.Allow(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// Each container fails once: together, three in a row.
	for _, b := range containers {
		if d := allow(b, key); !d.Send {
			t.Fatalf("before the threshold: %+v", d)
		}
		if err := b.Done(ctx, key, Result{Failed: true, TimedOut: true, Reason: "timeout"}); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(3 * time.Second) // past every container's Refresh
	for i, b := range containers {
		if d := allow(b, key); d.Send || d.Reason != "timeout" {
			t.Fatalf("container %d after three failures in all: %+v, want deferred", i, d)
		}
	}
	now = now.Add(10 * time.Second)
	probes := 0
	for _, b := range containers {
		if d := allow(b, key); d.Send {
			probes++
			if !d.Probe {
				t.Fatalf("a send while open must be the probe: %+v", d)
			}
		}
	}
	if probes != 1 {
		t.Fatalf("%d containers probed, want exactly 1", probes)
	}
	// Whichever probed succeeds: closed in all.
	for _, b := range containers {
		if c, _ := b.get(key); c.ProbeUntil.After(now) && c.Failures >= 3 {
			if err := b.Done(ctx, key, Result{}); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	now = now.Add(3 * time.Second)
	for i, b := range containers {
		if d := allow(b, key); !d.Send || d.Probe {
			t.Fatalf("container %d after the probe succeeded: %+v", i, d)
		}
	}
	writes := store.swaps.Load()
	for range 5 {
		now = now.Add(3 * time.Second)
		for _, b := range containers {
			allow(b, healthy)
			if err := b.Done(ctx, healthy, Result{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := store.swaps.Load() - writes; n != 0 {
		t.Errorf("a healthy stream cost %d writes, want 0", n)
	}
}

// memCircuits is Circuits in memory.
type memCircuits struct {
	mu    sync.Mutex
	m     map[[2]string]Circuit
	swaps atomic.Int64
}

func (s *memCircuits) Load(_ context.Context, keys [][2]string) (map[[2]string]Circuit, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[[2]string]Circuit{}
	for _, k := range keys {
		if c, ok := s.m[k]; ok {
			out[k] = c
		}
	}
	return out, nil
}

func (s *memCircuits) Swap(_ context.Context, key [2]string, old, next Circuit) (bool, error) {
	s.swaps.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[key].Version != old.Version {
		return false, nil
	}
	if s.m == nil {
		s.m = map[[2]string]Circuit{}
	}
	next.Version = old.Version + 1
	s.m[key] = next
	return true, nil
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
	if got := health.of("p", "dead"); got.Retried != 10 || got.Parked() != 0 || got.Delivered != 0 {
		t.Errorf("dead stream's tally = %+v, want 10 retried (two events per invocation, sent or deferred)", got)
	}
	if got := health.of("p", "dead").LastError; !strings.HasPrefix(got, "context deadline exceeded") {
		t.Errorf("the stream's last error while deferred = %q, want the destination's own last failure", got)
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
