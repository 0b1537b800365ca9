// Package stytchtest is the other side of logstream's Stytch-compatible routes,
// for tests: a client that sends exactly the requests Stytch's own Go
// management client sends for event log streaming, and reads the answers
// exactly as that client reads them.
//
// It mirrors github.com/stytchauth/stytch-management-go/v3 (version 3.2.0,
// read at commit 62fd939): pkg/api/eventlogstreaming.go (methods and paths),
// pkg/api/internal/stytch.go (headers and how an answer is decoded),
// pkg/models/eventlogstreaming/types.go and pkg/stytcherror (the types, field
// for field with the same JSON tags). That client is not on the Go module
// proxy, so it cannot be a test dependency; this is written from reading it.
// What the client does that matters here:
//
//   - Authorization is "Basic base64(<workspace key id>:<secret>)" when a key
//     pair is configured, else "Bearer <access token>".
//   - Every request carries Content-Type: application/json and User-Agent
//     stytch-management-go/<version>, and a body only on Create, Update,
//     Enable and Disable (Enable and Disable send "{}": every field of their
//     request types is json:"-").
//   - Slugs are put into the path with fmt.Sprintf, unescaped.
//   - 200 and 201 are success: the body is decoded into the response type,
//     and a body that does not decode is an error.
//   - Any other status: the body is decoded into stytcherror.Error. A body
//     that decodes, whatever its members, is the error returned — so API
//     Gateway's {"message":"Not Found"} becomes status 0 with an empty
//     message. Only a 404 whose body is not JSON becomes "Not found.".
package stytchtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Version is the client release mirrored; it is sent in User-Agent.
const Version = "3.2.0"

// Destination types and streaming statuses, as the client names them.
const (
	DestinationDatadog     = "DATADOG"
	DestinationGrafanaLoki = "GRAFANA_LOKI"
	StatusActive           = "ACTIVE"
	StatusDisabled         = "DISABLED"
)

// DatadogConfig is the client's eventlogstreaming.DatadogConfig.
type DatadogConfig struct {
	APIKey string `json:"api_key,omitempty"`
	Site   string `json:"site,omitempty"`
}

// DatadogConfigMasked is the client's eventlogstreaming.DatadogConfigMasked.
type DatadogConfigMasked struct {
	APIKeyLastFour string `json:"api_key_last_four,omitempty"`
	Site           string `json:"site,omitempty"`
}

// GrafanaLokiConfig is the client's eventlogstreaming.GrafanaLokiConfig.
type GrafanaLokiConfig struct {
	Hostname string `json:"hostname,omitempty"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
}

// GrafanaLokiConfigMasked is the client's eventlogstreaming.GrafanaLokiConfigMasked.
type GrafanaLokiConfigMasked struct {
	Hostname         string `json:"hostname,omitempty"`
	Username         string `json:"username,omitempty"`
	PasswordLastFour string `json:"password_last_four,omitempty"`
}

// DestinationConfig is the client's eventlogstreaming.DestinationConfig.
type DestinationConfig struct {
	Datadog     *DatadogConfig     `json:"datadog,omitempty"`
	GrafanaLoki *GrafanaLokiConfig `json:"grafana_loki,omitempty"`
}

// DestinationConfigMasked is the client's eventlogstreaming.DestinationConfigMasked.
type DestinationConfigMasked struct {
	Datadog     *DatadogConfigMasked     `json:"datadog,omitempty"`
	GrafanaLoki *GrafanaLokiConfigMasked `json:"grafana_loki,omitempty"`
}

// EventLogStreaming is the client's eventlogstreaming.EventLogStreaming: what
// Create and Update answer, the secret included.
type EventLogStreaming struct {
	DestinationType   string             `json:"destination_type,omitempty"`
	DestinationConfig *DestinationConfig `json:"destination_config,omitempty"`
	StreamingStatus   string             `json:"streaming_status,omitempty"`
}

// EventLogStreamingMasked is the client's eventlogstreaming.EventLogStreamingMasked: what Get answers.
type EventLogStreamingMasked struct {
	DestinationType   string                   `json:"destination_type,omitempty"`
	DestinationConfig *DestinationConfigMasked `json:"destination_config,omitempty"`
	StreamingStatus   string                   `json:"streaming_status,omitempty"`
}

// CreateRequest is the client's eventlogstreaming.CreateRequest.
type CreateRequest struct {
	ProjectSlug       string             `json:"-"`
	EnvironmentSlug   string             `json:"-"`
	DestinationType   string             `json:"destination_type,omitempty"`
	DestinationConfig *DestinationConfig `json:"destination_config,omitempty"`
}

// UpdateRequest is the client's eventlogstreaming.UpdateRequest.
type UpdateRequest struct {
	ProjectSlug       string             `json:"-"`
	EnvironmentSlug   string             `json:"-"`
	DestinationType   string             `json:"-"`
	DestinationConfig *DestinationConfig `json:"destination_config,omitempty"`
}

// Target names one config: the client's Get, Delete, Enable and Disable
// requests, whose fields are all json:"-".
type Target struct {
	ProjectSlug     string `json:"-"`
	EnvironmentSlug string `json:"-"`
	DestinationType string `json:"-"`
}

// CreateResponse is the client's eventlogstreaming.CreateResponse (UpdateResponse is the same).
type CreateResponse struct {
	RequestID               string            `json:"request_id,omitempty"`
	EventLogStreamingConfig EventLogStreaming `json:"event_log_streaming_config,omitempty"`
	StatusCode              int               `json:"status_code,omitempty"`
}

// UpdateResponse is the client's eventlogstreaming.UpdateResponse.
type UpdateResponse = CreateResponse

// GetResponse is the client's eventlogstreaming.GetResponse.
type GetResponse struct {
	RequestID               string                  `json:"request_id,omitempty"`
	EventLogStreamingConfig EventLogStreamingMasked `json:"event_log_streaming_config,omitempty"`
	StatusCode              int                     `json:"status_code,omitempty"`
}

// AckResponse is the client's DeleteResponse, EnableResponse and DisableResponse.
type AckResponse struct {
	RequestID  string `json:"request_id,omitempty"`
	StatusCode int    `json:"status_code,omitempty"`
}

// Error is the client's stytcherror.Error: every answer but 200 and 201.
type Error struct {
	StatusCode   int    `json:"status_code,omitempty"`
	RequestID    string `json:"request_id,omitempty"`
	ErrorType    string `json:"error_type,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
	ErrorURL     string `json:"error_url,omitempty"`
}

func (e Error) Error() string {
	return fmt.Sprintf("Stytch Error - request ID: %s, status code: %d, type: %s, message: %s",
		e.RequestID, e.StatusCode, e.ErrorType, e.ErrorMessage)
}

// Client sends the event log streaming calls as the Stytch client does.
type Client struct {
	// BaseURL replaces https://management.stytch.com (no trailing slash).
	BaseURL string
	// WorkspaceKeyID and WorkspaceKeySecret, when both are set, authenticate
	// with HTTP Basic; otherwise AccessToken is sent as a bearer token.
	WorkspaceKeyID, WorkspaceKeySecret string
	AccessToken                        string
	// HTTP is the client to send with; nil means http.DefaultClient.
	HTTP *http.Client
}

func path(project, environment string, rest ...string) string {
	return fmt.Sprintf("/pwa/v3/projects/%s/environments/%s/event_log_streaming", project, environment) +
		strings.Join(append([]string{""}, rest...), "/")
}

// checkTarget refuses what the client refuses before sending anything.
func checkTarget(project, environment, destination string, needDestination bool) error {
	switch {
	case project == "":
		return errors.New("ProjectSlug cannot be empty")
	case environment == "":
		return errors.New("EnvironmentSlug cannot be empty")
	case needDestination && destination == "":
		return errors.New("DestinationType cannot be empty")
	}
	return nil
}

// Create is EventLogStreamingClient.Create.
func (c *Client) Create(ctx context.Context, r CreateRequest) (*CreateResponse, error) {
	if err := checkTarget(r.ProjectSlug, r.EnvironmentSlug, "", false); err != nil {
		return nil, err
	}
	var out CreateResponse
	return &out, c.call(ctx, http.MethodPost, path(r.ProjectSlug, r.EnvironmentSlug), r, &out)
}

// Update is EventLogStreamingClient.Update.
func (c *Client) Update(ctx context.Context, r UpdateRequest) (*UpdateResponse, error) {
	if err := checkTarget(r.ProjectSlug, r.EnvironmentSlug, r.DestinationType, true); err != nil {
		return nil, err
	}
	var out UpdateResponse
	return &out, c.call(ctx, http.MethodPut, path(r.ProjectSlug, r.EnvironmentSlug, r.DestinationType), r, &out)
}

// Get is EventLogStreamingClient.Get.
func (c *Client) Get(ctx context.Context, r Target) (*GetResponse, error) {
	if err := checkTarget(r.ProjectSlug, r.EnvironmentSlug, r.DestinationType, true); err != nil {
		return nil, err
	}
	var out GetResponse
	return &out, c.call(ctx, http.MethodGet, path(r.ProjectSlug, r.EnvironmentSlug, r.DestinationType), nil, &out)
}

// Delete is EventLogStreamingClient.Delete.
func (c *Client) Delete(ctx context.Context, r Target) (*AckResponse, error) {
	return c.ack(ctx, http.MethodDelete, r, "", nil)
}

// Enable is EventLogStreamingClient.Enable.
func (c *Client) Enable(ctx context.Context, r Target) (*AckResponse, error) {
	return c.ack(ctx, http.MethodPost, r, "enable", r)
}

// Disable is EventLogStreamingClient.Disable.
func (c *Client) Disable(ctx context.Context, r Target) (*AckResponse, error) {
	return c.ack(ctx, http.MethodPost, r, "disable", r)
}

func (c *Client) ack(ctx context.Context, method string, r Target, action string, body any) (*AckResponse, error) {
	if err := checkTarget(r.ProjectSlug, r.EnvironmentSlug, r.DestinationType, true); err != nil {
		return nil, err
	}
	rest := []string{r.DestinationType}
	if action != "" {
		rest = append(rest, action)
	}
	var out AckResponse
	return &out, c.call(ctx, method, path(r.ProjectSlug, r.EnvironmentSlug, rest...), body, &out)
}

// call marshals body (nil sends none) and decodes the answer into out.
func (c *Client) call(ctx context.Context, method, p string, body, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
	}
	b, err := c.Raw(ctx, method, p, raw)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("error decoding http request: %w", err)
	}
	return nil
}

// Raw sends one request as the client's RawRequest does and returns a
// successful answer's body, or the error the client would return. Tests use
// it for paths the client has no method for.
func (c *Client) Raw(ctx context.Context, method, p string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+p, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("error creating http request: %w", err)
	}
	switch {
	case c.WorkspaceKeyID != "" && c.WorkspaceKeySecret != "":
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.WorkspaceKeyID+":"+c.WorkspaceKeySecret)))
	case c.AccessToken != "":
		req.Header.Set("Authorization", "Bearer "+c.AccessToken)
	default:
		return nil, errors.New("unable to set auth header for request")
	}
	req.Header.Add("Content-Type", "application/json")
	req.Header.Add("User-Agent", "stytch-management-go/"+Version)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("error sending http request: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusOK || res.StatusCode == http.StatusCreated {
		return io.ReadAll(res.Body)
	}
	var se Error
	if json.NewDecoder(res.Body).Decode(&se) == nil {
		return nil, se
	}
	if res.StatusCode == http.StatusNotFound {
		return nil, Error{StatusCode: res.StatusCode, ErrorMessage: "Not found."}
	}
	return nil, fmt.Errorf("error decoding http response (status %d)", res.StatusCode)
}
