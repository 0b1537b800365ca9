package manage

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/httpapi"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/stream"
)

// TestStytchErrorAgreesWithNative: for every class of error, the Stytch
// envelope carries the status, the code (as Stytch's error_type), the
// message and the headers that the native route answers with.
func TestStytchErrorAgreesWithNative(t *testing.T) {
	req := events.APIGatewayV2HTTPRequest{RouteKey: RouteStytchGet,
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-1"}}
	quiet := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name     string
		err      error
		status   int
		errType  string
		authHint bool // a 401 carries its challenge in both shapes
	}{
		{name: "unauthenticated", err: httpapi.Errorf(http.StatusUnauthorized, "unauthenticated", "send a key"), status: 401, errType: "unauthorized_credentials", authHint: true},
		{name: "forbidden", err: httpapi.Errorf(http.StatusForbidden, "forbidden", "read only"), status: 403, errType: "unauthorized_credentials"},
		{name: "duplicate", err: httpapi.Errorf(http.StatusConflict, "duplicate_destination", "exists"), status: 409, errType: "duplicate_destination"},
		{name: "precondition", err: httpapi.ErrPreconditionFailed, status: 412, errType: "precondition_failed"},
		{name: "validation", err: &stream.ValidationError{Field: "destination_type", Msg: "must be DATADOG or GRAFANA_LOKI"}, status: 400, errType: "invalid_argument"},
		{name: "wrapped validation", err: fmt.Errorf("create: %w", &stream.ValidationError{Field: "name", Msg: "is required"}), status: 400, errType: "invalid_argument"},
		{name: "event invalid", err: &logevent.Error{Kind: logevent.KindInvalid, Code: "invalid_json", Index: -1, Msg: "bad"}, status: 400, errType: "invalid_argument"},
		{name: "event too large", err: &logevent.Error{Kind: logevent.KindTooLarge, Code: "too_large", Index: -1, Msg: "big"}, status: 413, errType: "too_large"},
		{name: "event unsupported", err: &logevent.Error{Kind: logevent.KindUnsupported, Code: "unsupported_media_type", Index: -1, Msg: "xml"}, status: 415, errType: "unsupported_media_type"},
		{name: "not found", err: stream.ErrNotFound, status: 404, errType: "not_found"},
		{name: "conflict", err: stream.ErrConflict, status: 409, errType: "conflict"},
		{name: "internal", err: errors.New("dynamodb: connection reset"), status: 500, errType: "internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			native := httpapi.Fail(t.Context(), quiet, req, tc.err)
			var nb struct {
				Error httpapi.Error `json:"error"`
			}
			if err := json.Unmarshal([]byte(native.Body), &nb); err != nil {
				t.Fatal(err)
			}
			st := stytchError(req, tc.err)
			var sb struct {
				StatusCode   int    `json:"status_code"`
				RequestID    string `json:"request_id"`
				ErrorType    string `json:"error_type"`
				ErrorMessage string `json:"error_message"`
			}
			if err := json.Unmarshal([]byte(st.Body), &sb); err != nil {
				t.Fatal(err)
			}
			if native.StatusCode != tc.status || st.StatusCode != tc.status || sb.StatusCode != tc.status {
				t.Errorf("status: native %d, stytch %d (body %d); want %d", native.StatusCode, st.StatusCode, sb.StatusCode, tc.status)
			}
			if sb.ErrorType != StytchErrorType(nb.Error.Code) || sb.ErrorType != tc.errType {
				t.Errorf("error_type %q for code %q; want %q", sb.ErrorType, nb.Error.Code, tc.errType)
			}
			if sb.ErrorMessage != nb.Error.Message || sb.RequestID != "req-1" {
				t.Errorf("message %q (request %q), native %q", sb.ErrorMessage, sb.RequestID, nb.Error.Message)
			}
			for _, h := range []string{"content-type", "cache-control", "www-authenticate"} {
				if st.Headers[h] != native.Headers[h] {
					t.Errorf("header %s: stytch %q, native %q", h, st.Headers[h], native.Headers[h])
				}
			}
			if _, ok := st.Headers["www-authenticate"]; ok != tc.authHint {
				t.Errorf("www-authenticate present %v, want %v", ok, tc.authHint)
			}
		})
	}
}
