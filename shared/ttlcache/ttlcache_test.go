package ttlcache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	now := time.Unix(0, 0)
	c := &Cache[string, int]{TTL: time.Minute, Now: func() time.Time { return now }}
	loads := 0
	load := func(context.Context) (int, error) { loads++; return loads, nil }
	ctx := context.Background()
	for _, step := range []struct {
		advance time.Duration
		want    int
	}{{0, 1}, {30 * time.Second, 1}, {31 * time.Second, 2}, {time.Second, 2}} {
		now = now.Add(step.advance)
		if v, _ := c.Get(ctx, "k", load); v != step.want {
			t.Fatalf("after %s: got %d, want %d", step.advance, v, step.want)
		}
	}
	if _, err := c.Get(ctx, "bad", func(context.Context) (int, error) { return 0, errors.New("boom") }); err == nil {
		t.Fatal("error lost")
	}
	if v, _ := c.Get(ctx, "bad", load); v != 3 {
		t.Fatalf("error was cached: %d", v)
	}
}

func TestZeroTTLDoesNotCache(t *testing.T) {
	c := &Cache[string, int]{}
	n := 0
	for range 3 {
		c.Get(context.Background(), "k", func(context.Context) (int, error) { n++; return n, nil })
	}
	if n != 3 {
		t.Fatalf("loads = %d, want 3", n)
	}
}

func TestConcurrentMissesShareOneLoad(t *testing.T) {
	c := &Cache[string, int]{TTL: time.Minute}
	var loads atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Get(context.Background(), "k", func(context.Context) (int, error) {
				loads.Add(1)
				<-release
				return 7, nil
			})
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if loads.Load() != 1 {
		t.Fatalf("loads = %d, want 1", loads.Load())
	}
}
