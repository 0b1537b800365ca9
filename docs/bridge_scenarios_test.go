package docs_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink/loki"
	"github.com/logstream/logstream/shared/stream"
)

// Route keys of the Loki bridge.
const (
	lPush   = "POST /loki/api/v1/push"
	lReady  = "GET /ready"
	lHealth = "GET /health"
)

const (
	bridgeUser     = "promtail"
	bridgePassword = "bridge-password-0123456789"
)

// memArchive is the bridge's store in memory, failing on demand.
type memArchive struct {
	mu       sync.Mutex
	objects  map[string][]byte
	putErr   error
	checkErr error
}

func (m *memArchive) Put(_ context.Context, key string, body []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.putErr != nil {
		return m.putErr
	}
	m.objects[key] = body
	return nil
}

func (m *memArchive) Check(context.Context) error { return m.checkErr }

func (m *memArchive) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.objects {
		out = append(out, k)
	}
	return out
}

func basic(user, pass string) map[string]string {
	return map[string]string{"authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
}

func pushJSON(ts time.Time, line string) []byte {
	b, _ := json.Marshal(map[string]any{"streams": []any{map[string]any{
		"stream": map[string]string{"job": "authlogs"},
		"values": [][]any{{fmt.Sprint(ts.UnixNano()), line, map[string]string{"event_id": "evt_1"}}}}}})
	return b
}

// bridgeScenarios are the Loki bridge's answers.
func bridgeScenarios() []scenario {
	now := time.Now().UTC()
	jsonPush := func(headers map[string]string, body []byte) func(*fixture) call {
		return func(*fixture) call {
			h := map[string]string{"content-type": "application/json"}
			for k, v := range headers {
				h[k] = v
			}
			return call{headers: h, body: body}
		}
	}
	creds := basic(bridgeUser, bridgePassword)
	stored := func(tenant string) func(t *testing.T, f *fixture, r *result) {
		return func(t *testing.T, f *fixture, r *result) {
			keys := f.bridgeStore.keys()
			if len(keys) != 1 || !strings.HasPrefix(keys[0], "tenant="+tenant+"/dt=") {
				t.Errorf("stored %v, want one object under tenant=%s/", keys, tenant)
			}
		}
	}
	nothingStored := func(t *testing.T, f *fixture, r *result) {
		if keys := f.bridgeStore.keys(); len(keys) != 0 {
			t.Errorf("stored %v after a refusal", keys)
		}
	}
	return []scenario{
		{name: "JSON push", route: lPush, call: jsonPush(creds, pushJSON(now, `{"event_id":"evt_1"}`)), status: 204, check: stored(bridgeUser)},
		{name: "protobuf push from logstream's own Loki sender, tenant from X-Scope-OrgID", route: lPush,
			call: func(f *fixture) call {
				evs := []json.RawMessage{json.RawMessage(`{"event_id":"evt_1","timestamp":"` + now.Format(time.RFC3339Nano) + `"}`)}
				st := protobufStream(f.t)
				cfg, err := st.Destination()
				if err != nil {
					f.t.Fatal(err)
				}
				body, ctype, _, err := loki.Encode(st, cfg.(*destination.GrafanaLokiConfig), evs, now)
				if err != nil {
					f.t.Fatal(err)
				}
				h := map[string]string{"content-type": ctype, "x-scope-orgid": "acme"}
				for k, v := range creds {
					h[k] = v
				}
				return call{headers: h, body: body, binary: true}
			}, status: 204, check: stored("acme")},
		{name: "malformed labels", route: lPush, status: 400, check: nothingStored,
			call: jsonPush(creds, []byte(`{"streams":[{"stream":{"bad-name":"x"},"values":[["1","l"]]}]}`))},
		{name: "malformed body", route: lPush, status: 400, invalid: true, check: nothingStored,
			call: jsonPush(creds, []byte(`{"streams":[{"stream":{"job":"x"},"values":[["1"]]}]}`))},
		{name: "no credentials", route: lPush, status: 401, invalid: true, check: nothingStored,
			call: jsonPush(nil, pushJSON(now, "l"))},
		{name: "wrong password", route: lPush, status: 401, check: nothingStored,
			call: jsonPush(basic(bridgeUser, "not-the-password-at-all"), pushJSON(now, "l"))},
		{name: "a line over 256 KiB", route: lPush, status: 413, check: nothingStored,
			call: jsonPush(creds, pushJSON(now, strings.Repeat("x", 300<<10)))},
		{name: "unknown content type", route: lPush, status: 415, invalid: true, check: nothingStored,
			call: func(*fixture) call {
				h := map[string]string{"content-type": "text/csv"}
				for k, v := range creds {
					h[k] = v
				}
				return call{headers: h, body: []byte("a,b")}
			}},
		{name: "S3 refuses the object", route: lPush, status: 503, check: nothingStored,
			setup: func(f *fixture) { f.bridgeStore.putErr = errors.New("SlowDown: reduce your request rate") },
			call:  jsonPush(creds, pushJSON(now, "l"))},
		{name: "ready", route: lReady, status: 200, call: func(*fixture) call { return call{} }},
		{name: "bucket reachable", route: lHealth, status: 200, call: func(*fixture) call { return call{} }},
		{name: "bucket unreachable", route: lHealth, status: 503, call: func(*fixture) call { return call{} },
			setup: func(f *fixture) { f.bridgeStore.checkErr = errors.New("NotFound") }},
	}
}

func protobufStream(t *testing.T) stream.Stream {
	cfg, _ := json.Marshal(map[string]any{"url": "http://127.0.0.1/loki/api/v1/push", "format": "protobuf"})
	return stream.Stream{ID: "str_docs", ProjectID: projectA, DestinationType: "grafana_loki", DestinationConfig: cfg, Status: stream.StatusActive}
}
