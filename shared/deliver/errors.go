package deliver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/logstream/logstream/shared/stream"
)

// Class is what the delivery core does with a failed send. Senders classify
// their destination's answers once, with the constructors below; an error
// they do not classify is Retryable, so a surprise never loses events.
type Class int

const (
	// Retryable failures (timeouts, connection errors, 408, 429, 5xx) go
	// back to SQS with a growing delay until redrive parks them in the DLQ.
	Retryable Class = iota
	// Permanent failures (bad credentials, a destination that refuses the
	// stream's configuration) park the events in the DLQ at once, with the
	// reason, and stop sending the stream's other batches in the invocation.
	Permanent
	// Rejected is a permanent failure caused by the payload (a 400 for one
	// bad line): the core splits the batch to find the offending events and
	// parks only those.
	Rejected
	// TooLarge is a request the destination found too big (413): the core
	// resends it in halves, and parks a single event that is still too big.
	TooLarge
	// Gone is a destination that no longer exists (410): the stream is
	// suspended and the events parked, so they can be redriven after the
	// customer fixes it.
	Gone
)

var classNames = [...]string{"retryable", "permanent", "rejected", "too_large", "gone"}

// deadLetterReason is the category of the events a failure of class c
// parks (a Retryable one parks only on the last receive: exhausted).
func (c Class) deadLetterReason() stream.DeadLetterReason {
	switch c {
	case Permanent:
		return stream.ReasonPermanent
	case Rejected:
		return stream.ReasonRejected
	case TooLarge:
		return stream.ReasonTooLarge
	case Gone:
		return stream.ReasonGone
	}
	return stream.ReasonExhausted
}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Error is a classified delivery failure.
type Error struct {
	Class Class
	// RetryAfter is the destination's own wish (Retry-After) for a
	// Retryable failure; zero when it said nothing.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Classify wraps err with a class. A nil err stays nil.
func Classify(class Class, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Class: class, Err: err}
}

// RetryAfter marks err retryable no sooner than after d.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &Error{Class: Retryable, RetryAfter: max(d, 0), Err: err}
}

// ClassOf returns err's class and retry delay. Unclassified errors,
// including context deadlines and network errors, are Retryable.
func ClassOf(err error) (Class, time.Duration) {
	var e *Error
	if errors.As(err, &e) {
		return e.Class, e.RetryAfter
	}
	return Retryable, 0
}

// PartialError reports a send that the destination accepted only in part
// (EventBridge's FailedEntryCount): Failed maps the index, in the events
// given to Send, of each event that was not accepted to its own classified
// error. Every other event was delivered.
type PartialError struct {
	Failed map[int]error
}

func (e *PartialError) Error() string {
	for _, err := range e.Failed {
		return fmt.Sprintf("%d events not accepted, e.g.: %v", len(e.Failed), err)
	}
	return "no events failed"
}

// isTimeout reports whether err is the invocation running out of time,
// which is never the destination's fault.
func isTimeout(ctx context.Context, err error) bool {
	return ctx.Err() != nil && errors.Is(err, ctx.Err())
}

// timedOut reports whether a request failed by running out of time (its
// context's deadline, or the HTTP client's timeout) rather than by an answer
// or a refused connection.
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
