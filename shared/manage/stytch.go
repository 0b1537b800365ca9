package manage

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/httpapi"
	"github.com/logstream/logstream/shared/stream"
)

// Stytch-compatible routes: Stytch's event log streaming management API
// (pwa/v3 event_log_streaming: Create, Get, Update, Delete, Enable, Disable),
// field for field, on logstream's own streams. A client written for Stytch
// works unchanged; the streams it makes are ordinary streams, visible and
// editable through the native routes too.
const (
	RouteStytchCreate  = "POST /v1/projects/{project_id}/event_log_streaming"
	RouteStytchGet     = "GET /v1/projects/{project_id}/event_log_streaming/{destination_type}"
	RouteStytchUpdate  = "PUT /v1/projects/{project_id}/event_log_streaming/{destination_type}"
	RouteStytchDelete  = "DELETE /v1/projects/{project_id}/event_log_streaming/{destination_type}"
	RouteStytchEnable  = "POST /v1/projects/{project_id}/event_log_streaming/{destination_type}/enable"
	RouteStytchDisable = "POST /v1/projects/{project_id}/event_log_streaming/{destination_type}/disable"
)

var stytchRoutes = map[string]apikey.Access{RouteStytchCreate: apikey.AccessWrite, RouteStytchGet: apikey.AccessRead,
	RouteStytchUpdate: apikey.AccessWrite, RouteStytchDelete: apikey.AccessWrite,
	RouteStytchEnable: apikey.AccessWrite, RouteStytchDisable: apikey.AccessWrite}

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

// stytchError answers in Stytch's error shape.
func stytchError(req events.APIGatewayV2HTTPRequest, err error) events.APIGatewayV2HTTPResponse {
	resp := httpapi.Fail(context.Background(), discard, req, err)
	var body struct {
		Error httpapi.Error `json:"error"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &body)
	errType := StytchErrorType(body.Error.Code)
	out := httpapi.JSON(resp.StatusCode, map[string]any{
		"status_code": resp.StatusCode, "request_id": req.RequestContext.RequestID,
		"error_type": errType, "error_message": body.Error.Message,
	})
	for k, v := range resp.Headers {
		out.Headers[k] = v
	}
	return out
}

func stytchOK(req events.APIGatewayV2HTTPRequest, s *stream.Stream) events.APIGatewayV2HTTPResponse {
	body := map[string]any{"request_id": req.RequestContext.RequestID, "status_code": http.StatusOK}
	if s != nil {
		body["event_log_streaming_config"] = toStytch(*s)
	}
	return httpapi.JSON(http.StatusOK, body)
}

// toStytch renders a stream as Stytch does on Get: secrets masked to their
// last four characters. (Stytch echoes the secret in Create and Update
// answers; logstream never returns a stored secret, so those are masked too.)
func toStytch(s stream.Stream) StytchStream {
	out := StytchStream{StreamingStatus: "ACTIVE"}
	if s.Status != stream.StatusActive {
		out.StreamingStatus = "DISABLED"
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
		out.DestinationConfig.Datadog = &StytchDatadog{Site: site, APIKeyLastFour: destination.LastFour(cfg.APIKey)}
	case *destination.GrafanaLokiConfig:
		out.DestinationType = "GRAFANA_LOKI"
		out.DestinationConfig.GrafanaLoki = &StytchLoki{Hostname: cfg.Hostname, Username: cfg.Username,
			PasswordLastFour: destination.LastFour(cfg.Password)}
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

// stytch serves the Stytch-compatible routes.
func (a *API) stytch(ctx context.Context, key apikey.Key, projectID string, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if req.RouteKey == RouteStytchCreate {
		body, err := a.body(req)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		sr, err := decodeStytch(body, projectID)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		typ, ok := stytchTypes[sr.DestinationType]
		if !ok {
			return events.APIGatewayV2HTTPResponse{}, &stream.ValidationError{Field: "destination_type", Msg: "must be DATADOG or GRAFANA_LOKI"}
		}
		if _, err := a.findByType(ctx, projectID, typ); err == nil {
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
		s, err := a.createStream(ctx, key, projectID, stream.CreateRequest{Name: strings.ToLower(sr.DestinationType) + " (event log streaming)",
			DestinationType: typ, DestinationConfig: cfg, Status: stream.StatusPaused})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return stytchOK(req, &s), nil
	}
	typ, ok := stytchTypes[req.PathParameters["destination_type"]]
	if !ok {
		return events.APIGatewayV2HTTPResponse{}, &stream.ValidationError{Field: "destination_type", Msg: "must be DATADOG or GRAFANA_LOKI"}
	}
	cur, err := a.findByType(ctx, projectID, typ)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	switch req.RouteKey {
	case RouteStytchGet:
		return stytchOK(req, &cur), nil
	case RouteStytchDelete:
		if err := a.Streams.Delete(ctx, projectID, cur.ID); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		a.emit(ctx, key, "deleted", cur)
		return stytchOK(req, nil), nil
	case RouteStytchUpdate:
		body, err := a.body(req)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		sr, err := decodeStytch(body, projectID)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if sr.DestinationType != "" && stytchTypes[sr.DestinationType] != typ {
			return events.APIGatewayV2HTTPResponse{}, &stream.ValidationError{Field: "destination_type", Msg: "does not match the destination type in the path"}
		}
		cfg, err := fromStytch(typ, sr.DestinationConfig)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		s, changed, err := a.change(ctx, req, projectID, cur.ID, func(cur stream.Stream) (stream.Stream, error) {
			r := cur.Request()
			r.DestinationConfig = cfg
			return a.Validator.Update(cur, r, a.now())
		})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if changed {
			a.emit(ctx, key, "updated", s)
		}
		return stytchOK(req, &s), nil
	default: // enable, disable
		status, action := stream.StatusActive, "enabled"
		if req.RouteKey == RouteStytchDisable {
			status, action = stream.StatusPaused, "disabled"
		}
		s, changed, err := a.setStatus(ctx, req, projectID, cur.ID, status)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if changed {
			a.emit(ctx, key, action, s)
		}
		return stytchOK(req, nil), nil
	}
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
