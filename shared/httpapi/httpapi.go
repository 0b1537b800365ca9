// Package httpapi is the HTTP boundary of the functions behind API Gateway's
// HTTP API (payload format 2.0): one error type, the one place errors become
// statuses, and JSON responses.
package httpapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/httpapi/request"
	"github.com/logstream/logstream/shared/logevent"
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

// AsError maps any error to the API error it is answered with. This is the
// only place a domain error becomes an HTTP status; an answer in another
// shape (Stytch's envelope) takes its status, code and message from here.
func AsError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var pe *logevent.Error
	if errors.As(err, &pe) {
		status := map[logevent.Kind]int{
			logevent.KindInvalid:     http.StatusBadRequest,
			logevent.KindTooLarge:    http.StatusRequestEntityTooLarge,
			logevent.KindUnsupported: http.StatusUnsupportedMediaType,
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
// invocation, so the log line carries its request id. A nil log is
// slog.Default(), as everywhere in logstream.
func Fail(ctx context.Context, log *slog.Logger, req events.APIGatewayV2HTTPRequest, err error) events.APIGatewayV2HTTPResponse {
	ae := AsError(err)
	log = cmp.Or(log, slog.Default())
	if ae.Status >= 500 {
		log.ErrorContext(ctx, "request failed", "route", req.RouteKey, "status", ae.Status, "code", ae.Code, "err", err)
	} else {
		log.InfoContext(ctx, "request refused", "route", req.RouteKey, "status", ae.Status, "code", ae.Code, "field", ae.Field)
	}
	return Answer(ae, struct {
		Error *Error `json:"error"`
	}{ae})
}

// Answer answers body, an error envelope built from ae, with ae's status and
// headers: the one place a 401 gets its challenge, whatever the envelope.
func Answer(ae *Error, body any) events.APIGatewayV2HTTPResponse {
	resp := JSON(ae.Status, body)
	if ae.Status == http.StatusUnauthorized {
		resp.Headers["www-authenticate"] = `Bearer realm="logstream"` // RFC 6750 §3
	}
	return resp
}

// Body returns the request body, decoding API Gateway's base64 for binary
// payloads; a body that does not decode is a 400 invalid_body.
func Body(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	b, err := request.Body(req)
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "invalid_body", "%s", err)
	}
	return b, nil
}

// Header returns a request header, matched without regard to case
// (request.Header).
func Header(req events.APIGatewayV2HTTPRequest, name string) string { return request.Header(req, name) }

// RequireJSON refuses a body whose Content-Type is present and not JSON.
func RequireJSON(req events.APIGatewayV2HTTPRequest) error {
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(Header(req, "content-type"), ";", 2)[0]))
	// application/merge-patch+json is RFC 7396's type for PATCH bodies.
	if ct != "" && ct != "application/json" && ct != "application/merge-patch+json" {
		return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
	}
	return nil
}
