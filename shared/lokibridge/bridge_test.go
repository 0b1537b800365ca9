package lokibridge

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/lokipush/pushtest"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// fakeStore records what is put; its function fields, when set, answer.
type fakeStore struct {
	put   func(ctx context.Context, key string, body []byte) error
	check func(ctx context.Context) error

	mu   sync.Mutex
	puts map[string][]byte
}

func (f *fakeStore) Put(ctx context.Context, key string, body []byte) error {
	if f.put != nil {
		if err := f.put(ctx, key, body); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.puts == nil {
		f.puts = map[string][]byte{}
	}
	f.puts[key] = body
	return nil
}

func (f *fakeStore) Check(ctx context.Context) error {
	if f.check != nil {
		return f.check(ctx)
	}
	return nil
}

// Three pairs: alice's current and rotated passwords, and bob's.
var testCredentials = []Credential{
	{Username: "alice", Password: "alice-password-old-0001"},
	{Username: "alice", Password: "alice-password-new-0002"},
	{Username: "bob", Password: "bob-password-0000000003"},
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

var alice = basic("alice", "alice-password-old-0001")

// request is an HTTP API / Function URL event (payload format 2.0).
func request(method, path string, headers map[string]string, body []byte, b64 bool) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, Headers: headers, IsBase64Encoded: b64,
	}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.HTTP.Path = path
	req.RequestContext.HTTP.SourceIP = "192.0.2.10"
	if b64 {
		req.Body = base64.StdEncoding.EncodeToString(body)
	} else {
		req.Body = string(body)
	}
	return req
}

// push is a push request with the body as a client sends it, base64-encoded
// as Function URLs and HTTP APIs deliver binary bodies.
func push(auth string, b pushtest.Body, extra map[string]string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{"content-type": b.ContentType}
	if b.ContentEncoding != "" {
		h["content-encoding"] = b.ContentEncoding
	}
	if auth != "" {
		h["authorization"] = auth
	}
	for k, v := range extra {
		h[k] = v
	}
	return request(http.MethodPost, PathPush, h, b.Body, b.ContentType != lokipush.ContentTypeJSON || b.ContentEncoding != "")
}

func newTestHandler(t testing.TB, store Store, lim lokipush.Limits, log *bytes.Buffer) *Handler {
	t.Helper()
	creds, err := NewCredentials(testCredentials...)
	if err != nil {
		t.Fatal(err)
	}
	w := io.Discard
	if log != nil {
		w = log
	}
	h, err := New(Config{Store: store, Credentials: creds, Limits: lim, Log: slog.New(slog.NewJSONHandler(w, nil)),
		Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// testNow is the test handlers' clock: an hour after the fixtures' entries
// (smallJSON, pushBodies), whatever the date the tests run on.
var testNow = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

const smallJSON = `{"streams":[{"stream":{"app":"api","env":"prod"},"values":[["1795503600000000000","{\"msg\":\"hi\"}",{"trace_id":"abc"}],["1795503600000000001","plain"]]}]}`

func TestHandle(t *testing.T) {
	small := pushtest.Body{Name: "json", ContentType: lokipush.ContentTypeJSON, ContentEncoding: "", Body: []byte(smallJSON)}
	bodies := pushBodies(t, sinktest.Corpus(t, 20))
	protobuf := bodies[0]
	errS3 := errors.New("operation error S3: PutObject, StatusCode: 500, InternalError")

	tests := []struct {
		name      string
		req       events.APIGatewayV2HTTPRequest
		lim       lokipush.Limits
		put       func(context.Context, string, []byte) error
		check     func(context.Context) error
		status    int
		body      string // a substring of the answer
		header    map[string]string
		keyPrefix string // of the one object stored; "" for none
	}{
		{name: "ready", req: request("GET", PathReady, nil, nil, false), status: 200, body: "ready\n"},
		{name: "ready HEAD", req: request("HEAD", PathReady, nil, nil, false), status: 200},
		{name: "ready POST", req: request("POST", PathReady, nil, nil, false), status: 405, header: map[string]string{"allow": "GET, HEAD"}},
		{name: "health", req: request("GET", PathHealth, nil, nil, false), status: 200, body: "ok\n"},
		{name: "health bucket gone", req: request("GET", PathHealth, nil, nil, false),
			check:  func(context.Context) error { return errors.New("head bucket logs: NotFound") },
			status: 503, body: "unavailable\n"},
		{name: "health deadline", req: request("GET", PathHealth, nil, nil, false),
			check: func(ctx context.Context) error {
				if _, ok := ctx.Deadline(); !ok {
					return errors.New("no deadline")
				}
				return nil
			},
			status: 200},
		{name: "unknown path", req: request("GET", "/loki/api/v1/query", nil, nil, false), status: 404, body: "404 page not found"},
		{name: "push path with stage", req: request("POST", "/prod"+PathPush, nil, nil, false), status: 404},
		{name: "push GET", req: request("GET", PathPush, map[string]string{"authorization": alice}, nil, false),
			status: 405, header: map[string]string{"allow": "POST"}},

		{name: "json", req: push(alice, small, nil), status: 204, keyPrefix: "tenant=alice/dt=2026-11-24/hour=07/"},
		{name: "protobuf base64", req: push(alice, protobuf, nil), status: 204, keyPrefix: "tenant=alice/dt=2026-11-24/hour=07/"},
		{name: "json gzip base64", req: push(alice, bodies[2], nil), status: 204, keyPrefix: "tenant=alice/"},
		{name: "json deflate base64", req: push(alice, bodies[3], nil), status: 204, keyPrefix: "tenant=alice/"},
		{name: "json base64 plain", req: func() events.APIGatewayV2HTTPRequest {
			r := push(alice, small, nil)
			r.IsBase64Encoded, r.Body = true, base64.StdEncoding.EncodeToString(small.Body)
			return r
		}(), status: 204, keyPrefix: "tenant=alice/"},
		{name: "header names in any case", req: request("POST", PathPush, map[string]string{
			"Content-Type": "application/json; charset=utf-8", "Authorization": alice, "X-Scope-OrgID": "Acme",
		}, small.Body, false), status: 204, keyPrefix: "tenant=Acme/"},
		{name: "empty push stores nothing", req: push(alice, pushtest.Body{Name: "", ContentType: lokipush.ContentTypeJSON, ContentEncoding: "", Body: []byte(`{"streams":[]}`)}, nil), status: 204},

		{name: "no credentials", req: push("", small, nil), status: 401,
			header: map[string]string{"www-authenticate": `Basic realm="loki"`}, body: "unauthorized"},
		{name: "wrong password", req: push(basic("alice", "bob-password-0000000003"), small, nil), status: 401,
			header: map[string]string{"www-authenticate": `Basic realm="loki"`}},
		{name: "unknown user", req: push(basic("carol", "alice-password-old-0001"), small, nil), status: 401},
		{name: "bearer", req: push("Bearer alice-password-old-0001", small, nil), status: 401},
		{name: "basic not base64", req: push("Basic !!!", small, nil), status: 401},
		{name: "basic without colon", req: push("Basic "+base64.StdEncoding.EncodeToString([]byte("alice")), small, nil), status: 401},
		{name: "unauthenticated garbage is not parsed", req: push("", pushtest.Body{Name: "", ContentType: "text/plain", ContentEncoding: "br", Body: []byte("x")}, nil), status: 401},
		{name: "rotated password", req: push(basic("alice", "alice-password-new-0002"), small, nil), status: 204, keyPrefix: "tenant=alice/"},
		{name: "basic scheme lower case", req: push(strings.Replace(basic("bob", "bob-password-0000000003"), "Basic", "basic", 1), small, nil),
			status: 204, keyPrefix: "tenant=bob/"},

		{name: "tenant header", req: push(alice, small, map[string]string{"x-scope-orgid": "team-a"}), status: 204, keyPrefix: "tenant=team-a/"},
		{name: "empty tenant header is the user", req: push(alice, small, map[string]string{"x-scope-orgid": ""}), status: 204, keyPrefix: "tenant=alice/"},
		{name: "tenant traversal", req: push(alice, small, map[string]string{"x-scope-orgid": "../bob"}), status: 400, body: "invalid tenant"},
		{name: "tenant dot", req: push(alice, small, map[string]string{"x-scope-orgid": "."}), status: 400, body: "invalid tenant"},
		{name: "several tenants", req: push(alice, small, map[string]string{"x-scope-orgid": "a|b"}), status: 400, body: "invalid tenant"},
		{name: "tenant too long", req: push(alice, small, map[string]string{"x-scope-orgid": strings.Repeat("t", 151)}), status: 400},

		{name: "malformed json", req: push(alice, pushtest.Body{Name: "", ContentType: lokipush.ContentTypeJSON, ContentEncoding: "", Body: []byte(`{"streams":[`)}, nil), status: 400},
		{name: "no labels", req: push(alice, pushtest.Body{Name: "", ContentType: lokipush.ContentTypeJSON, ContentEncoding: "", Body: []byte(`{"streams":[{"stream":{},"values":[["1","x"]]}]}`)}, nil), status: 400},
		{name: "bad base64", req: func() events.APIGatewayV2HTTPRequest {
			r := push(alice, protobuf, nil)
			r.Body = "%%%"
			return r
		}(), status: 400, body: "base64"},
		{name: "corrupt snappy", req: push(alice, pushtest.Body{Name: "", ContentType: lokipush.ContentTypeProtobuf, ContentEncoding: "", Body: []byte("not snappy at all")}, nil), status: 400},
		{name: "corrupt gzip", req: push(alice, pushtest.Body{Name: "", ContentType: lokipush.ContentTypeJSON, ContentEncoding: "gzip", Body: []byte("not gzip")}, nil), status: 400},
		{name: "unknown content type", req: push(alice, pushtest.Body{Name: "", ContentType: "text/plain", ContentEncoding: "", Body: small.Body}, nil), status: 415},
		{name: "no content type", req: push(alice, pushtest.Body{Name: "", ContentType: "", ContentEncoding: "", Body: small.Body}, nil), status: 415},
		{name: "unknown encoding", req: push(alice, pushtest.Body{Name: "", ContentType: lokipush.ContentTypeJSON, ContentEncoding: "br", Body: small.Body}, nil), status: 415},
		{name: "body over limit", req: push(alice, small, nil), lim: lokipush.Limits{MaxBodyBytes: 64}, status: 413},
		{name: "decoded over limit", req: push(alice, bodies[2], nil), lim: lokipush.Limits{MaxDecodedBytes: 1024}, status: 413},

		{name: "store fails", req: push(alice, small, nil), put: func(context.Context, string, []byte) error { return errS3 },
			status: 503, body: "retry"},
		{name: "store times out", req: push(alice, protobuf, nil), put: func(context.Context, string, []byte) error { return context.DeadlineExceeded },
			status: 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := &fakeStore{put: tc.put, check: tc.check}
			var log bytes.Buffer
			h := newTestHandler(t, store, tc.lim, &log)
			resp, err := h.Handle(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("Handle returned an error: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, resp.Body, tc.status)
			}
			if !strings.Contains(resp.Body, tc.body) {
				t.Errorf("body %q does not contain %q", resp.Body, tc.body)
			}
			for k, v := range tc.header {
				if resp.Headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, resp.Headers[k], v)
				}
			}
			if resp.StatusCode >= 400 {
				if ct := resp.Headers["content-type"]; ct != "text/plain; charset=utf-8" {
					t.Errorf("error content type %q, want Loki's text/plain", ct)
				}
				if !strings.HasSuffix(resp.Body, "\n") {
					t.Errorf("error body %q does not end in a newline as http.Error's does", resp.Body)
				}
			}
			if resp.StatusCode == 204 && resp.Body != "" {
				t.Errorf("204 with a body %q", resp.Body)
			}
			switch {
			case tc.keyPrefix == "" && len(store.puts) > 0:
				t.Errorf("stored %d objects, want none", len(store.puts))
			case tc.keyPrefix != "":
				if len(store.puts) != 1 {
					t.Fatalf("stored %d objects, want 1", len(store.puts))
				}
				for k := range store.puts {
					if !strings.HasPrefix(k, tc.keyPrefix) {
						t.Errorf("key %s, want prefix %s", k, tc.keyPrefix)
					}
				}
			}
			for _, secret := range testCredentials {
				if strings.Contains(log.String(), secret.Password) {
					t.Errorf("a password is in the log: %s", log.String())
				}
			}
			if tc.status >= 500 && !strings.Contains(log.String(), `"level":"ERROR"`) {
				t.Errorf("a 5xx is not logged as an error: %s", log.String())
			}
		})
	}
}

// TestStoreFailureNeverSucceeds: whatever the store says, a push it did not
// take is answered 503, the log says why, and nothing claims success.
func TestStoreFailureNeverSucceeds(t *testing.T) {
	errS3 := errors.New("put s3://logs/tenant=alice/x: AccessDenied")
	for _, b := range pushBodies(t, sinktest.Corpus(t, 50)) {
		t.Run(b.Name, func(t *testing.T) {
			calls := 0
			store := &fakeStore{put: func(context.Context, string, []byte) error { calls++; return errS3 }}
			var log bytes.Buffer
			h := newTestHandler(t, store, lokipush.Limits{}, &log)
			resp, _ := h.Handle(context.Background(), push(alice, b, nil))
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503", resp.StatusCode)
			}
			if calls != 1 || len(store.puts) != 0 {
				t.Fatalf("%d puts, %d stored", calls, len(store.puts))
			}
			var rec struct {
				Level, Msg, Err, Key, Tenant string
				Entries                      int
			}
			if err := json.Unmarshal(log.Bytes(), &rec); err != nil {
				t.Fatalf("log %q: %v", log.String(), err)
			}
			if rec.Level != "ERROR" || rec.Err != errS3.Error() || rec.Tenant != "alice" || rec.Entries != 50 || rec.Key == "" {
				t.Errorf("log %s", log.String())
			}
			for _, claim := range []string{"success", "accepted\n", "stored\n"} {
				if strings.Contains(resp.Body, claim) {
					t.Errorf("body %q claims %q", resp.Body, claim)
				}
			}
		})
	}
}

// TestRetryOverwrites: the same push in every encoding Loki accepts is one
// object, byte for byte, so a client's retry in any form replaces it.
func TestRetryOverwrites(t *testing.T) {
	store := &fakeStore{}
	h := newTestHandler(t, store, lokipush.Limits{}, nil)
	for _, b := range pushBodies(t, sinktest.Corpus(t, 300)) {
		resp, _ := h.Handle(context.Background(), push(alice, b, nil))
		if resp.StatusCode != 204 {
			t.Fatalf("%s: %d %s", b.Name, resp.StatusCode, resp.Body)
		}
	}
	if len(store.puts) != 1 {
		t.Fatalf("%d objects for one push sent four ways, want 1: %v", len(store.puts), keys(store.puts))
	}
}

// TestGolden is what a push becomes in the bucket: the key and the records.
func TestGolden(t *testing.T) {
	evs := sinktest.Corpus(t, 6)
	for _, b := range pushBodies(t, evs) {
		t.Run(b.Name, func(t *testing.T) {
			store := &fakeStore{}
			h := newTestHandler(t, store, lokipush.Limits{}, nil)
			resp, _ := h.Handle(context.Background(), push(alice, b, map[string]string{"x-scope-orgid": "acme"}))
			if resp.StatusCode != 204 {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			for k, body := range store.puts {
				if !regexp.MustCompile(`^tenant=acme/dt=2026-11-24/hour=07/[0-9a-f]{32}\.ndjson\.gz$`).MatchString(k) {
					t.Errorf("key %s", k)
				}
				sinktest.Golden(t, "push", gunzip(t, body))
			}
		})
	}
}

// TestPutLeavesMargin: the store's write must end a margin before the
// invocation's deadline, so the answer is a 503 and not a killed function.
func TestPutLeavesMargin(t *testing.T) {
	deadline := time.Now().Add(10 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var got time.Time
	store := &fakeStore{put: func(ctx context.Context, _ string, _ []byte) error {
		got, _ = ctx.Deadline()
		return nil
	}}
	h := newTestHandler(t, store, lokipush.Limits{}, nil)
	if resp, _ := h.Handle(ctx, push(alice, pushtest.Body{Name: "", ContentType: lokipush.ContentTypeJSON, ContentEncoding: "", Body: []byte(smallJSON)}, nil)); resp.StatusCode != 204 {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	if want := deadline.Add(-deadlineMargin); !got.Equal(want) {
		t.Errorf("put deadline %v, want %v", got, want)
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	creds, _ := NewCredentials(testCredentials...)
	for name, cfg := range map[string]Config{
		"no store":       {Credentials: creds},
		"no credentials": {Store: &fakeStore{}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// pushtest.Body is one push request as a client sends it.
// pushBodies is the same push of evs in every form Loki accepts.
func pushBodies(tb testing.TB, evs []json.RawMessage) []pushtest.Body {
	return pushtest.Bodies(tb, evs, time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC))
}

var gunzip = pushtest.Gunzip
