// Package replaytest is an in-memory replay job store (replay.Jobs) for
// tests, with the same conditions as shared/jobstore's: create only if
// absent, update only at the version read.
package replaytest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/logstream/logstream/shared/replay"
)

// Jobs is an in-memory replay.Jobs. The zero value is empty and ready.
type Jobs struct {
	mu   sync.Mutex
	jobs map[string]replay.Job // by project/id
}

var _ replay.Jobs = (*Jobs)(nil)

func key(projectID, id string) string { return projectID + "/" + id }

// Create stores a new job at version 1.
func (s *Jobs) Create(_ context.Context, j replay.Job) (replay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jobs == nil {
		s.jobs = map[string]replay.Job{}
	}
	if stored, ok := s.jobs[key(j.ProjectID, j.ID)]; ok {
		return stored, replay.ErrJobExists
	}
	j.Version = 1
	s.jobs[key(j.ProjectID, j.ID)] = j
	return j, nil
}

// Get reads a job.
func (s *Jobs) Get(_ context.Context, projectID, id string) (replay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[key(projectID, id)]
	if !ok {
		return replay.Job{}, replay.ErrJobNotFound
	}
	return j, nil
}

// List returns a project's newest jobs first.
func (s *Jobs) List(_ context.Context, projectID string, limit int) ([]replay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []replay.Job
	for _, j := range s.jobs {
		if j.ProjectID == projectID {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b replay.Job) int { return b.CreatedAt.Compare(a.CreatedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Update writes j if the stored job still has j.Version.
func (s *Jobs) Update(_ context.Context, j replay.Job) (replay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, ok := s.jobs[key(j.ProjectID, j.ID)]
	if !ok || stored.Version != j.Version {
		return j, replay.ErrJobConflict
	}
	j.Version++
	s.jobs[key(j.ProjectID, j.ID)] = j
	return j, nil
}

// Active returns every job not yet final.
func (s *Jobs) Active(_ context.Context) ([]replay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []replay.Job
	for _, j := range s.jobs {
		if !j.State.Final() {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b replay.Job) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// Slots is an in-memory replay.Slots. The zero value is empty and ready.
type Slots struct {
	mu    sync.Mutex
	slots map[string]slot // project/n → holder
	// Now stamps when a slot was taken (default time.Now).
	Now func() time.Time
}

type slot struct {
	job     string
	takenAt time.Time
}

var _ replay.Slots = (*Slots)(nil)

// Take gives jobID a free slot, its own, or one whose holder is done.
func (s *Slots) Take(_ context.Context, projectID, jobID string, max int, free func(string, time.Time) bool) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.slots == nil {
		s.slots = map[string]slot{}
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	for n := range max {
		k := fmt.Sprintf("%s/%d", projectID, n)
		cur, taken := s.slots[k]
		if taken && cur.job == jobID {
			return n, nil
		}
		if !taken || free(cur.job, cur.takenAt) {
			s.slots[k] = slot{job: jobID, takenAt: now}
			return n, nil
		}
	}
	return 0, replay.ErrTooMany
}

// Release frees slot n if jobID holds it.
func (s *Slots) Release(_ context.Context, projectID string, n int, jobID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := fmt.Sprintf("%s/%d", projectID, n)
	if s.slots[k].job == jobID {
		delete(s.slots, k)
	}
	return nil
}

// Held counts the slots held in a project.
func (s *Slots) Held(projectID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k := range s.slots {
		if strings.HasPrefix(k, projectID+"/") {
			n++
		}
	}
	return n
}
