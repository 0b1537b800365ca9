package manage

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/stream"
)

// adminAuth lets every request through as the admin key, for tests of
// everything but authentication.
type adminAuth struct{}

func (adminAuth) Authenticate(context.Context, string) (apikey.Key, error) {
	return apikey.Key{ID: apikey.AdminID, Admin: true, Projects: []string{apikey.AllProjects}, Access: apikey.AccessWrite}, nil
}

// memKeys is an in-memory key store.
type memKeys struct {
	mu sync.Mutex
	m  map[string]apikey.Key
}

func (m *memKeys) Create(_ context.Context, k apikey.Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[k.ID] = k
	return nil
}
func (m *memKeys) Get(_ context.Context, id string) (apikey.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.m[id]
	if !ok {
		return k, apikey.ErrNotFound
	}
	return k, nil
}
func (m *memKeys) List(context.Context) ([]apikey.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []apikey.Key
	for _, k := range m.m {
		out = append(out, k)
	}
	return out, nil
}
func (m *memKeys) Revoke(_ context.Context, id string, now time.Time) (apikey.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.m[id]
	if !ok {
		return k, apikey.ErrNotFound
	}
	k.RevokedAt = &now
	m.m[id] = k
	return k, nil
}

const adminSecret = "admin-bootstrap-secret-0123456789abcdef"

func authAPI() *API {
	keys := &memKeys{m: map[string]apikey.Key{}}
	return &API{
		Auth:    &apikey.Authenticator{Keys: keys, AdminKeyHash: apikey.HashKey(adminSecret)},
		Keys:    keys,
		Streams: &memStreams{m: map[string]stream.Stream{}},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func as(t *testing.T, a *API, secret, route, project, id, body string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	h := map[string]string{}
	if secret != "" {
		h["authorization"] = "Bearer " + secret
	}
	params := map[string]string{"project_id": project, "stream_id": id, "key_id": id}
	return callWithParams(t, a, route, params, body, h)
}

func callWithParams(t *testing.T, a *API, route string, params map[string]string, body string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	headers["content-type"] = "application/json"
	resp, err := a.Handle(context.Background(), events.APIGatewayV2HTTPRequest{RouteKey: route, PathParameters: params, Body: body, Headers: headers})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func createKey(t *testing.T, a *API, projects, access string) (string, apikey.Key) {
	t.Helper()
	r := as(t, a, adminSecret, RouteCreateKey, "", "", `{"name":"k","projects":`+projects+`,"access":"`+access+`"}`)
	if r.StatusCode != 201 {
		t.Fatalf("create key: %d %s", r.StatusCode, r.Body)
	}
	var ck CreatedKey
	json.Unmarshal([]byte(r.Body), &ck)
	return ck.Secret, ck.Key
}

func TestAuthorization(t *testing.T) {
	a := authAPI()
	writeA, _ := createKey(t, a, `["proj_a"]`, "write")
	readA, _ := createKey(t, a, `["proj_a"]`, "read")
	writeB, _ := createKey(t, a, `["proj_b"]`, "write")
	sA := decodeStream(t, as(t, a, writeA, RouteCreate, "proj_a", "", createBody))

	tests := []struct {
		name, secret, route, project, id, body string
		want                                   int
	}{
		{"no key", "", RouteList, "proj_a", "", "", 401},
		{"unknown key", "lsk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", RouteList, "proj_a", "", "", 401},
		{"read key reads", readA, RouteGet, "proj_a", sA.ID, "", 200},
		{"read key lists", readA, RouteList, "proj_a", "", "", 200},
		{"read key cannot write", readA, RoutePatch, "proj_a", sA.ID, `{"name":"x"}`, 403},
		{"read key cannot create", readA, RouteCreate, "proj_a", "", createBody, 403},
		{"other project's key cannot read", writeB, RouteGet, "proj_a", sA.ID, "", 404},
		{"other project's key cannot list", writeB, RouteList, "proj_a", "", "", 404},
		{"other project's key cannot delete", writeB, RouteDelete, "proj_a", sA.ID, "", 404},
		{"project key cannot create keys", writeA, RouteCreateKey, "", "", `{"name":"x","projects":["proj_a"],"access":"write"}`, 403},
		{"project key cannot list keys", writeA, RouteListKeys, "", "", "", 403},
		{"admin reads any project", adminSecret, RouteGet, "proj_a", sA.ID, "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := as(t, a, tc.secret, tc.route, tc.project, tc.id, tc.body)
			if r.StatusCode != tc.want {
				t.Fatalf("%d %s, want %d", r.StatusCode, r.Body, tc.want)
			}
			if r.StatusCode == 401 && r.Headers["www-authenticate"] == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
			if r.StatusCode == 404 && strings.Contains(r.Body, sA.ID) {
				t.Fatalf("404 names the stream: %s", r.Body)
			}
		})
	}
}

func TestKeyLifecycle(t *testing.T) {
	a := authAPI()
	secret, k := createKey(t, a, `["proj_a"]`, "write")
	if !strings.HasPrefix(secret, "lsk_") || k.ID == "" {
		t.Fatalf("secret %q key %+v", secret, k)
	}
	list := as(t, a, adminSecret, RouteListKeys, "", "", "")
	if list.StatusCode != 200 || !strings.Contains(list.Body, k.ID) || strings.Contains(list.Body, secret) || strings.Contains(list.Body, apikey.HashKey(secret)) {
		t.Fatalf("list: %d %s", list.StatusCode, list.Body)
	}
	if r := as(t, a, secret, RouteList, "proj_a", "", ""); r.StatusCode != 200 {
		t.Fatalf("new key: %d", r.StatusCode)
	}
	if r := as(t, a, adminSecret, RouteRevokeKey, "", k.ID, ""); r.StatusCode != 200 || !strings.Contains(r.Body, "revoked_at") {
		t.Fatalf("revoke: %d %s", r.StatusCode, r.Body)
	}
	if r := as(t, a, secret, RouteList, "proj_a", "", ""); r.StatusCode != 401 {
		t.Fatalf("revoked key still works: %d", r.StatusCode)
	}
	if r := as(t, a, adminSecret, RouteRevokeKey, "", "key_0000000000000000000f", ""); r.StatusCode != 404 {
		t.Fatalf("revoke unknown: %d", r.StatusCode)
	}
	if r := as(t, a, adminSecret, RouteCreateKey, "", "", `{"name":"","projects":[],"access":"root"}`); r.StatusCode != 400 {
		t.Fatalf("bad key request: %d %s", r.StatusCode, r.Body)
	}
}

func TestAPIWithoutAuthenticatorRefusesEverything(t *testing.T) {
	a := &API{Streams: &memStreams{m: map[string]stream.Stream{}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if r := as(t, a, adminSecret, RouteList, "p", "", ""); r.StatusCode != 401 {
		t.Fatalf("%d", r.StatusCode)
	}
}
