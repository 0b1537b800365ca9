// Package lokitest runs a real Grafana Loki (built by localstack/loki.sh) for
// tests: single binary, filesystem storage in a temporary directory, loopback
// only, multi-tenant, ready when Start returns.
package lokitest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// Version is the Loki release localstack/loki.sh builds.
const Version = "v3.5.3"

// Loki is a running Loki server.
type Loki struct {
	URL string // http://127.0.0.1:<port>
}

// Binary finds the Loki binary: $LOKI_BIN, else the cache localstack/loki.sh
// fills. Without one the test is skipped — or fails under CI=true, where a
// missing Loki means the end-to-end proof did not run.
func Binary(t testing.TB) string { return binary(t, "loki", "LOKI_BIN") }

// PromtailBinary finds Grafana's Promtail, built from the same Loki source
// ($PROMTAIL_BIN, else `localstack/loki.sh path promtail`'s cache), the
// same way.
func PromtailBinary(t testing.TB) string { return binary(t, "promtail", "PROMTAIL_BIN") }

func binary(t testing.TB, name, env string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", env, p, err)
		}
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", ".cache", "loki", Version, name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	msg := fmt.Sprintf("no %s binary: run `localstack/loki.sh path %s` (or set %s)", name, name, env)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

const config = `auth_enabled: true
server:
  http_listen_address: 127.0.0.1
  http_listen_port: %d
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: %d
  log_level: warn
common:
  instance_addr: 127.0.0.1
  path_prefix: %[3]s
  storage:
    filesystem:
      chunks_directory: %[3]s/chunks
      rules_directory: %[3]s/rules
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory
schema_config:
  configs:
    - from: 2024-01-01
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
limits_config:
  allow_structured_metadata: true
  reject_old_samples: false
analytics:
  reporting_enabled: false
pattern_ingester:
  enabled: false
`

// Start runs Loki until the test ends.
func Start(t testing.TB) *Loki {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	httpPort, grpcPort := freePort(t), freePort(t)
	cfg := filepath.Join(dir, "loki.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(config, httpPort, grpcPort, filepath.Join(dir, "data"))), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "loki.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config.file="+cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("loki log (last 2 KiB):\n%s", b[max(0, len(b)-2048):])
		}
	})
	l := &Loki{URL: "http://127.0.0.1:" + strconv.Itoa(httpPort)}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(l.URL + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("loki not ready after 60 s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Entry is one log line as a query returns it, with labels and structured
// metadata kept apart (the categorize-labels response encoding).
type Entry struct {
	Labels   map[string]string
	Time     time.Time
	Line     string
	Metadata map[string]string
}

// Query returns the entries of a LogQL stream selector for a tenant within
// the last day and the next one, oldest first.
func (l *Loki) Query(ctx context.Context, tenant, selector string) ([]Entry, error) {
	q := url.Values{"query": {selector}, "limit": {"5000"}, "direction": {"forward"},
		"start": {strconv.FormatInt(time.Now().Add(-24*time.Hour).UnixNano(), 10)},
		"end":   {strconv.FormatInt(time.Now().Add(72*time.Hour).UnixNano(), 10)}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.URL+"/loki/api/v1/query_range?"+q.Encode(), nil)
	req.Header.Set("X-Scope-OrgID", tenant)
	req.Header.Set("X-Loki-Response-Encoding-Flags", "categorize-labels")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("query %s: %d %s", selector, resp.StatusCode, body)
	}
	var out struct {
		Data struct {
			Result []struct {
				Stream map[string]string `json:"stream"`
				Values [][]json.RawMessage
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decode query answer: %w", err)
	}
	var entries []Entry
	for _, r := range out.Data.Result {
		for _, v := range r.Values {
			var ts, line string
			if len(v) < 2 || json.Unmarshal(v[0], &ts) != nil || json.Unmarshal(v[1], &line) != nil {
				return nil, fmt.Errorf("unexpected value %s", v)
			}
			ns, err := strconv.ParseInt(ts, 10, 64)
			if err != nil {
				return nil, err
			}
			e := Entry{Labels: r.Stream, Time: time.Unix(0, ns).UTC(), Line: line}
			if len(v) > 2 {
				var cat struct {
					StructuredMetadata map[string]string `json:"structuredMetadata"`
				}
				_ = json.Unmarshal(v[2], &cat)
				e.Metadata = cat.StructuredMetadata
			}
			entries = append(entries, e)
		}
	}
	return entries, nil
}
