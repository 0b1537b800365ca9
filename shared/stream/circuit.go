package stream

import "time"

// Circuit is a stream's circuit breaker state, as the containers of its
// delivery function share it (shared/deliver.Breaker says what it means;
// shared/store.Circuits keeps it).
type Circuit struct {
	// Version counts the circuit's writes: the compare-and-swap token
	// (0: nothing stored).
	Version int
	// Failures counts failing invocations in a row; Timeouts how many of
	// the last of them, in a row, timed out.
	Failures, Timeouts int
	// Reason is the destination's last failure, shown while deferring.
	Reason string
	// OpenUntil is when the open period ends; ProbeUntil, while in the
	// future, says a probe is under way.
	OpenUntil, ProbeUntil time.Time
}
