// Package jobrun is what the functions that run long jobs share (the
// dead-letter function's redrives and purges, the replay function's
// replays): the payload that starts a job, the dispatch between a job and
// the schedule's tick, and the margin a worker keeps before its
// invocation's deadline. The API starts either kind with the same payload
// (shared/invoke.Starter).
package jobrun

import (
	"context"
	"encoding/json"
	"time"
)

// Margin is left before an invocation's deadline: a worker checkpoints and
// lets go of its job by then, so the next one resumes without waiting for
// the lease.
const Margin = 5 * time.Second

// Invocation is what a job function is invoked with: a job to run (the
// API's asynchronous start), or anything else (the schedule's event) for a
// tick.
type Invocation struct {
	Job *JobRef `json:"job,omitempty"`
}

// JobRef names a job.
type JobRef struct {
	ProjectID string `json:"project_id"`
	ID        string `json:"id"`
}

// Handle runs the job payload names, or the tick for any other payload.
func Handle(ctx context.Context, payload json.RawMessage, run func(ctx context.Context, projectID, id string) error, tick func(context.Context) error) error {
	var in Invocation
	if err := json.Unmarshal(payload, &in); err == nil && in.Job != nil {
		return run(ctx, in.Job.ProjectID, in.Job.ID)
	}
	return tick(ctx)
}

// NearDeadline reports whether ctx ends within Margin.
func NearDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < Margin
}
