// Package manage is the management API: per-project streams, created, listed,
// read and deleted through API Gateway's HTTP API.
package manage

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/httpapi"
	"github.com/logstream/logstream/shared/stream"
)

// Streams is the storage the API needs.
type Streams interface {
	Create(ctx context.Context, s stream.Stream) error
	Get(ctx context.Context, projectID, streamID string) (stream.Stream, error)
	List(ctx context.Context, projectID string, limit int, cursor string) ([]stream.Stream, string, error)
	Delete(ctx context.Context, projectID, streamID string) error
}

// Route keys served, as API Gateway names them (topology declares the same).
const (
	RouteCreate = "POST /v1/projects/{project_id}/streams"
	RouteList   = "GET /v1/projects/{project_id}/streams"
	RouteGet    = "GET /v1/projects/{project_id}/streams/{stream_id}"
	RouteDelete = "DELETE /v1/projects/{project_id}/streams/{stream_id}"
)

const (
	maxBodyBytes     = 64 << 10
	defaultPageLimit = 20
	maxPageLimit     = 100
)

// API serves the management routes.
type API struct {
	Streams   Streams
	Validator stream.Validator
	Log       *slog.Logger
	Now       func() time.Time
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
		return httpapi.Fail(ctx, a.Log, req, err), nil
	}
	return resp, nil
}

func (a *API) route(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	projectID := req.PathParameters["project_id"]
	if !stream.ValidProjectID(projectID) {
		return events.APIGatewayV2HTTPResponse{}, &stream.ValidationError{Field: "project_id", Msg: "is not a valid project id"}
	}
	switch req.RouteKey {
	case RouteCreate:
		return a.create(ctx, projectID, req)
	case RouteList:
		return a.list(ctx, projectID, req)
	case RouteGet, RouteDelete:
		streamID := req.PathParameters["stream_id"]
		if !stream.ValidStreamID(streamID) {
			// A malformed id cannot name a stream: the same answer as an unknown one.
			return events.APIGatewayV2HTTPResponse{}, stream.ErrNotFound
		}
		if req.RouteKey == RouteDelete {
			if err := a.Streams.Delete(ctx, projectID, streamID); err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			a.Log.InfoContext(ctx, "stream deleted", "project_id", projectID, "stream_id", streamID)
			return httpapi.NoContent(), nil
		}
		s, err := a.Streams.Get(ctx, projectID, streamID)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return httpapi.JSON(http.StatusOK, s.Public()), nil
	}
	return events.APIGatewayV2HTTPResponse{}, httpapi.Errorf(http.StatusNotFound, "route_not_found", "no route %s", req.RouteKey)
}

func (a *API) create(ctx context.Context, projectID string, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if err := httpapi.RequireJSON(req); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	body, err := httpapi.Body(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if len(body) > maxBodyBytes {
		return events.APIGatewayV2HTTPResponse{}, httpapi.Errorf(http.StatusRequestEntityTooLarge, "payload_too_large",
			"request body is %d bytes; the limit is %d", len(body), maxBodyBytes)
	}
	var cr stream.CreateRequest
	if err := stream.DecodeStrict(body, &cr); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	s, err := a.Validator.New(projectID, cr, a.now())
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := a.Streams.Create(ctx, s); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	a.Log.InfoContext(ctx, "stream created", "project_id", projectID, "stream_id", s.ID, "destination_type", s.DestinationType)
	resp := httpapi.JSON(http.StatusCreated, s.Public())
	resp.Headers["location"] = "/v1/projects/" + projectID + "/streams/" + s.ID
	return resp, nil
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
