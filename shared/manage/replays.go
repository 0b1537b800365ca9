package manage

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/httpapi"
	"github.com/logstream/logstream/shared/replay"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
)

// Replay route keys (topology spells them).
const (
	RouteReplayStream = topology.RouteReplayStream
	RouteReplayJobs   = topology.RouteReplayJobs
	RouteReplayJob    = topology.RouteReplayJob
	RouteCancelReplay = topology.RouteCancelReplay
)

// Replays is the replay service's operations the API serves
// (replay.Service).
type Replays interface {
	Plan(ctx context.Context, projectID, streamID string, req replay.Request) (replay.Plan, error)
	Start(ctx context.Context, projectID, streamID string, req replay.Request, idempotencyKey string) (replay.Job, bool, error)
	ValidStartFrom(startFrom time.Time) error
	Backfill(ctx context.Context, st stream.Stream, startFrom, live time.Time) (replay.Job, error)
	Started(ctx context.Context, j replay.Job)
	StreamEnabled(ctx context.Context, st stream.Stream, live time.Time) error
	Job(ctx context.Context, projectID, id string) (replay.Job, error)
	List(ctx context.Context, projectID string, limit int) ([]replay.Job, error)
	Cancel(ctx context.Context, projectID, id string) (replay.Job, error)
}

var _ Replays = (*replay.Service)(nil)

// replayRoutes are a project's replay routes, each scoped to the project
// in the path: a key replays, reads and cancels its own project's only.
var replayRoutes = map[string]streamRoute{
	RouteReplayStream: {apikey.AccessWrite, true, (*API).replayStream},
	RouteReplayJobs:   {apikey.AccessRead, false, (*API).replayJobs},
	RouteReplayJob:    {apikey.AccessRead, false, (*API).replayJob},
	RouteCancelReplay: {apikey.AccessWrite, false, (*API).cancelReplay},
}

func (a *API) replays() (Replays, error) {
	if a.Replays == nil {
		return nil, httpapi.Errorf(http.StatusServiceUnavailable, "replay_unavailable", "replay is not configured")
	}
	return a.Replays, nil
}

// replayError maps the replay service's errors to answers.
func replayError(err error) error {
	var inv *replay.ErrInvalid
	switch {
	case errors.As(err, &inv):
		return &stream.ValidationError{Field: inv.Field, Msg: inv.Msg}
	case errors.Is(err, replay.ErrJobNotFound):
		return httpapi.Errorf(http.StatusNotFound, "not_found", "replay job not found")
	case errors.Is(err, replay.ErrTooMany):
		return httpapi.Errorf(http.StatusTooManyRequests, "too_many_replays",
			"the project runs as many replays as it may at once; wait for one to end, or cancel one")
	case errors.Is(err, replay.ErrStreamNotActive):
		return httpapi.Errorf(http.StatusConflict, "stream_not_active", "replays go to active streams only; enable the stream first")
	case errors.Is(err, replay.ErrFinal):
		return httpapi.Errorf(http.StatusConflict, "replay_ended", "the replay has ended; there is nothing to cancel")
	case errors.Is(err, replay.ErrKeyReused):
		return &httpapi.Error{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", Field: "Idempotency-Key",
			Message: "this Idempotency-Key started a replay with another stream, window, filter or rate; use a new key for a new replay"}
	}
	return err
}

// DryRun answers a replay asked for with dry_run: what it would send,
// from the archive's index, and nothing started.
type DryRun struct {
	DryRun bool `json:"dry_run"`
	replay.Plan
}

// replayStream starts a replay of a window to the stream: 202 with the
// job, 200 with the job an earlier request with the same Idempotency-Key
// started, or 200 with the plan for a dry run.
func (a *API) replayStream(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	rp, err := a.replays()
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	body, err := a.body(c.req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var req replay.Request
	if err := stream.DecodeStrict(body, &req); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if req.DryRun {
		p, err := rp.Plan(ctx, c.projectID, c.streamID, req)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, replayError(err)
		}
		return httpapi.JSON(http.StatusOK, DryRun{DryRun: true, Plan: p}), nil
	}
	key := httpapi.Header(c.req, "idempotency-key")
	if err := httpapi.CheckIdempotencyKey(key); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	j, created, err := rp.Start(ctx, c.projectID, c.streamID, req, key)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, replayError(err)
	}
	status := http.StatusAccepted
	if !created {
		status = http.StatusOK
	}
	a.log().InfoContext(ctx, "replay", "project_id", c.projectID, "stream_id", c.streamID, "job_id", j.ID, "created", created,
		"since", j.Since, "until", j.Until)
	resp := httpapi.JSON(status, j)
	resp.Headers["location"] = "/v1/projects/" + c.projectID + "/replays/" + j.ID
	return resp, nil
}

// ReplayList is a page of a project's replay jobs, newest first.
type ReplayList struct {
	Data []replay.Job `json:"data"`
}

func (a *API) replayJobs(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	rp, err := a.replays()
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	limit := defaultPageLimit
	if v, ok := c.req.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			return events.APIGatewayV2HTTPResponse{}, &stream.ValidationError{Field: "limit", Msg: "must be a whole number from 1 to 100"}
		}
		limit = n
	}
	jobs, err := rp.List(ctx, c.projectID, limit)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, replayError(err)
	}
	if jobs == nil {
		jobs = []replay.Job{}
	}
	return httpapi.JSON(http.StatusOK, ReplayList{Data: jobs}), nil
}

// replayJobID reads the path's job id; one that cannot name a replay job
// is answered as an unknown one.
func replayJobID(req events.APIGatewayV2HTTPRequest) (string, error) {
	id := req.PathParameters["job_id"]
	if !strings.HasPrefix(id, "rpl_") || len(id) > 64 {
		return "", replayError(replay.ErrJobNotFound)
	}
	return id, nil
}

func (a *API) replayJob(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	rp, err := a.replays()
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	id, err := replayJobID(c.req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	j, err := rp.Job(ctx, c.projectID, id)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, replayError(err)
	}
	return httpapi.JSON(http.StatusOK, j), nil
}

func (a *API) cancelReplay(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	rp, err := a.replays()
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	id, err := replayJobID(c.req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	j, err := rp.Cancel(ctx, c.projectID, id)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, replayError(err)
	}
	a.log().InfoContext(ctx, "replay cancelled", "project_id", c.projectID, "job_id", j.ID, "state", j.State)
	return httpapi.JSON(http.StatusOK, j), nil
}

// liveAt is when live delivery reaches a stream created or enabled now:
// zero for one not active (its backfill waits until it is enabled).
func (a *API) liveAt(s stream.Stream) time.Time {
	if s.Status != stream.StatusActive {
		return time.Time{}
	}
	return a.now().Add(a.LiveAfter)
}

// backfillEnabled starts the waiting backfills of a stream that became
// active. Like emit, after the change: a failure is logged, not answered
// (the backfill then waits, and the log says why).
func (a *API) backfillEnabled(ctx context.Context, prev, s stream.Stream) {
	if a.Replays == nil || prev.Status == stream.StatusActive || s.Status != stream.StatusActive {
		return
	}
	if err := a.Replays.StreamEnabled(ctx, s, a.liveAt(s)); err != nil {
		a.log().ErrorContext(ctx, "backfill of an enabled stream not started", "project_id", s.ProjectID, "stream_id", s.ID, "err", err)
	}
}
