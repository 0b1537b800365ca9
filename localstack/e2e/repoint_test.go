package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// authReceiver records the Authorization header of every request, and
// answers as a Splunk HEC does, which the other senders take as success too.
type authReceiver struct {
	mu    sync.Mutex
	auths []string
	srv   *httptest.Server
}

func newAuthReceiver(t *testing.T) *authReceiver {
	r := &authReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.auths = append(r.auths, req.Header.Get("Authorization"))
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"text":"Success","code":0}`)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *authReceiver) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.auths)
}

// A write key that moves a stream to another address without giving its
// credential again is refused, by PATCH and by PUT, and the stored
// credential never reaches the new address, not even through the test
// route; given again, it goes there.
func TestRepointNeverCarriesTheCredential(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := startStack(t, ctx, fastSpec(t))
	const proj = "proj_repoint"
	base := st.URL() + "/v1/projects/" + proj + "/streams"

	code, out := do(t, "POST", st.URL()+"/v1/keys", "application/json", "", []byte(`{"name":"repoint","projects":["`+proj+`"],"access":"write"}`))
	var key struct{ Secret string }
	if json.Unmarshal(out, &key); code != http.StatusCreated || key.Secret == "" {
		t.Fatalf("create write key: %d %s", code, out)
	}
	bearer = key.Secret
	defer func() { bearer = adminKey }()

	const password = "loki-password-0123456789"
	cases := []struct {
		typ, secret, value, field, wire string
		cfg                             func(url string) map[string]any // without the secret
	}{
		{"http", "authorization", "Bearer http-secret-0123456789", "endpoint", "Bearer http-secret-0123456789",
			func(u string) map[string]any { return map[string]any{"endpoint": u + "/hook"} }},
		{"grafana_loki", "password", password, "url", "Basic " + base64.StdEncoding.EncodeToString([]byte("u1:"+password)),
			func(u string) map[string]any { return map[string]any{"url": u + "/loki/api/v1/push", "username": "u1"} }},
		{"splunk_hec", "token", "0badc0de-0000-4000-8000-00000000beef", "url", "Splunk 0badc0de-0000-4000-8000-00000000beef",
			func(u string) map[string]any { return map[string]any{"url": u} }},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			a, b := newAuthReceiver(t), newAuthReceiver(t)
			withSecret := func(cfg map[string]any) map[string]any { cfg[tc.secret] = tc.value; return cfg }
			send := func(method, url string, body any) (int, string) {
				raw, _ := json.Marshal(body)
				code, out := do(t, method, url, "application/json", "", raw)
				return code, string(out)
			}
			// Paused, so that only the test route sends to the receivers.
			code, out := send("POST", base, map[string]any{"name": tc.typ, "destination_type": tc.typ, "status": "paused",
				"destination_config": withSecret(tc.cfg(a.srv.URL))})
			var s struct{ ID string }
			if json.Unmarshal([]byte(out), &s); code != http.StatusCreated {
				t.Fatalf("create: %d %s", code, out)
			}
			stream := base + "/" + s.ID

			for _, move := range []struct {
				method string
				body   map[string]any
			}{
				{"PATCH", map[string]any{"destination_config": map[string]any{tc.field: tc.cfg(b.srv.URL)[tc.field]}}},
				{"PUT", map[string]any{"name": tc.typ, "destination_type": tc.typ, "status": "paused", "destination_config": tc.cfg(b.srv.URL)}},
			} {
				code, out := send(move.method, stream, move.body)
				if code != http.StatusBadRequest || !strings.Contains(out, `"field":"destination_config.`+tc.secret+`"`) {
					t.Errorf("%s to B without the %s: %d %s", move.method, tc.secret, code, out)
				}
			}
			if code, out := send("POST", stream+"/test", nil); code != http.StatusOK || !strings.Contains(out, `"ok":true`) {
				t.Fatalf("test event: %d %s", code, out)
			}
			if got := b.seen(); len(got) != 0 {
				t.Fatalf("B received %d requests (authorization %q) before its credential was given", len(got), got)
			}
			if got := a.seen(); len(got) != 1 || got[0] != tc.wire {
				t.Fatalf("A received %q, want the test event with its credential", got)
			}

			// Given again in the same request, the credential goes to B.
			code, out = send("PATCH", stream, map[string]any{"destination_config": withSecret(map[string]any{tc.field: tc.cfg(b.srv.URL)[tc.field]})})
			if code != http.StatusOK {
				t.Fatalf("PATCH to B with the %s: %d %s", tc.secret, code, out)
			}
			if code, out := send("POST", stream+"/test", nil); code != http.StatusOK || !strings.Contains(out, `"ok":true`) {
				t.Fatalf("test event after the move: %d %s", code, out)
			}
			if got := b.seen(); len(got) != 1 || got[0] != tc.wire {
				t.Fatalf("B received %q, want the test event with the credential given for it", got)
			}
			if got := a.seen(); len(got) != 1 {
				t.Fatalf("A received %d requests after the move", len(got))
			}
		})
	}
}
