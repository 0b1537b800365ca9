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
	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/httpapi"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
)

// Dead-letter route keys (topology spells them).
const (
	RouteDeadLetterSummary = topology.RouteDeadLetterSummary
	RouteDeadLetterEvents  = topology.RouteDeadLetterEvents
	RouteDeadLetterRedrive = topology.RouteDeadLetterRedrive
	RouteDeadLetterPurge   = topology.RouteDeadLetterPurge
	RouteDeadLetterJobs    = topology.RouteDeadLetterJobs
	RouteDeadLetterJob     = topology.RouteDeadLetterJob
	RouteAdminDeadLetters  = topology.RouteAdminDeadLetters
)

// DeadLetters is the dead-letter store's operations the API serves
// (deadletter.Service).
type DeadLetters interface {
	Summary(ctx context.Context, projectID, streamID string) (deadletter.Summary, error)
	Peek(ctx context.Context, projectID string, f deadletter.Filter, cursor string, limit int) (deadletter.Page, error)
	StartJob(ctx context.Context, projectID string, kind deadletter.Kind, req deadletter.JobRequest, idempotencyKey string) (deadletter.Job, bool, error)
	Job(ctx context.Context, projectID, id string) (deadletter.Job, error)
	ListJobs(ctx context.Context, projectID string, limit int) ([]deadletter.Job, error)
	Overview(ctx context.Context) (deadletter.Overview, error)
}

var _ DeadLetters = (*deadletter.Service)(nil)

// deadLetterRoutes are a project's dead-letter routes. Every one is scoped
// to the project in the path, which the key must be granted: a project's
// key sees and acts on its own dead letters only.
var deadLetterRoutes = map[string]streamRoute{
	RouteDeadLetterSummary: {apikey.AccessRead, false, (*API).deadLetterSummary},
	RouteDeadLetterEvents:  {apikey.AccessRead, false, (*API).deadLetterEvents},
	RouteDeadLetterRedrive: {apikey.AccessWrite, false, (*API).deadLetterRedrive},
	RouteDeadLetterPurge:   {apikey.AccessWrite, false, (*API).deadLetterPurge},
	RouteDeadLetterJobs:    {apikey.AccessRead, false, (*API).deadLetterJobs},
	RouteDeadLetterJob:     {apikey.AccessRead, false, (*API).deadLetterJob},
}

func (a *API) deadLetters() (DeadLetters, error) {
	if a.DeadLetters == nil {
		return nil, httpapi.Errorf(http.StatusServiceUnavailable, "dead_letters_unavailable", "the dead-letter store is not configured")
	}
	return a.DeadLetters, nil
}

// deadLetterError maps the dead-letter store's errors to answers.
func deadLetterError(err error) error {
	var inv *deadletter.ErrInvalid
	switch {
	case errors.As(err, &inv):
		return httpapi.Errorf(http.StatusBadRequest, "invalid_request", "%s", inv.Msg)
	case errors.Is(err, deadletter.ErrBadCursor):
		return httpapi.Errorf(http.StatusBadRequest, "invalid_request", "cursor is not one this API issued")
	case errors.Is(err, deadletter.ErrJobNotFound):
		return httpapi.Errorf(http.StatusNotFound, "not_found", "job not found")
	case errors.Is(err, deadletter.ErrKeyReused):
		return &httpapi.Error{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", Field: "Idempotency-Key",
			Message: "this Idempotency-Key started a job with another filter, dry_run or rate; use a new key for a new job"}
	}
	return err
}

func (a *API) deadLetterSummary(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	dl, err := a.deadLetters()
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	f, err := queryFilter(c.req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	sum, err := dl.Summary(ctx, c.projectID, f.StreamID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, deadLetterError(err)
	}
	return httpapi.JSON(http.StatusOK, sum), nil
}

func (a *API) deadLetterEvents(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	dl, err := a.deadLetters()
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	f, err := queryFilter(c.req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	limit := deadletter.DefaultPeekLimit
	if v, ok := c.req.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > deadletter.MaxPeekLimit {
			return events.APIGatewayV2HTTPResponse{}, httpapi.Errorf(http.StatusBadRequest, "invalid_request",
				"limit must be 1 to %d", deadletter.MaxPeekLimit)
		}
		limit = n
	}
	page, err := dl.Peek(ctx, c.projectID, f, c.req.QueryStringParameters["cursor"], limit)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, deadLetterError(err)
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

// queryFilter reads a Filter from the query: stream_id, reason (a comma
// list), parked_after and parked_before (RFC 3339), event_ids (a comma
// list; API Gateway joins a repeated parameter with commas too).
func queryFilter(req events.APIGatewayV2HTTPRequest) (deadletter.Filter, error) {
	q := req.QueryStringParameters
	f := deadletter.Filter{StreamID: q["stream_id"]}
	// A list given but empty (event_ids=,,) would otherwise read as no
	// filter at all: everything, where the caller asked for a few.
	for _, name := range []string{"reason", "event_ids"} {
		if v, ok := q[name]; ok && len(splitList(v)) == 0 {
			return f, httpapi.Errorf(http.StatusBadRequest, "invalid_request", "%s names nothing; leave it out to take every %s", name,
				map[string]string{"reason": "reason", "event_ids": "event"}[name])
		}
	}
	for _, r := range splitList(q["reason"]) {
		f.Reasons = append(f.Reasons, stream.DeadLetterReason(r))
	}
	f.EventIDs = splitList(q["event_ids"])
	for _, p := range []struct {
		name string
		to   **time.Time
	}{{"parked_after", &f.ParkedAfter}, {"parked_before", &f.ParkedBefore}} {
		v, ok := q[p.name]
		if !ok {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, httpapi.Errorf(http.StatusBadRequest, "invalid_request", "%s must be an RFC 3339 time", p.name)
		}
		*p.to = &t
	}
	if err := f.Validate(); err != nil {
		return f, httpapi.Errorf(http.StatusBadRequest, "invalid_request", "%s", err)
	}
	return f, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (a *API) deadLetterRedrive(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	return a.startJob(ctx, c, deadletter.KindRedrive)
}

func (a *API) deadLetterPurge(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	return a.startJob(ctx, c, deadletter.KindPurge)
}

// startJob starts a redrive or purge: 202 with the new job, or 200 with the
// job an earlier request with the same Idempotency-Key started.
func (a *API) startJob(ctx context.Context, c routed, kind deadletter.Kind) (events.APIGatewayV2HTTPResponse, error) {
	dl, err := a.deadLetters()
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	body, err := a.body(c.req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var req deadletter.JobRequest
	if len(body) > 0 {
		if err := stream.DecodeStrict(body, &req); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
	}
	if kind == deadletter.KindPurge && req.Rate != nil {
		return events.APIGatewayV2HTTPResponse{}, httpapi.Errorf(http.StatusBadRequest, "invalid_request", "a purge takes no rate")
	}
	j, created, err := dl.StartJob(ctx, c.projectID, kind, req, httpapi.Header(c.req, "idempotency-key"))
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, deadLetterError(err)
	}
	status := http.StatusAccepted
	if !created {
		status = http.StatusOK
	}
	a.log().InfoContext(ctx, "dead-letter job", "project_id", c.projectID, "job_id", j.ID, "kind", kind, "dry_run", req.DryRun, "created", created)
	resp := httpapi.JSON(status, j)
	resp.Headers["location"] = "/v1/projects/" + c.projectID + "/dead-letters/jobs/" + j.ID
	return resp, nil
}

func (a *API) deadLetterJobs(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	dl, err := a.deadLetters()
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	limit := defaultPageLimit
	if v, ok := c.req.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			return events.APIGatewayV2HTTPResponse{}, httpapi.Errorf(http.StatusBadRequest, "invalid_request", "limit must be 1 to %d", maxPageLimit)
		}
		limit = n
	}
	jobs, err := dl.ListJobs(ctx, c.projectID, limit)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, deadLetterError(err)
	}
	if jobs == nil {
		jobs = []deadletter.Job{}
	}
	return httpapi.JSON(http.StatusOK, deadletter.JobList{Data: jobs}), nil
}

func (a *API) deadLetterJob(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	dl, err := a.deadLetters()
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	id := c.req.PathParameters["job_id"]
	if !strings.HasPrefix(id, "job_") || len(id) > 64 {
		return events.APIGatewayV2HTTPResponse{}, deadLetterError(deadletter.ErrJobNotFound)
	}
	j, err := dl.Job(ctx, c.projectID, id)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, deadLetterError(err)
	}
	return httpapi.JSON(http.StatusOK, j), nil
}

// AdminDeadLetters answers the operators' route: the store's overview, and
// what sits in each type's SQS DLQ right now, not yet drained into it (as
// RouteQueueDepths reports it; absent if SQS could not be read).
type AdminDeadLetters struct {
	deadletter.Overview
	DeadLetterQueues []TypeDLQ `json:"dead_letter_queues,omitempty"`
}

// TypeDLQ is one destination type's DLQ depth.
type TypeDLQ struct {
	DestinationType string     `json:"destination_type"`
	DeadLetterQueue QueueDepth `json:"dead_letter_queue"`
}

// adminDeadLetters is the operators' view across projects and types.
func (a *API) adminDeadLetters(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	dl, err := a.deadLetters()
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	o, err := dl.Overview(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	out := AdminDeadLetters{Overview: o}
	if qs, err := a.depths(ctx); err == nil {
		for _, q := range qs {
			out.DeadLetterQueues = append(out.DeadLetterQueues, TypeDLQ{DestinationType: q.DestinationType, DeadLetterQueue: q.DeadLetterQueue})
		}
	} else {
		a.log().WarnContext(ctx, "read DLQ depths for the dead-letter overview", "err", err)
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

// enableRequest is the optional body of the enable route.
type enableRequest struct {
	// RedriveDeadLetters starts a redrive of the stream's dead letters
	// once it is enabled.
	RedriveDeadLetters bool `json:"redrive_dead_letters"`
}

// EnableResponse answers the enable route: the stream, and its dead
// letters waiting (and the redrive started, if asked for).
type EnableResponse struct {
	stream.Stream
	DeadLetters *deadletter.Waiting `json:"dead_letters,omitempty"`
}
