package e2e

import (
	"bufio"
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

	"github.com/logstream/logstream/shared/notice"
	"github.com/logstream/logstream/shared/topology"
)

// lines is an http receiver that answers status and keeps every NDJSON line
// it was sent.
type lines struct {
	mu     sync.Mutex
	status int
	got    []map[string]any
	reqs   int
	srv    *httptest.Server
}

func newLines(t *testing.T, status int) *lines {
	l := &lines{status: status}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.reqs++
		sc := bufio.NewScanner(req.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				l.got = append(l.got, ev)
			}
		}
		w.WriteHeader(l.status)
	}))
	t.Cleanup(l.srv.Close)
	return l
}

// ofType is the events of type typ received so far.
func (l *lines) ofType(typ string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, ev := range l.got {
		if ev["type"] == typ {
			out = append(out, ev)
		}
	}
	return out
}

// putEvents is an EventBridge stand-in for the operator's default bus: it
// speaks PutEvents' JSON 1.1 protocol (X-Amz-Target AWSEvents.PutEvents)
// and keeps the entries it accepted.
type putEvents struct {
	mu      sync.Mutex
	entries []struct {
		Source, DetailType, Detail, EventBusName string
	}
	bad []string
	srv *httptest.Server
}

func newPutEvents(t *testing.T) *putEvents {
	p := &putEvents{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		p.mu.Lock()
		defer p.mu.Unlock()
		if req.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" || !strings.HasPrefix(req.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
			p.bad = append(p.bad, fmt.Sprintf("%s %v", req.Header.Get("X-Amz-Target"), req.Header))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var in struct {
			Entries []struct {
				Source, DetailType, Detail, EventBusName string
			}
		}
		if err := json.Unmarshal(b, &in); err != nil {
			p.bad = append(p.bad, "bad body: "+string(b))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		p.entries = append(p.entries, in.Entries...)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprintf(w, `{"FailedEntryCount":0,"Entries":[%s]}`, strings.Repeat(`{"EventId":"e"},`, len(in.Entries)-1)+`{"EventId":"e"}`)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// detail is the notice of detail-type dt for stream id, if one came.
func (p *putEvents) detail(dt, id string) (notice.Detail, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.entries {
		var d notice.Detail
		if e.DetailType == dt && json.Unmarshal([]byte(e.Detail), &d) == nil && d.StreamID == id {
			return d, e.Source == notice.Source && e.EventBusName == ""
		}
	}
	return notice.Detail{}, false
}

// Issue 13 §3, end to end: a stream whose receiver answers 500 for longer
// than the deployment's window (2 s here) is suspended with the reason,
// what was queued for it is parked as its dead letters with that reason,
// the project's other stream receives logstream.stream.suspended and the
// operator's stand-in bus a "Stream Suspended" event; enable resumes it, with
// logstream.stream.resumed and "Stream Resumed", and it delivers again.
func TestSuspensionOnSustainedFailure(t *testing.T) {
	bus := newPutEvents(t)
	// The SDK's own rule, as everywhere: the functions' EventBridge client
	// reads it at cold start, when the stack starts.
	t.Setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", bus.srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	spec := fastSpec(t)
	// Retried for longer than the window, so the failure run, not the last
	// receive, decides what becomes of the events.
	spec.SetMaxReceiveCount(30)
	st := startStack(t, ctx, spec, map[string]string{topology.EnvSuspendAfter: "2s"})
	base := st.URL() + "/v1/projects/proj_suspend"

	failing, watcher := newLines(t, http.StatusInternalServerError), newLines(t, http.StatusOK)
	create := func(name, endpoint string) string {
		t.Helper()
		body := fmt.Sprintf(`{"name":%q,"destination_type":"http","destination_config":{"endpoint":%q}}`, name, endpoint)
		code, out := do(t, "POST", base+"/streams", "application/json", "", []byte(body))
		var s struct{ ID string }
		if json.Unmarshal(out, &s); code != http.StatusCreated {
			t.Fatalf("create %s: %d %s", name, code, out)
		}
		return s.ID
	}
	failingID := create("always-500", failing.srv.URL+"/hook")
	create("watcher", watcher.srv.URL+"/hook")

	const total = 40
	for b := range 4 {
		var evs []string
		for i := b * 10; i < (b+1)*10; i++ {
			evs = append(evs, fmt.Sprintf(`{"seq":%d,"type":"user.session.start"}`, i))
		}
		if code, out := do(t, "POST", base+"/events", "application/json", "", []byte("["+strings.Join(evs, ",")+"]")); code != http.StatusAccepted {
			t.Fatalf("ingest: %d %s", code, out)
		}
	}

	type streamView struct {
		Status       string `json:"status"`
		StatusReason string `json:"status_reason"`
	}
	var s streamView
	for deadline := time.Now().Add(time.Minute); ; {
		code, out := do(t, "GET", base+"/streams/"+failingID, "", "", nil)
		if json.Unmarshal(out, &s); code == 200 && s.Status == "suspended" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the always-500 stream was not suspended: %d %s", code, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(s.StatusReason, "no success") {
		t.Fatalf("status_reason %q", s.StatusReason)
	}

	// Both notices: into the project's flow, seen by its other stream, and
	// on the operator's bus.
	var suspended []map[string]any
	var opSuspended notice.Detail
	for deadline := time.Now().Add(30 * time.Second); ; {
		suspended = watcher.ofType("logstream.stream.suspended")
		d, ok := bus.detail("Stream Suspended", failingID)
		if len(suspended) > 0 && ok {
			opSuspended = d
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notices: lifecycle %v, operator %+v (%v); stand-in refused %v", suspended, d, ok, bus.bad)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(suspended) != 1 || suspended[0]["target"].(map[string]any)["id"] != failingID || suspended[0]["reason"] != s.StatusReason {
		t.Fatalf("lifecycle events %v", suspended)
	}
	if opSuspended.ProjectID != "proj_suspend" || opSuspended.DestinationType != "http" || opSuspended.Reason != s.StatusReason ||
		opSuspended.FirstFailureAt == nil || opSuspended.Status != "suspended" {
		t.Fatalf("operator's notice %+v", opSuspended)
	}

	// What was queued is parked with the reason, and waits as the stream's
	// dead letters (the dead-letter function drains them into the store).
	type healthView struct {
		FailingSince *time.Time `json:"failing_since"`
		SuspendsAt   *time.Time `json:"suspends_at"`
		DeadLetters  map[string]struct {
			Count int `json:"count"`
		} `json:"dead_letters"`
	}
	var h healthView
	for deadline := time.Now().Add(time.Minute); ; {
		code, out := do(t, "GET", base+"/streams/"+failingID+"/health", "", "", nil)
		json.Unmarshal(out, &h)
		n := 0
		for _, c := range h.DeadLetters {
			n += c.Count
		}
		// The 40, and the two logstream.stream.created events (its own and
		// the watcher's) queued for it before them.
		if code == 200 && n == total+2 && h.DeadLetters["suspended"].Count > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health of the suspended stream: %d %s", code, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if h.FailingSince == nil || h.SuspendsAt != nil {
		t.Fatalf("a suspended stream's failing_since %v, suspends_at %v", h.FailingSince, h.SuspendsAt)
	}
	code, out := do(t, "GET", base+"/dead-letters/events?stream_id="+failingID+"&reason=suspended", "", "", nil)
	if code != 200 || !strings.Contains(string(out), "stream is suspended: "+s.StatusReason) {
		t.Fatalf("dead letters parked for the suspension: %d %s", code, out)
	}

	// Enable resumes it, and tells of it in both places.
	failing.mu.Lock()
	failing.status = http.StatusOK
	failing.mu.Unlock()
	if code, out := do(t, "POST", base+"/streams/"+failingID+"/enable", "application/json", "", nil); code != 200 || !strings.Contains(string(out), `"status":"active"`) {
		t.Fatalf("enable: %d %s", code, out)
	}
	if d, ok := bus.detail("Stream Resumed", failingID); !ok || d.Status != "active" || d.Reason != s.StatusReason {
		t.Fatalf("operator's resumed notice %+v (%v)", d, ok)
	}
	if code, out := do(t, "GET", base+"/streams/"+failingID+"/health", "", "", nil); code != 200 || !strings.Contains(string(out), `"failing_since":null`) {
		t.Fatalf("health after enable: %d %s", code, out)
	}
	if code, out := do(t, "POST", base+"/events", "application/json", "", []byte(`[{"seq":1000,"type":"user.session.start"}]`)); code != http.StatusAccepted {
		t.Fatalf("ingest after enable: %d %s", code, out)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		resumed := watcher.ofType("logstream.stream.resumed")
		delivered := false
		failing.mu.Lock()
		for _, ev := range failing.got {
			delivered = delivered || ev["seq"] == float64(1000)
		}
		failing.mu.Unlock()
		if len(resumed) == 1 && delivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after enable: resumed events %v, delivered again %v", resumed, delivered)
		}
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "e2e: always-500 stream suspended after a 2 s window; %d queued events parked (suspended: %d); notices in the flow and on the bus; resumed on enable\n",
		total+2, h.DeadLetters["suspended"].Count)
}
