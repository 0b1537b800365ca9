package deadletter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/logstream/logstream/shared/jobrun"
	"github.com/logstream/logstream/shared/stream"
)

// Invocation is what the dead-letter function is invoked with
// (shared/jobrun: the replay function takes the same).
type Invocation = jobrun.Invocation

// JobRef names a job.
type JobRef = jobrun.JobRef

// Handle is the dead-letter function's handler: a job to run, or the
// schedule's tick.
func (s *Service) Handle(ctx context.Context, payload json.RawMessage) error {
	return jobrun.Handle(ctx, payload, s.RunJob, s.Tick)
}

// Tick is the scheduled work: drain every DLQ into the store, remove and
// count what expired, and resume the jobs nobody is running.
func (s *Service) Tick(ctx context.Context) error {
	var errs []error
	if err := s.Drain(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.Sweep(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.Resume(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Drain moves every message of every DLQ into the store: each is deleted
// from its DLQ only once its letter is stored, so a crash leaves it to the
// next drain, which stores the same letter (LetterID) again, once.
func (s *Service) Drain(ctx context.Context) error {
	if s.DLQ == nil {
		return nil
	}
	var errs []error
	for typ, url := range s.DLQURLs {
		n, err := s.drainQueue(ctx, typ, url)
		if n > 0 {
			s.log().InfoContext(ctx, "drained DLQ into the dead-letter store", "destination_type", typ, "messages", n)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("drain the %s DLQ: %w", typ, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) drainQueue(ctx context.Context, typ, url string) (int, error) {
	drained := 0
	for ctx.Err() == nil && !nearDeadline(ctx) {
		msgs, err := s.DLQ.Receive(ctx, url)
		if err != nil || len(msgs) == 0 {
			return drained, err
		}
		var done []string
		for _, m := range msgs {
			p := Parse(m.Message, typ, s.now())
			p.Letter.ExpiresAt = p.Letter.ParkedAt.Add(s.retention())
			if p.Letter.Reason == stream.ReasonUnrecorded {
				// SQS moved the whole message: what the delivery core
				// parked from it before it died is stored already, and
				// must not be stored twice.
				if p.Events, err = s.withoutParked(ctx, p.Letter, p.Events); err != nil {
					return drained, err
				}
				p.Letter.Events, p.Letter.Bytes = len(p.Events), size(p.Events)
				p.Letter.ID = LetterID(p.Letter.ProjectID, p.Letter.StreamID, p.Letter.SourceMessageID, p.Letter.Reason, p.Events, nil)
			}
			if len(p.Events) > 0 {
				if err := s.Letters.Put(ctx, p.Letter, p.Events); err != nil {
					return drained, fmt.Errorf("store dead letter from message %s: %w", m.MessageID, err)
				}
			}
			done = append(done, m.ReceiptHandle)
		}
		if err := s.DLQ.Delete(ctx, url, done); err != nil {
			return drained, err
		}
		drained += len(done)
	}
	return drained, nil
}

func size(evs []json.RawMessage) int {
	n := 0
	for _, e := range evs {
		n += len(e)
	}
	return n
}

// withoutParked removes from the events of a message SQS moved to the DLQ
// those the delivery core had parked from the same message already.
func (s *Service) withoutParked(ctx context.Context, l Letter, evs []json.RawMessage) ([]json.RawMessage, error) {
	if l.ProjectID == "" {
		return evs, nil
	}
	var parked [][]byte
	err := s.each(ctx, l.ProjectID, l.StreamID, "", func(o Letter) (bool, error) {
		if o.SourceMessageID != l.SourceMessageID || o.ID == l.ID {
			return true, nil
		}
		got, err := s.Letters.Events(ctx, o)
		for _, e := range got {
			parked = append(parked, e)
		}
		return err == nil, err
	})
	if err != nil || len(parked) == 0 {
		return evs, err
	}
	out := evs[:0:0]
	for _, e := range evs {
		seen := false
		for i, p := range parked {
			if bytes.Equal(e, p) {
				parked = append(parked[:i], parked[i+1:]...)
				seen = true
				break
			}
		}
		if !seen {
			out = append(out, e)
		}
	}
	return out, nil
}

// Sweep removes every letter past its retention and counts its events as
// expired, per stream: expiry is visible in the summary and the health
// view, never silent.
func (s *Service) Sweep(ctx context.Context) error {
	projects, err := s.Letters.Projects(ctx)
	if err != nil {
		return fmt.Errorf("sweep expired dead letters: %w", err)
	}
	now := s.now()
	var errs []error
	for _, p := range projects {
		err := s.each(ctx, p, "", "", func(l Letter) (bool, error) {
			if !expired(l, now) || l.Claim != "" && l.ClaimUntil.After(now) {
				// Not yet; or a job is on it: the next sweep, after it.
				return true, nil
			}
			// Delete first: a letter counted and not deleted would be
			// counted again by the next sweep.
			err := s.Letters.Delete(ctx, l)
			if errors.Is(err, ErrLetterClaimed) {
				// A job is on it, or changed it since the listing: the
				// next sweep sees it as it is then.
				return true, nil
			}
			if err != nil {
				return false, err
			}
			if s.Counters != nil && l.StreamID != "" {
				if err := s.Counters.AddExpired(ctx, p, l.StreamID, l.Events); err != nil {
					return false, err
				}
			}
			s.log().InfoContext(ctx, "dead letter expired", "project_id", p, "stream_id", l.StreamID, "letter_id", l.ID,
				"reason", l.Reason, "events", l.Events, "parked_at", l.ParkedAt)
			return true, nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("sweep expired dead letters of project %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// Resume runs every job that is not final and that no worker holds: one
// whose start was lost, or whose worker died or ran out of time.
func (s *Service) Resume(ctx context.Context) error {
	jobs, err := s.Jobs.ActiveJobs(ctx)
	if err != nil {
		return fmt.Errorf("list active dead-letter jobs: %w", err)
	}
	var errs []error
	for _, j := range jobs {
		if j.LeaseUntil.After(s.now()) || nearDeadline(ctx) {
			continue
		}
		if err := s.RunJob(ctx, j.ProjectID, j.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func nearDeadline(ctx context.Context) bool { return jobrun.NearDeadline(ctx) }

// RunJob runs a job from its checkpoint until it is done or the invocation
// nears its deadline. It first takes the job's lease; a job another worker
// holds, or one already final, is left alone.
func (s *Service) RunJob(ctx context.Context, projectID, id string) error {
	j, err := s.Jobs.GetJob(ctx, projectID, id)
	if err != nil {
		return fmt.Errorf("run dead-letter job %s: %w", id, err)
	}
	now := s.now()
	if j.State.Final() || j.LeaseUntil.After(now) {
		return nil
	}
	j.State, j.LeaseUntil, j.UpdatedAt = StateRunning, now.Add(s.lease()), now
	if j.StartedAt == nil {
		j.StartedAt = &now
	}
	if j, err = s.Jobs.UpdateJob(ctx, j); err != nil {
		if errors.Is(err, ErrJobConflict) {
			return nil // another worker took it
		}
		return fmt.Errorf("take dead-letter job %s: %w", id, err)
	}
	r := &run{s: s, job: j, streams: map[string]*streamState{}, start: s.now()}
	if err := r.run(ctx); err != nil {
		if errors.Is(err, errLostLease) {
			return nil
		}
		s.log().ErrorContext(ctx, "dead-letter job stopped; it resumes from its checkpoint", "project_id", projectID, "job_id", id, "err", err)
		// Let go at once, so the next tick resumes it, unless it has
		// failed too often. Its progress stays as checkpointed.
		r.job.LeaseUntil, r.job.Error = time.Time{}, err.Error()
		if r.job.Failures++; r.job.Failures >= MaxJobFailures {
			end := s.now()
			r.job.State, r.job.EndedAt = StateFailed, &end
		}
		if _, uerr := s.Jobs.UpdateJob(context.WithoutCancel(ctx), r.job); uerr != nil && !errors.Is(uerr, ErrJobConflict) {
			err = errors.Join(err, uerr)
		}
		return err
	}
	return nil
}

var errLostLease = errors.New("deadletter: another worker holds the job")

// run is one worker's run of a job.
type run struct {
	s       *Service
	job     Job
	streams map[string]*streamState
	// start and paced are when the run began and how many events it has
	// redriven since, for the rate bound.
	start time.Time
	paced int
}

type streamState struct {
	s    stream.Stream
	skip string // why its letters are skipped; "" to redrive them
}

func (r *run) run(ctx context.Context) error {
	j := &r.job
	if j.Progress.Total == 0 && j.Cursor == "" && len(j.Filter.EventIDs) == 0 {
		// The denominator of the progress bar, from the index alone. An
		// event-id job cannot know it from the index (a letter holds
		// other events too): it learns its total as it reads (letter).
		now := r.s.now()
		err := r.s.each(ctx, j.ProjectID, j.Filter.StreamID, "", func(l Letter) (bool, error) {
			if !expired(l, now) && j.Filter.Letter(l) {
				j.Progress.Total += l.Events
			}
			return true, nil
		})
		if err != nil {
			return err
		}
	}
	ids := idSet(j.Filter.EventIDs)
	var stop error
	passed := 0 // letters passed over since the last checkpoint
	err := r.s.each(ctx, j.ProjectID, j.Filter.StreamID, j.Cursor, func(l Letter) (bool, error) {
		if nearDeadline(ctx) {
			stop = errDeadline
			return false, nil
		}
		before := j.Progress
		if !expired(l, r.s.now()) && j.Filter.Letter(l) {
			if err := r.letter(ctx, l, ids); err != nil {
				return false, err
			}
		}
		j.Cursor = l.Key()
		// Checkpoint after every letter the job touched; letters it only
		// passed over (not matching) every so often: going over them
		// again after a crash costs a read, not a duplicate.
		if passed++; j.Progress.Letters == before.Letters && passed < checkpointEvery {
			return true, nil
		}
		passed = 0
		return true, r.checkpoint(ctx, false)
	})
	if err != nil {
		return err
	}
	if stop != nil {
		// Out of time: checkpointed; let go so the next tick resumes.
		j.LeaseUntil = time.Time{}
		return r.checkpoint(ctx, true)
	}
	now := r.s.now()
	j.State, j.EndedAt, j.LeaseUntil, j.Error, j.Failures = StateSucceeded, &now, time.Time{}, "", 0
	return r.checkpoint(ctx, true)
}

var errDeadline = errors.New("deadletter: the invocation's time is up")

// checkpointEvery is how many letters a job passes over, matching nothing,
// between checkpoints.
const checkpointEvery = 100

// letter does the job's work on one letter that matches its filter.
//
// Unless it is a dry run, the job first claims the letter (Letters.Claim),
// so that two jobs whose filters overlap never both act on it: one holding
// it sends or purges it, the other counts its matching events as skipped
// ("in_another_job") and does not come back to them. Coming back would
// mean waiting for the other job, which may be slow or paced; the letter
// is by then redriven or purged by that job, or, if that job matched only
// some of its events, left with the rest for a later job, and the skip
// count says so. A letter gone between listing and claiming (the other job
// finished it) is passed over, counted nowhere.
func (r *run) letter(ctx context.Context, l Letter, ids map[string]bool) error {
	j := &r.job
	evs, keep, err := r.split(ctx, l, ids)
	// Events gone since the listing: the letter changed or went. The
	// claim reads it as it is now, and the events are read again below.
	changed := errors.Is(err, ErrLetterGone)
	if err != nil && !changed {
		return err
	}
	if len(evs) == 0 && !changed {
		return nil
	}
	if j.Kind == KindRedrive {
		if why := r.skip(ctx, l); why != "" {
			// Checked before the claim: a letter this job leaves alone is
			// not kept from another job.
			if len(evs) > 0 {
				r.count(len(evs), ids != nil)
				r.skipped(why, len(evs))
			}
			return nil
		}
	}
	if !j.DryRun {
		now := r.s.now()
		c, err := r.s.Letters.Claim(ctx, l, j.ID, now, now.Add(r.s.lease()))
		switch {
		case errors.Is(err, ErrLetterGone):
			return nil
		case errors.Is(err, ErrLetterClaimed):
			if len(evs) > 0 {
				r.count(len(evs), ids != nil)
				r.skipped(skipInAnotherJob, len(evs))
			}
			return nil
		case err != nil:
			return fmt.Errorf("claim letter %s: %w", l.ID, err)
		}
		if changed || c.Revision != l.Revision {
			// Replaced since it was listed (by a job that matched some of
			// its events): act on what it holds now.
			if evs, keep, err = r.split(ctx, c, ids); err != nil {
				return err
			}
		}
		l = c
	}
	if len(evs) == 0 {
		return nil
	}
	r.count(len(evs), ids != nil)
	if j.DryRun {
		return nil
	}
	if j.Kind == KindRedrive {
		r.pace(ctx, len(evs))
		st := r.streams[l.StreamID].s
		// Write before delete: the events are on the delivery queue before
		// the letter goes. A crash between the two sends them again when
		// the job resumes, its claim being its own (docs/architecture.md,
		// crash windows).
		if err := r.s.Redriver.Redrive(ctx, st, evs); err != nil {
			return fmt.Errorf("redrive letter %s: %w", l.ID, err)
		}
	}
	if len(keep) == 0 {
		err = r.s.Letters.Delete(ctx, l)
	} else {
		_, err = r.s.Letters.Replace(ctx, l, keep)
	}
	lost := errors.Is(err, ErrLetterClaimed) || errors.Is(err, ErrLetterGone)
	switch {
	case lost && j.Kind == KindRedrive:
		// The claim ran out before the delete (a run slower than its
		// lease) and another job took the letter, or finished it: the
		// events are sent, so they count as done, and that job may send
		// them again.
		r.s.log().WarnContext(ctx, "dead letter changed under a redrive after its events were sent; they may be sent again",
			"project_id", j.ProjectID, "job_id", j.ID, "letter_id", l.ID, "events", len(evs))
	case lost:
		r.skipped(skipInAnotherJob, len(evs))
		return nil
	case err != nil:
		return fmt.Errorf("%s letter %s: %w", j.Kind, l.ID, err)
	}
	j.Progress.Done += len(evs)
	return nil
}

// skipInAnotherJob is why a job skips events of a letter another job holds.
const skipInAnotherJob = "in_another_job"

// split reads a letter's events: those the job's event ids pick (all of
// them if it has none), and the rest.
func (r *run) split(ctx context.Context, l Letter, ids map[string]bool) (evs, keep []json.RawMessage, err error) {
	all, err := r.s.Letters.Events(ctx, l)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range all {
		if ids == nil || ids[EventID(e)] {
			evs = append(evs, e)
		} else {
			keep = append(keep, e)
		}
	}
	return evs, keep, nil
}

// count adds a letter's n matching events to what the job has matched.
func (r *run) count(n int, byID bool) {
	p := &r.job.Progress
	if byID {
		p.Total += n // event-id jobs learn their total as they read
	}
	p.Letters++
	p.Events += n
}

// skipped counts n matching events left in place, and why.
func (r *run) skipped(why string, n int) {
	p := &r.job.Progress
	if p.Skipped == nil {
		p.Skipped = map[string]int{}
	}
	p.Skipped[why] += n
}

// skip says why a redrive cannot send a letter's events now, "" if it can.
func (r *run) skip(ctx context.Context, l Letter) string {
	if l.StreamID == "" {
		return "no_stream"
	}
	st, ok := r.streams[l.StreamID]
	if !ok {
		st = &streamState{}
		s, err := r.s.Streams.Get(ctx, l.ProjectID, l.StreamID)
		switch {
		case errors.Is(err, stream.ErrNotFound):
			st.skip = "stream_deleted"
		case err != nil:
			// Not cached: the next letter asks again.
			r.s.log().WarnContext(ctx, "read stream for redrive", "stream_id", l.StreamID, "err", err)
			return "stream_unreadable"
		case s.Status != stream.StatusActive:
			st.s, st.skip = s, "stream_not_active"
		default:
			st.s = s
		}
		r.streams[l.StreamID] = st
	}
	return st.skip
}

// pace holds a redrive to its rate: n more events may go once the run's
// events so far, n included, fit rate × elapsed time.
func (r *run) pace(ctx context.Context, n int) {
	r.paced += n
	due := r.start.Add(time.Duration(float64(r.paced) / float64(r.job.Rate) * float64(time.Second)))
	if wait := due.Sub(r.s.now()); wait > 0 {
		r.s.sleep(ctx, wait)
	}
}

// checkpoint writes the job's progress and renews its lease. A conflict
// means another worker took the job (this one's lease ran out): stop.
func (r *run) checkpoint(ctx context.Context, final bool) error {
	now := r.s.now()
	r.job.UpdatedAt = now
	if !final && !r.job.LeaseUntil.IsZero() {
		r.job.LeaseUntil = now.Add(r.s.lease())
	}
	j, err := r.s.Jobs.UpdateJob(context.WithoutCancel(ctx), r.job)
	if errors.Is(err, ErrJobConflict) {
		return errLostLease
	}
	if err != nil {
		return fmt.Errorf("checkpoint dead-letter job %s: %w", r.job.ID, err)
	}
	r.job = j
	return nil
}
