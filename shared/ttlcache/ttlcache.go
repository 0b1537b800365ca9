// Package ttlcache keeps values in memory for a short time, so hot paths
// (ingestion looking up a project's streams, delivery loading a stream's
// config) make one DynamoDB read per key per TTL, not one per event.
package ttlcache

import (
	"context"
	"sync"
	"time"
)

// Cache maps keys to values that expire after TTL. Concurrent misses on the
// same key share one load. The zero TTL disables caching.
type Cache[K comparable, V any] struct {
	TTL time.Duration
	Now func() time.Time

	mu      sync.Mutex
	entries map[K]entry[V]
	loading map[K]*call[V]
}

type entry[V any] struct {
	v       V
	expires time.Time
}

type call[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// maxEntries bounds memory in a long-lived Lambda environment.
const maxEntries = 10_000

func (c *Cache[K, V]) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Get returns the cached value for k or loads it. Errors are not cached.
func (c *Cache[K, V]) Get(ctx context.Context, k K, load func(context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	if e, ok := c.entries[k]; ok && c.now().Before(e.expires) {
		c.mu.Unlock()
		return e.v, nil
	}
	if cl, ok := c.loading[k]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.v, cl.err
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
	}
	cl := &call[V]{done: make(chan struct{})}
	if c.loading == nil {
		c.loading = map[K]*call[V]{}
	}
	c.loading[k] = cl
	c.mu.Unlock()

	cl.v, cl.err = load(ctx)

	c.mu.Lock()
	delete(c.loading, k)
	if cl.err == nil && c.TTL > 0 {
		if c.entries == nil || len(c.entries) >= maxEntries {
			c.entries = map[K]entry[V]{}
		}
		c.entries[k] = entry[V]{v: cl.v, expires: c.now().Add(c.TTL)}
	}
	c.mu.Unlock()
	close(cl.done)
	return cl.v, cl.err
}

// Forget drops k, so the next Get loads it afresh: for a value the caller
// has just learned is stale.
func (c *Cache[K, V]) Forget(k K) {
	c.mu.Lock()
	delete(c.entries, k)
	c.mu.Unlock()
}
