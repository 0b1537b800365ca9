// Package manage is the management API: per-project streams, created, listed,
// read and deleted through API Gateway's HTTP API.
package manage

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/httpapi"
	"github.com/logstream/logstream/shared/stream"
)

// Streams is the storage the API needs.
type Streams interface {
	// Create stores a new stream unless its project already has limit
	// streams (stream.ErrLimitReached), atomically: however many creates
	// race, the project never has more.
	Create(ctx context.Context, s stream.Stream, limit int) error
	Get(ctx context.Context, projectID, streamID string) (stream.Stream, error)
	List(ctx context.Context, projectID string, limit int, cursor string) ([]stream.Stream, string, error)
	Update(ctx context.Context, s stream.Stream, expectedVersion int64) error
	Delete(ctx context.Context, projectID, streamID string) error
}

// Route keys served, as API Gateway names them (topology declares the same).
const (
	RouteCreate  = "POST /v1/projects/{project_id}/streams"
	RouteList    = "GET /v1/projects/{project_id}/streams"
	RouteGet     = "GET /v1/projects/{project_id}/streams/{stream_id}"
	RoutePatch   = "PATCH /v1/projects/{project_id}/streams/{stream_id}"
	RoutePut     = "PUT /v1/projects/{project_id}/streams/{stream_id}"
	RouteDelete  = "DELETE /v1/projects/{project_id}/streams/{stream_id}"
	RouteEnable  = "POST /v1/projects/{project_id}/streams/{stream_id}/enable"
	RouteDisable = "POST /v1/projects/{project_id}/streams/{stream_id}/disable"
	RouteHealth  = "GET /v1/projects/{project_id}/streams/{stream_id}/health"
	RouteTest    = "POST /v1/projects/{project_id}/streams/{stream_id}/test"

	RouteCreateKey = "POST /v1/keys"
	RouteListKeys  = "GET /v1/keys"
	RouteRevokeKey = "DELETE /v1/keys/{key_id}"

	// RouteFallback takes every request no other route matches (API Gateway
	// tries a greedy route last), so that an unknown path or method is
	// answered 404 in its family's error shape instead of API Gateway's own
	// {"message":"Not Found"}, which Stytch's client reads as status 0 with
	// no message. RouteStytchFallback does the same under /pwa/.
	RouteFallback = "ANY /{proxy+}"
)

// DefaultMaxStreams is the per-project stream limit when none is configured.
const DefaultMaxStreams = 25

const (
	maxBodyBytes     = 64 << 10
	defaultPageLimit = 20
	maxPageLimit     = 100
)

// Keys is the API key storage the admin routes need.
type Keys interface {
	Create(ctx context.Context, k apikey.Key) error
	List(ctx context.Context) ([]apikey.Key, error)
	Revoke(ctx context.Context, id string, now time.Time) (apikey.Key, error)
}

// API serves the management routes.
type API struct {
	// Auth checks every request's API key; nil refuses every request.
	Auth    httpapi.Authenticator
	Keys    Keys
	Streams Streams
	// HealthReader serves the health route.
	HealthReader HealthReader
	// Tester sends the test route's event; nil answers that route 501.
	Tester Tester
	// Events receives lifecycle events (optional).
	Events    Emitter
	Validator stream.Validator
	// Log receives the handler's log lines (default slog.Default()).
	Log *slog.Logger
	Now func() time.Time
	// MaxStreams limits how many streams one project may have (0: DefaultMaxStreams).
	MaxStreams int
	// Retry paces the retries of a change that lost a race to another
	// request; the zero value is the production policy.
	Retry Retry
}

// ListResponse is a page of streams.
type ListResponse struct {
	Data       []stream.Stream `json:"data"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// Handle is the Lambda handler.
func (a *API) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	resp, err := a.route(ctx, req)
	if err != nil {
		if stytchFamily(req) {
			httpapi.Fail(ctx, a.Log, req, err) // logged once, answered Stytch's way
			return stytchError(req, err), nil
		}
		return httpapi.Fail(ctx, a.Log, req, err), nil
	}
	return resp, nil
}

// log is a.Log, or slog.Default() when nil: the nil-logger rule of every
// logstream handler.
func (a *API) log() *slog.Logger { return cmp.Or(a.Log, slog.Default()) }

// routes maps each stream route to the access it needs on its project.
var routes = map[string]apikey.Access{RouteCreate: apikey.AccessWrite, RouteList: apikey.AccessRead,
	RouteGet: apikey.AccessRead, RoutePatch: apikey.AccessWrite, RoutePut: apikey.AccessWrite,
	RouteDelete: apikey.AccessWrite, RouteEnable: apikey.AccessWrite, RouteDisable: apikey.AccessWrite,
	RouteHealth: apikey.AccessRead, RouteTest: apikey.AccessWrite}

func (a *API) route(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	switch req.RouteKey {
	case RouteCreateKey, RouteListKeys, RouteRevokeKey:
		if _, err := httpapi.Authorize(ctx, a.Auth, req, "", apikey.AccessWrite); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return a.keys(ctx, req)
	}
	need, ok := routes[req.RouteKey]
	op, stytch := stytchRoutes[req.RouteKey]
	if stytch {
		need, ok = stytchAccess[op], true
	}
	if !ok {
		return events.APIGatewayV2HTTPResponse{}, errNoRoute(req)
	}
	projectID, err := projectOf(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	auth := a.Auth
	if stytch && auth != nil {
		auth = workspaceKeys{auth}
	}
	key, err := httpapi.Authorize(ctx, auth, req, projectID, need)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if stytch {
		return a.stytch(ctx, key, projectID, op, req)
	}
	switch req.RouteKey {
	case RouteCreate:
		return a.create(ctx, key, projectID, req)
	case RouteList:
		return a.list(ctx, projectID, req)
	}
	streamID := req.PathParameters["stream_id"]
	if !stream.ValidStreamID(streamID) {
		// A malformed id cannot name a stream: the same answer as an unknown one.
		return events.APIGatewayV2HTTPResponse{}, stream.ErrNotFound
	}
	switch req.RouteKey {
	case RouteGet, RouteHealth, RouteTest:
		s, err := a.Streams.Get(ctx, projectID, streamID)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		switch req.RouteKey {
		case RouteHealth:
			return a.health(ctx, s)
		case RouteTest:
			return a.test(ctx, s)
		}
		return respond(http.StatusOK, s), nil
	case RouteDelete:
		s, err := a.Streams.Get(ctx, projectID, streamID)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if !httpapi.IfMatch(httpapi.Header(req, "if-match"), s.ETag()) {
			return events.APIGatewayV2HTTPResponse{}, httpapi.ErrPreconditionFailed
		}
		if err := a.Streams.Delete(ctx, projectID, streamID); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		a.log().InfoContext(ctx, "stream deleted", "project_id", projectID, "stream_id", streamID)
		a.emit(ctx, key, "deleted", s)
		return httpapi.NoContent(), nil
	case RoutePatch, RoutePut:
		body, err := a.body(req)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		s, changed, err := a.change(ctx, req, projectID, streamID, func(cur stream.Stream) (stream.Stream, error) {
			var cr stream.CreateRequest
			if req.RouteKey == RoutePut {
				if err := stream.DecodeStrict(body, &cr); err != nil {
					return stream.Stream{}, err
				}
			} else {
				doc, _ := json.Marshal(cur.Request())
				merged, err := httpapi.MergePatch(doc, body)
				if err != nil {
					return stream.Stream{}, &stream.ValidationError{Msg: "body is not a JSON merge patch object: " + err.Error()}
				}
				if err := stream.DecodeStrict(merged, &cr); err != nil {
					return stream.Stream{}, err
				}
			}
			return a.Validator.Update(cur, cr, a.now())
		})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if changed {
			a.emit(ctx, key, "updated", s)
		}
		return respond(http.StatusOK, s), nil
	case RouteEnable, RouteDisable:
		status := stream.StatusActive
		if req.RouteKey == RouteDisable {
			status = stream.StatusPaused
		}
		s, changed, err := a.setStatus(ctx, req, projectID, streamID, status)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if changed {
			a.emit(ctx, key, map[string]string{RouteEnable: "enabled", RouteDisable: "disabled"}[req.RouteKey], s)
		}
		return respond(http.StatusOK, s), nil
	}
	panic("unreachable: every key of routes is handled")
}

// errNoRoute answers a request no route serves: one of the fallback routes,
// or a route key this function was not built for.
func errNoRoute(req events.APIGatewayV2HTTPRequest) error {
	what := req.RouteKey
	if req.RouteKey == RouteFallback || req.RouteKey == RouteStytchFallback {
		const most = 200 // of an arbitrary path, echoed back
		what = req.RequestContext.HTTP.Method + " " + req.RawPath
		if len(what) > most {
			what = what[:most] + "…"
		}
	}
	return httpapi.Errorf(http.StatusNotFound, "route_not_found", "no route %s", what)
}

// projectOf is the project a request addresses: its project_id, or on
// Stytch's /pwa/v3 routes the one its project and environment slugs map to.
func projectOf(req events.APIGatewayV2HTTPRequest) (string, error) {
	if slug, ok := req.PathParameters["project_slug"]; ok {
		return StytchProjectID(slug, req.PathParameters["environment_slug"])
	}
	id := req.PathParameters["project_id"]
	if !stream.ValidProjectID(id) {
		return "", &stream.ValidationError{Field: "project_id", Msg: "is not a valid project id"}
	}
	return id, nil
}

// body returns a JSON request body within the size limit.
func (a *API) body(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if err := httpapi.RequireJSON(req); err != nil {
		return nil, err
	}
	body, err := httpapi.Body(req)
	if err != nil {
		return nil, err
	}
	if len(body) > maxBodyBytes {
		return nil, httpapi.Errorf(http.StatusRequestEntityTooLarge, "payload_too_large",
			"request body is %d bytes; the limit is %d", len(body), maxBodyBytes)
	}
	return body, nil
}

// change applies fn to the stored stream and writes the result, guarded by
// its version. With If-Match, a stream changed since that version answers
// 412. Without it, a concurrent write is retried on the fresh version, with
// jittered backoff until the retry deadline, so concurrent PATCHes of
// different fields all take effect; only contention that lasts past that
// deadline answers 409.
func (a *API) change(ctx context.Context, req events.APIGatewayV2HTTPRequest, projectID, streamID string,
	fn func(stream.Stream) (stream.Stream, error)) (s stream.Stream, changed bool, err error) {
	ifMatch := httpapi.Header(req, "if-match")
	deadline := a.Retry.deadline(ctx, a.now())
	for attempt := 1; ; attempt++ {
		cur, err := a.Streams.Get(ctx, projectID, streamID)
		if err != nil {
			return stream.Stream{}, false, err
		}
		if !httpapi.IfMatch(ifMatch, cur.ETag()) {
			return stream.Stream{}, false, httpapi.ErrPreconditionFailed
		}
		next, err := fn(cur)
		if err != nil {
			return stream.Stream{}, false, err
		}
		if next.Version == cur.Version {
			return cur, false, nil // nothing changed
		}
		err = a.Streams.Update(ctx, next.Stored(), cur.Version)
		switch {
		case err == nil:
			a.log().InfoContext(ctx, "stream updated", "project_id", projectID, "stream_id", streamID, "route", req.RouteKey,
				"version", next.Version, "attempts", attempt)
			return next, true, nil
		case errors.Is(err, stream.ErrConflict) && ifMatch != "" && ifMatch != "*":
			return stream.Stream{}, false, httpapi.ErrPreconditionFailed
		case errors.Is(err, stream.ErrConflict) && a.Retry.pause(ctx, a.now, deadline, attempt):
			continue
		default:
			return stream.Stream{}, false, err
		}
	}
}

// setStatus enables or pauses a stream; only a deliverable one can be active.
func (a *API) setStatus(ctx context.Context, req events.APIGatewayV2HTTPRequest, projectID, streamID string, status stream.Status) (stream.Stream, bool, error) {
	return a.change(ctx, req, projectID, streamID, func(cur stream.Stream) (stream.Stream, error) {
		if status == stream.StatusActive && cur.Status != stream.StatusActive {
			if err := a.Validator.CanActivate(cur.DestinationType); err != nil {
				return stream.Stream{}, err
			}
		}
		return stream.SetStatus(cur, status, a.now()), nil
	})
}

// respond answers a stream with its ETag.
func respond(status int, s stream.Stream) events.APIGatewayV2HTTPResponse {
	resp := httpapi.JSON(status, s.Public())
	resp.Headers["etag"] = s.ETag()
	return resp
}

func (a *API) create(ctx context.Context, key apikey.Key, projectID string, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	body, err := a.body(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var cr stream.CreateRequest
	if err := stream.DecodeStrict(body, &cr); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	s, err := a.createStream(ctx, key, projectID, cr)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	resp := respond(http.StatusCreated, s)
	resp.Headers["location"] = "/v1/projects/" + projectID + "/streams/" + s.ID
	return resp, nil
}

// createStream validates, checks the project's limit, stores and announces a
// new stream.
func (a *API) createStream(ctx context.Context, key apikey.Key, projectID string, cr stream.CreateRequest) (stream.Stream, error) {
	s, err := a.Validator.New(projectID, cr, a.now())
	if err != nil {
		return stream.Stream{}, err
	}
	limit := cmp.Or(a.MaxStreams, DefaultMaxStreams)
	if err := a.Streams.Create(ctx, s.Stored(), limit); errors.Is(err, stream.ErrLimitReached) {
		return stream.Stream{}, httpapi.Errorf(http.StatusConflict, "stream_limit_reached",
			"the project has %d streams, the most it may have; delete one first", limit)
	} else if err != nil {
		return stream.Stream{}, err
	}
	a.log().InfoContext(ctx, "stream created", "project_id", projectID, "stream_id", s.ID, "destination_type", s.DestinationType)
	a.emit(ctx, key, "created", s)
	return s, nil
}

func (a *API) list(ctx context.Context, projectID string, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	limit := defaultPageLimit
	if v, ok := req.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			return events.APIGatewayV2HTTPResponse{}, &stream.ValidationError{Field: "limit", Msg: "must be a whole number from 1 to 100"}
		}
		limit = n
	}
	streams, next, err := a.Streams.List(ctx, projectID, limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	out := ListResponse{Data: make([]stream.Stream, 0, len(streams)), NextCursor: next}
	for _, s := range streams {
		out.Data = append(out.Data, s.Public())
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}
