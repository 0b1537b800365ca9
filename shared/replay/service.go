package replay

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/eventarchive"
	"github.com/logstream/logstream/shared/pii"
	"github.com/logstream/logstream/shared/stream"
)

// Jobs keeps replay jobs (shared/jobstore).
type Jobs interface {
	// Create stores a new job; ErrJobExists (with the stored job) if one
	// with its ID exists.
	Create(ctx context.Context, j Job) (Job, error)
	// Get reads one job; ErrJobNotFound if there is none.
	Get(ctx context.Context, projectID, id string) (Job, error)
	// List returns a project's newest jobs, newest first.
	List(ctx context.Context, projectID string, limit int) ([]Job, error)
	// Update writes j if the stored job still has j.Version, and returns
	// it with its new version; ErrJobConflict otherwise.
	Update(ctx context.Context, j Job) (Job, error)
	// Active returns every job not yet final, of every project.
	Active(ctx context.Context) ([]Job, error)
}

// Errors of the Jobs port.
var (
	ErrJobExists   = errors.New("replay: job exists")
	ErrJobNotFound = errors.New("replay: job not found")
	ErrJobConflict = errors.New("replay: job changed concurrently")
)

// Errors of the service, for the API to answer.
var (
	// ErrTooMany: the project runs as many replays as it may.
	ErrTooMany = errors.New("replay: the project runs as many replays as it may")
	// ErrKeyReused: the Idempotency-Key named a job of another request.
	ErrKeyReused = errors.New("replay: the Idempotency-Key was used for another request")
	// ErrStreamNotActive: replays go to active streams only.
	ErrStreamNotActive = errors.New("replay: the stream is not active")
	// ErrFinal: the job has ended; it cannot be cancelled.
	ErrFinal = errors.New("replay: the job has ended")
)

// Slots are a project's replay slots: a replay job holds one from when it
// is created until it ends, so the cap on a project's replays holds however
// many requests race (a count read before a write would let them all by).
type Slots interface {
	// Take gives jobID one of the project's max slots, and returns it: a
	// slot no job holds, one jobID holds already, or one whose holder
	// free says will never run again (ended, or never stored). ErrTooMany
	// if there is none.
	Take(ctx context.Context, projectID, jobID string, max int, free func(holder string, takenAt time.Time) bool) (int, error)
	// Release frees slot n if jobID holds it.
	Release(ctx context.Context, projectID string, n int, jobID string) error
}

// Streams reads the stream a replay sends to.
type Streams interface {
	Get(ctx context.Context, projectID, streamID string) (stream.Stream, error)
}

// Publisher sends packed messages to a queue, nil only when all were
// accepted (shared/queue).
type Publisher interface {
	Publish(ctx context.Context, queueURL string, msgs []envelope.Message) error
}

// Starter starts a worker for a job now (an asynchronous invocation of the
// replay function); where it fails, the scheduled tick starts one.
type Starter interface {
	Start(ctx context.Context, projectID, jobID string) error
}

// Service runs replays. The API uses Start, Backfill, Job, Jobs and Cancel,
// with Archive a Lister (it sizes, never reads); the replay function runs
// them (Handle), with a Reader.
type Service struct {
	Jobs Jobs
	// Slots hold the project's cap on replays; nil counts the project's
	// jobs instead (which requests that race can pass together).
	Slots   Slots
	Archive eventarchive.Lister
	Streams Streams
	Starter Starter
	// Worker-side: the archive's objects, where replays go, and the hash
	// keys of the streams' PII rules.
	Reader    eventarchive.Reader
	Publisher Publisher
	QueueURLs map[string]string
	Keys      pii.Keys
	// Retention is how far back the archive keeps events; Settle how long
	// after an hour its events may still arrive in the archive.
	Retention time.Duration
	Settle    time.Duration
	// Lease is how long a worker holds a job between checkpoints.
	Lease time.Duration
	// MaxActive caps the jobs one project may have not yet final.
	MaxActive int
	Now       func() time.Time
	// Sleep waits for d or until ctx ends (nil: a timer), pacing replays.
	Sleep func(ctx context.Context, d time.Duration)
	Log   *slog.Logger
}

// Defaults of the service's settings (topology holds the deployed ones).
const (
	DefaultRetention = 7 * 24 * time.Hour
	DefaultSettle    = 5 * time.Minute
	DefaultLease     = time.Minute
	DefaultMaxActive = 2
)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) retention() time.Duration { return cmp.Or(s.Retention, DefaultRetention) }
func (s *Service) settle() time.Duration    { return cmp.Or(s.Settle, DefaultSettle) }
func (s *Service) lease() time.Duration     { return cmp.Or(s.Lease, DefaultLease) }
func (s *Service) maxActive() int           { return cmp.Or(s.MaxActive, DefaultMaxActive) }
func (s *Service) log() *slog.Logger        { return cmp.Or(s.Log, slog.Default()) }

func (s *Service) sleep(ctx context.Context, d time.Duration) {
	if s.Sleep != nil {
		s.Sleep(ctx, d)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Plan is a replay as the service would run it: its window, and the
// window's size by the archive's index. A dry run answers with it.
type Plan struct {
	ProjectID string            `json:"project_id"`
	StreamID  string            `json:"stream_id"`
	Since     time.Time         `json:"since"`
	Until     time.Time         `json:"until"`
	Rate      int               `json:"rate"`
	Size      eventarchive.Size `json:"size"`
	// Seconds is how long the replay takes at its rate if every event of
	// the window's partitions is sent (an upper bound).
	Seconds int `json:"estimated_seconds"`
}

// Plan checks a request against the stream and the archive's retention,
// and sizes its window from the archive's listing.
func (s *Service) Plan(ctx context.Context, projectID, streamID string, req Request) (Plan, error) {
	now := s.now()
	if req.Since == nil {
		return Plan{}, &ErrInvalid{Field: "since", Msg: "is required"}
	}
	until := now
	if req.Until != nil {
		until = req.Until.UTC()
	}
	since := req.Since.UTC()
	if err := validateWindow(since, until, now, s.retention()); err != nil {
		return Plan{}, err
	}
	if err := req.Filter.Validate(); err != nil {
		// The stream model names the member as a stream's filters; here
		// it is the request's filter.
		var ve *stream.ValidationError
		if errors.As(err, &ve) {
			return Plan{}, &ErrInvalid{Field: "filter" + strings.TrimPrefix(ve.Field, "filters"), Msg: ve.Msg}
		}
		return Plan{}, &ErrInvalid{Field: "filter", Msg: err.Error()}
	}
	rate := DefaultRate
	if req.Rate != nil {
		rate = *req.Rate
	}
	if rate < 1 || rate > MaxRate {
		return Plan{}, &ErrInvalid{Field: "rate", Msg: fmt.Sprintf("must be 1 to %d events per second", MaxRate)}
	}
	st, err := s.Streams.Get(ctx, projectID, streamID)
	if err != nil {
		return Plan{}, err
	}
	if st.Status != stream.StatusActive {
		return Plan{}, ErrStreamNotActive
	}
	size, err := eventarchive.Measure(ctx, s.Archive, projectID, since, until)
	if err != nil {
		return Plan{}, fmt.Errorf("size the replay: %w", err)
	}
	return Plan{ProjectID: projectID, StreamID: streamID, Since: since, Until: until, Rate: rate, Size: size,
		Seconds: (size.Events + rate - 1) / rate}, nil
}

// Start creates a replay job for the request and starts its worker. With
// an idempotency key, the same key (per project) names the same job:
// asking again returns the job created first, and created is false.
func (s *Service) Start(ctx context.Context, projectID, streamID string, req Request, idempotencyKey string) (j Job, created bool, err error) {
	if len(idempotencyKey) > 256 {
		return Job{}, false, &ErrInvalid{Field: "Idempotency-Key", Msg: "must be at most 256 characters"}
	}
	var id, key string
	if idempotencyKey != "" {
		// The key is looked up first: a request repeated after its job
		// started is answered with that job, whatever has changed since
		// (the stream paused, the window now older).
		sum := sha256.Sum256([]byte(projectID + "\x00replay\x00" + idempotencyKey))
		id, key = "rpl_"+hex.EncodeToString(sum[:13]), requestKey(streamID, req)
		if stored, err := s.Jobs.Get(ctx, projectID, id); err == nil {
			return s.same(stored, Job{Key: key})
		} else if !errors.Is(err, ErrJobNotFound) {
			return Job{}, false, err
		}
	}
	p, err := s.Plan(ctx, projectID, streamID, req)
	if err != nil {
		return Job{}, false, err
	}
	j = s.newJob(p, OriginRequest, req.Filter)
	if id != "" {
		j.ID, j.Key = id, key
	}
	if s.Slots == nil {
		if err := s.admit(ctx, projectID); err != nil {
			return Job{}, false, err
		}
		return s.create(ctx, j, true)
	}
	if j.Slot, err = s.Slots.Take(ctx, projectID, j.ID, s.maxActive(), s.slotFree(ctx, projectID)); err != nil {
		return Job{}, false, err
	}
	stored, created, err := s.create(ctx, j, true)
	if err != nil && !errors.Is(err, ErrKeyReused) {
		// Not stored: the slot is free again (or, if this release is
		// lost too, once slotFree finds no job holding it).
		_ = s.Slots.Release(context.WithoutCancel(ctx), projectID, j.Slot, j.ID)
	}
	return stored, created, err
}

// slotOrphanAge is how long a slot whose job was never stored stays taken:
// the job is stored right after its slot is taken, so a slot older than
// this without its job is a create that failed.
const slotOrphanAge = time.Minute

// slotFree says whether a slot's holder will never run again: its job has
// ended, or was never stored.
func (s *Service) slotFree(ctx context.Context, projectID string) func(string, time.Time) bool {
	return func(holder string, takenAt time.Time) bool {
		j, err := s.Jobs.Get(ctx, projectID, holder)
		switch {
		case errors.Is(err, ErrJobNotFound):
			return s.now().Sub(takenAt) > slotOrphanAge
		case err != nil:
			return false
		}
		return j.State.Final()
	}
}

// released frees the slot of a job that has ended (best effort: a slot
// whose release is lost is taken over by the next Take, its job final).
func (s *Service) released(ctx context.Context, j Job) {
	if s.Slots == nil || j.Origin != OriginRequest || !j.State.Final() {
		return
	}
	if err := s.Slots.Release(context.WithoutCancel(ctx), j.ProjectID, j.Slot, j.ID); err != nil {
		s.log().WarnContext(ctx, "release a replay's slot; the next replay takes it over", "project_id", j.ProjectID, "job_id", j.ID, "err", err)
	}
}

// same answers a request whose idempotency key named a stored job.
func (s *Service) same(stored, j Job) (Job, bool, error) {
	if stored.Key != j.Key {
		// A key names one request: answering another body with the job
		// of the first would let a caller believe the second ran.
		return Job{}, false, ErrKeyReused
	}
	return stored, false, nil
}

// requestKey is what makes two requests the same: the stream, the window
// as asked (until as given, or absent), the filter and the rate as given.
func requestKey(streamID string, req Request) string {
	f, _ := json.Marshal(req.Filter)
	var since, until, rate string
	if req.Since != nil {
		since = req.Since.UTC().Format(time.RFC3339Nano)
	}
	if req.Until != nil {
		until = req.Until.UTC().Format(time.RFC3339Nano)
	}
	if req.Rate != nil {
		rate = fmt.Sprint(*req.Rate)
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s\x00%s", streamID, since, until, f, rate))
	return hex.EncodeToString(sum[:16])
}

// admit refuses a job beyond the project's cap on replays not yet final.
// Two requests at the same instant may both pass (the count is read, not
// reserved); the cap bounds load, and one over it is soon done.
func (s *Service) admit(ctx context.Context, projectID string) error {
	jobs, err := s.Jobs.List(ctx, projectID, 100)
	if err != nil {
		return fmt.Errorf("count the project's replays: %w", err)
	}
	active := 0
	for _, j := range jobs {
		// Backfills are not counted: there is one per stream created
		// with start_from, and a paused stream's waits until it is
		// enabled; counting them would let waiting backfills block
		// every replay of the project.
		if !j.State.Final() && j.Origin != OriginStartFrom {
			active++
		}
	}
	if active >= s.maxActive() {
		return ErrTooMany
	}
	return nil
}

func (s *Service) newJob(p Plan, origin Origin, f *stream.Filters) Job {
	now := s.now()
	j := Job{ID: newJobID(now), ProjectID: p.ProjectID, StreamID: p.StreamID, Origin: origin, Since: p.Since, Until: p.Until,
		Filter: f, Rate: p.Rate, State: StateQueued, Size: p.Size, CreatedAt: now, UpdatedAt: now,
	}
	if !p.Until.IsZero() { // zero: a backfill waiting for its stream to be enabled
		j.NotBefore = later(now, s.settledAt(j, j.Since))
	}
	j.Progress.Hours = len(hours(j))
	j.Progress.Total = p.Size.Events
	return j
}

// create stores a job and, with start, starts its worker if its first hour
// has settled.
func (s *Service) create(ctx context.Context, j Job, start bool) (Job, bool, error) {
	stored, err := s.Jobs.Create(ctx, j)
	if errors.Is(err, ErrJobExists) {
		return s.same(stored, j)
	}
	if err != nil {
		return Job{}, false, fmt.Errorf("create replay job for project %s: %w", j.ProjectID, err)
	}
	if start {
		s.start(ctx, stored)
	}
	return stored, true, nil
}

// start starts a job's worker now if its first hour has settled (else the
// tick starts it when it has).
func (s *Service) start(ctx context.Context, j Job) {
	if s.Starter == nil || !ready(j, s.now()) {
		return
	}
	if err := s.Starter.Start(ctx, j.ProjectID, j.ID); err != nil {
		// Not the caller's failure: the job is stored, and the tick
		// starts it within its period.
		s.log().WarnContext(ctx, "start replay job; the tick will", "project_id", j.ProjectID, "job_id", j.ID, "err", err)
	}
}

// Backfill creates the replay of a stream about to be created with
// start_from: the project's events from start_from until live delivery
// reaches the stream (live: the time by which every warm ingestion
// function's cached stream list holds it). It is stored before the stream,
// so a create that cannot store it fails before anything exists (and can
// be retried as it is), and started only by Started, once the stream is
// stored; a stream whose creation then fails leaves a job its worker ends
// failed ("the stream does not exist"). A stream created paused has no
// live time yet (zero): its backfill waits for StreamEnabled. Backfills
// are not counted against the project's cap on replays.
func (s *Service) Backfill(ctx context.Context, st stream.Stream, startFrom, live time.Time) (Job, error) {
	if err := s.ValidStartFrom(startFrom); err != nil {
		return Job{}, err
	}
	since := startFrom.UTC()
	p := Plan{ProjectID: st.ProjectID, StreamID: st.ID, Since: since, Rate: DefaultRate}
	if !live.IsZero() {
		p.Until = live.UTC()
	}
	if size, err := eventarchive.Measure(ctx, s.Archive, st.ProjectID, since, s.now()); err == nil {
		p.Size = size
	}
	j, _, err := s.create(ctx, s.newJob(p, OriginStartFrom, nil), false)
	return j, err
}

// Started starts the worker of a backfill whose stream is now stored.
func (s *Service) Started(ctx context.Context, j Job) { s.start(ctx, j) }

// StreamEnabled gives the waiting backfills of a stream that was enabled
// their end: live, when live delivery reaches it. From then they run as
// any backfill.
func (s *Service) StreamEnabled(ctx context.Context, st stream.Stream, live time.Time) error {
	jobs, err := s.Jobs.List(ctx, st.ProjectID, 100)
	if err != nil {
		return fmt.Errorf("find the backfills of stream %s: %w", st.ID, err)
	}
	var errs []error
	for _, j := range jobs {
		if j.StreamID != st.ID || j.State.Final() || !j.Until.IsZero() {
			continue
		}
		j.Until = live.UTC()
		j.NotBefore = later(s.now(), s.settledAt(j, j.Since))
		j.Progress.Hours = len(hours(j))
		j.UpdatedAt = s.now()
		if _, err := s.Jobs.Update(ctx, j); err != nil {
			errs = append(errs, fmt.Errorf("start backfill %s: %w", j.ID, err))
		}
	}
	return errors.Join(errs...)
}

// ValidStartFrom checks a start_from before the stream is created: in the
// past, and within what the archive keeps.
func (s *Service) ValidStartFrom(startFrom time.Time) error {
	now := s.now()
	switch {
	case !startFrom.Before(now):
		return &ErrInvalid{Field: "start_from", Msg: "must be in the past: events from then on are backfilled"}
	case startFrom.Before(now.Add(-s.retention())):
		return &ErrInvalid{Field: "start_from", Msg: fmt.Sprintf("is older than the archive keeps events (%s): it must be after %s",
			s.retention(), now.Add(-s.retention()).Format(time.RFC3339))}
	}
	return nil
}

// Job reads one of a project's replay jobs.
func (s *Service) Job(ctx context.Context, projectID, id string) (Job, error) {
	return s.Jobs.Get(ctx, projectID, id)
}

// List returns a project's newest replay jobs first.
func (s *Service) List(ctx context.Context, projectID string, limit int) ([]Job, error) {
	return s.Jobs.List(ctx, projectID, limit)
}

// Cancel asks a job to stop. A job no worker holds ends cancelled at once;
// a running one stops at its next checkpoint (within one batch). Cancelling
// a cancelled job again is not an error; any other ended job is ErrFinal.
func (s *Service) Cancel(ctx context.Context, projectID, id string) (Job, error) {
	for range 5 {
		j, err := s.Jobs.Get(ctx, projectID, id)
		if err != nil {
			return Job{}, err
		}
		if j.State == StateCancelled {
			return j, nil
		}
		if j.State.Final() {
			return j, ErrFinal
		}
		now := s.now()
		j.CancelRequested, j.UpdatedAt = true, now
		if !j.LeaseUntil.After(now) {
			j.State, j.EndedAt, j.LeaseUntil = StateCancelled, &now, time.Time{}
		}
		j, err = s.Jobs.Update(ctx, j)
		if errors.Is(err, ErrJobConflict) {
			continue // a worker checkpointed between: read again
		}
		if err == nil {
			s.released(ctx, j)
		}
		return j, err
	}
	return Job{}, fmt.Errorf("cancel replay job %s: it kept changing", id)
}

// settledAt is when the archive holds all of a job's events of the hour
// holding t: the settle time after the hour, or the window, ends.
func (s *Service) settledAt(j Job, t time.Time) time.Time {
	end := t.UTC().Truncate(time.Hour).Add(time.Hour)
	if j.Until.Before(end) {
		end = j.Until
	}
	return end.Add(s.settle())
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// ready reports whether a job's window is known and its next partition
// settled in the archive.
func ready(j Job, now time.Time) bool { return !j.Until.IsZero() && !j.NotBefore.After(now) }

// newJobID is a job id that sorts by creation time and is unique.
func newJobID(now time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("rpl_%013x%s", now.UnixMilli(), hex.EncodeToString(b[:]))
}

// hours are the hourly partitions of a job's window.
func hours(j Job) []time.Time { return eventarchive.Hours(j.Since, j.Until) }
