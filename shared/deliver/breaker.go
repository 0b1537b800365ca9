package deliver

import (
	"sync"
	"time"
)

// Breaker is a per-stream circuit breaker, shared by the invocations of one
// delivery function's container (issue 11): after Threshold invocations in a
// row in which a stream's destination failed in a way that may pass (a
// timeout, a refused connection, 429, 5xx), the stream's messages are
// deferred on the retry schedule without a request, so a hanging endpoint
// stops costing each invocation its delivery timeout. When the open period
// ends, one invocation sends a probe: its success closes the circuit, its
// failure opens it again for twice as long (at most Max).
//
// Deferred messages are ordinary retries: their receive count grows, SQS
// redrive parks them in the DLQ after maxReceiveCount like any retry, and the
// stream's failure counter counts them. The state lives in memory: each
// container learns on its own, which costs each of them Threshold slow
// invocations per dead endpoint and nothing per message (no table read in
// the hot path).
type Breaker struct {
	// Threshold is how many failing invocations in a row open the circuit
	// (default 3).
	Threshold int
	// Base and Max bound how long it stays open: Base the first time,
	// doubled after each failed probe (defaults 30 s and 30 min, the retry
	// schedule's).
	Base, Max time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu       sync.Mutex
	circuits map[[2]string]*circuit
}

type circuit struct {
	reason    string // the last failure's, shown while requests are deferred
	failures  int
	open      time.Duration // the last open period
	openUntil time.Time
	probing   bool
}

func (b *Breaker) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Allow reports whether a request to the stream may be sent now, and if not,
// how long until it may. probe is true for the one request allowed after an
// open period.
func (b *Breaker) Allow(key [2]string) (ok, probe bool, wait time.Duration) {
	if b == nil {
		return true, false, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.circuits[key]
	if c == nil || c.failures < b.threshold() {
		return true, false, 0
	}
	now := b.now()
	if now.Before(c.openUntil) {
		return false, false, c.openUntil.Sub(now)
	}
	if c.probing && now.Before(c.openUntil.Add(b.base())) {
		// Another invocation is probing: wait for its answer (or, if it
		// never came, probe again a Base later).
		return false, false, c.openUntil.Add(b.base()).Sub(now)
	}
	c.probing = true
	return true, true, 0
}

// Done records how an invocation's requests to the stream ended: failed is
// true when the destination failed in a way that may pass, for the reason
// given. Any other outcome, delivered or refused for good, shows the endpoint
// answers, and closes the circuit.
func (b *Breaker) Done(key [2]string, failed bool, reason string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !failed {
		delete(b.circuits, key)
		return
	}
	if b.circuits == nil {
		b.circuits = map[[2]string]*circuit{}
	}
	c := b.circuits[key]
	if c == nil {
		c = &circuit{}
		b.circuits[key] = c
	}
	c.failures++
	c.probing = false
	c.reason = reason
	if c.failures < b.threshold() {
		return
	}
	c.open = min(max(b.base(), 2*c.open), b.max())
	c.openUntil = b.now().Add(c.open)
}

// Reason is the last failure that counted toward opening the stream's
// circuit.
func (b *Breaker) Reason(key [2]string) string {
	if b == nil {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.circuits[key]; c != nil {
		return c.reason
	}
	return ""
}

// Open reports whether the stream's requests are being deferred now.
func (b *Breaker) Open(key [2]string) bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.circuits[key]
	return c != nil && c.failures >= b.threshold() && b.now().Before(c.openUntil)
}

func (b *Breaker) threshold() int {
	if b.Threshold > 0 {
		return b.Threshold
	}
	return 3
}

func (b *Breaker) base() time.Duration {
	if b.Base > 0 {
		return b.Base
	}
	return 30 * time.Second
}

func (b *Breaker) max() time.Duration {
	if b.Max > 0 {
		return b.Max
	}
	return 30 * time.Minute
}

// failing reports whether the destination failed in a way that may pass and
// accepted nothing, what the Breaker counts, and why.
func (d *delivery) failing() (bool, string) {
	if d.delivered > 0 {
		return false, ""
	}
	for _, o := range d.out {
		if o.retry {
			return true, o.reason
		}
	}
	return false, ""
}
