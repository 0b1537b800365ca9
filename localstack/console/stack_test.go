package console_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logstream/logstream/events"
	"github.com/logstream/logstream/localstack/chaos"
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/secret"
	"github.com/logstream/logstream/shared/topology"
)

// adminKey is the stack's admin key, the one `make dev` prints for a new user.
const adminKey = "console-admin-key-0123456789abcdef01234567"

// fastSpec is standin.FastSpec: retries shortened to seconds.
func fastSpec(t *testing.T) topology.Spec { return standin.FastSpec(t) }

// startStack runs the local stack on the stand-ins — the console function
// and the API on one origin, as API Gateway serves them — with the
// overrides the e2e tests use: receivers on 127.0.0.1 allowed, new streams
// seen at once, retries in seconds.
func startStack(t *testing.T) *runner.Stack {
	t.Helper()
	cfg := standin.AWSConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	creds, _ := json.Marshal(map[string]any{"credentials": []map[string]string{
		{"username": "console-bridge", "password": "console-bridge-password-0123456789"}}})
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	opts := runner.Options{
		Spec: fastSpec(t), AWS: cfg,
		Overrides: map[string]string{
			topology.EnvAllowPrivateEndpoints: "true", // the receiver is on 127.0.0.1
			topology.EnvStreamCacheTTL:        "0s",
			topology.EnvAdminKey:              adminKey,
			topology.EnvLocalSecretKey:        secret.GenerateLocalKey(),
			topology.EnvRetryBase:             "1s",
			topology.EnvRetryMax:              "1s",
			topology.EnvS3PathStyle:           "true",
			topology.EnvBridgeCredentials:     string(creds),
			topology.EnvArchiveSettle:         "2s", // a replay reads what was archived seconds ago
		},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	}
	st, err := runner.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// api calls the stack's HTTP API with key, failing the test on any error.
type api struct {
	t *testing.T
	c chaos.Client
}

func newAPI(t *testing.T, st *runner.Stack, key string) api {
	return api{t: t, c: chaos.NewClient(st.URL(), key, nil)}
}

func (a api) json(method, path string, in, out any) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.c.JSON(ctx, method, path, in, out); err != nil {
		a.t.Fatal(err)
	}
}

// createKey creates an API key with the admin key and returns its secret.
func (a api) createKey(name, access string, projects ...string) string {
	a.t.Helper()
	var k struct{ Secret string }
	a.json(http.MethodPost, "/v1/keys", map[string]any{"name": name, "projects": projects, "access": access}, &k)
	if k.Secret == "" {
		a.t.Fatalf("create key %s: no secret", name)
	}
	return k.Secret
}

// streamID finds a stream of project by name through the API.
func (a api) streamID(project, name string) string {
	a.t.Helper()
	var page struct {
		Data []struct{ ID, Name string }
	}
	a.json(http.MethodGet, "/v1/projects/"+project+"/streams?limit=100", nil, &page)
	for _, s := range page.Data {
		if s.Name == name {
			return s.ID
		}
	}
	a.t.Fatalf("project %s has no stream named %q: %+v", project, name, page.Data)
	return ""
}

// sample is one file of events/auth, with its times moved so that the latest
// is now (events.Fresh: ingestion refuses times more than 30 days old), and
// the event_id each event will be delivered with.
type sample struct {
	name   string
	events []map[string]any
	ids    []string
}

// loadSample reads events/auth/<name>. An event that carries no id of its
// own — event_id, Okta's uuid with published, Auth0's log_id with date, as
// ingestion reads them — is given one here, so the receiver can be checked
// event by event.
func loadSample(t *testing.T, name string, now time.Time) sample {
	t.Helper()
	raw, err := fs.ReadFile(events.FS, path.Join("auth", name))
	if err != nil {
		t.Fatal(err)
	}
	raw = events.Fresh(raw, now)
	s := sample{name: name}
	if strings.HasSuffix(name, ".ndjson") {
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var ev map[string]any
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			s.events = append(s.events, ev)
		}
	} else if err := json.Unmarshal(raw, &s.events); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	str := func(ev map[string]any, k string) string { v, _ := ev[k].(string); return v }
	for i, ev := range s.events {
		id := str(ev, "event_id")
		switch {
		case id != "":
		case str(ev, "uuid") != "" && str(ev, "published") != "":
			id = str(ev, "uuid")
		case str(ev, "log_id") != "" && str(ev, "date") != "":
			id = str(ev, "log_id")
		default:
			id = fmt.Sprintf("console-%s-%03d", strings.TrimSuffix(path.Base(name), path.Ext(name)), i)
			ev["event_id"] = id
		}
		s.ids = append(s.ids, id)
	}
	return s
}

// ingest posts the sample's events to the project's ingest route as one
// JSON array.
func (a api) ingest(project string, s sample) {
	a.t.Helper()
	body, err := json.Marshal(s.events)
	if err != nil {
		a.t.Fatal(err)
	}
	var res struct{ Accepted, Streams int }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := a.c.Call(ctx, http.MethodPost, "/v1/projects/"+project+"/events", "application/json", body, &res); err != nil {
		a.t.Fatal(err)
	}
	if res.Accepted != len(s.events) {
		a.t.Fatalf("ingest %s: accepted %d of %d events", s.name, res.Accepted, len(s.events))
	}
}

// receiver is the http stream's destination: it records each event it
// accepts by event_id, with the timestamp it was delivered with, and answers
// what the test tells it to.
type receiver struct {
	srv    *httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    map[string]int       // event_id → times accepted
	at     map[string]time.Time // event_id → its timestamp
	failed int                  // requests answered with a failure
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: map[string]int{}, at: map[string]time.Time{}}
	r.status.Store(http.StatusOK)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		status := int(r.status.Load())
		r.mu.Lock()
		defer r.mu.Unlock()
		if status/100 != 2 {
			r.failed++
			w.WriteHeader(status)
			return
		}
		sc := bufio.NewScanner(req.Body)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for sc.Scan() {
			var ev struct {
				EventID   string    `json:"event_id"`
				Timestamp time.Time `json:"timestamp"`
				Type      string    `json:"type"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.EventID == "" || strings.HasPrefix(ev.Type, "logstream.") {
				continue // logstream's own events (stream.created, test)
			}
			r.got[ev.EventID]++
			r.at[ev.EventID] = ev.Timestamp
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// missing lists the ids the receiver has accepted fewer than n times.
func (r *receiver) missing(ids []string, n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, id := range ids {
		if r.got[id] < n {
			out = append(out, id)
		}
	}
	return out
}

// within lists the ids among ids whose delivered timestamp lies in [from, to).
func (r *receiver) within(ids []string, from, to time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, id := range ids {
		if at, ok := r.at[id]; ok && !at.Before(from) && at.Before(to) {
			out = append(out, id)
		}
	}
	return out
}

func (r *receiver) counts(ids []string) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, id := range ids {
		out[id] = r.got[id]
	}
	return out
}

// waitReceived waits until every id has been accepted at least n times.
func (r *receiver) waitReceived(t *testing.T, what string, ids []string, n int, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(250 * time.Millisecond) {
		miss := r.missing(ids, n)
		if len(miss) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d events not received %d times, e.g. %v", what, len(miss), len(ids), n, miss[:min(5, len(miss))])
		}
	}
}
