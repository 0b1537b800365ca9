package datadog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/sink/sinktest"
	"github.com/logstream/logstream/shared/stream"
)

const apiKey = "0123456789abcdef0123456789abcdef"

// now is shortly after sinktest.Corpus's timestamps (2026-11-24T07:…Z).
var now = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

func testStream(t testing.TB, cfg map[string]any) stream.Stream {
	t.Helper()
	full := map[string]any{"site": "datadoghq.eu", "api_key": apiKey}
	for k, v := range cfg {
		full[k] = v
	}
	return sinktest.Stream(t, "datadog", full)
}

func newSender(url string, timeout time.Duration) *Sender {
	return &Sender{
		Client:    netguard.Policy{AllowPrivate: true}.Client(timeout),
		UserAgent: "logstream/test",
		Now:       func() time.Time { return now },
		URL:       func(string) string { return url + "/api/v2/logs" },
	}
}

func send(t *testing.T, s *Sender, st stream.Stream, evs []json.RawMessage) error {
	t.Helper()
	return s.Send(context.Background(), st, deliver.Batch{Events: evs})
}

// The payloads as Datadog receives them, decompressed and indented in the
// order sent.
func TestGolden(t *testing.T) {
	corpus := sinktest.Corpus(t, 8)
	evs := []json.RawMessage{corpus[0], corpus[2], corpus[7]} // Stytch, Okta, Auth0
	tests := []struct {
		name string
		cfg  map[string]any
	}{
		{"defaults", nil},
		{"configured", map[string]any{"service": "auth-events", "source": "stytch", "tags": []string{"env:prod", "team:security"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, srv := newIntake(t, apiKey)
			if err := send(t, newSender(srv.URL, 2*time.Second), testStream(t, tc.cfg), evs); err != nil {
				t.Fatal(err)
			}
			_, _, bodies := in.got()
			if len(bodies) != 1 {
				t.Fatalf("%d requests", len(bodies))
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, bodies[0], "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			sinktest.Golden(t, tc.name, pretty.Bytes())
		})
	}
}

// Several batches through the stand-in intake: every event arrives once, as
// a log whose attributes are exactly the event's members plus the envelope.
func TestContract(t *testing.T) {
	corpus := sinktest.Corpus(t, 1000)
	in, srv := newIntake(t, apiKey)
	var site string
	s := newSender(srv.URL, 5*time.Second)
	s.URL = func(st string) string { site = st; return srv.URL + "/api/v2/logs" }
	tags := map[string]any{"tags": []string{"env:prod", "team:security"}, "service": "auth"}
	batches := []struct {
		cfg map[string]any
		evs []json.RawMessage
	}{
		{nil, corpus}, // Limits.MaxEvents in one request
		{tags, corpus[:1]},
		{tags, corpus[1:64]},
		{nil, corpus[64:100]},
	}
	var sent []json.RawMessage
	for i, b := range batches {
		if err := send(t, s, testStream(t, b.cfg), b.evs); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		sent = append(sent, b.evs...)
	}
	if site != "datadoghq.eu" {
		t.Errorf("URL asked for site %q", site)
	}
	requests, logs, _ := in.got()
	if requests != len(batches) || len(logs) != len(sent) {
		t.Fatalf("%d requests with %d logs, want %d with %d", requests, len(logs), len(batches), len(sent))
	}
	envelopeNames := map[string]bool{"ddsource": true, "service": true, "ddtags": true, "hostname": true, "message": true}
	for i, ev := range sent {
		var want map[string]json.RawMessage
		if err := json.Unmarshal(ev, &want); err != nil {
			t.Fatal(err)
		}
		got := logs[i]
		for k, v := range want {
			if !bytes.Equal(got[k], v) {
				t.Fatalf("log %d: %s = %s, want the event's %s", i, k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok && !envelopeNames[k] {
				t.Fatalf("log %d: unexpected member %s", i, k)
			}
		}
		if string(got["ddsource"]) != `"logstream"` {
			t.Fatalf("log %d: ddsource %s", i, got["ddsource"])
		}
		if _, own := want["hostname"]; !own && string(got["hostname"]) != `"logstream"` {
			t.Fatalf("log %d: hostname %s", i, got["hostname"])
		}
	}
	if string(logs[1000]["ddtags"]) != `"env:prod,team:security"` || string(logs[1000]["service"]) != `"auth"` {
		t.Errorf("configured envelope: ddtags %s service %s", logs[1000]["ddtags"], logs[1000]["service"])
	}
	if _, ok := logs[0]["ddtags"]; ok {
		t.Errorf("ddtags sent for a stream without tags")
	}
}

// answer is a Datadog error answer in its documented shape.
func answer(status int, header map[string]string, detail string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		ddError(w, status, detail)
	}
}

func TestAnswers(t *testing.T) {
	evs := sinktest.Corpus(t, 3)
	tests := []struct {
		name       string
		handler    http.HandlerFunc // nil: no server listening
		hang       bool             // a server that never answers
		timeout    time.Duration
		class      deliver.Class
		retryAfter time.Duration
		status     int // expected in the error text; 0 for no answer
	}{
		{"429 retry-after seconds", answer(429, map[string]string{"Retry-After": "7"}, "Too many requests"), false, 0, deliver.Retryable, 7 * time.Second, 429},
		{"429 retry-after date", answer(429, map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, "Too many requests"), false, 0, deliver.Retryable, 90 * time.Second, 429},
		{"408", answer(408, nil, "Request Timeout"), false, 0, deliver.Retryable, 0, 408},
		{"500", answer(500, nil, "Internal Server Error"), false, 0, deliver.Retryable, 0, 500},
		{"503 retry-after", answer(503, map[string]string{"Retry-After": "120"}, "Service Unavailable"), false, 0, deliver.Retryable, 2 * time.Minute, 503},
		{"400 payload", answer(400, nil, "Bad Request"), false, 0, deliver.Rejected, 0, 400},
		{"401 missing key", answer(401, nil, "Unauthorized"), false, 0, deliver.Permanent, 0, 401},
		// An answer that echoes the key must not carry it into the error.
		{"403 invalid key", answer(403, nil, "API key "+apiKey+" is invalid"), false, 0, deliver.Permanent, 0, 403},
		{"413", answer(413, nil, "Payload too large"), false, 0, deliver.TooLarge, 0, 413},
		{"timeout", nil, true, 100 * time.Millisecond, deliver.Retryable, 0, 0},
		{"connection refused", nil, false, 0, deliver.Retryable, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var url string
			switch {
			case tc.hang:
				release := make(chan struct{})
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
				t.Cleanup(srv.Close)
				t.Cleanup(func() { close(release) }) // runs first
				url = srv.URL
			case tc.handler != nil:
				srv := httptest.NewServer(tc.handler)
				t.Cleanup(srv.Close)
				url = srv.URL
			default:
				srv := httptest.NewServer(http.NotFoundHandler())
				url = srv.URL
				srv.Close()
			}
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 2 * time.Second
			}
			err := send(t, newSender(url, timeout), testStream(t, nil), evs)
			if err == nil {
				t.Fatal("treated as delivered")
			}
			class, after := deliver.ClassOf(err)
			if class != tc.class || after != tc.retryAfter {
				t.Errorf("class %v after %v, want %v after %v (%v)", class, after, tc.class, tc.retryAfter, err)
			}
			if tc.status != 0 && !strings.Contains(err.Error(), "Datadog answered "+strconv.Itoa(tc.status)) {
				t.Errorf("error %q does not name status %d", err, tc.status)
			}
			if strings.Contains(err.Error(), apiKey) {
				t.Errorf("error %q carries the API key", err)
			}
		})
	}
}

// The stand-in refuses a wrong key with Datadog's 403, which is Permanent.
func TestWrongKey(t *testing.T) {
	in, srv := newIntake(t, "ffffffffffffffffffffffffffffffff")
	err := send(t, newSender(srv.URL, 2*time.Second), testStream(t, nil), sinktest.Corpus(t, 2))
	if c, _ := deliver.ClassOf(err); c != deliver.Permanent || !strings.Contains(err.Error(), `\"title\":\"Forbidden\"`) {
		t.Fatalf("err = %v (%v)", err, c)
	}
	if requests, logs, _ := in.got(); requests != 1 || len(logs) != 0 {
		t.Fatalf("%d requests, %d logs", requests, len(logs))
	}
}

// event returns a fresh event of exactly size bytes.
func event(t *testing.T, id string, size int) json.RawMessage {
	t.Helper()
	head := fmt.Sprintf(`{"event_id":%q,"timestamp":%q,"pad":"`, id, now.Format(time.RFC3339Nano))
	ev := head + strings.Repeat("a", size-len(head)-2) + `"}`
	if len(ev) != size || !json.Valid([]byte(ev)) {
		t.Fatalf("event of %d bytes, want %d", len(ev), size)
	}
	return json.RawMessage(ev)
}

// Over Datadog's limits, nothing is sent: TooLarge lets the core split the
// batch, and each half then fits.
func TestTooLargeIsNotSent(t *testing.T) {
	big := make([]json.RawMessage, 6) // 6 × 900 kB: over 5 MB in all, each within Limits
	for i := range big {
		big[i] = event(t, fmt.Sprint(i), 900_000)
	}
	tests := []struct {
		name   string
		evs    []json.RawMessage
		halves bool
	}{
		{"over 5 MB", big, true},
		{"over 1000 logs", sinktest.Corpus(t, maxEntries+1), true},
		{"one log over 1 MB", []json.RawMessage{event(t, "x", maxLogBytes)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, srv := newIntake(t, apiKey)
			s, st := newSender(srv.URL, 5*time.Second), testStream(t, nil)
			err := send(t, s, st, tc.evs)
			if c, _ := deliver.ClassOf(err); c != deliver.TooLarge {
				t.Fatalf("err = %v (%v), want too_large", err, c)
			}
			if requests, _, _ := in.got(); requests != 0 {
				t.Fatalf("%d requests sent", requests)
			}
			if !tc.halves {
				return
			}
			half := len(tc.evs) / 2
			for _, h := range [][]json.RawMessage{tc.evs[:half], tc.evs[half:]} {
				if err := send(t, s, st, h); err != nil {
					t.Fatalf("half: %v", err)
				}
			}
			if _, logs, _ := in.got(); len(logs) != len(tc.evs) {
				t.Fatalf("%d logs after halving", len(logs))
			}
		})
	}
}

// Limits leave room for the envelope: the largest event with the largest
// envelope validation allows stays within 1 MB, and a full batch with a
// usual envelope within 5 MB.
func TestLimitsLeaveHeadroom(t *testing.T) {
	long := strings.Repeat("\u2028", 100) // the longest escape Go's encoder writes: 6 bytes
	var tags []string
	for i := range 50 {
		tags = append(tags, fmt.Sprintf("%c", 'a'+i%26)+strings.Repeat("𝒜", 199)) // 4-byte letters
	}
	// No message, and the longest summary that is copied into one.
	summary := `"description":"` + strings.Repeat("d", maxSummaryBytes-2) + `",`
	head := fmt.Sprintf(`{"event_id":"x","timestamp":%q,`, now.Format(time.RFC3339Nano)) + summary + `"pad":"`
	worst := json.RawMessage(head + strings.Repeat("a", Limits.MaxEventBytes-len(head)-2) + `"}`)

	perEvent := Limits.MaxBytes / Limits.MaxEvents
	full := make([]json.RawMessage, Limits.MaxEvents)
	for i := range full {
		full[i] = event(t, fmt.Sprint(i), perEvent)
	}
	tests := []struct {
		name string
		cfg  map[string]any
		evs  []json.RawMessage
	}{
		{"largest event, largest envelope", map[string]any{"source": long, "service": long, "tags": tags}, []json.RawMessage{worst}},
		{"full batch, usual envelope", map[string]any{"service": "auth-events", "tags": []string{"env:prod", "team:security", "region:eu"}}, full},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := testStream(t, tc.cfg)
			c, _ := st.Destination()
			if err := destination.Validate(c, netguard.Policy{}); err != nil {
				t.Fatalf("a config validation refuses: %v", err)
			}
			in, srv := newIntake(t, apiKey)
			if err := send(t, newSender(srv.URL, 5*time.Second), st, tc.evs); err != nil {
				t.Fatal(err)
			}
			if _, logs, _ := in.got(); len(logs) != len(tc.evs) {
				t.Fatalf("%d logs", len(logs))
			}
		})
	}
}

// Events Datadog would accept and then drop for their date are reported,
// not sent; the others are delivered.
func TestEventsOutsideDatadogsWindow(t *testing.T) {
	at := func(d time.Duration) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"event_id":"e","timestamp":%q}`, now.Add(d).Format(time.RFC3339Nano)))
	}
	tests := []struct {
		name    string
		evs     []json.RawMessage
		dropped []int
		sent    int
	}{
		{"mixed", []json.RawMessage{at(-19 * time.Hour), at(-17 * time.Hour), at(3 * time.Hour), at(time.Hour), at(0)}, []int{0, 2}, 3},
		{"all too old", []json.RawMessage{at(-18 * time.Hour), at(-48 * time.Hour)}, []int{0, 1}, 0},
		{"no timestamp is Datadog's to date", []json.RawMessage{json.RawMessage(`{"a":1}`)}, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, srv := newIntake(t, apiKey)
			err := send(t, newSender(srv.URL, 2*time.Second), testStream(t, nil), tc.evs)
			var pe *deliver.PartialError
			if tc.dropped == nil {
				if err != nil {
					t.Fatal(err)
				}
			} else if !errors.As(err, &pe) || len(pe.Failed) != len(tc.dropped) {
				t.Fatalf("err = %v, want %d failed", err, len(tc.dropped))
			}
			for _, i := range tc.dropped {
				if c, _ := deliver.ClassOf(pe.Failed[i]); c != deliver.Rejected || !strings.Contains(pe.Failed[i].Error(), "Datadog drops") {
					t.Errorf("event %d: %v (%v)", i, pe.Failed[i], c)
				}
			}
			requests, logs, _ := in.got()
			if len(logs) != tc.sent || (tc.sent == 0) != (requests == 0) {
				t.Fatalf("%d requests, %d logs; want %d logs", requests, len(logs), tc.sent)
			}
		})
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	tests := []struct {
		name  string
		st    func(t *testing.T) stream.Stream
		evs   []json.RawMessage
		class deliver.Class
	}{
		{"not an object", func(t *testing.T) stream.Stream { return testStream(t, nil) },
			[]json.RawMessage{json.RawMessage(`{"a":1}`), json.RawMessage(`[1,2]`)}, deliver.Rejected},
		{"cut short", func(t *testing.T) stream.Stream { return testStream(t, nil) },
			[]json.RawMessage{json.RawMessage(`{"a":`)}, deliver.Rejected},
		{"not a datadog stream", func(t *testing.T) stream.Stream {
			return sinktest.Stream(t, "http", map[string]any{"endpoint": "https://example.com/hook"})
		}, sinktest.Corpus(t, 1), deliver.Permanent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, srv := newIntake(t, apiKey)
			err := send(t, newSender(srv.URL, time.Second), tc.st(t), tc.evs)
			if c, _ := deliver.ClassOf(err); err == nil || c != tc.class {
				t.Fatalf("err = %v (%v), want %v", err, c, tc.class)
			}
			if requests, _, _ := in.got(); requests != 0 {
				t.Fatalf("%d requests", requests)
			}
		})
	}
}

func TestEmptyBatchSendsNothing(t *testing.T) {
	in, srv := newIntake(t, apiKey)
	if err := send(t, newSender(srv.URL, time.Second), testStream(t, nil), nil); err != nil {
		t.Fatal(err)
	}
	if requests, _, _ := in.got(); requests != 0 {
		t.Fatalf("%d requests", requests)
	}
}
