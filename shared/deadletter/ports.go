package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/logstream/logstream/shared/stream"
)

// Letters is the dead-letter store: each letter's small index entry, kept
// under its project in (stream, parked time, id) order, and its events
// beside it.
type Letters interface {
	// Put stores a letter and its events. A letter with the same ID
	// already stored is left as it is (parking is idempotent).
	Put(ctx context.Context, l Letter, events []json.RawMessage) error
	// List returns up to limit of a project's letters (of one stream, if
	// streamID is set) in Key order, starting after the key after ("":
	// the first), and the key to go on after ("" at the end).
	List(ctx context.Context, projectID, streamID, after string, limit int) ([]Letter, string, error)
	// Events reads a letter's events; ErrLetterGone if those of its
	// revision are no longer stored (it was replaced or removed since l
	// was read).
	Events(ctx context.Context, l Letter) ([]json.RawMessage, error)
	// Claim marks a letter as being worked on by job jobID until until,
	// if no other job holds it: it has no claim, its claim ran out
	// (before now: that job died or lost its lease), or the claim is
	// jobID's own (a resumed job takes back the letter it was on when it
	// stopped). It returns the letter as stored now, claim included, whose
	// revision may be newer than l's. ErrLetterClaimed if another job
	// holds it, ErrLetterGone if it is no longer stored.
	Claim(ctx context.Context, l Letter, jobID string, now, until time.Time) (Letter, error)
	// Replace keeps only the given events of a letter (fewer than it
	// has): what is left after some were redriven or purged. It writes only
	// if the letter still has l's revision and, if l has a claim, that
	// claim; it lets go of the claim. ErrLetterClaimed if the letter changed
	// under it, ErrLetterGone if it is no longer stored.
	Replace(ctx context.Context, l Letter, events []json.RawMessage) (Letter, error)
	// Delete removes a letter and its events if it still has l's revision
	// and, if l has a claim, that claim (ErrLetterClaimed otherwise); a
	// letter already gone is not an error.
	Delete(ctx context.Context, l Letter) error
	// Projects lists the projects that have had dead letters.
	Projects(ctx context.Context) ([]string, error)
}

// Jobs keeps the redrive and purge jobs.
type Jobs interface {
	// CreateJob stores a new job; ErrJobExists (with the stored job) if
	// one with its ID exists.
	CreateJob(ctx context.Context, j Job) (Job, error)
	// GetJob reads one job; ErrJobNotFound if there is none.
	GetJob(ctx context.Context, projectID, id string) (Job, error)
	// ListJobs returns a project's newest jobs, newest first.
	ListJobs(ctx context.Context, projectID string, limit int) ([]Job, error)
	// UpdateJob writes j if the stored job still has j.Version, and
	// returns it with its new version; ErrJobConflict otherwise.
	UpdateJob(ctx context.Context, j Job) (Job, error)
	// ActiveJobs returns every job not yet final, of every project.
	ActiveJobs(ctx context.Context) ([]Job, error)
}

// Errors of the Jobs port.
var (
	ErrJobExists   = errors.New("deadletter: job exists")
	ErrJobNotFound = errors.New("deadletter: job not found")
	ErrJobConflict = errors.New("deadletter: job changed concurrently")
)

// Errors of the Letters port's conditional writes.
var (
	// ErrLetterClaimed: another job holds the letter, or it changed since
	// it was read.
	ErrLetterClaimed = errors.New("deadletter: letter held by another job or changed")
	// ErrLetterGone: the letter is no longer stored (another job or the
	// sweep removed it).
	ErrLetterGone = errors.New("deadletter: letter gone")
)

// Counters keeps the count of events that expired unredriven, per stream:
// expiry is counted, never silent.
type Counters interface {
	AddExpired(ctx context.Context, projectID, streamID string, events int) error
	// Expired returns the project's counts, by stream.
	Expired(ctx context.Context, projectID string) (map[string]int64, error)
}

// Streams reads the stream a redrive sends to.
type Streams interface {
	Get(ctx context.Context, projectID, streamID string) (stream.Stream, error)
}

// Redriver sends events back to a stream's delivery queue, as ingestion
// would have.
type Redriver interface {
	Redrive(ctx context.Context, s stream.Stream, events []json.RawMessage) error
}

// Received is a message received from a DLQ and how to delete it.
type Received struct {
	Message
	ReceiptHandle string
}

// DLQ reads a destination type's dead-letter queue for the drain.
type DLQ interface {
	// Receive returns up to 10 messages, none if the queue is empty.
	Receive(ctx context.Context, queueURL string) ([]Received, error)
	// Delete deletes received messages.
	Delete(ctx context.Context, queueURL string, receiptHandles []string) error
}

// Starter starts a worker for a job now (an asynchronous invocation of the
// dead-letter function); where it fails, the scheduled tick starts one.
type Starter interface {
	Start(ctx context.Context, projectID, jobID string) error
}
