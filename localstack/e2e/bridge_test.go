package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/gzip"
	"github.com/logstream/logstream/localstack/lokitest"
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/localstack/standin"
)

const (
	bridgeUser     = "e2e-bridge"
	bridgePassword = "e2e-bridge-password-0123456789"
)

// archived is one record of the bridge's archive.
type archived struct {
	Timestamp string            `json:"timestamp"`
	Labels    map[string]string `json:"labels"`
	Line      json.RawMessage   `json:"line"`
	Metadata  map[string]string `json:"metadata"`
}

// gzipObjects returns every object under prefix, gunzipped, by key. (The
// S3 stand-in does not echo Content-Encoding, so the bytes are read raw.)
func gzipObjects(t *testing.T, ctx context.Context, c *s3.Client, bucket, prefix string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if !strings.Contains(key, "/dt=") || !strings.Contains(key, "/hour=") || !strings.HasSuffix(key, ".ndjson.gz") {
				t.Fatalf("object key %s", key)
			}
			obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(obj.Body)
			obj.Body.Close()
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("%s is not gzip: %v", key, err)
			}
			if out[key], err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", key, err)
			}
		}
	}
	return out
}

// archive reads every record the bridge wrote under tenant=<tenant>/.
func archive(t *testing.T, ctx context.Context, st *runner.Stack, tenant string) []archived {
	t.Helper()
	c := s3.NewFromConfig(standin.AWSConfig(t), func(o *s3.Options) { o.UsePathStyle = true })
	var records []archived
	for key, body := range gzipObjects(t, ctx, c, st.Resources().ArchiveBucket, "tenant="+tenant+"/") {
		for _, l := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
			var r archived
			if err := json.Unmarshal(l, &r); err != nil {
				t.Fatalf("%s: record %q: %v", key, l, err)
			}
			records = append(records, r)
		}
	}
	return records
}

// bridgeCredentials are the bridge's credentials in every local stack of
// these tests: two pairs, as during a rotation.
func bridgeCredentials() string {
	creds, _ := json.Marshal(map[string]any{"credentials": []map[string]string{
		{"username": "old-" + bridgeUser, "password": "a-retired-password-0123456789"},
		{"username": bridgeUser, "password": bridgePassword}}})
	return string(creds)
}

// Real Loki clients push into the bridge through the local stack and every
// line lands in S3 once: logstream's own Loki sender in both formats (via
// grafana_loki streams pointed at the bridge), and Grafana's Promtail
// shipping a file of auth events.
func TestLokiBridgeEndToEnd(t *testing.T) {
	promtail := lokitest.PromtailBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := startStack(t, ctx, fastSpec(t))
	push := st.URL() + "/loki/api/v1/push"

	// The contract's edges: readiness, credentials, content types.
	for _, c := range []struct {
		name, method, path, user, pass, ctype, body string
		want                                        int
	}{
		{"ready", "GET", "/ready", "", "", "", "", 200},
		{"health", "GET", "/health", "", "", "", "", 200},
		{"no credentials", "POST", "/loki/api/v1/push", "", "", "application/json", `{"streams":[]}`, 401},
		{"wrong password", "POST", "/loki/api/v1/push", bridgeUser, "nope-nope-nope-nope", "application/json", `{"streams":[]}`, 401},
		{"unknown content type", "POST", "/loki/api/v1/push", bridgeUser, bridgePassword, "text/csv", "a,b", 415},
		{"malformed labels", "POST", "/loki/api/v1/push", bridgeUser, bridgePassword, "application/json",
			`{"streams":[{"stream":{"bad-name":"x"},"values":[["1","l"]]}]}`, 400},
	} {
		req, _ := http.NewRequest(c.method, st.URL()+c.path, strings.NewReader(c.body))
		if c.user != "" {
			req.SetBasicAuth(c.user, c.pass)
		}
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Fatalf("%s: %d %s, want %d", c.name, resp.StatusCode, msg, c.want)
		}
	}

	// 1. logstream's own Loki sender, both formats, into two tenants.
	base := st.URL() + "/v1/projects/proj_bridge"
	for _, f := range []string{"protobuf", "json"} {
		body, _ := json.Marshal(map[string]any{"name": "to the bridge " + f, "destination_type": "grafana_loki",
			"destination_config": map[string]any{"url": push, "username": bridgeUser, "password": bridgePassword,
				"tenant_id": "acme-" + f, "format": f, "labels": map[string]string{"env": "e2e"}}})
		if code, out := do(t, "POST", base+"/streams", "application/json", "", body); code != http.StatusCreated {
			t.Fatalf("create %s stream: %d %s", f, code, out)
		}
	}
	const total = 200
	var lines []string
	for i := range total {
		l, _ := json.Marshal(map[string]any{"event_id": fmt.Sprintf("evt_bridge_%03d", i), "seq": i,
			"request_id": fmt.Sprintf("req_%d", i), "action": "PasswordsAuthenticate", "status": "success"})
		lines = append(lines, string(l))
	}
	if code, out := do(t, "POST", base+"/events", "application/x-ndjson", "", []byte(strings.Join(lines, "\n"))); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %s", code, out)
	}
	for _, f := range []string{"protobuf", "json"} {
		seen := map[string]int{}
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
			records := archive(t, ctx, st, "acme-"+f)
			seen = map[string]int{}
			for _, r := range records {
				var ev struct {
					ID   string `json:"event_id"`
					Type string `json:"type"`
				}
				if err := json.Unmarshal(r.Line, &ev); err != nil {
					t.Fatalf("%s: line %s is not the event as JSON: %v", f, r.Line, err)
				}
				if strings.HasPrefix(ev.Type, "logstream.stream.") {
					continue // the streams' own lifecycle events
				}
				seen[ev.ID]++
				if r.Labels["source"] != "logstream" || r.Labels["env"] != "e2e" || r.Metadata["event_id"] != ev.ID ||
					r.Metadata["request_id"] == "" || r.Timestamp == "" {
					t.Fatalf("%s: record %+v lacks its labels, metadata or timestamp", f, r)
				}
			}
			if len(seen) >= total || time.Now().After(deadline) {
				break
			}
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s: %s archived %d times", f, id, n)
			}
		}
		if len(seen) != total {
			t.Fatalf("%s: %d of %d events archived", f, len(seen), total)
		}
		fmt.Fprintf(os.Stderr, "e2e: bridge: logstream's Loki sender (%s): %d/%d events archived once each\n", f, len(seen), total)
	}

	// 2. Promtail tailing a file of auth events.
	dir := t.TempDir()
	logFile := filepath.Join(dir, "auth.log")
	const promLines = 500
	var file bytes.Buffer
	for i := range promLines {
		fmt.Fprintf(&file, `{"event_id":"evt_promtail_%04d","action":"OAuthAuthenticate","status":"success","ip_address":"203.0.113.%d"}`+"\n", i, i%250)
	}
	if err := os.WriteFile(logFile, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`server:
  disable: true
positions:
  filename: %s/positions.yaml
clients:
  - url: %s
    tenant_id: promtail-e2e
    batchwait: 200ms
    basic_auth:
      username: %s
      password: %s
scrape_configs:
  - job_name: auth
    static_configs:
      - targets: [localhost]
        labels:
          job: authlogs
          __path__: %s
`, dir, push, bridgeUser, bridgePassword, logFile)
	if err := os.WriteFile(filepath.Join(dir, "promtail.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var plog bytes.Buffer
	cmd := exec.Command(promtail, "-config.file="+filepath.Join(dir, "promtail.yaml"))
	cmd.Stdout, cmd.Stderr = &plog, &plog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		if t.Failed() {
			t.Logf("promtail log:\n%s", plog.String())
		}
	}()
	seen := map[string]int{}
	for deadline := time.Now().Add(60 * time.Second); len(seen) < promLines && time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		records := archive(t, ctx, st, "promtail-e2e")
		seen = map[string]int{}
		for _, r := range records {
			var ev struct {
				ID string `json:"event_id"`
			}
			if err := json.Unmarshal(r.Line, &ev); err != nil || r.Labels["job"] != "authlogs" || r.Labels["filename"] != logFile {
				t.Fatalf("promtail record %+v (%v)", r, err)
			}
			seen[ev.ID]++
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("promtail: %s archived %d times", id, n)
		}
	}
	if len(seen) != promLines {
		t.Fatalf("promtail: %d of %d lines archived", len(seen), promLines)
	}
	fmt.Fprintf(os.Stderr, "e2e: bridge: promtail: %d/%d lines archived once each\n", len(seen), promLines)

	// Every push here is small: the bridge queued them all, and the Loki
	// archiver wrote them, a tenant's hour of each batch as one object
	// (named <ms>-<random>), never an object per push (<32 hex>).
	c := s3.NewFromConfig(standin.AWSConfig(t), func(o *s3.Options) { o.UsePathStyle = true })
	for _, tenant := range []string{"acme-protobuf", "acme-json", "promtail-e2e"} {
		batches := 0
		for key := range gzipObjects(t, ctx, c, st.Resources().ArchiveBucket, "tenant="+tenant+"/") {
			if !batchName.MatchString(key) {
				t.Errorf("%s: object %s is not the Loki archiver's", tenant, key)
			}
			batches++
		}
		fmt.Fprintf(os.Stderr, "e2e: bridge: %s: %d objects, all written by the Loki archiver\n", tenant, batches)
	}
}

// batchName is the name of an object the Loki archiver writes
// (archive.BatchKey).
var batchName = regexp.MustCompile(`/[0-9]{13}-[0-9a-f]{16}\.ndjson\.gz$`)
