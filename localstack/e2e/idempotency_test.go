package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/ingest"
)

// sqsCutter stands between the stack and the SQS stand-in. Armed, it lets a
// number of SendMessageBatch calls through and refuses every later one, as
// SQS would refuse a request it will not take (400, not retried by the SDK):
// an ingest request cut off mid-enqueue. Everything else passes.
type sqsCutter struct {
	mu     sync.Mutex
	armed  bool
	pass   int // SendMessageBatch calls still let through while armed
	passed int // SendMessageBatch calls let through while armed
	cut    int // SendMessageBatch calls refused
	srv    *httptest.Server
}

func newSQSCutter(t *testing.T, target string) *sqsCutter {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &sqsCutter{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		// The JSON protocol names the action in X-Amz-Target; the query
		// protocol in the form body.
		batch := strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".SendMessageBatch") || bytes.Contains(body, []byte("Action=SendMessageBatch"))
		// The archive queue's batch runs beside the streams' (in any
		// order): it passes uncounted, so the cut falls among the
		// delivery queues' batches alone.
		archive := bytes.Contains(body, []byte(`-archive"`)) || bytes.Contains(body, []byte("-archive&"))
		if batch && !archive && c.refuse() {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.Header().Set("X-Amzn-Query-Error", "InvalidParameterValue;Sender")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"com.amazonaws.sqs#InvalidParameterValue","message":"refused by the e2e test's cutter"}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// refuse says whether this SendMessageBatch call is refused.
func (c *sqsCutter) refuse() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.armed {
		return false
	}
	if c.pass > 0 {
		c.pass--
		c.passed++
		return false
	}
	c.cut++
	return true
}

func (c *sqsCutter) arm(pass int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed, c.pass, c.passed, c.cut = true, pass, 0, 0
}

func (c *sqsCutter) disarm() (passed, cut int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = false
	return c.passed, c.cut
}

// postKeyed is do with an Idempotency-Key.
func postKeyed(t *testing.T, url, key string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ingest.IdempotencyHeader, key)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestIdempotentRetryAfterCutOffEnqueue is issue 13's idempotency run: an
// ingest request to two streams is cut off after some of its messages were
// queued (a 503), then retried with its Idempotency-Key; each event reaches
// each stream's receiver exactly once, and a further retry is answered as
// the completed one was, without queueing anything. The events carry no
// event_id, so this also holds the ids ingestion stamps to be the same on
// both attempts.
func TestIdempotentRetryAfterCutOffEnqueue(t *testing.T) {
	target := os.Getenv("AWS_ENDPOINT_URL_SQS")
	standin.AWSConfig(t) // fails (CI) or skips (locally) without the stand-ins
	cutter := newSQSCutter(t, target)
	t.Setenv("AWS_ENDPOINT_URL_SQS", cutter.srv.URL) // the stack's functions and pollers go through it

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The deployed timing: a retry only comes back after the visibility
	// timeout, so a slow delivery on a loaded machine is not parked (as
	// fastSpec's 2 s function timeout would) and counted as lost here.
	st := startStack(t, ctx, standin.Spec(t))
	base := st.URL()
	one, two := newReceiver(t, 200), newReceiver(t, 200)
	createStream(t, base, "idem-one", one.srv.URL+"/hook", "active")
	createStream(t, base, "idem-two", two.srv.URL+"/hook", "active")

	// 60 events of about 20 KiB: a dozen events a 256 KiB message, so five
	// messages a stream, each its own SendMessageBatch call. The padding is
	// random hex: ingestion compresses each message (to ~70%, so still one
	// a call), where a run of one letter would shrink five to one call.
	padding := rand.New(rand.NewPCG(13, 13))
	pad := make([]byte, 10<<10)
	const events = 60
	var b strings.Builder
	b.WriteString("[")
	for i := range events {
		if i > 0 {
			b.WriteString(",")
		}
		for j := range pad {
			pad[j] = byte(padding.Uint32())
		}
		fmt.Fprintf(&b, `{"seq":%d,"type":"idem.test","pad":%q}`, i, hex.EncodeToString(pad))
	}
	b.WriteString("]")
	body := []byte(b.String())
	ingestURL := base + "/v1/projects/" + project + "/events"
	const key = "e2e-idem-0190c0ff-ee00-7000-8000-000000000013"

	cutter.arm(3)
	code, out := postKeyed(t, ingestURL, key, body)
	passed, cut := cutter.disarm()
	if code != http.StatusServiceUnavailable || !strings.Contains(string(out), `"code":"enqueue_failed"`) {
		t.Fatalf("cut-off attempt: %d %s, want 503 enqueue_failed", code, out)
	}
	if passed != 3 || cut == 0 || !strings.Contains(string(out), "(3 messages were)") {
		t.Fatalf("cut-off attempt: %d batches through, %d refused, answer %s; want 3 messages queued before the cut", passed, cut, out)
	}

	code, out = postKeyed(t, ingestURL, key, body)
	if code != http.StatusAccepted {
		t.Fatalf("retry: %d %s, want 202", code, out)
	}
	var res ingest.Result
	if err := json.Unmarshal(out, &res); err != nil || res.Accepted != events || res.Streams != 2 || res.Messages < 4 {
		t.Fatalf("retry answered %s", out)
	}
	if c2, out2 := postKeyed(t, ingestURL, key, body); c2 != code || !bytes.Equal(out2, out) {
		t.Errorf("second retry: %d %s, want the completed answer %d %s", c2, out2, code, out)
	}
	if c3, out3 := postKeyed(t, ingestURL, key, []byte(`[{"seq":0}]`)); c3 != http.StatusUnprocessableEntity ||
		!strings.Contains(string(out3), `"code":"idempotency_key_reused"`) {
		t.Errorf("the key with another body: %d %s, want 422 idempotency_key_reused", c3, out3)
	}

	// Every event arrives; then, with the queue drained, none arrived twice.
	sqsClient := sqs.NewFromConfig(standin.AWSConfig(t))
	q := st.Resources().Queues[destination.HTTP]
	deadline := time.Now().Add(90 * time.Second)
	for {
		d1, _, _, _ := one.snapshot()
		d2, _, _, _ := two.snapshot()
		if d1 == events && d2 == events && queueDepth(t, ctx, sqsClient, q.URL) == 0 {
			break
		}
		if time.Now().After(deadline) {
			// A message parked (the DLQ) is a delivery failure, not a
			// loss at ingestion: say which it is.
			t.Fatalf("delivered %d and %d distinct events of %d; queue depth %d, DLQ depth %d", d1, d2, events,
				queueDepth(t, ctx, sqsClient, q.URL), queueDepth(t, ctx, sqsClient, q.DLQURL))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for name, r := range map[string]*receiver{"idem-one": one, "idem-two": two} {
		distinct, total, _, bad := r.snapshot()
		if distinct != events || total != events || len(bad) > 0 {
			t.Errorf("%s received %d events (%d distinct), want each of %d once; contract violations: %v", name, total, distinct, events, bad)
		}
	}
}
