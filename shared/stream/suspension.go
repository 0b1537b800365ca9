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
