package bootstrap

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/topology"
)

// rieBin returns the emulator's path from RIE_BIN. A missing emulator skips
// the test, or fails it under CI=true, as a missing stand-in does.
func rieBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("RIE_BIN")
	why := "RIE_BIN is not set"
	if bin != "" {
		if _, err := os.Stat(bin); err == nil {
			return bin
		}
		why = "RIE_BIN=" + bin + " does not exist"
	}
	const hint = "make rie builds it; make test sets RIE_BIN"
	if os.Getenv("CI") == "true" {
		t.Fatalf("bootstrap: %s (CI=true: a missing emulator fails the run); %s", why, hint)
	}
	t.Skipf("bootstrap: %s; %s", why, hint)
	return ""
}

// buildFunctions builds every function of spec as `make build` does, but for
// the host: CGO off, lambda.norpc (the provided.al2023 runtime speaks the
// Runtime API, not net/rpc). It returns each function's binary by ID.
func buildFunctions(t *testing.T, spec topology.Spec) map[string]string {
	t.Helper()
	dir := t.TempDir()
	bins := map[string]string{}
	for _, f := range spec.Functions {
		out := filepath.Join(dir, f.ID, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, "./functions/"+f.SourceDir)
		cmd.Dir = moduleRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", f.ID, err, b)
		}
		bins[f.ID] = out
	}
	return bins
}

// moduleRoot is the repository root: two directories above this package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(filepath.Dir(wd))
}

// emulator is one aws-lambda-rie process serving one bootstrap.
type emulator struct {
	id      string
	url     string
	started time.Time
	out     *syncBuffer
	cmd     *exec.Cmd
	// firstAnswer is the time from starting the process to the first
	// invocation's answer: the emulator starts the bootstrap on that
	// invocation, so it covers the whole cold start.
	firstAnswer time.Duration
}

// syncBuffer collects the emulator's and the bootstrap's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startEmulator runs bin under the emulator with exactly env plus the AWS_*
// variables of the test process (stand-in endpoints, dummy credentials,
// region), as Lambda gives a function its configuration and credentials.
// Both of the emulator's listeners get their own loopback port, so several
// can run at once.
func startEmulator(t *testing.T, id, bin string, env map[string]string) *emulator {
	t.Helper()
	rie := rieBin(t)
	invokeAddr, runtimeAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", invokeAddr, "--runtime-api-address", runtimeAddr, bin)
	cmd.Dir = filepath.Dir(bin)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "AWS_LAMBDA_FUNCTION_NAME="+id)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	e := &emulator{id: id, url: "http://" + invokeAddr + "/2015-03-31/functions/function/invocations", out: &syncBuffer{}, cmd: cmd}
	cmd.Stdout, cmd.Stderr = e.out, e.out
	e.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s under the emulator: %v", id, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s: emulator and bootstrap output:\n%s", id, e.out.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", invokeAddr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: emulator does not listen on %s: %v", id, invokeAddr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return e
}

// freeAddr returns a loopback address with a port free at the time of the call.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// invoke sends payload as the invocation event and decodes the function's
// answer into out. On failure the emulator's output is logged by the cleanup. The emulator answers 200 with the handler's result, and
// another status (or an errorType document) when init or the handler failed.
func (e *emulator) invoke(t *testing.T, ctx context.Context, payload, out any) {
	t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: invoke: %v", e.id, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if e.firstAnswer == 0 {
		e.firstAnswer = time.Since(e.started)
	}
	var failure struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	_ = json.Unmarshal(got, &failure)
	if resp.StatusCode != http.StatusOK || failure.ErrorType != "" {
		t.Fatalf("%s: invocation failed: %d %s", e.id, resp.StatusCode, got)
	}
	if err := json.Unmarshal(got, out); err != nil {
		t.Fatalf("%s: answer %s: %v", e.id, got, err)
	}
}

// initReport is the emulator's record of the init phase:
// "INIT REPORT(durationMs: 59.994000)" — the time from starting the bootstrap
// until it asked the Runtime API for its first event, Lambda's Init Duration.
var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// initDuration returns the bootstrap's first Init Duration.
func (e *emulator) initDuration(t *testing.T) time.Duration {
	t.Helper()
	m := initReport.FindStringSubmatch(e.out.String())
	if m == nil {
		t.Fatalf("%s: no INIT REPORT in the emulator's output", e.id)
	}
	ms, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s: INIT REPORT %q: %v", e.id, m[0], err)
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// coldStart is one function's measured cold start.
type coldStart struct {
	id          string
	init        time.Duration
	firstAnswer time.Duration
}

func (c coldStart) String() string {
	return fmt.Sprintf("%-22s init %6.1f ms   start to first answer %6.1f ms", c.id,
		float64(c.init)/float64(time.Millisecond), float64(c.firstAnswer)/float64(time.Millisecond))
}
