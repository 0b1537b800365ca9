package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/secret"
	"github.com/logstream/logstream/shared/topology"
)

const (
	itProject  = "proj_cli"
	itAdminKey = "cli-it-admin-key-0123456789abcdef0123456789"
)

// sink records what an http stream delivers, by event_id and type.
type sink struct {
	mu         sync.Mutex
	ids        map[string]bool
	types      map[string]int // by type, or eventType for Okta's events
	oktaEvents int
	bad        []string
	srv        *httptest.Server
}

func newSink(t *testing.T) *sink {
	s := &sink{ids: map[string]bool{}, types: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("X-Tenant") != "acme" {
			s.bad = append(s.bad, fmt.Sprintf("%s %s %v", r.Method, r.URL, r.Header))
		}
		sc := bufio.NewScanner(r.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev struct {
				EventID   string `json:"event_id"`
				Type      string `json:"type"`
				EventType string `json:"eventType"`
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.EventID == "" {
				s.bad = append(s.bad, "bad line: "+sc.Text())
				continue
			}
			s.ids[ev.EventID] = true
			s.types[ev.Type+ev.EventType]++
			if ev.EventType != "" {
				s.oktaEvents++
			}
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) has(ids []string) (missing int, bad []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if !s.ids[id] {
			missing++
		}
	}
	return missing, append([]string(nil), s.bad...)
}

// okta counts the Okta events received.
func (s *sink) okta() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oktaEvents
}

func (s *sink) count(typ string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.types[typ]
}

// TestLocalStack drives the CLI against the whole local stack: the HTTP API
// gateway, the management and ingestion functions, SQS on the stand-in and
// the delivery function posting to a real receiver.
func TestLocalStack(t *testing.T) {
	cfg := standin.AWSConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logLevel := slog.LevelWarn
	if testing.Verbose() {
		logLevel = slog.LevelInfo
	}
	st, err := runner.Start(ctx, runner.Options{
		Spec: standin.Spec(t), AWS: cfg,
		Overrides: map[string]string{
			topology.EnvAllowPrivateEndpoints: "true", // the receiver is on 127.0.0.1
			topology.EnvStreamCacheTTL:        "0s",   // see new and paused streams at once
			topology.EnvAuthCacheTTL:          "0s",   // see a revoked key at once
			topology.EnvAdminKey:              itAdminKey,
			topology.EnvLocalSecretKey:        secret.GenerateLocalKey(),
			// The Loki bridge runs in every local stack; it needs credentials.
			topology.EnvBridgeCredentials: `{"username":"cli-test","password":"cli-test-password-0123456789"}`,
		},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel})),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := st.URL()

	// cli runs the CLI as a user would, and checks the key never shows.
	cli := func(t *testing.T, key, stdin string, args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"--url", base, "--key", key, "--timeout", "20s"}, args...), strings.NewReader(stdin), &stdout, &stderr)
		if strings.Contains(stdout.String()+stderr.String(), key) {
			t.Fatalf("logstream %s printed its API key", strings.Join(args, " "))
		}
		return code, stdout.String(), stderr.String()
	}
	must := func(t *testing.T, key, stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := cli(t, key, stdin, args...)
		if code != exitOK {
			t.Fatalf("logstream %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	refused := func(t *testing.T, key, stdin, want string, args ...string) {
		t.Helper()
		code, out, errOut := cli(t, key, stdin, args...)
		if code != exitAPI || !strings.Contains(errOut, want) {
			t.Fatalf("logstream %s: exit %d, want %d with %q\n%s%s", strings.Join(args, " "), code, exitAPI, want, out, errOut)
		}
	}

	// Keys: a write key for the project (JSON, to read the secret), and a
	// read-only one (table).
	code, out, errOut := cli(t, itAdminKey, "", "keys", "create", "--name", "cli writer", "--project", itProject, "--access", "write", "--output", "json")
	var created struct {
		Key struct {
			ID string `json:"id"`
		} `json:"key"`
		Secret string `json:"secret"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &created) != nil || created.Secret == "" || !strings.Contains(errOut, "shown once") {
		t.Fatalf("keys create: exit %d\n%s%s", code, out, errOut)
	}
	writer := created.Secret
	out = must(t, itAdminKey, "", "keys", "create", "--name", "cli reader", "--project", itProject, "--access", "read")
	_, reader, _ := strings.Cut(out, "secret: ")
	reader = strings.TrimSpace(reader)
	readerID := strings.Fields(strings.Split(out, "\n")[1])[0]
	if reader == "" || !strings.HasPrefix(readerID, "key_") {
		t.Fatalf("keys create (table):\n%s", out)
	}
	refused(t, writer, "", "forbidden", "keys", "list")

	// A stream to the receiver, its config from stdin.
	recv := newSink(t)
	config := fmt.Sprintf(`{"endpoint":%q,"custom_headers":{"X-Tenant":"acme"}}`, recv.srv.URL+"/hook")
	out = must(t, writer, config, "streams", "create", "--project", itProject, "--name", "cli receiver", "--type", "http", "--config", "-", "--output", "json")
	var s struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Version int64  `json:"version"`
	}
	if json.Unmarshal([]byte(out), &s) != nil || s.ID == "" || s.Status != "active" || s.Version != 1 {
		t.Fatalf("streams create: %s", out)
	}
	refused(t, reader, config, "forbidden", "streams", "create", "--project", itProject, "--name", "nope", "--type", "http", "--config", "-")

	// Replay: this run's archive holds nothing yet, so a dry run of the
	// last hour sizes it empty, starting nothing; a read key may look but
	// not replay.
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	out = must(t, writer, "", "streams", "replay", s.ID, "--project", itProject, "--since", since, "--dry-run", "--output", "json")
	var dry struct {
		DryRun   bool   `json:"dry_run"`
		StreamID string `json:"stream_id"`
		Size     struct {
			Events, Partitions int
		} `json:"size"`
	}
	if json.Unmarshal([]byte(out), &dry) != nil || !dry.DryRun || dry.StreamID != s.ID || dry.Size.Events != 0 || dry.Size.Partitions != 0 {
		t.Fatalf("streams replay --dry-run: %s", out)
	}
	out = must(t, writer, "", "streams", "replay", s.ID, "--project", itProject, "--since", since, "--dry-run")
	if !strings.Contains(out, "EVENTS") || !strings.Contains(out, "ESTIMATED TIME") {
		t.Fatalf("streams replay --dry-run:\n%s", out)
	}
	refused(t, reader, "", "forbidden", "streams", "replay", s.ID, "--project", itProject, "--since", since, "--dry-run")
	out = must(t, reader, "", "replays", "list", "--project", itProject, "--output", "json")
	if strings.TrimSpace(out) != `{"data":[]}` {
		t.Fatalf("replays list: %s", out)
	}

	out = must(t, reader, "", "streams", "list", "--project", itProject)
	if !strings.Contains(out, s.ID) || !strings.Contains(out, "cli receiver") || !strings.HasPrefix(out, "ID ") {
		t.Fatalf("streams list:\n%s", out)
	}
	out = must(t, reader, "", "streams", "list", "--project", itProject, "--all", "--limit", "1", "--output", "json")
	if !strings.Contains(out, s.ID) {
		t.Fatalf("streams list --all: %s", out)
	}

	// Events: the Okta sample, sniffed as a JSON array, its times moved to
	// now (ingestion refuses times more than 30 days old).
	raw, err := samples.FS.ReadFile("auth/okta.json")
	if err != nil {
		t.Fatal(err)
	}
	sample := filepath.Join(t.TempDir(), "okta.json")
	if err := os.WriteFile(sample, samples.Fresh(raw, time.Now()), 0o600); err != nil {
		t.Fatal(err)
	}
	// Okta events carry eventType; some carry their own event_id, which
	// logstream keeps, and the rest get one.
	var events []struct {
		EventID   string `json:"event_id"`
		EventType string `json:"eventType"`
	}
	if err := json.Unmarshal(raw, &events); err != nil || len(events) == 0 {
		t.Fatalf("%s: %v", sample, err)
	}
	var ids []string
	for _, ev := range events {
		if ev.EventID != "" {
			ids = append(ids, ev.EventID)
		}
	}
	out = must(t, writer, "", "events", "send", sample, "--project", itProject, "--output", "json")
	var res struct{ Accepted, Streams, Messages int }
	if json.Unmarshal([]byte(out), &res) != nil || res.Accepted != len(events) || res.Streams != 1 || res.Messages < 1 {
		t.Fatalf("events send: %s", out)
	}
	waitFor(t, 60*time.Second, "the receiver to get every Okta event", func() bool {
		missing, _ := recv.has(ids)
		return missing == 0 && recv.okta() == len(events)
	})
	if _, bad := recv.has(ids); len(bad) > 0 {
		t.Fatalf("the receiver saw contract violations: %v", bad)
	}
	// The same events again, from stdin with --file -, gzipped on the way.
	out = must(t, writer, string(raw), "events", "send", "--file", "-", "--project", itProject, "--gzip")
	if !strings.Contains(out, "ACCEPTED") || !strings.Contains(out, fmt.Sprint(len(events))) {
		t.Fatalf("events send --gzip:\n%s", out)
	}
	waitFor(t, 60*time.Second, "the receiver to get the gzipped events", func() bool { return recv.okta() == 2*len(events) })

	// Health counts what was delivered; test sends one event now.
	waitFor(t, 30*time.Second, "health to count the deliveries", func() bool {
		_, out, _ := cli(t, reader, "", "streams", "health", s.ID, "--project", itProject, "--output", "json")
		var h struct {
			Delivered int `json:"delivered_events"`
		}
		return json.Unmarshal([]byte(out), &h) == nil && h.Delivered >= 2*len(events)
	})
	out = must(t, reader, "", "streams", "health", s.ID, "--project", itProject)
	if !strings.Contains(out, "DELIVERED") || !strings.Contains(out, s.ID) {
		t.Fatalf("streams health:\n%s", out)
	}
	out = must(t, writer, "", "streams", "test", s.ID, "--project", itProject)
	if !strings.Contains(out, "true") || recv.count("logstream.test") != 1 {
		t.Fatalf("streams test: receiver has %d test events\n%s", recv.count("logstream.test"), out)
	}

	// Pause, resume, and a change guarded by the version.
	refused(t, writer, "", "precondition_failed", "streams", "disable", s.ID, "--project", itProject, "--if-match", "2")
	out = must(t, writer, "", "streams", "disable", s.ID, "--project", itProject, "--if-match", "1")
	if !strings.Contains(out, "paused") {
		t.Fatalf("streams disable:\n%s", out)
	}
	out = must(t, writer, "", "streams", "enable", s.ID, "--project", itProject, "--output", "json")
	if json.Unmarshal([]byte(out), &s) != nil || s.Status != "active" || s.Version != 3 {
		t.Fatalf("streams enable: %s", out)
	}
	refused(t, writer, `{"name":"renamed"}`, "precondition_failed", "streams", "update", s.ID, "--project", itProject, "--patch", "-", "--if-match", "1")
	out = must(t, writer, `{"name":"renamed"}`, "streams", "update", s.ID, "--project", itProject, "--patch", "-", "--if-match", "3")
	if !strings.Contains(out, "renamed") {
		t.Fatalf("streams update:\n%s", out)
	}
	refused(t, writer, `{"name":"x","destination_type":"datadog","destination_config":{}}`, "(field: destination_type)",
		"streams", "replace", s.ID, "--project", itProject, "--body", "-")
	out = must(t, reader, "", "streams", "get", s.ID, "--project", itProject, "--output", "json")
	if !strings.Contains(out, `"name":"renamed"`) || !strings.Contains(out, `"version":4`) {
		t.Fatalf("streams get: %s", out)
	}

	// Delete, guarded by the version, then it is gone.
	refused(t, writer, "", "precondition_failed", "streams", "delete", s.ID, "--project", itProject, "--if-match", "3")
	out = must(t, writer, "", "streams", "delete", s.ID, "--project", itProject, "--if-match", "4")
	if !strings.Contains(out, "deleted "+s.ID) {
		t.Fatalf("streams delete:\n%s", out)
	}
	refused(t, reader, "", "error: not_found", "streams", "get", s.ID, "--project", itProject)

	// Keys: listed, revoked, refused.
	out = must(t, itAdminKey, "", "keys", "list")
	if !strings.Contains(out, created.Key.ID) || !strings.Contains(out, readerID) {
		t.Fatalf("keys list:\n%s", out)
	}
	must(t, itAdminKey, "", "keys", "revoke", readerID)
	code, _, errOut = cli(t, reader, "", "streams", "list", "--project", itProject)
	if code != exitAPI || !strings.Contains(errOut, "unauthenticated") || !strings.Contains(errOut, envKey) {
		t.Fatalf("a revoked key: exit %d\n%s", code, errOut)
	}
}

func waitFor(t *testing.T, limit time.Duration, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
