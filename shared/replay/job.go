package replay

import (
	"fmt"
	"time"

	"github.com/logstream/logstream/shared/eventarchive"
	"github.com/logstream/logstream/shared/stream"
)

// State is where a job is.
type State string

// The states of a job; Succeeded, Failed and Cancelled are final.
const (
	// StateQueued: waiting for a worker, or for the next hour of its
	// window to settle in the archive (NotBefore).
	StateQueued    State = "queued"
	StateRunning   State = "running"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
	StateCancelled State = "cancelled"
)

// Final reports whether a job in state s will do no more.
func (s State) Final() bool {
	return s == StateSucceeded || s == StateFailed || s == StateCancelled
}

// Origin says why a job exists.
type Origin string

// The origins of a job.
const (
	// OriginRequest: a client asked for the replay.
	OriginRequest Origin = "replay"
	// OriginStartFrom: the backfill of a stream created with start_from.
	OriginStartFrom Origin = "start_from"
)

// Rate limits, in events per second: the default keeps one replay within
// what every destination type takes without throttling, as a dead-letter
// redrive's does; a request may choose up to MaxRate.
const (
	DefaultRate = 1000
	MaxRate     = 50_000
)

// BatchEvents is how many archived events a worker reads, selects and
// enqueues between checkpoints: the most a crash can make it send twice.
const BatchEvents = 1000

// MaxJobFailures is how many runs in a row may stop on an error (each
// resumed by the next tick) before a job is failed.
const MaxJobFailures = 5

// Request is what a client asks for: a window of the project's events, by
// their timestamps, since <= timestamp < until.
type Request struct {
	Since *time.Time `json:"since"`
	// Until defaults to now.
	Until *time.Time `json:"until,omitempty"`
	// Filter narrows the replay beyond the stream's own filters, which
	// apply too.
	Filter *stream.Filters `json:"filter,omitempty"`
	// Rate bounds the replay in events per second (default DefaultRate).
	Rate *int `json:"rate,omitempty"`
	// DryRun sizes the replay from the archive's index and starts nothing.
	DryRun bool `json:"dry_run,omitempty"`
}

// Progress counts what a job has done so far.
type Progress struct {
	// Hours is how many hourly partitions the window spans; HoursDone how
	// many the job has read to the end.
	Hours     int `json:"hours"`
	HoursDone int `json:"hours_done"`
	// Objects counts the archive objects read.
	Objects int `json:"objects"`
	// Events counts the events of the window read (each once).
	Events int `json:"events"`
	// Sent counts the events enqueued to the stream.
	Sent int `json:"sent"`
	// Filtered counts the events the replay's filter or the stream's
	// filters left out.
	Filtered int `json:"filtered"`
	// Duplicates counts events the archive held twice and were sent once.
	Duplicates int `json:"duplicates,omitempty"`
	// Total is the events in the window's partitions by the archive's
	// index when the job was created: a progress bar's denominator, an
	// upper bound on Events (see eventarchive.Size.Exact).
	Total int `json:"total"`
}

// Cursor is where a resumed job goes on: the hour it is in, the last object
// of that hour it finished, and how many events of the next it enqueued.
type Cursor struct {
	Hour   time.Time `json:"hour"`
	After  string    `json:"after,omitempty"`
	Object string    `json:"object,omitempty"`
	Offset int       `json:"offset,omitempty"`
}

// Job is one replay of a window of a project's events to one of its streams.
type Job struct {
	ID        string    `json:"id"`
	ProjectID string    `json:"project_id"`
	StreamID  string    `json:"stream_id"`
	Origin    Origin    `json:"origin"`
	Since     time.Time `json:"since"`
	// Until is absent while a backfill waits for its stream to be
	// enabled.
	Until  time.Time       `json:"until,omitzero"`
	Filter *stream.Filters `json:"filter,omitempty"`
	Rate   int             `json:"rate"`
	State  State           `json:"state"`
	// Size is the window's size by the archive's index when the job was
	// created.
	Size     eventarchive.Size `json:"size"`
	Progress Progress          `json:"progress"`
	// NotBefore is when the job runs next: when the archive holds all of
	// the next hour it reads (the settle time after that hour, or the
	// window, ends). A window of past hours runs at once; one that ends
	// now waits a settle time before its last hour.
	NotBefore time.Time `json:"not_before,omitzero"`
	// CancelRequested is set by a cancel; the worker stops at its next
	// checkpoint and the job ends cancelled.
	CancelRequested bool `json:"cancel_requested,omitempty"`
	// Error says why a failed job failed, or why its last run stopped.
	Error     string     `json:"error,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`

	// Cursor is where a resumed job goes on.
	Cursor Cursor `json:"-"`
	// LeaseUntil is when the worker running the job stops holding it
	// unless it renews; another worker may take it after.
	LeaseUntil time.Time `json:"-"`
	// Failures counts the runs in a row that stopped on an error.
	Failures int `json:"-"`
	// Version is the job item's version, for compare-and-swap updates.
	Version int64 `json:"-"`
	// Key is the idempotency key's digest the job was created with.
	Key string `json:"-"`
	// Slot is the project's replay slot the job holds (Slots), a replay
	// a client asked for only.
	Slot int `json:"-"`
}

// validateWindow checks a window against the archive's retention.
func validateWindow(since, until, now time.Time, retention time.Duration) error {
	switch {
	case !since.Before(now):
		return &ErrInvalid{Field: "since", Msg: "must be in the past"}
	case !since.Before(until):
		return &ErrInvalid{Field: "since", Msg: "must be before until"}
	case until.After(now):
		return &ErrInvalid{Field: "until", Msg: "must not be in the future"}
	case since.Before(now.Add(-retention)):
		return &ErrInvalid{Field: "since", Msg: fmt.Sprintf("is older than the archive keeps events (%s): it must be after %s",
			retention, now.Add(-retention).Format(time.RFC3339))}
	}
	return nil
}

// ErrInvalid is a request the service refuses, naming the field.
type ErrInvalid struct{ Field, Msg string }

func (e *ErrInvalid) Error() string { return e.Field + " " + e.Msg }
