// Package httpapi is the HTTP boundary of the functions behind API Gateway's
// HTTP API (payload format 2.0): one error type, the one place errors become
// statuses, and JSON responses.
package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/event"
	"github.com/logstream/logstream/shared/stream"
)

// Error is an API error, answered as {"error":{"code","message","field"}}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Errorf builds an *Error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// asError maps any error to the API error it is answered with. This is the
// only place a domain error becomes an HTTP status.
func asError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var pe *event.Error
	if errors.As(err, &pe) {
		status := map[event.Kind]int{
			event.KindInvalid:     http.StatusBadRequest,
			event.KindTooLarge:    http.StatusRequestEntityTooLarge,
			event.KindUnsupported: http.StatusUnsupportedMediaType,
		}[pe.Kind]
		if status == 0 {
			status = http.StatusBadRequest
		}
		return &Error{Status: status, Code: pe.Code, Message: pe.Error()}
	}
	var ve *stream.ValidationError
	if errors.As(err, &ve) {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: ve.Error(), Field: ve.Field}
	}
	if errors.Is(err, stream.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "stream not found"}
	}
	if errors.Is(err, stream.ErrConflict) {
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: "the stream was changed by another request at the same time; retry"}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; try again"}
}

// JSON answers v as JSON with the given status.
func JSON(status int, v any) events.APIGatewayV2HTTPResponse {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error; try again"}}`)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"content-type": "application/json", "cache-control": "no-store"},
		Body:       string(body),
	}
}

// NoContent answers 204.
func NoContent() events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent, Headers: map[string]string{"cache-control": "no-store"}}
}

// Fail answers err as a JSON error and logs it once: server errors with their
// cause at error level, client errors briefly at info level. ctx carries the
// invocation, so the log line carries its request id.
func Fail(ctx context.Context, log *slog.Logger, req events.APIGatewayV2HTTPRequest, err error) events.APIGatewayV2HTTPResponse {
	ae := asError(err)
	if ae.Status >= 500 {
		log.ErrorContext(ctx, "request failed", "route", req.RouteKey, "status", ae.Status, "code", ae.Code, "err", err)
	} else {
		log.InfoContext(ctx, "request refused", "route", req.RouteKey, "status", ae.Status, "code", ae.Code, "field", ae.Field)
	}
	resp := JSON(ae.Status, struct {
		Error *Error `json:"error"`
	}{ae})
	if ae.Status == http.StatusUnauthorized {
		resp.Headers["www-authenticate"] = `Bearer realm="logstream"` // RFC 6750 §3
	}
	return resp
}

// Body returns the request body, decoding API Gateway's base64 for binary
// payloads.
func Body(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if !req.IsBase64Encoded {
		return []byte(req.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "invalid_body", "body is not valid base64")
	}
	return b, nil
}

// Header returns a request header. HTTP API lower-cases header names.
func Header(req events.APIGatewayV2HTTPRequest, name string) string {
	return req.Headers[strings.ToLower(name)]
}

// RequireJSON refuses a body whose Content-Type is present and not JSON.
func RequireJSON(req events.APIGatewayV2HTTPRequest) error {
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(Header(req, "content-type"), ";", 2)[0]))
	// application/merge-patch+json is RFC 7396's type for PATCH bodies.
	if ct != "" && ct != "application/json" && ct != "application/merge-patch+json" {
		return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
	}
	return nil
}
