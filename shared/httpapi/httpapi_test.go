package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/logtest"
)

// TestFailNilLogIsDefault: a nil logger is slog.Default(), the rule of every
// logstream handler, not a panic that loses the answer.
func TestFailNilLogIsDefault(t *testing.T) {
	buf := logtest.Default(t)

	for _, tc := range []struct {
		name   string
		err    error
		status int
		line   string
	}{
		{name: "client error", err: Errorf(http.StatusBadRequest, "invalid_request", "no"), status: 400, line: "request refused"},
		{name: "server error", err: errors.New("boom"), status: 500, line: "request failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf.Reset()
			resp := Fail(context.Background(), nil, events.APIGatewayV2HTTPRequest{RouteKey: "GET /x"}, tc.err)
			if resp.StatusCode != tc.status || !strings.Contains(buf.String(), tc.line) {
				t.Errorf("status %d, log %q; want %d and %q", resp.StatusCode, buf.String(), tc.status, tc.line)
			}
		})
	}
}
