package stream

import (
	"fmt"
	"time"
)

// SuspensionPolicy says when logstream suspends a stream whose destination
// keeps failing: after After of failures with no success in between, or
// after AfterPermanent failures in a row that were permanent (the destination
// refused the stream), once the run is at least MinPermanentRun old. A zero
// After or AfterPermanent disables its rule. A deployment sets it
// (topology.EnvSuspendAfter, with the defaults beside it).
type SuspensionPolicy struct {
	After          time.Duration
	AfterPermanent int
}

// Suspension is a stream's own suspension policy: each member it sets
// replaces the deployment's rule for this stream, and what it leaves out
// keeps the deployment's. A stream whose destination has planned downtime
// can wait longer; one a customer would rather see stopped fast, less.
type Suspension struct {
	// After is a Go duration ("24h", "90m"): how long the destination may
	// fail with no success; "0s" turns the time rule off for this stream.
	After string `json:"after,omitempty"`
	// AfterPermanentFailures is how many permanent failures in a row
	// suspend it (over at least MinPermanentRun); 0 turns the rule off.
	AfterPermanentFailures *int `json:"after_permanent_failures,omitempty"`
}

// Bounds of a stream's own policy. Under a minute a few retries of one
// outage would suspend; past 30 days a stream's dead letters would expire
// before it stopped failing (their retention is 14 days by default).
const (
	MinSuspendAfter          = time.Minute
	MaxSuspendAfter          = 30 * 24 * time.Hour
	MaxSuspendAfterPermanent = 10000
)

// empty reports whether s sets nothing: the same as no policy of its own.
func (s *Suspension) empty() bool {
	return s == nil || (s.After == "" && s.AfterPermanentFailures == nil)
}

// Validate checks the policy's bounds.
func (s *Suspension) Validate() error {
	if s == nil {
		return nil
	}
	if s.After != "" {
		d, err := time.ParseDuration(s.After)
		if err != nil {
			return invalid("suspension.after", "must be a duration such as \"72h\" or \"90m\"")
		}
		if d != 0 && (d < MinSuspendAfter || d > MaxSuspendAfter) {
			return invalid("suspension.after", "must be \"0s\" (never) or between %s and %s", MinSuspendAfter, MaxSuspendAfter)
		}
	}
	if n := s.AfterPermanentFailures; n != nil && (*n < 0 || *n > MaxSuspendAfterPermanent) {
		return invalid("suspension.after_permanent_failures", "must be 0 (never) to %d", MaxSuspendAfterPermanent)
	}
	return nil
}

// For returns the policy that applies to st: the deployment's, with what
// the stream's own policy sets in its place. A stored policy that does not
// parse (the API never stores one) leaves the deployment's rule.
func (p SuspensionPolicy) For(st Stream) SuspensionPolicy {
	s := st.Suspension
	if s == nil {
		return p
	}
	if d, err := time.ParseDuration(s.After); s.After != "" && err == nil {
		p.After = d
	}
	if s.AfterPermanentFailures != nil {
		p.AfterPermanent = *s.AfterPermanentFailures
	}
	return p
}

// MinPermanentRun is how old a run of permanent failures must be before the
// count rule suspends. A suspended stream is no longer routed events (they
// are not kept), while a refusing one parks them for a redrive; a busy stream
// makes its count of invocations in seconds, so without it a key rotation's
// propagation, a few minutes of 401s, would cost every event after it.
const MinPermanentRun = time.Hour

// FailureRun is the current run of failures of a stream's destination, kept
// in its health record and reset by any delivered event: when it started
// (zero: no run, the last attempt succeeded), and how many invocations in a
// row ended in a permanent failure.
type FailureRun struct {
	FailingSince      time.Time
	PermanentFailures int
}

// SuspendsAt is when the time rule will suspend a stream in run r, zero when
// it will not (no failure, or the rule is off).
func (p SuspensionPolicy) SuspendsAt(r FailureRun) time.Time {
	if p.After <= 0 || r.FailingSince.IsZero() {
		return time.Time{}
	}
	return r.FailingSince.Add(p.After)
}

// Due reports whether a stream in run r is to be suspended at now, and the
// status_reason to suspend it with.
func (p SuspensionPolicy) Due(r FailureRun, now time.Time) (string, bool) {
	if p.AfterPermanent > 0 && r.PermanentFailures >= p.AfterPermanent && !r.FailingSince.IsZero() &&
		now.Sub(r.FailingSince) >= MinPermanentRun {
		return fmt.Sprintf("the destination refused the stream %d times in a row (suspension after %d permanent failures)",
			r.PermanentFailures, p.AfterPermanent), true
	}
	if at := p.SuspendsAt(r); !at.IsZero() && !now.Before(at) {
		return fmt.Sprintf("the destination has failed since %s with no success (suspension after %s)",
			r.FailingSince.UTC().Format(time.RFC3339), p.After), true
	}
	return "", false
}

// Notice tells of a status change logstream made, or undid, by itself: a
// stream suspended (Status suspended), or a suspended stream enabled again
// (Status active). It becomes the lifecycle event in the project's flow and
// the operator's EventBridge event.
type Notice struct {
	Status          Status
	ProjectID       string
	StreamID        string
	StreamName      string
	DestinationType string
	// Reason is the status_reason of the suspension (on resuming, the one
	// it had).
	Reason string
	// FirstFailureAt is when the run of failures that led to the
	// suspension began; nil when unknown.
	FirstFailureAt *time.Time
	At             time.Time
	// ActorKeyID is the API key that resumed the stream; empty when
	// logstream itself acted.
	ActorKeyID string
}

// Action is the lifecycle action the notice reports: "suspended" or
// "resumed" (logstream.stream.<action>).
func (n Notice) Action() string {
	if n.Status == StatusSuspended {
		return "suspended"
	}
	return "resumed"
}
