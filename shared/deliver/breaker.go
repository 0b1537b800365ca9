package deliver

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/logstream/logstream/shared/stream"
)

// Breaker is a per-stream circuit breaker (issue 11): after Threshold
// invocations in a row in which a stream's destination failed in a way that
// may pass (a timeout, a refused connection, 429, 5xx) and accepted nothing,
// the stream's messages are deferred on the retry schedule without a
// request, so a hanging endpoint stops costing each invocation its delivery
// timeout. When the open period ends, one invocation sends a probe: its
// success closes the circuit, its failure opens it again for twice as long
// (at most Max). A probe to a stream whose requests have been timing out gets
// a shorter timeout (ProbeTimeout), doubled after each probe that timed out
// too, so a dead endpoint costs little per probe while a slow one still gets
// a probe long enough to succeed.
//
// Deferred messages are ordinary retries: their receive count grows, the
// core parks them on their last receive like any retry, with the
// destination's last error and "circuit open" as the reason, and the stream's
// failure counter counts them.
//
// Without Shared, each container (each Breaker) learns on its own. With
// Shared, the containers of a delivery function share each failing stream's
// circuit: failures count toward one threshold whichever container saw them,
// an open circuit defers the stream in every container, and exactly one
// container probes. A container trusts its copy of a circuit for Refresh;
// the copy of a healthy stream costs one batched read per Refresh and no
// write, a failing stream one conditional write per failing invocation.
type Breaker struct {
	// Threshold is how many failing invocations in a row open the circuit
	// (default 3).
	Threshold int
	// Base and Max bound how long it stays open: Base the first time,
	// doubled after each failed probe (defaults 30 s and 30 min, the retry
	// schedule's). A probe holds the stream for Base, or twice its timeout
	// if longer: if its answer never comes (the container died), another
	// may probe after that.
	Base, Max time.Duration
	// ProbeTimeout bounds the first probe to a stream whose requests timed
	// out (default 2 s); each further probe that times out doubles it, up to
	// MaxProbeTimeout (default 10 s, the delivery timeout's default).
	ProbeTimeout, MaxProbeTimeout time.Duration
	// Shared, when set, is where the circuits are shared between containers.
	Shared Circuits
	// Refresh is how long a container trusts its copy of a shared circuit
	// (default 2 s).
	Refresh time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu       sync.Mutex
	circuits map[[2]string]*entry
}

// Circuit is one stream's breaker state; it lives in package stream so the
// store adapter need not import this package.
type Circuit = stream.Circuit

// Circuits stores circuits where every container of a delivery function
// sees them.
type Circuits interface {
	// Load returns the stored circuits of the streams; a stream without
	// one is absent.
	Load(ctx context.Context, keys [][2]string) (map[[2]string]Circuit, error)
	// Swap stores next, at old.Version+1, if the stored circuit is still
	// at old.Version (0: none stored), and reports whether it did.
	Swap(ctx context.Context, key [2]string, old, next Circuit) (bool, error)
}

// entry is a container's copy of a circuit.
type entry struct {
	c       Circuit
	fetched time.Time
}

// Decision is what Allow says of a stream's messages.
type Decision struct {
	// Send is true when a request may be sent now; otherwise the messages
	// wait at least Wait, and Reason is the destination's last failure.
	Send   bool
	Wait   time.Duration
	Reason string
	// Probe is true for the one request allowed after an open period, and
	// Timeout, when positive, bounds it.
	Probe   bool
	Timeout time.Duration
}

// Result is how an invocation's requests to a stream ended.
type Result struct {
	// Failed is true when the destination failed in a way that may pass
	// and accepted nothing; TimedOut when that failure was a timeout.
	Failed, TimedOut bool
	Reason           string
}

func (b *Breaker) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func (b *Breaker) get(key [2]string) (Circuit, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.circuits[key]; e != nil {
		return e.c, e.fetched
	}
	return Circuit{}, time.Time{}
}

func (b *Breaker) set(key [2]string, c Circuit, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.Failures == 0 && c.ProbeUntil.IsZero() && b.Shared == nil {
		delete(b.circuits, key) // nothing to remember
		return
	}
	if b.circuits == nil {
		b.circuits = map[[2]string]*entry{}
	}
	b.circuits[key] = &entry{c: c, fetched: at}
}

// Prepare refreshes, in one read, the copies of the streams' shared circuits
// that are older than Refresh. Without Shared it does nothing. On an error
// the copies stay as they were, and the error is returned to be logged.
func (b *Breaker) Prepare(ctx context.Context, keys [][2]string) error {
	if b == nil || b.Shared == nil {
		return nil
	}
	now := b.now()
	var stale [][2]string
	for _, k := range keys {
		if _, at := b.get(k); now.Sub(at) >= b.refresh() {
			stale = append(stale, k)
		}
	}
	return b.load(ctx, stale, now)
}

func (b *Breaker) load(ctx context.Context, keys [][2]string, now time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	got, err := b.Shared.Load(ctx, keys)
	if err != nil {
		return err
	}
	for _, k := range keys {
		b.set(k, got[k], now) // absent: closed
	}
	return nil
}

// Allow says whether a request to the stream may be sent now. Its error (the
// shared store failing) is for the log: the Decision stands regardless,
// falling back to the container's own copy.
func (b *Breaker) Allow(ctx context.Context, key [2]string) (Decision, error) {
	if b == nil {
		return Decision{Send: true}, nil
	}
	now := b.now()
	c, _ := b.get(key)
	if d, decided := b.decide(c, now); decided {
		return d, nil
	}
	// The open period is over and nobody probes: claim the probe, for
	// long enough that it ends (with its answer or its timeout) before
	// another container may take over.
	next := c
	next.ProbeUntil = now.Add(max(b.base(), 2*cmpOr(b.probeTimeout(c), b.maxProbeTimeout())))
	var err error
	if b.Shared != nil {
		var ok bool
		ok, err = b.Shared.Swap(ctx, key, c, next)
		if err == nil && !ok {
			// Another container wrote first: decide on what it wrote.
			if err = b.load(ctx, [][2]string{key}, now); err == nil {
				fresh, _ := b.get(key)
				if d, decided := b.decide(fresh, now); decided {
					return d, nil
				}
				// Still free (closed, or its probe was released): the
				// next invocation claims it; these wait a little.
				return Decision{Wait: time.Second, Reason: fresh.Reason}, nil
			}
		}
	}
	next.Version = c.Version + 1
	b.set(key, next, now)
	return Decision{Send: true, Probe: true, Timeout: b.probeTimeout(c)}, err
}

// decide is the decision c alone makes, if it makes one: send (closed),
// or wait (open, or probing elsewhere).
func (b *Breaker) decide(c Circuit, now time.Time) (Decision, bool) {
	switch {
	case c.Failures < b.threshold():
		return Decision{Send: true}, true
	case now.Before(c.OpenUntil):
		return Decision{Wait: c.OpenUntil.Sub(now), Reason: c.Reason}, true
	case now.Before(c.ProbeUntil):
		return Decision{Wait: c.ProbeUntil.Sub(now), Reason: c.Reason}, true
	}
	return Decision{}, false
}

// Done records how an invocation's requests to the stream ended. Any outcome
// but a failure that may pass shows the endpoint answers, and closes the
// circuit. A stream that was healthy and stays so costs nothing here.
func (b *Breaker) Done(ctx context.Context, key [2]string, r Result) error {
	if b == nil {
		return nil
	}
	now := b.now()
	c, _ := b.get(key)
	for attempt := 0; ; attempt++ {
		next, write := b.after(c, r, now)
		if !write {
			return nil
		}
		if b.Shared == nil {
			next.Version = c.Version + 1
			b.set(key, next, now)
			return nil
		}
		ok, err := b.Shared.Swap(ctx, key, c, next)
		if err == nil && ok {
			next.Version = c.Version + 1
			b.set(key, next, now)
			return nil
		}
		if err == nil && attempt == 2 {
			err = errors.New("circuit kept changing under three writes")
		}
		if err == nil {
			err = b.load(ctx, [][2]string{key}, now)
		}
		if err != nil {
			// Keep the outcome in this container at least.
			next.Version = c.Version
			b.set(key, next, now)
			return err
		}
		c, _ = b.get(key)
	}
}

// after is c once r is counted, and whether that is a change to store.
func (b *Breaker) after(c Circuit, r Result, now time.Time) (Circuit, bool) {
	if !r.Failed {
		if c.Failures == 0 && c.ProbeUntil.IsZero() {
			return c, false
		}
		return Circuit{Version: c.Version}, true
	}
	c.Failures++
	if r.TimedOut {
		c.Timeouts++
	} else {
		c.Timeouts = 0
	}
	c.Reason = r.Reason
	c.ProbeUntil = time.Time{}
	if c.Failures >= b.threshold() {
		c.OpenUntil = now.Add(b.openFor(c.Failures))
	}
	return c, true
}

// openFor is the open period after n failures in a row: Base at the
// threshold, doubled for each failed probe since, at most Max.
func (b *Breaker) openFor(n int) time.Duration {
	d := b.base()
	for i := b.threshold(); i < n && d < b.max(); i++ {
		d *= 2
	}
	return min(d, b.max())
}

// probeTimeout bounds a probe of c: none for a stream that did not time out,
// else ProbeTimeout doubled for each probe that timed out since the circuit
// opened, at most MaxProbeTimeout.
func (b *Breaker) probeTimeout(c Circuit) time.Duration {
	if c.Timeouts == 0 {
		return 0
	}
	d := cmpOr(b.ProbeTimeout, 2*time.Second)
	maxD := b.maxProbeTimeout()
	for i := b.threshold(); i < c.Timeouts && d < maxD; i++ {
		d *= 2
	}
	return min(d, maxD)
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (b *Breaker) threshold() int {
	if b.Threshold > 0 {
		return b.Threshold
	}
	return 3
}

func (b *Breaker) maxProbeTimeout() time.Duration {
	return cmpOr(b.MaxProbeTimeout, 10*time.Second)
}

func (b *Breaker) base() time.Duration    { return cmpOr(b.Base, 30*time.Second) }
func (b *Breaker) max() time.Duration     { return cmpOr(b.Max, 30*time.Minute) }
func (b *Breaker) refresh() time.Duration { return cmpOr(b.Refresh, 2*time.Second) }

// result is how d's requests ended, for the Breaker: failed only when a
// request was sent, failed in a way that may pass, and nothing was accepted.
func (d *delivery) result() Result {
	if d.delivered > 0 || d.retryableErr == nil {
		return Result{}
	}
	return Result{Failed: true, TimedOut: d.timedOut, Reason: d.retryableErr.Error()}
}
