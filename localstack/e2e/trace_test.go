package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTraceEndToEnd is issue 16's tracing through the local stack: a
// request that names its trace (traceparent) and itself (X-Request-Id) is
// ingestion's span of that trace; the SQS message it enqueues carries the
// trace to the delivery function, whose span is a child of ingestion's,
// with the same request id. Followed, as an operator would, by the lines
// every function logged with the trace's id.
func TestTraceEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	output := captureOutput(t)
	st := startStack(t, ctx, fastSpec(t))
	base := st.URL()
	rec := newBodyRecorder(t, http.StatusNoContent)
	streamID := createStream(t, base, "traced", rec.srv.URL+"/hook", "active")

	const (
		traceID   = "4bf92f3577b34da6a3ce929d0e0e4736"
		callerID  = "00f067aa0ba902b7"
		requestID = "req-e2e-trace-1"
	)
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/projects/"+project+"/events",
		bytes.NewReader([]byte(`[{"event_id":"trace-1","type":"user.login"},{"event_id":"trace-2","type":"user.logout"}]`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("traceparent", "00-"+traceID+"-"+callerID+"-01")
	req.Header.Set("X-Request-Id", requestID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}

	// The trace's spans, from every line logged (the runner's functions
	// log Lambda's text format: key=value, values quoted when they must be).
	spans := func() map[string]map[string]string {
		out := map[string]map[string]string{}
		for _, line := range bytes.Split(output(), []byte("\n")) {
			l := map[string]string{}
			for _, m := range logPair.FindAllSubmatch(line, -1) {
				v := string(m[2])
				if u, err := strconv.Unquote(v); err == nil {
					v = u
				}
				l[string(m[1])] = v
			}
			if l["message"] == "span" && l["trace_id"] == traceID {
				out[l["span"]] = l
			}
		}
		return out
	}
	var got map[string]map[string]string
	for deadline := time.Now().Add(time.Minute); ; {
		if got = spans(); got["deliver"] != nil && got["ingest"] != nil {
			break
		}
		if time.Now().After(deadline) {
			_ = os.WriteFile(os.TempDir()+"/trace-e2e-output.log", output(), 0o600)
			t.Fatalf("spans of trace %s after a minute: %v", traceID, got)
		}
		time.Sleep(200 * time.Millisecond)
	}
	in, out := got["ingest"], got["deliver"]
	if in["parent_id"] != callerID || in["request_id"] != requestID || in["status"] != "202" || in["project_id"] != project {
		t.Errorf("ingest span %v", in)
	}
	if out["parent_id"] != in["span_id"] || out["request_id"] != requestID || out["stream_id"] != streamID ||
		out["result"] != "delivered" || out["delivered"] != "2" {
		t.Errorf("deliver span %v, a child of ingest's %v", out, in["span_id"])
	}
	_, lines := rec.snapshot()
	n := 0
	for _, ev := range lines { // beside the stream's lifecycle event
		if id, _ := ev["event_id"].(string); strings.HasPrefix(id, "trace-") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("the receiver got %d of the 2 events", n)
	}
}

// logPair is one key=value of a text log line.
var logPair = regexp.MustCompile(`([A-Za-z_]+)=("(?:[^"\\]|\\.)*"|\S+)`)
