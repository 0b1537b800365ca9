package manage

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/sink/webhook"
)

// A successful test reports the destination's status too, not only a
// failed one.
func TestTestRouteReportsTheStatusOfASuccess(t *testing.T) {
	for _, status := range []int{200, 202, 204} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
			defer receiver.Close()
			a := newAPI()
			a.Validator.Net = netguard.Policy{AllowPrivate: true}
			a.Senders = map[string]deliver.Sender{"http": &webhook.Sender{Client: netguard.Policy{AllowPrivate: true}.Client(2 * time.Second), UserAgent: "logstream/test"}}
			body := `{"name":"s","destination_type":"http","destination_config":{"endpoint":"` + receiver.URL + `"}}`
			id := decodeStream(t, call(t, a, RouteCreate, "p", "", "", body)).ID
			r := callWith(t, a, RouteTest, "p", id, "", nil)
			var got TestResult
			if err := json.Unmarshal([]byte(r.Body), &got); err != nil || r.StatusCode != 200 || !got.OK || got.StatusCode != status {
				t.Fatalf("%d %s, want ok with status_code %d", r.StatusCode, r.Body, status)
			}
		})
	}
}
