package manage

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/httpapi"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
)

// Stytch-compatible routes: Stytch's event log streaming management API
// (Create, Get, Update, Delete, Enable, Disable), field for field, on
// logstream's own streams. A client written for Stytch works unchanged; the
// streams it makes are ordinary streams, visible and editable through the
// native routes too. Two path families name the same handlers: /v1, where a
// path names a logstream project, and Stytch's own /pwa/v3, where it names a
// Stytch project and environment (see StytchProjectID).
//
// Each key is spelled once, in topology (see RouteCreate).
const (
	RouteStytchCreate  = topology.RouteStytchCreate
	RouteStytchGet     = topology.RouteStytchGet
	RouteStytchUpdate  = topology.RouteStytchUpdate
	RouteStytchDelete  = topology.RouteStytchDelete
	RouteStytchEnable  = topology.RouteStytchEnable
	RouteStytchDisable = topology.RouteStytchDisable

	// The paths stytch-management-go v3 calls (pkg/api/eventlogstreaming.go).
	RouteStytchV3Create  = topology.RouteStytchV3Create
	RouteStytchV3Get     = topology.RouteStytchV3Get
	RouteStytchV3Update  = topology.RouteStytchV3Update
	RouteStytchV3Delete  = topology.RouteStytchV3Delete
	RouteStytchV3Enable  = topology.RouteStytchV3Enable
	RouteStytchV3Disable = topology.RouteStytchV3Disable

	// RouteStytchFallback takes every other request under /pwa/, to answer
	// it 404 in Stytch's error shape (see RouteFallback).
	RouteStytchFallback = topology.RouteStytchFallback
)

// stytchOp is what a Stytch-compatible route does, whichever path named it.
type stytchOp int

const (
	stytchCreate stytchOp = iota + 1
	stytchGet
	stytchUpdate
	stytchDelete
	stytchEnable
	stytchDisable
)

var stytchRoutes = map[string]stytchOp{
	RouteStytchCreate: stytchCreate, RouteStytchGet: stytchGet, RouteStytchUpdate: stytchUpdate,
	RouteStytchDelete: stytchDelete, RouteStytchEnable: stytchEnable, RouteStytchDisable: stytchDisable,
	RouteStytchV3Create: stytchCreate, RouteStytchV3Get: stytchGet, RouteStytchV3Update: stytchUpdate,
	RouteStytchV3Delete: stytchDelete, RouteStytchV3Enable: stytchEnable, RouteStytchV3Disable: stytchDisable,
}

// stytchAccess is the access each operation needs on its project.
var stytchAccess = map[stytchOp]apikey.Access{stytchCreate: apikey.AccessWrite, stytchGet: apikey.AccessRead,
	stytchUpdate: apikey.AccessWrite, stytchDelete: apikey.AccessWrite, stytchEnable: apikey.AccessWrite,
	stytchDisable: apikey.AccessWrite}

// stytchFamily reports whether a request is answered in Stytch's error shape:
// the Stytch-compatible routes, anything else under /pwa/, and an unknown
// path below a project's /v1 event_log_streaming.
func stytchFamily(req events.APIGatewayV2HTTPRequest) bool {
	if _, ok := stytchRoutes[req.RouteKey]; ok || req.RouteKey == RouteStytchFallback {
		return true
	}
	seg := strings.Split(strings.TrimPrefix(req.RawPath, "/"), "/")
	return req.RouteKey == RouteFallback && len(seg) >= 4 && seg[0] == "v1" && seg[1] == "projects" && seg[3] == "event_log_streaming"
}

// stytchSlug is what logstream accepts as a Stytch project or environment
// slug: no dot, so that StytchProjectID can join two of them with one.
var stytchSlug = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

// StytchProjectID is the logstream project that a Stytch project and
// environment address on the /pwa/v3 routes: "<project>.<environment>", for
// example acme.production. Slugs are 1 to 63 letters, digits, '-' or '_',
// starting with a letter or digit, so the id is a valid project id and the
// mapping is reversible (split at the one dot). API keys are scoped to that
// id like to any project: a key for acme.test cannot touch acme.production.
func StytchProjectID(project, environment string) (string, error) {
	const rule = "must be 1 to 63 letters, digits, '-' or '_', starting with a letter or digit"
	switch {
	case !stytchSlug.MatchString(project):
		return "", &stream.ValidationError{Field: "project_slug", Msg: rule}
	case !stytchSlug.MatchString(environment):
		return "", &stream.ValidationError{Field: "environment_slug", Msg: rule}
	}
	return project + "." + environment, nil
}

// workspaceKeys authenticates the Stytch routes' callers as Stytch's client
// authenticates: a bearer token (its access token: here a logstream API key)
// or its workspace key, "Basic base64(<key id>:<secret>)", here a logstream
// key's id and secret. The id must be the secret's own key id ("admin" for
// the bootstrap admin key), so a Basic header proves nothing a bearer one
// does not; the key's project scope and access then apply as on any route.
// No answer ever challenges for Basic (WWW-Authenticate stays Bearer), so a
// browser never caches these credentials and replays them.
type workspaceKeys struct{ keys httpapi.Authenticator }

func (w workspaceKeys) Authenticate(ctx context.Context, authorization string) (apikey.Key, error) {
	basic := http.Request{Header: http.Header{"Authorization": {authorization}}}
	id, secret, ok := basic.BasicAuth()
	if !ok {
		return w.keys.Authenticate(ctx, authorization)
	}
	k, err := w.keys.Authenticate(ctx, "Bearer "+secret)
	if err != nil {
		return apikey.Key{}, err
	}
	if k.ID != id {
		return apikey.Key{}, apikey.ErrUnauthenticated
	}
	return k, nil
}

// Stytch's destination types and the logstream types they are.
var stytchTypes = map[string]string{"DATADOG": destination.Datadog, "GRAFANA_LOKI": destination.GrafanaLoki}

// Stytch names Datadog sites by region (US, US3, US5, EU, AP1); logstream
// stores the site's domain.
var stytchSites = map[string]string{"US": "datadoghq.com", "US3": "us3.datadoghq.com", "US5": "us5.datadoghq.com",
	"EU": "datadoghq.eu", "AP1": "ap1.datadoghq.com"}

// StytchConfig is Stytch's destination_config: exactly one member is set.
type StytchConfig struct {
	Datadog     *StytchDatadog `json:"datadog,omitempty"`
	GrafanaLoki *StytchLoki    `json:"grafana_loki,omitempty"`
}

// StytchDatadog is Stytch's Datadog config; responses carry api_key_last_four instead of api_key.
type StytchDatadog struct {
	Site           string `json:"site,omitempty"`
	APIKey         string `json:"api_key,omitempty"`
	APIKeyLastFour string `json:"api_key_last_four,omitempty"`
}

// StytchLoki is Stytch's Grafana Loki config; responses carry password_last_four.
type StytchLoki struct {
	Hostname         string `json:"hostname"`
	Username         string `json:"username"`
	Password         string `json:"password,omitempty"`
	PasswordLastFour string `json:"password_last_four,omitempty"`
}

// StytchStream is Stytch's event_log_streaming_config.
type StytchStream struct {
	DestinationType   string       `json:"destination_type"`
	DestinationConfig StytchConfig `json:"destination_config"`
	StreamingStatus   string       `json:"streaming_status"`
}

type stytchRequest struct {
	// ProjectID: Stytch's client repeats the path's project in the body.
	ProjectID         string        `json:"project_id,omitempty"`
	DestinationType   string        `json:"destination_type,omitempty"`
	DestinationConfig *StytchConfig `json:"destination_config"`
	// StartFrom, on create only, backfills the stream with the project's
	// archived events from then on, once it is enabled (logstream's own
	// member: Stytch has none).
	StartFrom *time.Time `json:"start_from,omitempty"`
}

// decodeStytch reads a Stytch request body; a project_id in it must be the path's.
func decodeStytch(body []byte, projectID string) (stytchRequest, error) {
	var sr stytchRequest
	if err := stream.DecodeStrict(body, &sr); err != nil {
		return sr, err
	}
	if sr.ProjectID != "" && sr.ProjectID != projectID {
		return sr, &stream.ValidationError{Field: "project_id", Msg: "does not match the project in the path"}
	}
	return sr, nil
}

// stytchErrorTypes are Stytch's names for logstream's error codes.
var stytchErrorTypes = map[string]string{"invalid_request": "invalid_argument", "invalid_json": "invalid_argument",
	"unauthenticated": "unauthorized_credentials", "forbidden": "unauthorized_credentials"}

// StytchErrorType is Stytch's error_type for a logstream error code.
func StytchErrorType(code string) string {
	if t, ok := stytchErrorTypes[code]; ok {
		return t
	}
	return code
}

// stytchError answers in Stytch's error shape, with the status, code and
// message that httpapi.AsError gives the native routes.
func stytchError(req events.APIGatewayV2HTTPRequest, err error) events.APIGatewayV2HTTPResponse {
	ae := httpapi.AsError(err)
	return httpapi.Answer(ae, map[string]any{
		"status_code": ae.Status, "request_id": req.RequestContext.RequestID,
		"error_type": StytchErrorType(ae.Code), "error_message": ae.Message,
	})
}

// stytchOK answers 200 in Stytch's envelope, with s as its
// event_log_streaming_config when s is not nil. sent is the destination_config
// of a Create or Update: see toStytch.
func stytchOK(req events.APIGatewayV2HTTPRequest, s *stream.Stream, sent *StytchConfig) events.APIGatewayV2HTTPResponse {
	body := map[string]any{"request_id": req.RequestContext.RequestID, "status_code": http.StatusOK}
	if s != nil {
		body["event_log_streaming_config"] = toStytch(*s, sent)
	}
	return httpapi.JSON(http.StatusOK, body)
}

// toStytch renders a stream as Stytch does. With sent nil (Get) the secret
// is masked to its last four characters. With sent, the destination_config
// of the Create or Update being answered, the secret is the one the caller
// just sent, as Stytch's client expects (its create and update answers carry
// api_key and password and no last four): a caller that compares its config
// with the answer sees no difference. Only a value the request carried, and
// that the stream now holds, is echoed; a secret the request left out is not
// filled in from storage, and no other answer shows one.
func toStytch(s stream.Stream, sent *StytchConfig) StytchStream {
	out := StytchStream{StreamingStatus: "ACTIVE"}
	if s.Status != stream.StatusActive {
		out.StreamingStatus = "DISABLED"
	}
	if sent == nil {
		sent = &StytchConfig{}
	}
	c, err := s.Destination()
	if err != nil {
		return out
	}
	switch cfg := c.(type) {
	case *destination.DatadogConfig:
		out.DestinationType = "DATADOG"
		site := cfg.Site
		for name, domain := range stytchSites {
			if domain == cfg.Site {
				site = name
			}
		}
		dd := &StytchDatadog{Site: site, APIKeyLastFour: destination.LastFour(cfg.APIKey)}
		if sent.Datadog != nil && sent.Datadog.APIKey != "" && sent.Datadog.APIKey == cfg.APIKey {
			dd.APIKey, dd.APIKeyLastFour = cfg.APIKey, ""
		}
		out.DestinationConfig.Datadog = dd
	case *destination.GrafanaLokiConfig:
		out.DestinationType = "GRAFANA_LOKI"
		loki := &StytchLoki{Hostname: cfg.Hostname, Username: cfg.Username, PasswordLastFour: destination.LastFour(cfg.Password)}
		if sent.GrafanaLoki != nil && sent.GrafanaLoki.Password != "" && sent.GrafanaLoki.Password == cfg.Password {
			loki.Password, loki.PasswordLastFour = cfg.Password, ""
		}
		out.DestinationConfig.GrafanaLoki = loki
	}
	return out
}

// fromStytch turns Stytch's destination_config into logstream's for typ.
func fromStytch(typ string, c *StytchConfig) (json.RawMessage, error) {
	if c == nil {
		return nil, &stream.ValidationError{Field: "destination_config", Msg: "is required"}
	}
	// Stytch: "either grafana_loki or datadog must be specified, which
	// matches the destination type"; anything else is invalid_argument.
	switch {
	case typ == destination.Datadog && c.Datadog != nil && c.GrafanaLoki == nil:
		site, ok := stytchSites[strings.ToUpper(c.Datadog.Site)]
		if !ok {
			return nil, &stream.ValidationError{Field: "destination_config.datadog.site", Msg: "must be one of US, US3, US5, EU, AP1"}
		}
		return json.Marshal(map[string]any{"site": site, "api_key": c.Datadog.APIKey})
	case typ == destination.GrafanaLoki && c.GrafanaLoki != nil && c.Datadog == nil:
		// Stytch streams to Loki as gzip JSON; so do streams made here.
		return json.Marshal(map[string]any{"hostname": c.GrafanaLoki.Hostname, "username": c.GrafanaLoki.Username,
			"password": c.GrafanaLoki.Password, "format": "json"})
	}
	return nil, &stream.ValidationError{Field: "destination_config", Msg: "must set exactly the member matching destination_type"}
}

// stytch serves the Stytch-compatible routes. Stytch's API addresses a
// project's one stream of each destination type, by that type: every
// operation but create first finds it.
func (a *API) stytch(ctx context.Context, c routed, op stytchOp) (events.APIGatewayV2HTTPResponse, error) {
	if op == stytchCreate {
		return a.createStytch(ctx, c)
	}
	typ, ok := stytchTypes[c.req.PathParameters["destination_type"]]
	if !ok {
		return events.APIGatewayV2HTTPResponse{}, &stream.ValidationError{Field: "destination_type", Msg: "must be DATADOG or GRAFANA_LOKI"}
	}
	cur, err := a.findByType(ctx, c.projectID, typ)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	switch op {
	case stytchGet:
		return stytchOK(c.req, &cur, nil), nil
	case stytchDelete:
		return a.deleteStytch(ctx, c, cur)
	case stytchUpdate:
		return a.updateStytch(ctx, c, typ, cur)
	case stytchEnable:
		return a.switchStytch(ctx, c, cur, stream.StatusActive, "enabled")
	default: // stytchDisable
		return a.switchStytch(ctx, c, cur, stream.StatusPaused, "disabled")
	}
}

// createStytch creates the project's stream of a destination type, paused,
// unless it has one.
func (a *API) createStytch(ctx context.Context, c routed) (events.APIGatewayV2HTTPResponse, error) {
	body, err := a.body(c.req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	sr, err := decodeStytch(body, c.projectID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	typ, ok := stytchTypes[sr.DestinationType]
	if !ok {
		return events.APIGatewayV2HTTPResponse{}, &stream.ValidationError{Field: "destination_type", Msg: "must be DATADOG or GRAFANA_LOKI"}
	}
	if _, err := a.findByType(ctx, c.projectID, typ); err == nil {
		return events.APIGatewayV2HTTPResponse{}, httpapi.Errorf(http.StatusConflict, "duplicate_destination",
			"the project already streams to %s; update it instead", sr.DestinationType)
	} else if !errors.Is(err, stream.ErrNotFound) {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	cfg, err := fromStytch(typ, sr.DestinationConfig)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	// As in Stytch, a new config streams once it is enabled.
	s, _, err := a.createStream(ctx, c.key, c.projectID, stream.CreateRequest{Name: strings.ToLower(sr.DestinationType) + " (event log streaming)",
		DestinationType: typ, DestinationConfig: cfg, Status: stream.StatusPaused, StartFrom: sr.StartFrom})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return stytchOK(c.req, &s, sr.DestinationConfig), nil
}

func (a *API) deleteStytch(ctx context.Context, c routed, cur stream.Stream) (events.APIGatewayV2HTTPResponse, error) {
	if err := a.Streams.Delete(ctx, c.projectID, cur.ID); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	a.emit(ctx, c.key, "deleted", cur)
	return stytchOK(c.req, nil, nil), nil
}

// updateStytch replaces the destination config of the project's stream of
// type typ, keeping the rest of the stream.
func (a *API) updateStytch(ctx context.Context, c routed, typ string, cur stream.Stream) (events.APIGatewayV2HTTPResponse, error) {
	body, err := a.body(c.req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	sr, err := decodeStytch(body, c.projectID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if sr.DestinationType != "" && stytchTypes[sr.DestinationType] != typ {
		return events.APIGatewayV2HTTPResponse{}, &stream.ValidationError{Field: "destination_type", Msg: "does not match the destination type in the path"}
	}
	if sr.StartFrom != nil {
		return events.APIGatewayV2HTTPResponse{}, &stream.ValidationError{Field: "start_from", Msg: "is taken when a stream is created; to send it past events, start a replay"}
	}
	cfg, err := fromStytch(typ, sr.DestinationConfig)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	s, changed, err := a.change(ctx, c.req, c.projectID, cur.ID, func(cur stream.Stream) (stream.Stream, error) {
		r := cur.Request()
		r.DestinationConfig = cfg
		return a.Validator.Update(cur, r, a.now())
	})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if changed {
		a.emit(ctx, c.key, "updated", s)
	}
	return stytchOK(c.req, &s, sr.DestinationConfig), nil
}

// switchStytch enables or pauses the project's stream of a type.
func (a *API) switchStytch(ctx context.Context, c routed, cur stream.Stream, status stream.Status, action string) (events.APIGatewayV2HTTPResponse, error) {
	s, prev, changed, err := a.setStatus(ctx, c.req, c.projectID, cur.ID, status)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if changed {
		a.emit(ctx, c.key, action, s)
		a.resumed(ctx, c.key, prev, s)
		a.backfillEnabled(ctx, prev, s)
	}
	return stytchOK(c.req, nil, nil), nil
}

// findByType returns the project's oldest stream of a destination type: the
// one Stytch's one-destination-per-type API addresses.
func (a *API) findByType(ctx context.Context, projectID, typ string) (stream.Stream, error) {
	cursor := ""
	for {
		page, next, err := a.Streams.List(ctx, projectID, maxPageLimit, cursor)
		if err != nil {
			return stream.Stream{}, err
		}
		for _, s := range page {
			if s.DestinationType == typ {
				return a.Streams.Get(ctx, projectID, s.ID)
			}
		}
		if next == "" {
			return stream.Stream{}, stream.ErrNotFound
		}
		cursor = next
	}
}
