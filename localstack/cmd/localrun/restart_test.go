package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/localstack/standin"
)

// make dev keeps the table between runs; what it needs from one run to the
// next, the runner keeps in the state folder. This restarts the stack on the
// same table, as a second make dev does, and checks that the admin key still
// works and the stream's sealed authorization still opens and reaches its
// destination. A stack with a new sealing key, as every run had before the
// key was kept, cannot open it: the test would fail on it.
func TestRestartOnAKeptTable(t *testing.T) {
	cfg := standin.AWSConfig(t)
	spec := standin.Spec(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var mu sync.Mutex
	var auths []string
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer dest.Close()
	const destSecret = "Bearer kept-across-runs-0123456789"

	start := func(t *testing.T, creds credentials) *runner.Stack {
		t.Helper()
		level := slog.LevelWarn
		if testing.Verbose() {
			level = slog.LevelInfo
		}
		st, err := runner.Start(ctx, runner.Options{Spec: spec, AWS: cfg, Overrides: stackOverrides(creds, "logstream", 0),
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	call := func(t *testing.T, st *runner.Stack, key, method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, st.URL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// The first run: a stream with a secret, sealed with the kept key.
	first, err := loadCredentials(dir, credentials{})
	if err != nil {
		t.Fatal(err)
	}
	st := start(t, first)
	code, body := call(t, st, first.AdminKey, http.MethodPost, "/v1/projects/kept/streams",
		fmt.Sprintf(`{"name":"kept","destination_type":"http","destination_config":{"endpoint":%q,"authorization":%q}}`, dest.URL, destSecret))
	var created struct{ ID string }
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &created) != nil || created.ID == "" {
		t.Fatalf("create: %d %s", code, body)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		creds  func(t *testing.T) credentials
		wantOK bool
	}{
		{name: "the next run, from the state folder", wantOK: true, creds: func(t *testing.T) credentials {
			c, err := loadCredentials(dir, credentials{})
			if err != nil {
				t.Fatal(err)
			}
			if c != first {
				t.Errorf("the next run has other credentials than the first")
			}
			return c
		}},
		{name: "a run with a new sealing key cannot open the secret", wantOK: false, creds: func(t *testing.T) credentials {
			c, err := loadCredentials("", credentials{AdminKey: first.AdminKey})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			auths = nil
			mu.Unlock()
			st := start(t, tc.creds(t))
			defer st.Close()
			// The admin key is the first run's in both: it authenticates.
			if code, body := call(t, st, first.AdminKey, http.MethodGet, "/v1/keys", ""); code != http.StatusOK {
				t.Fatalf("the first run's admin key, on the next: %d %s", code, body)
			}
			getCode, getBody := call(t, st, first.AdminKey, http.MethodGet, "/v1/projects/kept/streams/"+created.ID, "")
			testCode, testBody := call(t, st, first.AdminKey, http.MethodPost, "/v1/projects/kept/streams/"+created.ID+"/test", "")
			var res struct{ OK bool }
			_ = json.Unmarshal([]byte(testBody), &res)
			mu.Lock()
			got := append([]string(nil), auths...)
			mu.Unlock()
			works := getCode == http.StatusOK && testCode == http.StatusOK && res.OK && len(got) == 1 && got[0] == destSecret
			if works != tc.wantOK {
				t.Errorf("get: %d %s\ntest event: %d %s; the destination saw %q\nwant the stream readable and delivered with its kept secret: %v",
					getCode, getBody, testCode, testBody, got, tc.wantOK)
			}
		})
	}
}
