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
	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/httpapi"
	"github.com/logstream/logstream/shared/replay"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
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

// Route keys served, as API Gateway names them. Topology spells each once,
// for the deployment and for the handler: manage cannot be what topology
// reads them from, since every function links topology and only the API
// links manage.
const (
	RouteCreate  = topology.RouteCreateStream
	RouteList    = topology.RouteListStreams
	RouteGet     = topology.RouteGetStream
	RoutePatch   = topology.RoutePatchStream
	RoutePut     = topology.RoutePutStream
	RouteDelete  = topology.RouteDeleteStream
	RouteEnable  = topology.RouteEnableStream
	RouteDisable = topology.RouteDisableStream
	RouteHealth  = topology.RouteStreamHealth
	RouteTest    = topology.RouteTestStream

	RouteCreateKey = topology.RouteCreateKey
	RouteListKeys  = topology.RouteListKeys
	RouteRevokeKey = topology.RouteRevokeKey

	RouteQueueDepths = topology.RouteQueueDepths

	// RouteFallback takes every request no other route matches (API Gateway
	// tries a greedy route last), so that an unknown path or method is
	// answered 404 in its family's error shape instead of API Gateway's own
	// {"message":"Not Found"}, which Stytch's client reads as status 0 with
	// no message. RouteStytchFallback does the same under /pwa/.
	RouteFallback = topology.RouteFallback
)

// DefaultMaxStreams is the per-project stream limit when none is configured
// (the deployment sets the same default, topology.DefaultMaxStreams).
const DefaultMaxStreams = topology.DefaultMaxStreams

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
	// Masker applies the stream's masking rules to the test route's event,
	// as ingestion does to every other; nil sends a stream with rules no
	// test event (501).
	Masker Masker
	// Depths reads the depth of each destination type's Queues for the
	// operators' route; nil answers it 503.
	Depths QueueDepths
	Queues map[string]Queues
	// DeadLetters serves the dead-letter routes, the dead letters of the
	// health view and of enabling a stream; nil answers those routes 503.
	DeadLetters DeadLetters
	// Events receives lifecycle events (optional).
	Events Emitter
	// Notify tells of a suspended stream enabled again: the lifecycle event
	// logstream.stream.resumed and the operator's notice (optional).
	Notify Notifier
	// Failures ends a stream's failure run when it is enabled again, so the
	// run that suspended it does not suspend it again at once (optional).
	Failures FailureResetter
	// Suspension is the deployment's automatic suspension policy, for
	// health's suspends_at.
	Suspension stream.SuspensionPolicy
	Validator  stream.Validator
	// Log receives the handler's log lines (default slog.Default()).
	Log *slog.Logger
	Now func() time.Time
	// MaxStreams limits how many streams one project may have (0: DefaultMaxStreams).
	MaxStreams int
	// Retry paces the retries of a change that lost a race to another
	// request; the zero value is the production policy.
	Retry Retry
	// Replays serves the replay routes and start_from; nil answers them
	// 503.
	Replays Replays
	// Projects lists the projects that ever had a stream, for a key of
	// every project (GET /v1/projects); nil lists none.
	Projects ProjectLister
	// LiveAfter is how long after a stream is created or enabled every
	// ingestion function sees it (their stream cache's TTL): a backfill
	// runs until then, and live delivery takes over.
	LiveAfter time.Duration
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

// routed is one authorized request to a project's route: what its handler needs.
type routed struct {
	key       apikey.Key
	projectID string
	// streamID is the request's stream_id, valid on the routes under a stream.
	streamID string
	req      events.APIGatewayV2HTTPRequest
}

// streamRoute is a route under a project's streams: the access it needs on
// the project, and the method that serves it.
type streamRoute struct {
	need apikey.Access
	// perStream routes address one stream by its id, which is checked first.
	perStream bool
	serve     func(a *API, ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error)
}

// routes are the stream routes, by route key.
var routes = map[string]streamRoute{
	RouteCreate:  {apikey.AccessWrite, false, (*API).create},
	RouteList:    {apikey.AccessRead, false, (*API).list},
	RouteGet:     {apikey.AccessRead, true, (*API).get},
	RoutePatch:   {apikey.AccessWrite, true, (*API).update},
	RoutePut:     {apikey.AccessWrite, true, (*API).update},
	RouteDelete:  {apikey.AccessWrite, true, (*API).delete},
	RouteEnable:  {apikey.AccessWrite, true, (*API).enable},
	RouteDisable: {apikey.AccessWrite, true, (*API).disable},
	RouteHealth:  {apikey.AccessRead, true, (*API).healthOf},
	RouteTest:    {apikey.AccessWrite, true, (*API).testOf},
}

// adminRoutes are the admin-only routes (keys.go, queues.go), by route key.
var adminRoutes = map[string]func(a *API, ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error){
	RouteCreateKey: (*API).createKey,
	RouteListKeys:  (*API).listKeys,
	RouteRevokeKey: (*API).revokeKey,

	RouteQueueDepths:      (*API).queueDepths,
	RouteAdminDeadLetters: (*API).adminDeadLetters,
}

// route finds the request's route in the tables (this file's, and the
// Stytch routes of stytch.go), checks its key, and serves it. A route key
// in no table, the fallback routes among them, is answered 404.
func (a *API) route(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if serve, ok := presetRoutes[req.RouteKey]; ok {
		if _, err := a.anyKey(ctx, req); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return serve(req)
	}
	if serve, ok := keyRoutes[req.RouteKey]; ok {
		k, err := a.anyKey(ctx, req)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return serve(a, ctx, k, req)
	}
	if serve, ok := adminRoutes[req.RouteKey]; ok {
		if _, err := httpapi.Authorize(ctx, a.Auth, req, "", apikey.AccessWrite); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return serve(a, ctx, req)
	}
	r, ok := routes[req.RouteKey]
	if !ok {
		r, ok = deadLetterRoutes[req.RouteKey]
	}
	if !ok {
		r, ok = replayRoutes[req.RouteKey]
	}
	if ok {
		c, err := a.authorize(ctx, a.Auth, req, r.need)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if r.perStream {
			c.streamID = req.PathParameters["stream_id"]
			if !stream.ValidStreamID(c.streamID) {
				// A malformed id cannot name a stream: the same answer as an unknown one.
				return events.APIGatewayV2HTTPResponse{}, stream.ErrNotFound
			}
		}
		return r.serve(a, ctx, c)
	}
	if op, ok := stytchRoutes[req.RouteKey]; ok {
		auth := a.Auth
		if auth != nil { // nil stays nil: no authenticator refuses every request
			auth = workspaceKeys{auth}
		}
		c, err := a.authorize(ctx, auth, req, stytchAccess[op])
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return a.stytch(ctx, c, op)
	}
	if req.RouteKey == RouteFallback && req.RequestContext.HTTP.Method == http.MethodGet && req.RawPath == consoleRoot {
		// The console's page by its name: API Gateway's GET
		// /console/{proxy+} takes no empty path, so /console/ lands here.
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusPermanentRedirect,
			Headers: map[string]string{"location": consoleRoot + "index.html"}}, nil
	}
	return events.APIGatewayV2HTTPResponse{}, errNoRoute(req)
}

// consoleRoot is the web console's directory on the HTTP API (shared/console).
const consoleRoot = "/console/"

// authorize reads the project a request addresses and checks that its key
// has the access needed there.
func (a *API) authorize(ctx context.Context, auth httpapi.Authenticator, req events.APIGatewayV2HTTPRequest, need apikey.Access) (routed, error) {
	projectID, err := projectOf(req)
	if err != nil {
		return routed{}, err
	}
	key, err := httpapi.Authorize(ctx, auth, req, projectID, need)
	if err != nil {
		return routed{}, err
	}
	return routed{key: key, projectID: projectID, req: req}, nil
}

func (a *API) get(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	s, err := a.Streams.Get(ctx, c.projectID, c.streamID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return respond(http.StatusOK, s), nil
}

func (a *API) healthOf(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	s, err := a.Streams.Get(ctx, c.projectID, c.streamID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return a.health(ctx, s)
}

func (a *API) testOf(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	s, err := a.Streams.Get(ctx, c.projectID, c.streamID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return a.test(ctx, s)
}

// delete removes a stream, if it still is the version If-Match names.
func (a *API) delete(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	s, err := a.Streams.Get(ctx, c.projectID, c.streamID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if !httpapi.IfMatch(httpapi.Header(c.req, "if-match"), s.ETag()) {
		return events.APIGatewayV2HTTPResponse{}, httpapi.ErrPreconditionFailed
	}
	if err := a.Streams.Delete(ctx, c.projectID, c.streamID); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	a.log().InfoContext(ctx, "stream deleted", "project_id", c.projectID, "stream_id", c.streamID)
	a.emit(ctx, c.key, "deleted", s)
	return httpapi.NoContent(), nil
}

// update replaces a stream's request (PUT) or merges a patch into it (PATCH).
func (a *API) update(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	body, err := a.body(c.req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	s, changed, err := a.change(ctx, c.req, c.projectID, c.streamID, func(cur stream.Stream) (stream.Stream, error) {
		cr, err := updateRequest(cur, body, c.req.RouteKey == RoutePut)
		if err != nil {
			return stream.Stream{}, err
		}
		return a.Validator.Update(cur, cr, a.now())
	})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if changed {
		a.emit(ctx, c.key, "updated", s)
	}
	return respond(http.StatusOK, s), nil
}

// updateRequest is the stream's request after an update: body itself for a
// PUT, or body merged into cur's request (RFC 7396) for a PATCH.
func updateRequest(cur stream.Stream, body []byte, put bool) (stream.CreateRequest, error) {
	if !put {
		doc, _ := json.Marshal(cur.Request())
		merged, err := httpapi.MergePatch(doc, body)
		if err != nil {
			return stream.CreateRequest{}, &stream.ValidationError{Msg: "body is not a JSON merge patch object: " + err.Error()}
		}
		body = merged
	}
	var cr stream.CreateRequest
	if err := stream.DecodeStrict(body, &cr); err != nil {
		return stream.CreateRequest{}, err
	}
	if cr.StartFrom != nil {
		return stream.CreateRequest{}, &stream.ValidationError{Field: "start_from",
			Msg: "is taken when a stream is created; to send an existing stream past events, start a replay (POST …/replay)"}
	}
	return cr, nil
}

// enable makes a stream active, and says how many of its dead letters wait:
// with {"redrive_dead_letters": true} it also starts their redrive.
func (a *API) enable(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	var er enableRequest
	body, err := a.body(c.req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if len(body) > 0 {
		if err := stream.DecodeStrict(body, &er); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
	}
	if er.RedriveDeadLetters && a.DeadLetters == nil {
		return events.APIGatewayV2HTTPResponse{}, httpapi.Errorf(http.StatusServiceUnavailable, "dead_letters_unavailable", "the dead-letter store is not configured")
	}
	resp, err := a.switchTo(ctx, c, stream.StatusActive, "enabled")
	if err != nil || a.DeadLetters == nil {
		return resp, err
	}
	s, err := a.Streams.Get(ctx, c.projectID, c.streamID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	sum, err := a.DeadLetters.Summary(ctx, c.projectID, c.streamID)
	if err != nil {
		// The stream is enabled; only the count is missing.
		a.log().WarnContext(ctx, "count dead letters of an enabled stream", "stream_id", c.streamID, "err", err)
		return resp, nil
	}
	w := &deadletter.Waiting{Events: sum.Events, Letters: sum.Letters}
	if er.RedriveDeadLetters && sum.Events > 0 {
		j, _, err := a.DeadLetters.StartJob(ctx, c.projectID, deadletter.KindRedrive,
			deadletter.JobRequest{Filter: deadletter.Filter{StreamID: c.streamID}}, "")
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, deadLetterError(err)
		}
		w.Redrive = &j
	}
	out := httpapi.JSON(http.StatusOK, EnableResponse{Stream: s.Public(), DeadLetters: w})
	out.Headers["etag"] = s.ETag()
	return out, nil
}

func (a *API) disable(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	return a.switchTo(ctx, c, stream.StatusPaused, "disabled")
}

// switchTo sets a stream's status and announces the change, if it was one.
func (a *API) switchTo(ctx context.Context, c routed, status stream.Status, action string) (events.APIGatewayV2HTTPResponse, error) {
	s, prev, changed, err := a.setStatus(ctx, c.req, c.projectID, c.streamID, status)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if changed {
		a.emit(ctx, c.key, action, s)
		a.resumed(ctx, c.key, prev, s)
		a.backfillEnabled(ctx, prev, s)
	}
	return respond(http.StatusOK, s), nil
}

// resumed tells of a stream logstream had suspended that its owner enabled
// again, after its failure run is ended. Like emit, after the change: a
// failure is logged, not answered.
func (a *API) resumed(ctx context.Context, key apikey.Key, prev, s stream.Stream) {
	if prev.Status != stream.StatusSuspended || s.Status != stream.StatusActive {
		return
	}
	log := a.log().With("project_id", s.ProjectID, "stream_id", s.ID)
	if a.Failures != nil {
		if err := a.Failures.ResetFailures(ctx, s.ProjectID, s.ID); err != nil {
			log.ErrorContext(ctx, "failure run of a resumed stream not reset", "err", err)
		}
	}
	if a.Notify == nil {
		return
	}
	n := stream.Notice{Status: stream.StatusActive, ProjectID: s.ProjectID, StreamID: s.ID, StreamName: s.Name,
		DestinationType: s.DestinationType, Reason: prev.StatusReason, At: a.now().UTC(), ActorKeyID: key.ID}
	if err := a.Notify.Notify(ctx, n); err != nil {
		log.ErrorContext(ctx, "resumed notice not sent", "err", err)
	}
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
// It also returns the stream as it was before the change that was stored.
func (a *API) setStatus(ctx context.Context, req events.APIGatewayV2HTTPRequest, projectID, streamID string, status stream.Status) (stream.Stream, stream.Stream, bool, error) {
	var prev stream.Stream
	s, changed, err := a.change(ctx, req, projectID, streamID, func(cur stream.Stream) (stream.Stream, error) {
		prev = cur // the last call is the attempt that was stored
		if status == stream.StatusActive && cur.Status != stream.StatusActive {
			if err := a.Validator.CanActivate(cur.DestinationType); err != nil {
				return stream.Stream{}, err
			}
		}
		return stream.SetStatus(cur, status, a.now()), nil
	})
	return s, prev, changed, err
}

// respond answers a stream with its ETag.
func respond(status int, s stream.Stream) events.APIGatewayV2HTTPResponse {
	resp := httpapi.JSON(status, s.Public())
	resp.Headers["etag"] = s.ETag()
	return resp
}

func (a *API) create(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	body, err := a.body(c.req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var cr stream.CreateRequest
	if err := stream.DecodeStrict(body, &cr); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	s, backfill, err := a.createStream(ctx, c.key, c.projectID, cr)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	resp := respond(http.StatusCreated, s)
	if backfill != nil {
		resp = httpapi.JSON(http.StatusCreated, CreateResponse{Stream: s.Public(), Backfill: backfill})
		resp.Headers["etag"] = s.ETag()
	}
	resp.Headers["location"] = "/v1/projects/" + c.projectID + "/streams/" + s.ID
	return resp, nil
}

// CreateResponse answers a create with start_from: the stream, and the
// replay job that backfills it.
type CreateResponse struct {
	stream.Stream
	Backfill *replay.Job `json:"backfill,omitempty"`
}

// createStream validates, checks the project's limit, stores and announces a
// new stream.
// With start_from, it also creates the stream's backfill (a replay job):
// first, so a create that cannot store it fails before the stream exists
// and can be retried as it is; started once the stream is stored.
func (a *API) createStream(ctx context.Context, key apikey.Key, projectID string, cr stream.CreateRequest) (stream.Stream, *replay.Job, error) {
	s, err := a.Validator.New(projectID, cr, a.now())
	if err != nil {
		return stream.Stream{}, nil, err
	}
	var backfill *replay.Job
	if cr.StartFrom != nil {
		rp, err := a.replays()
		if err != nil {
			return stream.Stream{}, nil, err
		}
		if err := rp.ValidStartFrom(*cr.StartFrom); err != nil {
			return stream.Stream{}, nil, replayError(err)
		}
		j, err := rp.Backfill(ctx, s, *cr.StartFrom, a.liveAt(s))
		if err != nil {
			a.log().ErrorContext(ctx, "backfill of a new stream not stored; the stream is not created", "project_id", projectID, "err", err)
			return stream.Stream{}, nil, httpapi.Errorf(http.StatusServiceUnavailable, "backfill_not_started",
				"the stream's backfill could not be stored, so the stream was not created; retry the request")
		}
		backfill = &j
	}
	limit := cmp.Or(a.MaxStreams, DefaultMaxStreams)
	if err := a.Streams.Create(ctx, s.Stored(), limit); errors.Is(err, stream.ErrLimitReached) {
		return stream.Stream{}, nil, httpapi.Errorf(http.StatusConflict, "stream_limit_reached",
			"the project has %d streams, the most it may have; delete one first", limit)
	} else if err != nil {
		return stream.Stream{}, nil, err
	}
	a.log().InfoContext(ctx, "stream created", "project_id", projectID, "stream_id", s.ID, "destination_type", s.DestinationType)
	a.emit(ctx, key, "created", s)
	if backfill != nil {
		a.Replays.Started(ctx, *backfill)
		a.log().InfoContext(ctx, "backfill created", "project_id", projectID, "stream_id", s.ID, "job_id", backfill.ID)
	}
	return s, backfill, nil
}

func (a *API) list(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	limit := defaultPageLimit
	if v, ok := c.req.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			return events.APIGatewayV2HTTPResponse{}, &stream.ValidationError{Field: "limit", Msg: "must be a whole number from 1 to 100"}
		}
		limit = n
	}
	streams, next, err := a.Streams.List(ctx, c.projectID, limit, c.req.QueryStringParameters["cursor"])
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
