package ingest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/logtest"
)

// TestNilLogIsDefault: a Service without a Log answers and logs to
// slog.Default(), as every logstream handler does; it used to panic.
func TestNilLogIsDefault(t *testing.T) {
	buf := logtest.Default(t)
	resp, err := (&Service{}).Handle(t.Context(), events.APIGatewayV2HTTPRequest{RouteKey: RouteIngest,
		PathParameters: map[string]string{"project_id": "p"}})
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !strings.Contains(buf.String(), "request refused") {
		t.Errorf("%d %v, log %q; want 401 and a refusal in the default log", resp.StatusCode, err, buf.String())
	}
}
