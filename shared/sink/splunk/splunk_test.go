package splunk

import (
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

	"github.com/google/uuid"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/sink/sinktest"
	"github.com/logstream/logstream/shared/stream"
)

var testNow = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

func testStream(t *testing.T, url string, extra map[string]any) stream.Stream {
	t.Helper()
	cfg := map[string]any{"url": url, "token": token}
	for k, v := range extra {
		cfg[k] = v
	}
	return sinktest.Stream(t, destination.SplunkHEC, cfg)
}

func newSender(timeout time.Duration) *Sender {
	return &Sender{Client: netguard.Policy{AllowPrivate: true}.Client(timeout), UserAgent: "logstream/test",
		Now: func() time.Time { return testNow }}
}

// batches splits evs within Limits the way the delivery core does.
func batches(evs []json.RawMessage) [][]json.RawMessage {
	var out [][]json.RawMessage
	var cur []json.RawMessage
	size := 0
	for _, e := range evs {
		if len(cur) > 0 && (len(cur) == Limits.MaxEvents || size+len(e) > Limits.MaxBytes) {
			out, cur, size = append(out, cur), nil, 0
		}
		cur = append(cur, e)
		size += len(e)
	}
	return append(out, cur)
}

// wantTime is the HEC time of an event stamped ts, computed independently
// of the package's own parser.
func wantTime(t *testing.T, ev json.RawMessage) string {
	t.Helper()
	var v struct {
		Timestamp string `json:"timestamp"`
	}
	if err := json.Unmarshal(ev, &v); err != nil {
		t.Fatal(err)
	}
	ts, err := time.Parse(time.RFC3339Nano, v.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d.%03d", ts.Unix(), ts.Nanosecond()/1e6)
}

func TestSendThroughContractReceiver(t *testing.T) {
	tests := []struct {
		name                      string
		extra                     map[string]any
		index, source, sourcetype string
	}{
		{name: "defaults", source: "logstream", sourcetype: "_json"},
		{name: "stream metadata", extra: map[string]any{"index": "auth", "source": "stytch-prod", "sourcetype": "auth:json"},
			index: "auth", source: "stytch-prod", sourcetype: "auth:json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, srv := newHEC(t)
			st := testStream(t, srv.URL, tc.extra)
			s := newSender(5 * time.Second)
			evs := sinktest.Corpus(t, 1234)
			parts := batches(evs)
			if len(parts) < 3 {
				t.Fatalf("only %d batches; the test wants several", len(parts))
			}
			for i, b := range parts {
				if err := s.Send(context.Background(), st, deliver.Batch{Events: b}); err != nil {
					t.Fatalf("batch %d: %v", i, err)
				}
			}
			reqs, n := h.got()
			if n != len(parts) || len(reqs) != len(parts) {
				t.Fatalf("%d requests, %d accepted, want %d", n, len(reqs), len(parts))
			}
			for _, r := range reqs {
				if ch := r.header.Get("X-Splunk-Request-Channel"); ch != s.Channel() {
					t.Errorf("channel %q, want the sender's %q on every request", ch, s.Channel())
				}
			}
			if _, err := uuid.Parse(s.Channel()); err != nil {
				t.Errorf("channel %q is not a GUID: %v", s.Channel(), err)
			}
			if other := newSender(time.Second); other.Channel() == s.Channel() {
				t.Error("two senders share a channel")
			}
			envs := envelopesOf(reqs)
			if len(envs) != len(evs) {
				t.Fatalf("%d events indexed, want %d", len(envs), len(evs))
			}
			for i, e := range envs {
				if string(e["event"]) != string(evs[i]) {
					t.Fatalf("event %d changed on the way:\n got %.200s\nwant %.200s", i, e["event"], evs[i])
				}
				if got, want := string(e["time"]), wantTime(t, evs[i]); got != want {
					t.Errorf("event %d: time %s, want %s", i, got, want)
				}
				if e.str("host") != Host || e.str("source") != tc.source || e.str("sourcetype") != tc.sourcetype {
					t.Errorf("event %d: host %q source %q sourcetype %q", i, e.str("host"), e.str("source"), e.str("sourcetype"))
				}
				if _, has := e["index"]; has != (tc.index != "") || e.str("index") != tc.index {
					t.Errorf("event %d: index %s, want %q", i, e["index"], tc.index)
				}
			}
		})
	}
}

func TestGolden(t *testing.T) {
	odd := []json.RawMessage{
		json.RawMessage(`{"event_id":"no-timestamp","action":"login"}`),
		json.RawMessage(`{"event_id":"offset","timestamp":"2026-11-24T08:32:11.5+01:00"}`),
		json.RawMessage(`{"event_id":"whole-second","timestamp":"2026-11-24T07:32:11Z"}`),
		json.RawMessage(`{"event_id":"nanoseconds","timestamp":"2026-11-24T07:32:11.123456789Z"}`),
		json.RawMessage(`{"event_id":"before-1970","timestamp":"1969-07-20T20:17:40Z"}`),
		json.RawMessage(`{"event_id":"not-a-time","timestamp":"yesterday"}`),
		json.RawMessage(`{"event_id":"number","timestamp":1795504331}`),
		json.RawMessage(`{"event_id":"nested","details":{"timestamp":"2026-11-24T07:32:11Z"}}`),
		json.RawMessage(`{"event_id":"escaped \"quote\"","timestamp":"2026-11-24T07:32:11.001Z","note":"a\u00e9\n"}`),
	}
	tests := []struct {
		name  string
		extra map[string]any
		evs   []json.RawMessage
	}{
		{"defaults", nil, sinktest.Corpus(t, 4)},
		{"stream-metadata", map[string]any{"index": "auth", "source": `auth "prod" <eu>`, "sourcetype": "auth:json"}, sinktest.Corpus(t, 2)},
		{"timestamps", nil, odd},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, srv := newHEC(t)
			if err := newSender(5*time.Second).Send(context.Background(), testStream(t, srv.URL, tc.extra), deliver.Batch{Events: tc.evs}); err != nil {
				t.Fatal(err)
			}
			reqs, _ := h.got()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			sinktest.Golden(t, tc.name, reqs[0].body)
		})
	}
}

// fixed answers a constant HEC answer to every request.
func fixed(t *testing.T, status int, header map[string]string, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func hecBody(code int, text string) string { return fmt.Sprintf(`{"text":%q,"code":%d}`, text, code) }

func TestAnswersAreClassified(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		class  deliver.Class
		after  time.Duration
	}{
		{"429 retry-after seconds", 429, map[string]string{"Retry-After": "7"}, "", deliver.Retryable, 7 * time.Second},
		{"429 retry-after http date", 429, map[string]string{"Retry-After": testNow.Add(90 * time.Second).Format(http.TimeFormat)}, "", deliver.Retryable, 90 * time.Second},
		{"429 with an HEC code", 429, nil, hecBody(6, "Invalid data format"), deliver.Retryable, 0},
		{"500 internal server error", 500, nil, hecBody(8, "Internal server error"), deliver.Retryable, 0},
		{"503 server is busy", 503, map[string]string{"Retry-After": "30"}, hecBody(9, "Server is busy"), deliver.Retryable, 30 * time.Second},
		{"503 queues are full", 503, nil, hecBody(18, "HEC is unhealthy, queues are full"), deliver.Retryable, 0},
		{"502 from a load balancer", 502, nil, "<html>Bad Gateway</html>", deliver.Retryable, 0},
		{"403 token disabled", 403, nil, hecBody(1, "Token disabled"), deliver.Permanent, 0},
		{"401 token is required", 401, nil, hecBody(2, "Token is required"), deliver.Permanent, 0},
		{"401 invalid authorization", 401, nil, hecBody(3, "Invalid authorization"), deliver.Permanent, 0},
		{"403 invalid token", 403, nil, hecBody(4, "Invalid token"), deliver.Permanent, 0},
		{"400 no data", 400, nil, hecBody(5, "No data"), deliver.Rejected, 0},
		{"400 invalid data format", 400, nil, `{"text":"Invalid data format","code":6,"invalid-event-number":3}`, deliver.Rejected, 0},
		{"400 incorrect index", 400, nil, `{"text":"Incorrect index","code":7,"invalid-event-number":0}`, deliver.Permanent, 0},
		{"400 data channel is missing", 400, nil, hecBody(10, "Data channel is missing"), deliver.Permanent, 0},
		{"400 invalid data channel", 400, nil, hecBody(11, "Invalid data channel"), deliver.Permanent, 0},
		{"400 event field is required", 400, nil, hecBody(12, "Event field is required"), deliver.Rejected, 0},
		{"400 event field cannot be blank", 400, nil, hecBody(13, "Event field cannot be blank"), deliver.Rejected, 0},
		{"400 unknown code", 400, nil, hecBody(99, "Something new"), deliver.Rejected, 0},
		{"400 not JSON", 400, nil, "bad request", deliver.Rejected, 0},
		{"413 content too large", 413, nil, "Content-Length of 2000000 too large (maximum is 1000000)", deliver.TooLarge, 0},
		{"404 not a collector", 404, nil, "<html>Not Found</html>", deliver.Permanent, 0},
		{"410 gone", 410, nil, "", deliver.Gone, 0},
	}
	evs := sinktest.Corpus(t, 3)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := fixed(t, tc.status, tc.header, tc.body)
			err := newSender(5*time.Second).Send(context.Background(), testStream(t, srv.URL, nil), deliver.Batch{Events: evs})
			class, after := deliver.ClassOf(err)
			if err == nil || class != tc.class || after != tc.after {
				t.Fatalf("err = %v: class %v after %v, want %v after %v", err, class, after, tc.class, tc.after)
			}
			var se *sink.StatusError
			if !errors.As(err, &se) || se.StatusCode != tc.status {
				t.Fatalf("err = %v, want a StatusError with %d", err, tc.status)
			}
			if !strings.Contains(err.Error(), strconv.Itoa(tc.status)) || strings.Contains(err.Error(), token) {
				t.Fatalf("error text %q must carry the status and not the token", err)
			}
		})
	}
}

func TestTransportFailuresAreRetryable(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(hang) })
	closed := httptest.NewServer(http.NotFoundHandler())
	refusedURL := closed.URL
	closed.Close()

	tests := []struct {
		name string
		url  string
	}{
		{"timeout", slow.URL},
		{"connection refused", refusedURL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := newSender(200*time.Millisecond).Send(context.Background(), testStream(t, tc.url, nil), deliver.Batch{Events: sinktest.Corpus(t, 2)})
			if class, _ := deliver.ClassOf(err); err == nil || class != deliver.Retryable {
				t.Fatalf("err = %v (%v), want retryable", err, class)
			}
			if strings.Contains(err.Error(), token) {
				t.Fatalf("error text %q carries the token", err)
			}
		})
	}
}

// The contract receiver's own refusals, as HEC makes them.
func TestCollectorRefusals(t *testing.T) {
	tests := []struct {
		name  string
		extra map[string]any
		ack   bool
		class deliver.Class
		text  string
		ok    bool
	}{
		{name: "wrong token", extra: map[string]any{"token": "00000000-0000-0000-0000-000000000000"}, class: deliver.Permanent, text: "Invalid token"},
		{name: "index not allowed for the token", extra: map[string]any{"index": "finance"}, class: deliver.Permanent, text: "Incorrect index"},
		{name: "indexer acknowledgement needs the channel", ack: true, ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, srv := newHEC(t)
			h.ack = tc.ack
			err := newSender(5*time.Second).Send(context.Background(), testStream(t, srv.URL, tc.extra), deliver.Batch{Events: sinktest.Corpus(t, 5)})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			class, _ := deliver.ClassOf(err)
			if err == nil || class != tc.class || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v (%v), want %v with %q", err, class, tc.class, tc.text)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "00000000-0000") {
				t.Fatalf("error text %q carries a token", err)
			}
		})
	}
}

func padded(i, size int) json.RawMessage {
	head := fmt.Sprintf(`{"event_id":"big-%d","timestamp":"2026-11-24T07:32:11.793Z","pad":"`, i)
	return json.RawMessage(head + strings.Repeat("x", size-len(head)-2) + `"}`)
}

func TestTooLargeIsFoundBeforeSending(t *testing.T) {
	var evs []json.RawMessage
	for i := range 115 { // 115 × 9,000 bytes + envelopes > 1,000,000
		evs = append(evs, padded(i, 9000))
	}
	h, srv := newHEC(t)
	err := newSender(5*time.Second).Send(context.Background(), testStream(t, srv.URL, nil), deliver.Batch{Events: evs})
	if class, _ := deliver.ClassOf(err); err == nil || class != deliver.TooLarge {
		t.Fatalf("err = %v (%v), want too_large", err, class)
	}
	if _, n := h.got(); n != 0 {
		t.Fatalf("%d requests sent for a batch known to be too large", n)
	}
	// Halved, as the core does, both halves go through.
	for _, half := range [][]json.RawMessage{evs[:57], evs[57:]} {
		if err := newSender(5*time.Second).Send(context.Background(), testStream(t, srv.URL, nil), deliver.Batch{Events: half}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUnsendableEventsAreReported(t *testing.T) {
	good := sinktest.Corpus(t, 2)
	mixed := []json.RawMessage{good[0], json.RawMessage(`[1,2]`), padded(0, MaxEventBytes+1), good[1], json.RawMessage(`{"event_id":"cut`)}
	tests := []struct {
		name      string
		evs       []json.RawMessage
		status    int // of the collector; 0: the contract receiver
		failed    map[int]deliver.Class
		single    deliver.Class // the error is not partial but of this class
		delivered int
	}{
		{name: "mixed batch", evs: mixed, failed: map[int]deliver.Class{1: deliver.Rejected, 2: deliver.TooLarge, 4: deliver.Rejected}, delivered: 2},
		{name: "one bad event", evs: mixed[1:2], single: deliver.Rejected},
		{name: "one oversized event", evs: mixed[2:3], single: deliver.TooLarge},
		{name: "only bad events", evs: mixed[1:3], failed: map[int]deliver.Class{0: deliver.Rejected, 1: deliver.TooLarge}},
		{name: "mixed batch, collector busy", evs: mixed, status: 503, single: deliver.Retryable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, srv := newHEC(t)
			url := srv.URL
			if tc.status != 0 {
				url = fixed(t, tc.status, nil, hecBody(9, "Server is busy")).URL
			}
			err := newSender(5*time.Second).Send(context.Background(), testStream(t, url, nil), deliver.Batch{Events: tc.evs})
			var pe *deliver.PartialError
			if tc.failed == nil {
				if class, _ := deliver.ClassOf(err); err == nil || errors.As(err, &pe) || class != tc.single {
					t.Fatalf("err = %v, want a %v error for the whole batch", err, tc.single)
				}
			} else {
				if !errors.As(err, &pe) || len(pe.Failed) != len(tc.failed) {
					t.Fatalf("err = %v, want a partial error for %v", err, tc.failed)
				}
				for i, want := range tc.failed {
					if class, _ := deliver.ClassOf(pe.Failed[i]); class != want {
						t.Errorf("event %d: %v (%v), want %v", i, pe.Failed[i], class, want)
					}
				}
			}
			reqs, _ := h.got()
			if got := len(envelopesOf(reqs)); got != tc.delivered {
				t.Fatalf("%d events delivered, want %d", got, tc.delivered)
			}
		})
	}
}

func TestEmptyBatchSendsNothing(t *testing.T) {
	h, srv := newHEC(t)
	if err := newSender(time.Second).Send(context.Background(), testStream(t, srv.URL, nil), deliver.Batch{}); err != nil {
		t.Fatal(err)
	}
	if _, n := h.got(); n != 0 {
		t.Fatalf("%d requests for no events", n)
	}
}

func TestWrongStreamTypeIsPermanent(t *testing.T) {
	raw, _ := json.Marshal(map[string]any{"endpoint": "https://example.com/hook"})
	st := stream.Stream{ID: "str_x", DestinationType: destination.HTTP, DestinationConfig: raw, Status: stream.StatusActive}
	err := newSender(time.Second).Send(context.Background(), st, deliver.Batch{Events: sinktest.Corpus(t, 1)})
	if class, _ := deliver.ClassOf(err); err == nil || class != deliver.Permanent {
		t.Fatalf("err = %v (%v), want permanent", err, class)
	}
}
