package manage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/stream"
)

type recordedEmits struct{ events []map[string]any }

func (r *recordedEmits) Emit(_ context.Context, projectID string, evs []logevent.Event) error {
	for _, e := range evs {
		var m map[string]any
		json.Unmarshal(e.Raw, &m)
		if m["event_id"] != e.ID || m["project_id"] != projectID {
			return errors.New("event id or project mismatch")
		}
		r.events = append(r.events, m)
	}
	return nil
}

func (r *recordedEmits) types() []string {
	var out []string
	for _, e := range r.events {
		out = append(out, e["type"].(string))
	}
	return out
}

func TestLifecycleEvents(t *testing.T) {
	a := newAPI()
	rec := &recordedEmits{}
	a.Events = rec
	id := decodeStream(t, call(t, a, RouteCreate, "p", "", "", createBody)).ID
	callWith(t, a, RoutePatch, "p", id, `{"name":"SIEM"}`, nil) // no change: no event
	callWith(t, a, RoutePatch, "p", id, `{"name":"renamed"}`, nil)
	callWith(t, a, RouteDisable, "p", id, "", nil)
	callWith(t, a, RouteDisable, "p", id, "", nil) // already paused: no event
	callWith(t, a, RouteEnable, "p", id, "", nil)
	callWith(t, a, RouteDelete, "p", id, "", nil)
	want := []string{"logstream.stream.created", "logstream.stream.updated", "logstream.stream.disabled",
		"logstream.stream.enabled", "logstream.stream.deleted"}
	if got := rec.types(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("events %v, want %v", got, want)
	}
	for _, e := range rec.events {
		target := e["target"].(map[string]any)
		if target["id"] != id || e["actor"].(map[string]any)["id"] != "admin" {
			t.Fatalf("event %v", e)
		}
	}
	raw, _ := json.Marshal(rec.events)
	if strings.Contains(string(raw), "super-secret") {
		t.Fatal("a lifecycle event carries the stream's secret")
	}
}

type fixedHealth struct{ h stream.Health }

func (f fixedHealth) Health(context.Context, string, string) (stream.Health, error) { return f.h, nil }

func TestHealthRoute(t *testing.T) {
	a := newAPI()
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	msg := "receiver answered 500"
	a.HealthReader = fixedHealth{stream.Health{DeliveredEvents: 42, FailedEvents: 3, RetriedAttempts: 17,
		LastSuccessAt: &at, LastError: &msg, LastErrorAt: &at}}
	// Dead letters come from the dead-letter store, as they are now.
	a.DeadLetters = &fakeDL{summary: deadletter.Summary{Reasons: []deadletter.ReasonSummary{
		{Reason: stream.ReasonRejected, Events: 1, Letters: 1, OldestAt: at.Add(-time.Hour), NewestAt: at.Add(-time.Hour)},
		{Reason: stream.ReasonExhausted, Events: 2, Letters: 2, OldestAt: at.Add(-time.Minute), NewestAt: at}}}}
	id := decodeStream(t, call(t, a, RouteCreate, "p", "", "", createBody)).ID
	r := callWith(t, a, RouteHealth, "p", id, "", nil)
	var h HealthResponse
	if err := json.Unmarshal([]byte(r.Body), &h); err != nil || r.StatusCode != 200 || h.StreamID != id || h.DeliveredEvents != 42 ||
		h.FailedEvents != 3 || *h.LastError != msg || h.Status != stream.StatusActive {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	// The wire names, as the OpenAPI document and the CLI read them.
	var wire struct {
		Retried     *int64 `json:"retried_attempts"`
		DeadLetters map[string]struct {
			Count  int64  `json:"count"`
			Oldest string `json:"oldest_at"`
			Newest string `json:"newest_at"`
		} `json:"dead_letters"`
	}
	if err := json.Unmarshal([]byte(r.Body), &wire); err != nil || wire.Retried == nil || *wire.Retried != 17 ||
		len(wire.DeadLetters) != 2 || wire.DeadLetters["rejected"].Count != 1 || wire.DeadLetters["exhausted"].Count != 2 ||
		wire.DeadLetters["exhausted"].Oldest != "2026-11-24T09:59:00Z" || wire.DeadLetters["exhausted"].Newest != "2026-11-24T10:00:00Z" {
		t.Fatalf("counters on the wire: %s", r.Body)
	}

	// Nothing parked yet: an empty object, never null.
	a.HealthReader, a.DeadLetters = fixedHealth{}, &fakeDL{}
	if r := callWith(t, a, RouteHealth, "p", id, "", nil); !strings.Contains(r.Body, `"dead_letters":{}`) || !strings.Contains(r.Body, `"retried_attempts":0`) {
		t.Fatalf("health with nothing recorded: %s", r.Body)
	}
	if r := callWith(t, a, RouteHealth, "p", stream.NewID(), "", nil); r.StatusCode != 404 {
		t.Fatalf("health of a missing stream: %d", r.StatusCode)
	}
}

// testerFunc is a Tester whose answer a test chooses.
type testerFunc func(s stream.Stream, ev json.RawMessage) (TestResult, error)

func (f testerFunc) Test(_ context.Context, s stream.Stream, ev json.RawMessage) (TestResult, error) {
	return f(s, ev)
}

func TestTestRoute(t *testing.T) {
	accepted := TestResult{OK: true, StatusCode: 202, Message: "the destination accepted the test event"}
	refused := TestResult{OK: false, StatusCode: 500, Message: `receiver answered 500 Internal Server Error: "down"`}
	tests := []struct {
		name       string
		tester     Tester
		wantStatus int
		wantCode   string // the error's, when not 200
		want       TestResult
	}{
		{"accepted", testerFunc(func(s stream.Stream, ev json.RawMessage) (TestResult, error) {
			var m map[string]any
			if err := json.Unmarshal(ev, &m); err != nil || m["type"] != "logstream.test" || m["stream_id"] != s.ID ||
				m["project_id"] != "p" || !strings.HasPrefix(m["event_id"].(string), "test_") || m["timestamp"] != "2026-01-02T03:04:05Z" {
				return TestResult{}, fmt.Errorf("not the test event of stream %s: %s", s.ID, ev)
			}
			return accepted, nil
		}), 200, "", accepted},
		{"refused", testerFunc(func(stream.Stream, json.RawMessage) (TestResult, error) { return refused, nil }), 200, "", refused},
		{"no tester for the type", testerFunc(func(stream.Stream, json.RawMessage) (TestResult, error) {
			return TestResult{}, fmt.Errorf("wrapped: %w", ErrNotTestable)
		}), 501, "not_implemented", TestResult{}},
		{"no tester at all", nil, 501, "not_implemented", TestResult{}},
		{"unavailable", testerFunc(func(stream.Stream, json.RawMessage) (TestResult, error) {
			return TestResult{}, errors.New("invoke logstream-deliver-http: TooManyRequestsException: Rate exceeded")
		}), 502, "test_unavailable", TestResult{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := newAPI()
			a.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			a.Now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
			a.Tester = tc.tester
			id := decodeStream(t, call(t, a, RouteCreate, "p", "", "", createBody)).ID
			r := callWith(t, a, RouteTest, "p", id, "", nil)
			if r.StatusCode != tc.wantStatus {
				t.Fatalf("%d %s, want %d", r.StatusCode, r.Body, tc.wantStatus)
			}
			if tc.wantStatus != 200 {
				var e struct {
					Error struct{ Code, Message string }
				}
				if json.Unmarshal([]byte(r.Body), &e); e.Error.Code != tc.wantCode || strings.Contains(e.Error.Message, "Rate exceeded") {
					t.Fatalf("answer %s, want code %s without the cause", r.Body, tc.wantCode)
				}
				if tc.wantStatus >= 500 && tc.wantStatus != 501 && !strings.Contains(logs.String(), "Rate exceeded") {
					t.Errorf("the cause is not logged: %s", logs.String())
				}
				return
			}
			var got TestResult
			if err := json.Unmarshal([]byte(r.Body), &got); err != nil || got != tc.want {
				t.Fatalf("%s, want %+v", r.Body, tc.want)
			}
		})
	}
}

// No response body or log line ever carries a stored secret; a generated
// signing secret appears once, in the response that created it.
func TestSecretsNeverLeak(t *testing.T) {
	var logs bytes.Buffer
	a := newAPI()
	a.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a.Events = &recordedEmits{}
	a.Tester = testerFunc(func(stream.Stream, json.RawMessage) (TestResult, error) { return TestResult{Message: "refused"}, nil })
	const auth = "Bearer tok-0123456789abcdef-SECRET"
	created := call(t, a, RouteCreate, "p", "", "", `{"name":"s","destination_type":"http","destination_config":{"endpoint":"https://h.example.com","authorization":"`+auth+`","generate_signing_secret":true}}`)
	var view struct {
		ID                string `json:"id"`
		DestinationConfig struct {
			SigningSecret string `json:"signing_secret"`
		} `json:"destination_config"`
	}
	json.Unmarshal([]byte(created.Body), &view)
	signing := view.DestinationConfig.SigningSecret
	if !strings.HasPrefix(signing, "whsec_") || strings.Contains(created.Body, "SECRET") {
		t.Fatalf("create response: %s", created.Body)
	}
	var bodies []string
	for _, r := range []struct{ route, body string }{
		{RouteGet, ""}, {RouteList, ""}, {RoutePatch, `{"name":"t"}`}, {RoutePut, `{"name":"u","destination_type":"http","destination_config":{"endpoint":"https://h.example.com"}}`},
		{RouteDisable, ""}, {RouteEnable, ""}, {RouteTest, ""}, {RouteHealth, ""}, {RouteDelete, ""},
	} {
		a.HealthReader = fixedHealth{}
		resp := callWith(t, a, r.route, "p", view.ID, r.body, nil)
		bodies = append(bodies, resp.Body)
	}
	for _, leak := range []string{"SECRET", signing, strings.TrimPrefix(signing, "whsec_")} {
		for i, b := range bodies {
			if strings.Contains(b, leak) {
				t.Errorf("response %d contains a secret: %s", i, b)
			}
		}
		if strings.Contains(logs.String(), leak) {
			t.Errorf("logs contain a secret: %s", logs.String())
		}
		if strings.Contains(created.Body, leak) && leak != signing && leak != strings.TrimPrefix(signing, "whsec_") {
			t.Errorf("create response contains %q", leak)
		}
	}
}

type noticeRec struct{ notices []stream.Notice }

func (n *noticeRec) Notify(_ context.Context, x stream.Notice) error {
	n.notices = append(n.notices, x)
	return nil
}

type resetRec struct{ reset []string }

func (r *resetRec) ResetFailures(_ context.Context, p, id string) error {
	r.reset = append(r.reset, p+"/"+id)
	return nil
}

// Issue 13 §3: enabling a stream logstream suspended ends its failure run
// and tells of it once, with the reason it had; enabling a paused one does
// neither.
func TestEnableResumesASuspendedStream(t *testing.T) {
	a := newAPI()
	notes, resets := &noticeRec{}, &resetRec{}
	a.Notify, a.Failures = notes, resets
	id := decodeStream(t, call(t, a, RouteCreate, "p", "", "", createBody)).ID
	callWith(t, a, RouteDisable, "p", id, "", nil)
	callWith(t, a, RouteEnable, "p", id, "", nil)
	if len(notes.notices) != 0 || len(resets.reset) != 0 {
		t.Fatalf("a paused stream enabled: notices %+v, resets %v", notes.notices, resets.reset)
	}
	// As store.Streams.Suspend leaves it.
	ms := a.Streams.(*memStreams)
	s := ms.m["p/"+id]
	s.Status, s.StatusReason, s.Version = stream.StatusSuspended, "failing for 72h", s.Version+1
	ms.m["p/"+id] = s

	if r := callWith(t, a, RouteEnable, "p", id, "", nil); r.StatusCode != 200 {
		t.Fatalf("enable: %d %s", r.StatusCode, r.Body)
	}
	callWith(t, a, RouteEnable, "p", id, "", nil) // already active: nothing more
	if len(resets.reset) != 1 || resets.reset[0] != "p/"+id {
		t.Fatalf("resets %v", resets.reset)
	}
	if len(notes.notices) != 1 {
		t.Fatalf("notices %+v, want one", notes.notices)
	}
	n := notes.notices[0]
	if n.Status != stream.StatusActive || n.Action() != "resumed" || n.Reason != "failing for 72h" || n.StreamID != id || n.ActorKeyID != "admin" {
		t.Fatalf("notice %+v", n)
	}
}

// Health shows when the current run of failures began and when the time
// rule will suspend the stream; nothing of the kind while it succeeds.
func TestHealthShowsTheFailureRun(t *testing.T) {
	since := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		h    stream.Health
		own  string // the stream's own suspension policy
		want string
	}{
		{"failing", stream.Health{FailingSince: &since}, "", `"failing_since":"2026-11-24T10:00:00Z","suspends_at":"2026-11-24T13:00:00Z"`},
		{"succeeding", stream.Health{}, "", `"failing_since":null,"suspends_at":null`},
		{"failing, its own window", stream.Health{FailingSince: &since}, `{"after":"30m"}`, `"failing_since":"2026-11-24T10:00:00Z","suspends_at":"2026-11-24T10:30:00Z"`},
		{"failing, its rule off", stream.Health{FailingSince: &since}, `{"after":"0s"}`, `"failing_since":"2026-11-24T10:00:00Z","suspends_at":null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI()
			a.Suspension = stream.SuspensionPolicy{After: 3 * time.Hour}
			a.HealthReader = fixedHealth{tc.h}
			body := createBody
			if tc.own != "" {
				body = strings.TrimSuffix(strings.TrimSpace(createBody), "}") + `,"suspension":` + tc.own + `}`
			}
			id := decodeStream(t, call(t, a, RouteCreate, "p", "", "", body)).ID
			r := callWith(t, a, RouteHealth, "p", id, "", nil)
			if r.StatusCode != 200 || !strings.Contains(r.Body, tc.want) {
				t.Fatalf("health %d %s, want %s", r.StatusCode, r.Body, tc.want)
			}
		})
	}
}

type maskerFunc func(s stream.Stream, ev []byte) ([]byte, error)

func (f maskerFunc) MaskFor(_ context.Context, s stream.Stream, ev []byte) ([]byte, error) {
	return f(s, ev)
}

// The test route's event is masked by the stream's rules before it is
// handed to the delivery function; a stream with rules and no masker sends
// nothing (501), and a masker that fails sends nothing either.
func TestTestRouteMasks(t *testing.T) {
	withRules := `{"name":"s","destination_type":"http","destination_config":{"endpoint":"https://h.example.com"},` +
		`"pii":{"fields":[{"field":"message","action":"redact"}]}}`
	tests := []struct {
		name       string
		masker     Masker
		wantStatus int
	}{
		{"masked", maskerFunc(func(s stream.Stream, ev []byte) ([]byte, error) {
			if s.PII == nil || len(s.PII.Fields) != 1 {
				return nil, fmt.Errorf("masker called without the stream's rules: %+v", s.PII)
			}
			return []byte(`{"type":"logstream.test","message":"[REDACTED]"}`), nil
		}), 200},
		{"no masker", nil, 501},
		{"masker fails", maskerFunc(func(stream.Stream, []byte) ([]byte, error) { return nil, errors.New("kms throttled") }), 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI()
			a.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
			a.Masker = tc.masker
			var sent json.RawMessage
			a.Tester = testerFunc(func(_ stream.Stream, ev json.RawMessage) (TestResult, error) {
				sent = ev
				return TestResult{OK: true}, nil
			})
			id := decodeStream(t, call(t, a, RouteCreate, "p", "", "", withRules)).ID
			r := callWith(t, a, RouteTest, "p", id, "", nil)
			if r.StatusCode != tc.wantStatus {
				t.Fatalf("%d %s, want %d", r.StatusCode, r.Body, tc.wantStatus)
			}
			switch {
			case tc.wantStatus == 200 && string(sent) != `{"type":"logstream.test","message":"[REDACTED]"}`:
				t.Errorf("sent %s, want the masked event", sent)
			case tc.wantStatus != 200 && sent != nil:
				t.Errorf("sent %s without masking it", sent)
			}
		})
	}
}
