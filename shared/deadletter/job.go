package deadletter

import (
	"fmt"
	"slices"
	"time"

	"github.com/logstream/logstream/shared/stream"
)

// Kind is what a job does with the letters its filter matches.
type Kind string

// The kinds of job.
const (
	// KindRedrive sends the matching events back to their stream's
	// delivery queue, then removes them from the store.
	KindRedrive Kind = "redrive"
	// KindPurge removes the matching events for good.
	KindPurge Kind = "purge"
)

// State is where a job is.
type State string

// The states of a job; Succeeded and Failed are final.
const (
	StateQueued    State = "queued"
	StateRunning   State = "running"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
)

// Final reports whether a job in state s will do no more.
func (s State) Final() bool { return s == StateSucceeded || s == StateFailed }

// Filter selects dead letters, and within them events. Every field set must
// match; an empty filter matches all of the project's dead letters.
type Filter struct {
	StreamID string   `json:"stream_id,omitempty"`
	Reasons  []Reason `json:"reasons,omitempty"`
	// ParkedAfter and ParkedBefore bound the time the events were parked:
	// ParkedAfter <= parked_at < ParkedBefore.
	ParkedAfter  *time.Time `json:"parked_after,omitempty"`
	ParkedBefore *time.Time `json:"parked_before,omitempty"`
	// EventIDs selects single events by their event_id (at most
	// MaxFilterEventIDs).
	EventIDs []string `json:"event_ids,omitempty"`
}

// MaxFilterEventIDs bounds a filter's event ids: a job's filter is stored
// in its job item (DynamoDB: 400 KB).
const MaxFilterEventIDs = 1000

// Validate checks a filter as a request gives it.
func (f Filter) Validate() error {
	if f.StreamID != "" && !stream.ValidStreamID(f.StreamID) {
		return fmt.Errorf("stream_id %q is not a stream id", f.StreamID)
	}
	for _, r := range f.Reasons {
		if !r.Valid() {
			return fmt.Errorf("reason %q is not one of %v", r, stream.StoredDeadLetterReasons)
		}
	}
	if f.ParkedAfter != nil && f.ParkedBefore != nil && !f.ParkedAfter.Before(*f.ParkedBefore) {
		return fmt.Errorf("parked_after must be before parked_before")
	}
	if len(f.EventIDs) > MaxFilterEventIDs {
		return fmt.Errorf("at most %d event_ids, not %d", MaxFilterEventIDs, len(f.EventIDs))
	}
	for _, id := range f.EventIDs {
		if id == "" || len(id) > 256 {
			return fmt.Errorf("event_ids must be 1 to 256 characters")
		}
	}
	return nil
}

// Letter reports whether l can hold matching events: everything but the
// event ids, which only the events themselves can answer.
func (f Filter) Letter(l Letter) bool {
	switch {
	case f.StreamID != "" && l.StreamID != f.StreamID:
		return false
	case len(f.Reasons) > 0 && !slices.Contains(f.Reasons, l.Reason):
		return false
	case f.ParkedAfter != nil && l.ParkedAt.Before(*f.ParkedAfter):
		return false
	case f.ParkedBefore != nil && !l.ParkedAt.Before(*f.ParkedBefore):
		return false
	}
	return true
}

// Progress counts what a job has done so far. Events are counted once each:
// done (redriven or purged; for a dry run, matched) or skipped.
type Progress struct {
	// Letters and Events are what the job has matched so far.
	Letters int `json:"letters"`
	Events  int `json:"events"`
	// Done counts the events redriven or purged (0 for a dry run).
	Done int `json:"done"`
	// Skipped counts matching events left in place, by why: a redrive
	// skips a stream that is not active ("stream_not_active") or no
	// longer exists ("stream_deleted"), and letters with no stream
	// ("no_stream"); any job skips letters another job holds
	// ("in_another_job", Letters.Claim).
	Skipped map[string]int `json:"skipped,omitempty"`
	// Total is how many events the filter matched when the job started,
	// as far as the letters' index tells (event ids are counted as they
	// are read): a progress bar's denominator.
	Total int `json:"total"`
}

// Job is a redrive or a purge of one project's dead letters. A job acts
// only on letters it has claimed (Letters.Claim); the matching events of a
// letter another job holds are skipped ("in_another_job"), not come back to:
// they are that job's to send or purge.
type Job struct {
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
	Kind      Kind   `json:"kind"`
	Filter    Filter `json:"filter"`
	// DryRun counts what the job would do and changes nothing.
	DryRun bool `json:"dry_run"`
	// Rate bounds a redrive, in events per second.
	Rate     int      `json:"rate"`
	State    State    `json:"state"`
	Progress Progress `json:"progress"`
	// Error says why a failed job failed.
	Error     string     `json:"error,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`

	// Cursor is where a resumed job goes on: the last letter it finished.
	Cursor string `json:"-"`
	// LeaseUntil is when the worker running the job stops holding it
	// unless it renews; another worker may take it after.
	LeaseUntil time.Time `json:"-"`
	// Failures counts the runs in a row that stopped on an error; at
	// MaxJobFailures the job fails.
	Failures int `json:"-"`
	// Version is the job item's version, for compare-and-swap updates.
	Version int64 `json:"-"`
}

// MaxJobFailures is how many runs in a row may stop on an error (each
// resumed by the next tick) before a job is failed: a queue that stays
// unreachable for that long needs an operator, not another retry.
const MaxJobFailures = 5

// Rate limits for redrive: the default keeps one redrive within what
// every destination type takes without throttling (a webhook receiver
// sized for live traffic included); a request may choose up to MaxRate.
const (
	DefaultRate = 1000
	MaxRate     = 50_000
)
