package deadletter

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/logstream/logstream/shared/stream"
)

// DefaultRetention is how long a dead letter is kept when the deployment
// sets no other: two weeks to notice, fix the destination and redrive.
const DefaultRetention = 14 * 24 * time.Hour

// DefaultLease is how long a worker holds a job between checkpoints when
// the deployment sets no other (topology.DefaultDeadLetterLease).
const DefaultLease = time.Minute

// Service is the dead-letter store's operations, for the API and for the
// dead-letter function.
type Service struct {
	Letters  Letters
	Jobs     Jobs
	Counters Counters
	Streams  Streams
	Redriver Redriver
	// Starter starts a job's worker at once; nil leaves jobs to the tick.
	Starter Starter
	// DLQ and DLQURLs are what the drain reads: each destination type's
	// DLQ by type.
	DLQ     DLQ
	DLQURLs map[string]string
	// Retention is how long a letter is kept (0: DefaultRetention).
	Retention time.Duration
	// Lease is how long a worker holds a job between checkpoints
	// (0: DefaultLease).
	Lease time.Duration
	Now   func() time.Time
	// Sleep waits for d or until ctx ends (nil: a timer), pacing redrives.
	Sleep func(ctx context.Context, d time.Duration)
	Log   *slog.Logger
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) retention() time.Duration { return cmp.Or(s.Retention, DefaultRetention) }
func (s *Service) lease() time.Duration     { return cmp.Or(s.Lease, DefaultLease) }
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

// listPage is how many letters one List call asks for.
const listPage = 200

// each calls fn with every letter of the project (of one stream, if set)
// after the key after, in Key order, until fn returns false or an error.
func (s *Service) each(ctx context.Context, projectID, streamID, after string, fn func(Letter) (bool, error)) error {
	for {
		page, next, err := s.Letters.List(ctx, projectID, streamID, after, listPage)
		if err != nil {
			return err
		}
		for _, l := range page {
			more, err := fn(l)
			if err != nil || !more {
				return err
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// expired reports whether l is past its retention at now.
func expired(l Letter, now time.Time) bool { return !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt) }

// Summary counts a project's dead letters (of one stream, if streamID is
// set) by stream, reason and age. It reads the letters' index entries, never
// their events, and never a queue.
func (s *Service) Summary(ctx context.Context, projectID, streamID string) (Summary, error) {
	now := s.now()
	sum := Summary{ProjectID: projectID, Reasons: []ReasonSummary{}, Streams: []StreamSummary{},
		RetentionDays: s.retention().Hours() / 24}
	byStream := map[string]int{} // stream → its index in sum.Streams
	err := s.each(ctx, projectID, streamID, "", func(l Letter) (bool, error) {
		if expired(l, now) {
			return true, nil
		}
		i, ok := byStream[l.StreamID]
		if !ok {
			i = len(sum.Streams)
			sum.Streams = append(sum.Streams, StreamSummary{StreamID: l.StreamID, DestinationType: l.DestinationType, Reasons: []ReasonSummary{}})
			byStream[l.StreamID] = i
		}
		st := &sum.Streams[i]
		st.Events += l.Events
		st.Letters++
		st.Reasons = addReason(st.Reasons, l)
		sum.Events += l.Events
		sum.Letters++
		sum.Reasons = addReason(sum.Reasons, l)
		switch age := now.Sub(l.ParkedAt); {
		case age < time.Hour:
			sum.Age.Under1h += l.Events
		case age < 24*time.Hour:
			sum.Age.Under24h += l.Events
		case age < 7*24*time.Hour:
			sum.Age.Under7d += l.Events
		default:
			sum.Age.Over7d += l.Events
		}
		if l.ExpiresAt.Sub(now) < 24*time.Hour {
			sum.ExpiringWithin24h += l.Events
		}
		return true, nil
	})
	if err != nil {
		return Summary{}, fmt.Errorf("summarize dead letters of project %s: %w", projectID, err)
	}
	if s.Counters != nil {
		exp, err := s.Counters.Expired(ctx, projectID)
		if err != nil {
			return Summary{}, fmt.Errorf("read expired dead letters of project %s: %w", projectID, err)
		}
		for id, n := range exp {
			if streamID != "" && id != streamID {
				continue
			}
			sum.ExpiredEvents += n
			i, ok := byStream[id]
			if !ok {
				if n == 0 {
					continue
				}
				i = len(sum.Streams)
				sum.Streams = append(sum.Streams, StreamSummary{StreamID: id, Reasons: []ReasonSummary{}})
				byStream[id] = i
			}
			sum.Streams[i].ExpiredEvents = n
		}
	}
	order := func(r []ReasonSummary) {
		slices.SortFunc(r, func(a, b ReasonSummary) int {
			return slices.Index(stream.StoredDeadLetterReasons, a.Reason) - slices.Index(stream.StoredDeadLetterReasons, b.Reason)
		})
	}
	order(sum.Reasons)
	for i := range sum.Streams {
		order(sum.Streams[i].Reasons)
	}
	slices.SortFunc(sum.Streams, func(a, b StreamSummary) int { return strings.Compare(a.StreamID, b.StreamID) })
	return sum, nil
}

func addReason(rs []ReasonSummary, l Letter) []ReasonSummary {
	i := slices.IndexFunc(rs, func(r ReasonSummary) bool { return r.Reason == l.Reason })
	if i < 0 {
		return append(rs, ReasonSummary{Reason: l.Reason, Events: l.Events, Letters: 1, OldestAt: l.ParkedAt, NewestAt: l.ParkedAt})
	}
	r := &rs[i]
	r.Events += l.Events
	r.Letters++
	if l.ParkedAt.Before(r.OldestAt) {
		r.OldestAt = l.ParkedAt
	}
	if l.ParkedAt.After(r.NewestAt) {
		r.NewestAt = l.ParkedAt
	}
	return rs
}

// Peek limits.
const (
	DefaultPeekLimit = 50
	MaxPeekLimit     = 500
)

// ErrBadCursor is a peek cursor that this service did not give.
var ErrBadCursor = errors.New("deadletter: malformed cursor")

// peekCursor is where the next page starts: after the letter with key
// After, or at event Offset of the letter with key At.
type peekCursor struct {
	After  string `json:"a,omitempty"`
	At     string `json:"l,omitempty"`
	Offset int    `json:"o,omitempty"`
}

// Peek returns up to limit of a project's dead events that match f, in
// letter order and, within a letter, in the order they arrived; the cursor
// of its answer gives the next page. Paging reads every matching event
// exactly once while the letters do not change.
func (s *Service) Peek(ctx context.Context, projectID string, f Filter, cursor string, limit int) (Page, error) {
	if limit <= 0 {
		limit = DefaultPeekLimit
	}
	limit = min(limit, MaxPeekLimit)
	var cur peekCursor
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || json.Unmarshal(b, &cur) != nil {
			return Page{}, ErrBadCursor
		}
	}
	after := cur.After
	if cur.At != "" {
		after = keyBefore(cur.At)
	}
	now := s.now()
	ids := idSet(f.EventIDs)
	page := Page{Data: []PeekedEvent{}}
	err := s.each(ctx, projectID, f.StreamID, after, func(l Letter) (bool, error) {
		if expired(l, now) || !f.Letter(l) {
			return true, nil
		}
		from := 0
		if cur.At != "" {
			if l.Key() == cur.At {
				from = cur.Offset
			}
			cur.At = ""
		}
		evs, err := s.Letters.Events(ctx, l)
		if err != nil {
			return false, err
		}
		for i := from; i < len(evs); i++ {
			if ids != nil && !ids[EventID(evs[i])] {
				continue
			}
			if len(page.Data) == limit {
				page.NextCursor = encodeCursor(peekCursor{At: l.Key(), Offset: i})
				return false, nil
			}
			page.Data = append(page.Data, PeekedEvent{LetterID: l.ID, StreamID: l.StreamID, DestinationType: l.DestinationType,
				Reason: l.Reason, Error: l.Error, ReceiveCount: l.ReceiveCount, ParkedAt: l.ParkedAt, ExpiresAt: l.ExpiresAt, Event: evs[i]})
		}
		return true, nil
	})
	if err != nil {
		return Page{}, fmt.Errorf("peek at dead letters of project %s: %w", projectID, err)
	}
	return page, nil
}

func encodeCursor(c peekCursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// keyBefore is a key that sorts just before k, so listing after it
// starts at k: keys are printable ASCII, and the byte before k's last,
// followed by the highest byte, sorts below k and above any key less than
// it.
func keyBefore(k string) string {
	if k == "" {
		return ""
	}
	last := k[len(k)-1]
	return k[:len(k)-1] + string(rune(last-1)) + "\x7f"
}

// EventID is an event's event_id, "" if it has none.
func EventID(ev json.RawMessage) string {
	var e struct {
		ID string `json:"event_id"`
	}
	_ = json.Unmarshal(ev, &e)
	return e.ID
}

func idSet(ids []string) map[string]bool {
	if len(ids) == 0 {
		return nil
	}
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// Key is a letter's place in its project's order: its stream, its parked
// time (fixed width, so keys sort by time) and its id.
func (l Letter) Key() string {
	return l.StreamID + "#" + l.ParkedAt.UTC().Format(keyTime) + "#" + l.ID
}

const keyTime = "2006-01-02T15:04:05.000000000Z"

// ErrInvalid is a request the service refuses; its text says why.
type ErrInvalid struct{ Msg string }

func (e *ErrInvalid) Error() string { return e.Msg }

// StartJob creates a redrive or purge job over the project's dead letters
// that match the request, and starts its worker. With an idempotency key,
// the same key (per project and kind) always names the same job: asking
// again returns the job created first, and created is false.
func (s *Service) StartJob(ctx context.Context, projectID string, kind Kind, req JobRequest, idempotencyKey string) (j Job, created bool, err error) {
	if err := req.Filter.Validate(); err != nil {
		return Job{}, false, &ErrInvalid{err.Error()}
	}
	if kind != KindRedrive && kind != KindPurge {
		return Job{}, false, &ErrInvalid{fmt.Sprintf("unknown job kind %q", kind)}
	}
	rate := 0
	if kind == KindRedrive {
		rate = DefaultRate
		if req.Rate != nil {
			rate = *req.Rate
		}
		if rate < 1 || rate > MaxRate {
			return Job{}, false, &ErrInvalid{fmt.Sprintf("rate must be 1 to %d events per second", MaxRate)}
		}
	}
	now := s.now()
	id := newJobID(now)
	if idempotencyKey != "" {
		if len(idempotencyKey) > 256 {
			return Job{}, false, &ErrInvalid{"Idempotency-Key must be at most 256 characters"}
		}
		sum := sha256.Sum256([]byte(projectID + "\x00" + string(kind) + "\x00" + idempotencyKey))
		id = "job_" + hex.EncodeToString(sum[:13])
	}
	j = Job{ID: id, ProjectID: projectID, Kind: kind, Filter: req.Filter, DryRun: req.DryRun, Rate: rate,
		State: StateQueued, CreatedAt: now, UpdatedAt: now}
	stored, err := s.Jobs.CreateJob(ctx, j)
	if errors.Is(err, ErrJobExists) {
		if !sameRequest(stored, j) {
			// A key names one request: answering another body with the
			// job of the first would let a caller believe the second (a
			// real purge after a dry run, say) was started.
			return Job{}, false, ErrKeyReused
		}
		return stored, false, nil
	}
	if err != nil {
		return Job{}, false, fmt.Errorf("create %s job for project %s: %w", kind, projectID, err)
	}
	if s.Starter != nil {
		if err := s.Starter.Start(ctx, projectID, stored.ID); err != nil {
			// Not the caller's failure: the job is stored, and the tick
			// starts it within its period.
			s.log().WarnContext(ctx, "start dead-letter job; the tick will", "project_id", projectID, "job_id", stored.ID, "err", err)
		}
	}
	return stored, true, nil
}

// ErrKeyReused is StartJob's error for an idempotency key that named a job
// of another request (filter, dry_run or rate).
var ErrKeyReused = errors.New("deadletter: the Idempotency-Key was used for another request")

// sameRequest reports whether two jobs were asked for alike: the same
// filter, dry run and rate (as JSON, so a filter read back from the store
// compares equal to the one asked for).
func sameRequest(a, b Job) bool {
	ja, err1 := json.Marshal(a.Filter)
	jb, err2 := json.Marshal(b.Filter)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb) && a.DryRun == b.DryRun && a.Rate == b.Rate
}

// newJobID is a job id that sorts by creation time (so a project's jobs
// list newest first) and is unique.
func newJobID(now time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("job_%013x%s", now.UnixMilli(), hex.EncodeToString(b[:]))
}

// Waiting counts a stream's dead letters, for enabling it.
func (s *Service) Waiting(ctx context.Context, projectID, streamID string) (Waiting, error) {
	sum, err := s.Summary(ctx, projectID, streamID)
	if err != nil {
		return Waiting{}, err
	}
	return Waiting{Events: sum.Events, Letters: sum.Letters}, nil
}

// Overview summarizes every project's dead letters, for operators.
func (s *Service) Overview(ctx context.Context) (Overview, error) {
	projects, err := s.Letters.Projects(ctx)
	if err != nil {
		return Overview{}, fmt.Errorf("list projects with dead letters: %w", err)
	}
	out := Overview{Projects: []Summary{}, Types: []TypeSummary{}}
	for _, p := range projects {
		sum, err := s.Summary(ctx, p, "")
		if err != nil {
			return Overview{}, err
		}
		if sum.Letters == 0 && sum.ExpiredEvents == 0 {
			continue
		}
		out.Projects = append(out.Projects, sum)
		out.Events += sum.Events
		counted := map[string]bool{}
		for _, st := range sum.Streams {
			if st.Letters == 0 {
				continue
			}
			i := slices.IndexFunc(out.Types, func(t TypeSummary) bool { return t.DestinationType == st.DestinationType })
			if i < 0 {
				i = len(out.Types)
				out.Types = append(out.Types, TypeSummary{DestinationType: st.DestinationType})
			}
			out.Types[i].Events += st.Events
			out.Types[i].Letters += st.Letters
			if !counted[st.DestinationType] {
				counted[st.DestinationType] = true
				out.Types[i].Projects++
			}
		}
	}
	slices.SortFunc(out.Types, func(a, b TypeSummary) int { return strings.Compare(a.DestinationType, b.DestinationType) })
	return out, nil
}

// Job reads one of a project's jobs.
func (s *Service) Job(ctx context.Context, projectID, id string) (Job, error) {
	return s.Jobs.GetJob(ctx, projectID, id)
}

// ListJobs returns a project's newest jobs, newest first.
func (s *Service) ListJobs(ctx context.Context, projectID string, limit int) ([]Job, error) {
	return s.Jobs.ListJobs(ctx, projectID, limit)
}
