package manage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/event"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/sink/datadog"
	"github.com/logstream/logstream/shared/sink/loki"
	"github.com/logstream/logstream/shared/sink/sinktest"
	"github.com/logstream/logstream/shared/sink/splunk"
	"github.com/logstream/logstream/shared/sink/webhook"
	"github.com/logstream/logstream/shared/stream"
)

type recordedEmits struct{ events []map[string]any }

func (r *recordedEmits) Emit(_ context.Context, projectID string, evs []event.Event) error {
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
	a.HealthReader = fixedHealth{stream.Health{DeliveredEvents: 42, FailedEvents: 3, LastSuccessAt: &at, LastError: &msg, LastErrorAt: &at}}
	id := decodeStream(t, call(t, a, RouteCreate, "p", "", "", createBody)).ID
	r := callWith(t, a, RouteHealth, "p", id, "", nil)
	var h HealthResponse
	if err := json.Unmarshal([]byte(r.Body), &h); err != nil || r.StatusCode != 200 || h.StreamID != id || h.DeliveredEvents != 42 ||
		h.FailedEvents != 3 || *h.LastError != msg || h.Status != stream.StatusActive {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	if r := callWith(t, a, RouteHealth, "p", stream.NewID(), "", nil); r.StatusCode != 404 {
		t.Fatalf("health of a missing stream: %d", r.StatusCode)
	}
}

type senderFunc func(s stream.Stream, evs []json.RawMessage) error

func (f senderFunc) Send(_ context.Context, s stream.Stream, b deliver.Batch) error {
	return f(s, b.Events)
}

func TestTestRoute(t *testing.T) {
	tests := []struct {
		name       string
		send       func(stream.Stream, []json.RawMessage) error
		wantStatus int
		want       TestResult
	}{
		{"accepted", func(s stream.Stream, evs []json.RawMessage) error {
			if len(evs) != 1 || !strings.Contains(string(evs[0]), `"type":"logstream.test"`) {
				return errors.New("not one test event")
			}
			return nil
		}, 200, TestResult{OK: true, Message: "the destination accepted the test event"}},
		{"refused", func(stream.Stream, []json.RawMessage) error {
			return &sink.StatusError{Destination: "receiver", StatusCode: 500, Body: "down"}
		},
			200, TestResult{OK: false, StatusCode: 500, Message: `receiver answered 500 Internal Server Error: "down"`}},
		{"unreachable", func(stream.Stream, []json.RawMessage) error { return errors.New("dial: connection refused") },
			200, TestResult{OK: false, Message: "dial: connection refused"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI()
			a.Senders = map[string]deliver.Sender{"http": senderFunc(tc.send)}
			id := decodeStream(t, call(t, a, RouteCreate, "p", "", "", createBody)).ID
			r := callWith(t, a, RouteTest, "p", id, "", nil)
			var got TestResult
			json.Unmarshal([]byte(r.Body), &got)
			if r.StatusCode != tc.wantStatus || got != tc.want {
				t.Fatalf("%d %+v, want %d %+v", r.StatusCode, got, tc.wantStatus, tc.want)
			}
		})
	}
	a := newAPI()
	id := decodeStream(t, call(t, a, RouteCreate, "p", "", "", createBody)).ID
	if r := callWith(t, a, RouteTest, "p", id, "", nil); r.StatusCode != 501 {
		t.Fatalf("a type without a sender: %d %s", r.StatusCode, r.Body)
	}
}

// No response body or log line ever carries a stored secret; a generated
// signing secret appears once, in the response that created it.
func TestSecretsNeverLeak(t *testing.T) {
	var logs bytes.Buffer
	a := newAPI()
	a.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a.Events = &recordedEmits{}
	a.Senders = map[string]deliver.Sender{"http": senderFunc(func(stream.Stream, []json.RawMessage) error { return errors.New("refused") })}
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

// A destination that echoes the credentials it received in its error answer,
// in any encoding, must not get them shown to whoever runs the test route
// (a read-only key can see the answer's message), nor into the log.
func TestTestRouteRedactsEchoedSecrets(t *testing.T) {
	const (
		bearer   = `t0k"en\é€+9Fq2/Lx7Vm4Rz`
		lokiPass = `glc_pa"ss\wörd+7Qz9/Xk2Lm8=`
		ddKey    = "5f2c9a7e1b3d4c6f8a0e2d4b6c8f1a3e"
		hecToken = "8a1f9c2e-4b7d-4e3a-9c5f-2d8e6b1a7f40"
	)
	client := netguard.Policy{AllowPrivate: true}.Client(2 * time.Second)
	var echoURL string
	senders := map[string]deliver.Sender{
		"http":         &webhook.Sender{Client: client, UserAgent: "logstream/test"},
		"grafana_loki": &loki.Sender{Client: client, UserAgent: "logstream/test"},
		"splunk_hec":   &splunk.Sender{Client: client, UserAgent: "logstream/test"},
		"datadog":      &datadog.Sender{Client: client, UserAgent: "logstream/test", URL: func(string) string { return echoURL }},
	}
	dests := []struct {
		typ     string
		config  func(url string) string
		secrets []string
	}{
		{"http", func(url string) string {
			return `{"endpoint":"` + url + `","authorization":` + strconv.Quote("Bearer "+bearer) + `}`
		}, []string{bearer}},
		{"grafana_loki", func(url string) string {
			return `{"url":"` + url + `/loki/api/v1/push","username":"acct-734512","password":` + strconv.Quote(lokiPass) + `}`
		}, []string{lokiPass, "acct-734512:" + lokiPass}},
		{"splunk_hec", func(url string) string { return `{"url":"` + url + `","token":"` + hecToken + `"}` }, []string{hecToken}},
		{"datadog", func(string) string { return `{"site":"datadoghq.eu","api_key":"` + ddKey + `"}` }, []string{ddKey}},
	}
	for _, d := range dests {
		for _, e := range sinktest.Encodings {
			t.Run(d.typ+"/"+e.Name, func(t *testing.T) {
				echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusUnauthorized)
					fmt.Fprintf(w, "rejected Authorization: %s, DD-API-KEY: %s", e.Encode(r.Header.Get("Authorization")), e.Encode(r.Header.Get("DD-API-KEY")))
					if u, p, ok := r.BasicAuth(); ok {
						fmt.Fprintf(w, " (user:password %s, password %s)", e.Encode(u+":"+p), e.Encode(p))
					}
				}))
				defer echo.Close()
				echoURL = echo.URL
				var logs bytes.Buffer
				a := newAPI()
				a.Log = slog.New(slog.NewJSONHandler(&logs, nil))
				a.Validator.Net = netguard.Policy{AllowPrivate: true}
				a.Senders = senders
				body := `{"name":"s","destination_type":"` + d.typ + `","destination_config":` + d.config(echo.URL) + `}`
				created := call(t, a, RouteCreate, "p", "", "", body)
				if created.StatusCode != 201 {
					t.Fatalf("create: %d %s", created.StatusCode, created.Body)
				}
				r := callWith(t, a, RouteTest, "p", decodeStream(t, created).ID, "", nil)
				if r.StatusCode != 200 || !strings.Contains(r.Body, "[REDACTED]") || !strings.Contains(r.Body, `"status_code":401`) {
					t.Fatalf("%d %s", r.StatusCode, r.Body)
				}
				for place, text := range map[string]string{"answer": r.Body, "log": logs.String()} {
					if leaks := append(sinktest.Leaks(text, 0, d.secrets...), sinktest.Leaks(text, 8, d.secrets[0])...); len(leaks) > 0 {
						t.Errorf("the test route's %s shows %s: %s", place, strings.Join(leaks, ", "), text)
					}
				}
			})
		}
	}
}
