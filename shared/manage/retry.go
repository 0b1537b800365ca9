package manage

import (
	"context"
	"math/rand/v2"
	"time"
)

// Retry paces the retries of a change that lost the race to a concurrent
// write of the same stream: exponential backoff with full jitter, so writers
// that collided spread out instead of colliding again, until a deadline.
type Retry struct {
	// Budget bounds how long one request keeps retrying (0: 5 s). The
	// invocation's own deadline, less a margin to answer in, bounds it too.
	Budget time.Duration
	// Sleep waits d, or returns ctx's error when ctx ends first (nil: a timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a pause between 0 and max (nil: uniformly random).
	Jitter func(max time.Duration) time.Duration
}

const (
	defaultRetryBudget = 5 * time.Second
	// retryMargin is kept before the invocation's deadline to answer 409
	// rather than be cut off by Lambda's timeout.
	retryMargin = time.Second
	// The pause before retry n is jittered up to retryBase·2ⁿ⁻¹, at most
	// retryCap: a write on DynamoDB takes milliseconds, so 20 writers that
	// all collide are through in well under a second.
	retryBase = 10 * time.Millisecond
	retryCap  = 200 * time.Millisecond
)

// deadline is when a change that starts now stops retrying.
func (r Retry) deadline(ctx context.Context, now time.Time) time.Time {
	budget := r.Budget
	if budget <= 0 {
		budget = defaultRetryBudget
	}
	end := now.Add(budget)
	if d, ok := ctx.Deadline(); ok && d.Add(-retryMargin).Before(end) {
		end = d.Add(-retryMargin)
	}
	return end
}

// pause waits before retry n (n ≥ 1) and reports whether to retry: false when
// the pause would end past deadline, or ctx ended.
func (r Retry) pause(ctx context.Context, now func() time.Time, deadline time.Time, n int) bool {
	d := min(retryBase<<min(n-1, 16), retryCap)
	if r.Jitter != nil {
		d = r.Jitter(d)
	} else {
		d = rand.N(d + 1)
	}
	if now().Add(d).After(deadline) {
		return false
	}
	sleep := r.Sleep
	if sleep == nil {
		sleep = wait
	}
	return sleep(ctx, d) == nil
}

func wait(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
