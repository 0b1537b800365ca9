package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/eventarchive"
	"github.com/logstream/logstream/shared/filter"
	"github.com/logstream/logstream/shared/jobrun"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/selection"
	"github.com/logstream/logstream/shared/stream"
)

// Invocation is what the replay function is invoked with: the dead-letter
// function's shape (shared/jobrun), so one starter (shared/invoke) serves
// both.
type Invocation = jobrun.Invocation

// JobRef names a job.
type JobRef = jobrun.JobRef

// Handle is the replay function's handler: a job to run, or the schedule's
// tick.
func (s *Service) Handle(ctx context.Context, payload json.RawMessage) error {
	return jobrun.Handle(ctx, payload, s.RunJob, s.Tick)
}

// Tick runs every job that is not final, that no worker holds and whose
// window has settled: one whose start was lost, whose worker died or ran
// out of time, or a backfill whose time has come.
func (s *Service) Tick(ctx context.Context) error {
	jobs, err := s.Jobs.Active(ctx)
	if err != nil {
		return fmt.Errorf("list active replay jobs: %w", err)
	}
	var errs []error
	for _, j := range jobs {
		now := s.now()
		if j.Until.IsZero() {
			// A backfill waiting for its stream to be enabled: ended if
			// the stream is gone, or was not enabled while the archive
			// still held the backfill's start.
			if why := s.abandoned(ctx, j, now); why != "" {
				r := &run{s: s, job: j}
				if err := r.end(ctx, StateFailed, why); err != nil {
					errs = append(errs, err)
				}
			}
			continue
		}
		if j.LeaseUntil.After(now) || !ready(j, now) || nearDeadline(ctx) {
			continue
		}
		if err := s.RunJob(ctx, j.ProjectID, j.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// abandoned says why a waiting backfill will never run, "" if it may.
func (s *Service) abandoned(ctx context.Context, j Job, now time.Time) string {
	if now.Sub(j.Since) > s.retention() {
		return "the stream was not enabled while the archive still held start_from"
	}
	if _, err := s.Streams.Get(ctx, j.ProjectID, j.StreamID); errors.Is(err, stream.ErrNotFound) {
		return errNoStream
	}
	return ""
}

func nearDeadline(ctx context.Context) bool { return jobrun.NearDeadline(ctx) }

// errNoStream ends a job whose stream is gone.
const errNoStream = "the stream does not exist (deleted, or its creation failed)"

// DefaultStreamWait is how often a backfill whose stream is paused looks
// again.
const DefaultStreamWait = time.Minute

var (
	errLostLease = errors.New("replay: another worker holds the job")
	errDeadline  = errors.New("replay: the invocation's time is up")
	errCancelled = errors.New("replay: cancelled")
)

// RunJob runs a job from its checkpoint until it is done, cancelled, or the
// invocation nears its deadline. It first takes the job's lease; a job
// another worker holds, one already final, or one whose window has not
// settled, is left alone.
func (s *Service) RunJob(ctx context.Context, projectID, id string) error {
	j, err := s.Jobs.Get(ctx, projectID, id)
	if err != nil {
		return fmt.Errorf("run replay job %s: %w", id, err)
	}
	now := s.now()
	if j.State.Final() || j.LeaseUntil.After(now) || !ready(j, now) {
		return nil
	}
	j.State, j.LeaseUntil, j.UpdatedAt = StateRunning, now.Add(s.lease()), now
	if j.StartedAt == nil {
		j.StartedAt = &now
	}
	if j, err = s.Jobs.Update(ctx, j); err != nil {
		if errors.Is(err, ErrJobConflict) {
			return nil // another worker took it, or it was cancelled
		}
		return fmt.Errorf("take replay job %s: %w", id, err)
	}
	r := &run{s: s, job: j, start: s.now(), held: j.LeaseUntil}
	err = r.run(ctx)
	switch {
	case err == nil, errors.Is(err, errLostLease):
		return nil
	case errors.Is(err, errCancelled):
		return r.end(ctx, StateCancelled, "")
	}
	var fatal *fatalError
	if errors.As(err, &fatal) {
		return r.end(ctx, StateFailed, fatal.Error())
	}
	s.log().ErrorContext(ctx, "replay job stopped; it resumes from its checkpoint", "project_id", projectID, "job_id", id, "err", err)
	// Let go at once, so the next tick resumes it, unless it has failed
	// too often. Its progress stays as checkpointed.
	r.job.LeaseUntil, r.job.Error = time.Time{}, err.Error()
	if r.job.Failures++; r.job.Failures >= MaxJobFailures {
		end := s.now()
		r.job.State, r.job.EndedAt = StateFailed, &end
	}
	if j, uerr := s.Jobs.Update(context.WithoutCancel(ctx), r.job); uerr != nil && !errors.Is(uerr, ErrJobConflict) {
		err = errors.Join(err, uerr)
	} else if uerr == nil {
		s.released(ctx, j)
	}
	return err
}

// fatalError ends a job failed at once: retrying cannot help (its stream
// was deleted or paused).
type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }

// run is one worker's run of a job.
type run struct {
	s   *Service
	job Job
	// target is the stream with its current filters and masking; match
	// the replay's own filter (nil: all).
	target selection.Stream
	match  *filter.Matcher
	url    string
	// seen holds the event_ids sent from the current hour's partition.
	seen map[uint64]struct{}
	// start and paced are when the run began and how many events it has
	// enqueued since, for the rate bound.
	start time.Time
	paced int
	// held is the lease as last stored: a job changed under it with the
	// same lease was changed by a cancel, not by another worker.
	held time.Time
}

func (r *run) run(ctx context.Context) error {
	j := &r.job
	if err := r.refresh(ctx); err != nil {
		return err
	}
	var err error
	if r.match, err = filter.Compile(j.Filter); err != nil {
		return &fatalError{"the replay's filter does not compile: " + err.Error()}
	}
	hs := hours(*j)
	for i, h := range hs {
		if h.Before(j.Cursor.Hour) {
			continue
		}
		if !h.Equal(j.Cursor.Hour) {
			j.Cursor = Cursor{Hour: h}
		}
		if err := r.settle(ctx, h); err != nil {
			return err
		}
		r.seen = map[uint64]struct{}{}
		err := eventarchive.Partition(ctx, r.s.Reader, eventarchive.HourPrefix(j.ProjectID, h), j.Cursor.After, func(o eventarchive.Object) (bool, error) {
			if err := r.object(ctx, o); err != nil {
				return false, err
			}
			j.Cursor.After, j.Cursor.Object, j.Cursor.Offset = o.Key, "", 0
			return true, nil
		})
		if err != nil {
			return err
		}
		j.Progress.HoursDone = i + 1
		if i+1 < len(hs) {
			j.Cursor = Cursor{Hour: hs[i+1]}
		}
		if err := r.checkpoint(ctx); err != nil {
			return err
		}
	}
	return r.end(ctx, StateSucceeded, "")
}

// refresh reads the job's stream, before the job starts and before every
// batch: one that was deleted ends the job failed, and one that is no
// longer active ends a replay failed (it goes to active streams only) and
// holds a backfill until it is active again. A stream changed since (its
// version) is compiled again, so each batch goes out as the stream is
// configured when it is sent.
func (r *run) refresh(ctx context.Context) error {
	j := &r.job
	st, err := r.s.Streams.Get(ctx, j.ProjectID, j.StreamID)
	switch {
	case errors.Is(err, stream.ErrNotFound):
		return &fatalError{errNoStream}
	case err != nil:
		return fmt.Errorf("read stream %s: %w", j.StreamID, err)
	case st.Status != stream.StatusActive && j.Origin == OriginStartFrom:
		// A backfill is its stream's: paused (or suspended) for now, it
		// waits to be enabled again rather than end half done.
		r.job.NotBefore, r.job.State = r.s.now().Add(DefaultStreamWait), StateQueued
		return r.stop(ctx)
	case st.Status != stream.StatusActive:
		return &fatalError{fmt.Sprintf("the stream is %s, not active: a replay goes to active streams only", st.Status)}
	}
	if r.url != "" && st.Version == r.target.Version {
		return nil
	}
	if r.target, err = selection.Compile(ctx, r.s.Keys, st, r.s.log()); err != nil {
		return err
	}
	var ok bool
	if r.url, ok = r.s.QueueURLs[st.DestinationType]; !ok {
		return &fatalError{fmt.Sprintf("no delivery queue for destination type %q", st.DestinationType)}
	}
	return nil
}

// object replays one archive object, a batch at a time, checkpointing
// after each.
func (r *run) object(ctx context.Context, o eventarchive.Object) error {
	j := &r.job
	body, err := r.s.Reader.Get(ctx, o.Key)
	if err != nil {
		return err
	}
	evs, err := eventarchive.Decode(body)
	if err != nil {
		// Not one of the archiver's objects, or damaged: nothing in it
		// can be replayed, and stopping here would stop every replay of
		// the hour. Said in the job's error, and passed over.
		r.s.log().ErrorContext(ctx, "archive object unreadable; passed over", "key", o.Key, "err", err)
		j.Error = fmt.Sprintf("archive object %s unreadable: %v", o.Key, err)
		return nil
	}
	from := 0
	if j.Cursor.Object == o.Key {
		from = min(j.Cursor.Offset, len(evs))
	} else {
		j.Progress.Objects++
	}
	var picked []logevent.Event
	var raws []json.RawMessage
	for from < len(evs) {
		if nearDeadline(ctx) {
			return r.stop(ctx)
		}
		batch := evs[from:min(from+BatchEvents, len(evs))]
		picked = picked[:0]
		for i := range batch {
			ev := &batch[i]
			if ev.Time.Before(j.Since) || !ev.Time.Before(j.Until) {
				continue // the rest of the window's first or last hour
			}
			j.Progress.Events++
			h := xxhash.Sum64String(ev.ID)
			if _, dup := r.seen[h]; dup {
				j.Progress.Duplicates++
				continue
			}
			r.seen[h] = struct{}{}
			if r.match != nil && !r.match.PassEvent(ev) {
				j.Progress.Filtered++
				continue
			}
			picked = append(picked, *ev)
		}
		if len(picked) > 0 {
			if err := r.refresh(ctx); err != nil {
				return err
			}
		}
		var left int
		if raws, left, err = r.target.Select(raws[:0], picked, true); err != nil {
			return err
		}
		j.Progress.Filtered += left
		if len(raws) > 0 {
			r.pace(ctx, len(raws))
			msgs, err := envelope.Pack(j.ProjectID, j.StreamID, raws, envelope.MaxMessageBytes)
			if err != nil {
				return fmt.Errorf("pack replayed events: %w", err)
			}
			// Compressed as ingestion compresses its delivery messages.
			if err := envelope.CompressAll(msgs); err != nil {
				return fmt.Errorf("compress replayed events: %w", err)
			}
			if err := r.s.Publisher.Publish(ctx, r.url, msgs); err != nil {
				return fmt.Errorf("enqueue replayed events: %w", err)
			}
			j.Progress.Sent += len(raws)
		}
		from += len(batch)
		j.Cursor.Object, j.Cursor.Offset = o.Key, from
		if err := r.checkpoint(ctx); err != nil {
			return err
		}
	}
	return nil
}

// maxInlineWait is the longest a worker waits itself for an hour to
// settle; a longer wait is the tick's (NotBefore), so no invocation idles.
const maxInlineWait = time.Minute

// settle waits until the archive holds all of the job's events of hour h.
// A short wait (the last hour of a window that ends now) is slept; a long
// one (a backfill's last hour, until live delivery took over) lets go of
// the job until then.
func (r *run) settle(ctx context.Context, h time.Time) error {
	at := r.s.settledAt(r.job, h)
	wait := at.Sub(r.s.now())
	if wait <= 0 {
		return nil
	}
	if d, ok := ctx.Deadline(); wait <= maxInlineWait && (!ok || time.Until(d) > wait+jobrun.Margin) {
		r.s.sleep(ctx, wait)
		return ctx.Err()
	}
	r.job.NotBefore, r.job.State = at, StateQueued
	return r.stop(ctx)
}

// stop lets go of a job whose invocation is out of time, checkpointed, so
// the next tick resumes it.
func (r *run) stop(ctx context.Context) error {
	r.job.LeaseUntil = time.Time{}
	if err := r.write(ctx); err != nil {
		return err
	}
	return errLostLease // nothing more for this worker to do
}

// pace holds a replay to its rate: n more events may go once the run's
// events so far, n included, fit rate × elapsed time.
func (r *run) pace(ctx context.Context, n int) {
	r.paced += n
	due := r.start.Add(time.Duration(float64(r.paced) / float64(r.job.Rate) * float64(time.Second)))
	if wait := due.Sub(r.s.now()); wait > 0 {
		r.s.sleep(ctx, wait)
	}
}

// checkpoint writes the job's progress and renews its lease.
func (r *run) checkpoint(ctx context.Context) error {
	r.job.LeaseUntil = r.s.now().Add(r.s.lease())
	return r.write(ctx)
}

// write stores the job. A conflict means a cancel (the worker then stops:
// errCancelled) or another worker took the job (this one's lease ran out:
// errLostLease).
func (r *run) write(ctx context.Context) error {
	r.job.UpdatedAt = r.s.now()
	j, err := r.s.Jobs.Update(context.WithoutCancel(ctx), r.job)
	if errors.Is(err, ErrJobConflict) {
		stored, gerr := r.s.Jobs.Get(context.WithoutCancel(ctx), r.job.ProjectID, r.job.ID)
		if gerr != nil {
			return gerr
		}
		if stored.CancelRequested && !stored.State.Final() && stored.LeaseUntil.Equal(r.held) {
			// Only a cancel changes a job this worker holds without
			// taking its lease: keep this run's progress, on the stored
			// version.
			r.job.Version, r.job.CancelRequested = stored.Version, true
			return errCancelled
		}
		return errLostLease
	}
	if err != nil {
		return fmt.Errorf("checkpoint replay job %s: %w", r.job.ID, err)
	}
	r.job, r.held = j, j.LeaseUntil
	return nil
}

// end writes the job final.
func (r *run) end(ctx context.Context, state State, msg string) error {
	now := r.s.now()
	r.job.State, r.job.EndedAt, r.job.LeaseUntil, r.job.Failures = state, &now, time.Time{}, 0
	if msg != "" || state == StateSucceeded {
		r.job.Error = msg
	}
	j, err := r.s.Jobs.Update(context.WithoutCancel(ctx), r.job)
	if err == nil {
		r.s.released(ctx, j)
	}
	if errors.Is(err, ErrJobConflict) && state != StateCancelled {
		// A cancel arrived with the last batch: the job ends cancelled
		// all the same, with this run's progress.
		if stored, gerr := r.s.Jobs.Get(context.WithoutCancel(ctx), r.job.ProjectID, r.job.ID); gerr == nil && stored.CancelRequested && !stored.State.Final() {
			r.job.Version, r.job.CancelRequested = stored.Version, true
			return r.end(ctx, StateCancelled, "")
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("end replay job %s: %w", r.job.ID, err)
	}
	r.job = j
	r.s.log().InfoContext(ctx, "replay job ended", "project_id", j.ProjectID, "job_id", j.ID, "stream_id", j.StreamID,
		"state", j.State, "sent", j.Progress.Sent, "events", j.Progress.Events, "filtered", j.Progress.Filtered)
	return nil
}
