package lokibridge

import (
	"net/http"
	"strings"
	"testing"

	"github.com/logstream/logstream/shared/logtest"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/lokipush/pushtest"
)

// TestNilLogIsDefault: a handler without a Log logs to slog.Default(), the
// rule of every logstream handler.
func TestNilLogIsDefault(t *testing.T) {
	buf := logtest.Default(t)
	creds, err := NewCredentials(testCredentials...)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Store: &fakeStore{}, Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := h.Handle(t.Context(), push("Basic !!!", pushtest.Body{ContentType: lokipush.ContentTypeJSON, Body: []byte(smallJSON)}, nil))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(buf.String(), "push refused") {
		t.Errorf("%d, log %q; want 401 and a refusal in the default log", resp.StatusCode, buf.String())
	}
}
