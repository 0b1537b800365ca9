package stream

import "time"

// Health is a stream's delivery record, kept by the delivery functions
// (one store.Streams.Record per stream and invocation, with the Tally the
// delivery core counted) and answered by the API's health route.
type Health struct {
	// DeliveredEvents counts the events the destination accepted.
	DeliveredEvents int64 `json:"delivered_events"`
	// FailedEvents counts the events that ended undelivered: those the
	// delivery core parked in the DLQ, whatever the reason, ever. What is
	// left of them now is DeadLetters.
	FailedEvents int64 `json:"failed_events"`
	// RetriedAttempts counts the events that failed an attempt, or were
	// deferred by an open circuit, and were put back to be tried again:
	// one event retried three times counts three.
	RetriedAttempts int64      `json:"retried_attempts"`
	LastSuccessAt   *time.Time `json:"last_success_at"`
	LastError       *string    `json:"last_error"`
	LastErrorAt     *time.Time `json:"last_error_at"`
	// FailingSince is when the current run of failures began: the first
	// failure since the last delivered event, nil while the destination
	// succeeds. SuspendsAt is when logstream will suspend the stream if no
	// event is delivered before (SuspensionPolicy), nil when it will not.
	FailingSince *time.Time `json:"failing_since"`
	SuspendsAt   *time.Time `json:"suspends_at"`
	// PermanentFailures counts the invocations in a row, since the last
	// delivered event, whose attempt the destination refused for good.
	PermanentFailures int64 `json:"permanent_failures"`
	// DeadLetters are the stream's dead letters as they are now in the
	// dead-letter store (shared/deadletter), by reason: redriven, purged
	// and expired ones are gone. A reason with none is absent.
	DeadLetters map[DeadLetterReason]DeadLetterCount `json:"dead_letters"`
	// Hourly are the stream's counts per hour, oldest first: as the store
	// keeps them, only hours something was counted in, at most
	// HourlyHours+1 of them; the API answers a dense window of HourlyHours
	// ending at the current hour (HourlyWindow).
	Hourly []HourCount `json:"hourly"`
}

// HourlyHours is how many hours of counts the health view keeps and shows:
// the last 7 days.
const HourlyHours = 168

// HourCount is what one hour's delivery invocations counted for a stream.
type HourCount struct {
	// Hour is the hour's start, UTC.
	Hour time.Time `json:"hour"`
	// Delivered: events the destination accepted. Failed: attempts that
	// failed and were put back to be retried (RetriedAttempts). Parked:
	// events sent to the dead letters.
	Delivered int64 `json:"delivered"`
	Failed    int64 `json:"failed"`
	Parked    int64 `json:"parked"`
	// LagMillis is the mean time from ingestion accepting an event to its
	// destination acknowledging it, over the hour's delivered events that
	// carried their enqueue time; nil when none did.
	LagMillis *int64 `json:"lag_ms"`
	// LagSum and LagEvents make LagMillis, and add up when hours merge.
	LagSum    int64 `json:"-"`
	LagEvents int64 `json:"-"`
}

// HourlyWindow is hours as the API answers them: one entry per hour of the
// HourlyHours ending at now's hour, oldest first, zero where nothing was
// counted; an hour outside the window (a writer's clock ahead of the
// reader's, or older than a week) is left out.
func HourlyWindow(hours []HourCount, now time.Time) []HourCount {
	last := now.UTC().Truncate(time.Hour)
	first := last.Add(-(HourlyHours - 1) * time.Hour)
	out := make([]HourCount, HourlyHours)
	for i := range out {
		out[i].Hour = first.Add(time.Duration(i) * time.Hour)
	}
	for _, h := range hours {
		at := h.Hour.UTC().Truncate(time.Hour)
		if at.Before(first) || at.After(last) {
			continue
		}
		o := &out[int(at.Sub(first)/time.Hour)]
		o.Delivered += h.Delivered
		o.Failed += h.Failed
		o.Parked += h.Parked
		o.LagSum += h.LagSum
		o.LagEvents += h.LagEvents
	}
	for i := range out {
		if out[i].LagEvents > 0 {
			m := out[i].LagSum / out[i].LagEvents
			out[i].LagMillis = &m
		}
	}
	return out
}

// DeadLetterCount is what waits in the dead-letter store for one reason:
// how many events, and when the oldest and the newest of them were parked.
type DeadLetterCount struct {
	Count    int64     `json:"count"`
	OldestAt time.Time `json:"oldest_at"`
	NewestAt time.Time `json:"newest_at"`
}

// DeadLetterReason is why events were parked, as a small fixed set the
// health view and the dead-letter summaries count by (the DLQ message's
// reason text says more).
type DeadLetterReason string

// The reasons, named once. The first four are the class of the destination's
// answer that parked the events (shared/deliver.Class).
const (
	// ReasonPermanent: the destination refused the stream (bad
	// credentials, a configuration it does not take).
	ReasonPermanent DeadLetterReason = "permanent"
	// ReasonRejected: the destination refused these events (a 400 for a
	// bad line).
	ReasonRejected DeadLetterReason = "rejected"
	// ReasonTooLarge: an event larger than the destination takes.
	ReasonTooLarge DeadLetterReason = "too_large"
	// ReasonGone: the destination no longer exists (410); the stream was
	// suspended.
	ReasonGone DeadLetterReason = "gone"
	// ReasonExhausted: the events could still have succeeded, but their
	// message had its last allowed receive.
	ReasonExhausted DeadLetterReason = "exhausted"
	// ReasonSuspended: the stream was suspended when the events came to be
	// delivered.
	ReasonSuspended DeadLetterReason = "suspended"
	// ReasonUnrecorded: SQS redrive moved the message to the DLQ after its
	// last receive, with no reason recorded (the delivery function was
	// stopped before it could park it: a crash, a timeout).
	ReasonUnrecorded DeadLetterReason = "unrecorded"
	// ReasonUndecodable: the message's body could not be read as an
	// envelope; it belongs to no stream a project could see.
	ReasonUndecodable DeadLetterReason = "undecodable"
)

// DeadLetterReasons are the reasons the delivery core parks with, in the
// order they are shown.
var DeadLetterReasons = []DeadLetterReason{
	ReasonPermanent, ReasonRejected, ReasonTooLarge, ReasonGone, ReasonExhausted, ReasonSuspended,
}

// StoredDeadLetterReasons are every reason a stored dead letter can have:
// the delivery core's, and the two the dead-letter store gives a DLQ
// message that came with none.
var StoredDeadLetterReasons = append(append([]DeadLetterReason(nil), DeadLetterReasons...), ReasonUnrecorded, ReasonUndecodable)

// Valid reports whether r is one of StoredDeadLetterReasons.
func (r DeadLetterReason) Valid() bool {
	for _, x := range StoredDeadLetterReasons {
		if r == x {
			return true
		}
	}
	return false
}

// Tally is what one delivery invocation did with one stream's events, each
// event counted exactly once: delivered, parked (DeadLetters, by reason) or
// retried. The delivery core writes it with one Record per stream and
// invocation.
type Tally struct {
	Delivered int
	Retried   int
	// DeadLetters counts the events parked, by reason.
	DeadLetters map[DeadLetterReason]int
	// LastError is the destination's last failure, empty when nothing
	// failed.
	LastError string
	// Permanent says the destination refused the stream for good in this
	// invocation (shared/deliver.Permanent or Gone): what the count rule of
	// SuspensionPolicy counts.
	Permanent bool
	// LagMillis sums, over LagEvents of the delivered events (those whose
	// message said when ingestion enqueued it), the milliseconds from
	// enqueue to the destination's acknowledgement: the hour's mean lag.
	LagMillis int64
	LagEvents int
}

// Failed reports whether the tally ends the invocation in failure: something
// failed and nothing was delivered. It starts or extends a FailureRun; a
// delivered event ends one.
func (t Tally) Failed() bool { return t.Delivered == 0 && t.LastError != "" }

// Parked is how many events the tally parked, for every reason.
func (t Tally) Parked() int {
	n := 0
	for _, k := range t.DeadLetters {
		n += k
	}
	return n
}

// Zero reports whether the tally counts nothing.
func (t Tally) Zero() bool { return t.Delivered == 0 && t.Retried == 0 && t.Parked() == 0 }
