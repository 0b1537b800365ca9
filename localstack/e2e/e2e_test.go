// Package e2e drives the whole local stack: the management API and ingestion
// through the HTTP API gateway, SQS on the stand-in, the delivery function
// under the SQS event source mapping, and real HTTP receivers.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/klauspost/compress/gzip"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/topology"
)

const (
	project  = "proj_e2e"
	adminKey = "e2e-admin-key-0123456789abcdef0123456789"
)

// bearer is the key requests carry; the test swaps in a project key for ingestion.
var bearer = adminKey

// receiver records the events an http stream delivers, by their "seq" field.
type receiver struct {
	status   int
	wantType string
	sawType  chan struct{}
	mu       sync.Mutex
	seqs     map[int]int // seq → times received
	reqs     int
	bad      []string // contract violations
	srv      *httptest.Server
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{status: status, seqs: map[int]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.reqs++
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-ndjson" || req.Header.Get("X-Tenant") != "acme" {
			r.bad = append(r.bad, fmt.Sprintf("%s %s %v", req.Method, req.URL, req.Header))
		}
		sc := bufio.NewScanner(req.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev struct {
				Seq       *int   `json:"seq"`
				Type      string `json:"type"`
				EventID   string `json:"event_id"`
				Timestamp string `json:"timestamp"`
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err == nil && ev.Seq == nil && strings.HasPrefix(ev.Type, "logstream.") {
				// logstream's own events: lifecycle and test events.
				if r.wantType != "" && ev.Type == r.wantType && r.sawType != nil {
					close(r.sawType)
					r.sawType = nil
				}
				continue
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.Seq == nil || ev.EventID == "" || ev.Timestamp == "" {
				r.bad = append(r.bad, "bad line: "+sc.Text())
				continue
			}
			if status/100 == 2 {
				r.seqs[*ev.Seq]++
			}
		}
		w.WriteHeader(r.status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// expectType arms the receiver to notice the next event of logstream's own type t.
func (r *receiver) expectType(t string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.wantType, r.sawType = t, make(chan struct{})
}

func (r *receiver) waitType(d time.Duration) bool {
	r.mu.Lock()
	ch := r.sawType
	r.mu.Unlock()
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

func (r *receiver) snapshot() (distinct, total, requests int, bad []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.seqs {
		total += n
	}
	return len(r.seqs), total, r.reqs, append([]string(nil), r.bad...)
}

func do(t *testing.T, method, url, contentType, encoding string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func createStream(t *testing.T, base, name, endpoint, status string) string {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"destination_type":"http","status":%q,"destination_config":{"endpoint":%q,"custom_headers":{"X-Tenant":"acme"}}}`,
		name, status, endpoint)
	code, out := do(t, "POST", base+"/v1/projects/"+project+"/streams", "application/json", "", []byte(body))
	if code != http.StatusCreated {
		t.Fatalf("create stream: %d %s", code, out)
	}
	var s struct{ ID string }
	json.Unmarshal(out, &s)
	return s.ID
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// fastSpec is standin.FastSpec: retries shortened to seconds.
func fastSpec(t *testing.T) topology.Spec { return standin.FastSpec(t) }

// readsDLQs stops the dead-letter function's schedule, for a test that reads
// the DLQs itself: the drain would move what it reads into the dead-letter
// store while it reads. Those tests check delivery's side of parking — which
// events reach the DLQ, with which reason attributes — which is the contract
// the drain reads; the store's side (drain, summaries, peek, jobs) is
// TestDeadLetterFault's and TestDeadLetterStoreEndToEnd's, through the API.
func readsDLQs(spec topology.Spec) topology.Spec {
	spec.SetSchedule(topology.FunctionDeadLetters, 0)
	return spec
}

func TestEndToEnd(t *testing.T) {
	cfg := standin.AWSConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := startStack(t, ctx, readsDLQs(fastSpec(t)))
	base := st.URL()

	good, failing, paused, gone := newReceiver(t, 200), newReceiver(t, 500), newReceiver(t, 200), newReceiver(t, 410)
	goodID := createStream(t, base, "good", good.srv.URL+"/hook", "active")
	failingID := createStream(t, base, "always-500", failing.srv.URL+"/hook", "active")
	createStream(t, base, "paused", paused.srv.URL+"/hook", "paused")
	goneID := createStream(t, base, "gone", gone.srv.URL+"/hook", "active")

	if code, out := do(t, "GET", base+"/v1/projects/"+project+"/streams?limit=10", "", "", nil); code != 200 ||
		!strings.Contains(string(out), goodID) || !strings.Contains(string(out), failingID) {
		t.Fatalf("list streams: %d %s", code, out)
	}
	if code, out := do(t, "POST", base+"/v1/projects/"+project+"/events", "application/json", "", []byte(`[{"a":`)); code != 400 ||
		!strings.Contains(string(out), `"code":"invalid_json"`) {
		t.Fatalf("bad batch: %d %s", code, out)
	}

	// Ingest with a key scoped to the project, as a platform would: the admin
	// key creates it, and it is shown once.
	code, out := do(t, "POST", base+"/v1/keys", "application/json", "", []byte(`{"name":"e2e ingest","projects":["`+project+`"],"access":"write"}`))
	var created struct{ Secret string }
	if json.Unmarshal(out, &created); code != http.StatusCreated || created.Secret == "" {
		t.Fatalf("create key: %d %s", code, out)
	}
	bearer = created.Secret
	defer func() { bearer = adminKey }()
	if code, _ := do(t, "GET", base+"/v1/projects/other_project/streams", "", "", nil); code != http.StatusNotFound {
		t.Fatalf("a key for %s listed another project: %d", project, code)
	}

	// 1,000 events in 10 batches, alternating JSON arrays and gzip NDJSON;
	// half carry their own event_id.
	const total, perBatch = 1000, 100
	for b := range total / perBatch {
		var lines []string
		for i := b * perBatch; i < (b+1)*perBatch; i++ {
			ev := map[string]any{"seq": i, "type": "user.session.start", "actor": fmt.Sprintf("user%d@example.com", i%37)}
			if i%2 == 0 {
				ev["event_id"] = fmt.Sprintf("evt_%04d", i)
			}
			line, _ := json.Marshal(ev)
			lines = append(lines, string(line))
		}
		var code int
		var out []byte
		if b%2 == 0 {
			code, out = do(t, "POST", base+"/v1/projects/"+project+"/events", "application/json", "", []byte("["+strings.Join(lines, ",")+"]"))
		} else {
			code, out = do(t, "POST", base+"/v1/projects/"+project+"/events", "application/x-ndjson", "gzip", gz([]byte(strings.Join(lines, "\n"))))
		}
		// The gone stream is suspended by its first 410 and routed no more.
		if code != http.StatusAccepted || !strings.Contains(string(out), fmt.Sprintf(`"accepted":%d,"streams":`, perBatch)) {
			t.Fatalf("batch %d: %d %s", b, code, out)
		}
	}

	// Wait for the good stream to have everything and the queue to drain.
	sqsClient := sqs.NewFromConfig(cfg)
	q := st.Resources().Queues[destination.HTTP]
	deadline := time.Now().Add(2 * time.Minute)
	for {
		distinct, _, _, _ := good.snapshot()
		inQueue := queueDepth(t, ctx, sqsClient, q.URL)
		if distinct == total && inQueue == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out: good receiver has %d of %d events, %d messages still in the queue", distinct, total, inQueue)
		}
		time.Sleep(250 * time.Millisecond)
	}

	distinct, received, requests, bad := good.snapshot()
	if len(bad) > 0 {
		t.Fatalf("good receiver saw contract violations: %v", bad[:min(3, len(bad))])
	}
	t.Logf("good stream: %d events sent, %d distinct received, %d duplicates, in %d requests", total, distinct, received-distinct, requests)
	fmt.Fprintf(os.Stderr, "e2e: delivered %d/%d distinct events to the good receiver, %d duplicates, %d requests\n",
		distinct, total, received-distinct, requests)

	// Every event of the always-500 stream must be in the DLQ: delivered ∪ DLQ = sent.
	// SQS moves a message to the DLQ when a receive finds it past
	// maxReceiveCount, so the last ones can arrive after the source queue
	// looks empty: keep reading until every event is there, or the deadline
	// says some were lost.
	inDLQ := map[int]bool{}
	goneParked := map[int]bool{}
	goneReasons := map[string]bool{}
	// A short visibility timeout, and messages counted once by id: a
	// receive whose answer is lost (a slow, overloaded stand-in) hides its
	// messages only briefly, not for the rest of the test.
	// Every event of the DLQ's messages, the project's lifecycle events
	// (stream.created, …) among them: what health counts as parked.
	var failingDLQ, goneDLQ int
	seenDLQ := readDLQ(t, ctx, sqsClient, q.DLQURL, 10, 120*time.Second, func() bool { return len(inDLQ) >= total },
		func(m sqstypes.Message, env envelope.Envelope) {
			seqs := inDLQ
			switch env.StreamID {
			case failingID:
				failingDLQ += len(env.Events)
			case goneID:
				goneDLQ += len(env.Events)
				// Parked at once, with the reason, not after retries.
				seqs = goneParked
				goneReasons[aws.ToString(m.MessageAttributes[envelope.AttrParkedReason].StringValue)] = true
			default:
				t.Fatalf("DLQ holds a message of stream %s, which answered 2xx", env.StreamID)
			}
			for _, raw := range env.Events {
				var ev struct{ Seq int }
				json.Unmarshal(raw, &ev)
				seqs[ev.Seq] = true
			}
		})
	_, failedDelivered, failedRequests, _ := failing.snapshot()
	if failedDelivered != 0 {
		t.Fatalf("the always-500 receiver counted %d deliveries", failedDelivered)
	}
	if len(inDLQ) != total {
		t.Fatalf("always-500 stream: %d of %d events in the DLQ; %d lost (messages: source queue %d, DLQ %d, %d read)",
			len(inDLQ), total, total-len(inDLQ), queueDepth(t, ctx, sqsClient, q.URL), queueDepth(t, ctx, sqsClient, q.DLQURL), len(seenDLQ))
	}
	if failedRequests == 0 {
		t.Fatal("the always-500 receiver was never called")
	}
	t.Logf("always-500 stream: all %d events in the DLQ after %d refused requests", total, failedRequests)
	fmt.Fprintf(os.Stderr, "e2e: always-500 stream: %d/%d events parked in the DLQ after %d refused requests\n", len(inDLQ), total, failedRequests)

	if _, _, reqs, _ := paused.snapshot(); reqs != 0 {
		t.Fatalf("the paused stream's receiver got %d requests", reqs)
	}

	// The 410 suspended its stream, says why, and parked what it had been
	// sent: nothing is delivered to it, nothing is lost.
	bearer = adminKey
	// Operators see the same DLQ through the API: the messages read above
	// are still in it (read, never deleted), visible or in flight.
	code, out = do(t, "GET", base+"/v1/admin/queues", "", "", nil)
	var depths manage.QueuesResponse
	if json.Unmarshal(out, &depths); code != 200 || len(depths.Queues) != len(destination.Types()) {
		t.Fatalf("admin queues: %d %s", code, out)
	}
	for _, tq := range depths.Queues {
		if d := tq.DeadLetterQueue; tq.DestinationType == destination.HTTP && d.Messages+d.InFlight < int64(len(seenDLQ)) {
			t.Errorf("admin queues: the http DLQ holds %d visible and %d in flight, fewer than the %d messages read from it", d.Messages, d.InFlight, len(seenDLQ))
		}
	}
	code, out = do(t, "GET", base+"/v1/projects/"+project+"/streams/"+goneID, "", "", nil)
	var goneStream struct {
		Status       string `json:"status"`
		StatusReason string `json:"status_reason"`
	}
	if json.Unmarshal(out, &goneStream); code != 200 || goneStream.Status != "suspended" || !strings.Contains(goneStream.StatusReason, "410") {
		t.Fatalf("the 410 stream: %d %s", code, out)
	}
	_, _, goneRequests, _ := gone.snapshot()
	// The batch that met the 410 is parked with it as the reason; what was
	// queued behind it, because the stream is suspended.
	var gone410 bool
	for r := range goneReasons {
		switch {
		case strings.HasPrefix(r, "gone: receiver answered 410"):
			gone410 = true
		case strings.HasPrefix(r, "stream is suspended: receiver answered 410"):
			// Queued behind it: parked with why the stream was suspended.
		default:
			t.Errorf("the 410 stream's events parked with reason %q", r)
		}
	}
	// Ingestion routes to the stream until it is suspended: every event
	// queued for it before then is parked, none delivered.
	if len(goneParked) == 0 || !gone410 {
		t.Fatalf("the 410 stream parked %d events with reasons %v", len(goneParked), goneReasons)
	}
	fmt.Fprintf(os.Stderr, "e2e: 410 stream suspended after %d request(s); the %d events queued for it parked, reasons %v\n",
		goneRequests, len(goneParked), goneReasons)

	// The health view counts each event once per attempt: delivered,
	// retried, or parked by reason (issue 12 §3). The counters are written
	// just after the DLQ has the events, so they are polled for a moment.
	type healthView struct {
		DeliveredEvents int64 `json:"delivered_events"`
		FailedEvents    int64 `json:"failed_events"`
		RetriedAttempts int64 `json:"retried_attempts"`
		DeadLetters     map[string]struct {
			Count    int64     `json:"count"`
			OldestAt time.Time `json:"oldest_at"`
			NewestAt time.Time `json:"newest_at"`
		} `json:"dead_letters"`
	}
	healthOf := func(id string, done func(h healthView) bool) (healthView, []byte) {
		var h healthView
		var out []byte
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			var code int
			code, out = do(t, "GET", base+"/v1/projects/"+project+"/streams/"+id+"/health", "", "", nil)
			h = healthView{}
			if code != 200 || json.Unmarshal(out, &h) != nil {
				t.Fatalf("health of %s: %d %s", id, code, out)
			}
			if done(h) || time.Now().After(deadline) {
				return h, out
			}
		}
	}
	h, out := healthOf(goodID, func(h healthView) bool { return h.DeliveredEvents >= total })
	if h.DeliveredEvents < total || h.FailedEvents != 0 || len(h.DeadLetters) != 0 {
		t.Fatalf("health of the good stream: %s", out)
	}
	// Each of the always-500 stream's events failed its receives and was
	// parked by the function on its third (the queue's maxReceiveCount):
	// failed_events counts each once, not each attempt; retried_attempts
	// counts the attempts before (up to two each: a receive the runner lost
	// counts toward the queue's limit but not here).
	h, out = healthOf(failingID, func(h healthView) bool { return h.FailedEvents >= int64(failingDLQ) })
	// This test reads the DLQs itself, so the drain is off (readsDLQs) and
	// health's dead_letters, which are the dead-letter store's, stay empty;
	// TestDeadLetterFault checks them with the drain on.
	if h.FailedEvents != int64(failingDLQ) || len(h.DeadLetters) != 0 ||
		h.RetriedAttempts == 0 || h.RetriedAttempts > 2*h.FailedEvents || h.DeliveredEvents != 0 ||
		!strings.Contains(string(out), "receiver answered 500") {
		t.Fatalf("health of the failing stream: %s", out)
	}
	fmt.Fprintf(os.Stderr, "e2e: health of the always-500 stream: %d failed (all exhausted), %d retried attempts\n", h.FailedEvents, h.RetriedAttempts)
	// The 410 stream's events: parked as gone (the request that met the
	// 410) or suspended (queued for it after), none retried.
	h, out = healthOf(goneID, func(h healthView) bool { return h.FailedEvents >= int64(goneDLQ) })
	if h.FailedEvents != int64(goneDLQ) || len(h.DeadLetters) != 0 {
		t.Fatalf("health of the 410 stream (%d parked): %s", goneDLQ, out)
	}

	// The test route goes through the real sender to the real receiver.
	before, _, _, _ := good.snapshot()
	code, out = do(t, "POST", base+"/v1/projects/"+project+"/streams/"+goodID+"/test", "", "", nil)
	if code != 200 || !strings.Contains(string(out), `"ok":true`) {
		t.Fatalf("test event: %d %s", code, out)
	}
	if _, _, _, bad := good.snapshot(); len(bad) == 0 && before == 0 {
		t.Fatal("the receiver saw nothing")
	}

	// A configuration change reaches the project's own streams as a
	// lifecycle event.
	good.expectType("logstream.stream.updated")
	if code, out := do(t, "PATCH", base+"/v1/projects/"+project+"/streams/"+failingID, "application/json", "", []byte(`{"name":"renamed"}`)); code != 200 {
		t.Fatalf("patch: %d %s", code, out)
	}
	if !good.waitType(30 * time.Second) {
		t.Fatal("the good stream never received the logstream.stream.updated lifecycle event")
	}
}

func queueDepth(t *testing.T, ctx context.Context, c *sqs.Client, url string) int {
	t.Helper()
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range out.Attributes {
		var k int
		fmt.Sscan(v, &k)
		n += k
	}
	return n
}

// readDLQ reads a dead-letter queue until done or the time is up, handing
// each message once (by id) with its decoded envelope. A short visibility
// timeout means a receive whose answer is lost (a slow, overloaded
// stand-in) hides its messages only briefly. It returns the ids read.
func readDLQ(t *testing.T, ctx context.Context, c *sqs.Client, url string, visibility int32, within time.Duration,
	done func() bool, each func(sqstypes.Message, envelope.Envelope)) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for deadline := time.Now().Add(within); !done() && time.Now().Before(deadline); {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: visibility, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			if seen[aws.ToString(m.MessageId)] {
				continue
			}
			seen[aws.ToString(m.MessageId)] = true
			// Parked events are plain; a message SQS redrive moved is as
			// ingestion sent it, compressed or not.
			env, err := envelope.Open(aws.ToString(m.Body), aws.ToString(m.MessageAttributes[envelope.AttrEncoding].StringValue))
			if err != nil {
				t.Fatalf("a DLQ message is not an envelope: %v", err)
			}
			each(m, env)
		}
	}
	return seen
}
