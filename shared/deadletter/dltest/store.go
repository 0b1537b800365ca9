// Package dltest is the dead-letter store in memory, for tests: the real
// deadletter.Service runs over it, with the conditions the DynamoDB store
// (shared/dlstore) keeps — a letter's claim, and writes that act only on
// the revision and claim they read — so jobs can be run against each other
// without the stand-ins.
package dltest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/logstream/logstream/shared/deadletter"
)

// Store is the dead-letter store in memory (deadletter.Letters, Jobs and
// Counters). Its zero value is not ready: use New.
type Store struct {
	mu      sync.Mutex
	letters map[string]deadletter.Letter // by project and key
	events  map[string][]json.RawMessage // by letter id
	jobs    map[string]deadletter.Job    // by project and id
	expired map[string]map[string]int64  // project → stream → events
}

// New returns an empty store.
func New() *Store {
	return &Store{letters: map[string]deadletter.Letter{}, events: map[string][]json.RawMessage{},
		jobs: map[string]deadletter.Job{}, expired: map[string]map[string]int64{}}
}

var (
	_ deadletter.Letters  = (*Store)(nil)
	_ deadletter.Jobs     = (*Store)(nil)
	_ deadletter.Counters = (*Store)(nil)
)

func letterKey(l deadletter.Letter) string { return l.ProjectID + "/" + l.Key() }

// Put stores a letter unless one with its key is stored.
func (m *Store) Put(_ context.Context, l deadletter.Letter, evs []json.RawMessage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := letterKey(l)
	if _, ok := m.letters[k]; !ok {
		m.letters[k], m.events[l.ID] = l, evs
	}
	return nil
}

// List returns a page of a project's letters in key order.
func (m *Store) List(_ context.Context, projectID, streamID, after string, limit int) ([]deadletter.Letter, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []deadletter.Letter
	for _, l := range m.letters {
		if l.ProjectID == projectID && (streamID == "" || l.StreamID == streamID) && l.Key() > after {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b deadletter.Letter) int { return strings.Compare(a.Key(), b.Key()) })
	if len(out) > limit {
		return out[:limit], out[limit-1].Key(), nil
	}
	return out, "", nil
}

// Events returns a letter's events as they are now.
func (m *Store) Events(_ context.Context, l deadletter.Letter) ([]json.RawMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.events[l.ID], nil
}

// Claim takes a letter for jobID unless another job's claim on it lasts
// past now.
func (m *Store) Claim(_ context.Context, l deadletter.Letter, jobID string, now, until time.Time) (deadletter.Letter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.letters[letterKey(l)]
	switch {
	case !ok:
		return l, deadletter.ErrLetterGone
	case cur.Claim != "" && cur.Claim != jobID && cur.ClaimUntil.After(now):
		return l, deadletter.ErrLetterClaimed
	}
	cur.Claim, cur.ClaimUntil = jobID, until
	m.letters[letterKey(l)] = cur
	return cur, nil
}

// asRead reports whether the letter is still stored as l was read: gone
// (ErrLetterGone), or changed or claimed since (ErrLetterClaimed).
func (m *Store) asRead(l deadletter.Letter) error {
	cur, ok := m.letters[letterKey(l)]
	switch {
	case !ok:
		return deadletter.ErrLetterGone
	case cur.Revision != l.Revision || l.Claim != "" && cur.Claim != l.Claim:
		return deadletter.ErrLetterClaimed
	}
	return nil
}

// Replace keeps only evs of a letter still as read, and lets go of its
// claim.
func (m *Store) Replace(_ context.Context, l deadletter.Letter, evs []json.RawMessage) (deadletter.Letter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.asRead(l); err != nil {
		return l, err
	}
	l.Events, l.Revision = len(evs), l.Revision+1
	l.Claim, l.ClaimUntil = "", time.Time{}
	m.letters[letterKey(l)], m.events[l.ID] = l, evs
	return l, nil
}

// Delete removes a letter still as read; one already gone is not an error.
func (m *Store) Delete(_ context.Context, l deadletter.Letter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch err := m.asRead(l); err {
	case deadletter.ErrLetterGone:
		return nil
	case nil:
	default:
		return err
	}
	delete(m.letters, letterKey(l))
	delete(m.events, l.ID)
	return nil
}

// Projects lists the projects that have letters.
func (m *Store) Projects(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, l := range m.letters {
		if !slices.Contains(out, l.ProjectID) {
			out = append(out, l.ProjectID)
		}
	}
	slices.Sort(out)
	return out, nil
}

// CreateJob stores a new job.
func (m *Store) CreateJob(_ context.Context, j deadletter.Job) (deadletter.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := j.ProjectID + "/" + j.ID
	if cur, ok := m.jobs[k]; ok {
		return cur, deadletter.ErrJobExists
	}
	j.Version = 1
	m.jobs[k] = j
	return j, nil
}

// GetJob reads one job.
func (m *Store) GetJob(_ context.Context, projectID, id string) (deadletter.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[projectID+"/"+id]
	if !ok {
		return deadletter.Job{}, deadletter.ErrJobNotFound
	}
	return j, nil
}

// ListJobs returns a project's newest jobs first.
func (m *Store) ListJobs(_ context.Context, projectID string, limit int) ([]deadletter.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []deadletter.Job
	for _, j := range m.jobs {
		if j.ProjectID == projectID {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b deadletter.Job) int { return b.CreatedAt.Compare(a.CreatedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// UpdateJob writes a job if it still has the version read.
func (m *Store) UpdateJob(_ context.Context, j deadletter.Job) (deadletter.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := j.ProjectID + "/" + j.ID
	if cur, ok := m.jobs[k]; !ok || cur.Version != j.Version {
		return deadletter.Job{}, deadletter.ErrJobConflict
	}
	j.Version++
	m.jobs[k] = j
	return j, nil
}

// ActiveJobs returns every job not yet final.
func (m *Store) ActiveJobs(context.Context) ([]deadletter.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []deadletter.Job
	for _, j := range m.jobs {
		if !j.State.Final() {
			out = append(out, j)
		}
	}
	return out, nil
}

// AddExpired counts expired events of a stream.
func (m *Store) AddExpired(_ context.Context, projectID, streamID string, n int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.expired[projectID] == nil {
		m.expired[projectID] = map[string]int64{}
	}
	m.expired[projectID][streamID] += int64(n)
	return nil
}

// Expired returns a project's expired counts, by stream.
func (m *Store) Expired(_ context.Context, projectID string) (map[string]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int64{}
	for k, v := range m.expired[projectID] {
		out[k] = v
	}
	return out, nil
}
