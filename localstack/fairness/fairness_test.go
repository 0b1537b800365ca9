package fairness

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/app"
)

func TestPercentile(t *testing.T) {
	lags := func(n int) []time.Duration {
		d := make([]time.Duration, n)
		for i := range d {
			d[i] = time.Duration(i+1) * time.Millisecond
		}
		return d
	}
	for _, c := range []struct {
		name string
		n    int
		p    float64
		want time.Duration
	}{
		{"none", 0, .99, 0},
		{"one", 1, .5, time.Millisecond},
		{"p50 of 40", 40, .5, 20 * time.Millisecond},
		{"p99 of 40 is the max", 40, .99, 40 * time.Millisecond},
		{"p99 of 200", 200, .99, 198 * time.Millisecond},
		{"max", 200, 1, 200 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := (Result{Lags: lags(c.n)}).Percentile(c.p); got != c.want {
				t.Errorf("Percentile(%v) of %d = %v, want %v", c.p, c.n, got, c.want)
			}
		})
	}
}

// The meter counts running invocations up to now, and only the function it
// was given.
func TestMeter(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	m := &Meter{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	release, entered := make(chan struct{}), make(chan struct{}, 2)
	nh := m.Wrap(func(context.Context, string, app.Getenv) (any, error) {
		return func(context.Context, struct{}) error { entered <- struct{}{}; <-release; return nil }, nil
	}, "deliver-http")
	h, _ := nh(context.Background(), "deliver-http", nil)
	other, _ := nh(context.Background(), "ingest", nil)
	if _, ok := other.(metered); ok {
		t.Fatal("a function other than the metered one was wrapped")
	}

	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { h.(metered).Invoke(context.Background(), []byte("{}")) })
	}
	<-entered
	<-entered
	advance(3 * time.Second)
	if got := m.Busy(); got != 6*time.Second {
		t.Fatalf("two invocations running 3 s: Busy %v, want 6s", got)
	}
	close(release)
	wg.Wait()
	advance(time.Minute)
	if got := m.Busy(); got != 6*time.Second {
		t.Fatalf("after both finished: Busy %v, want 6s", got)
	}
}
