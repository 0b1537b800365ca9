package deliverfn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/sink/datadog"
	"github.com/logstream/logstream/shared/sink/loki"
	"github.com/logstream/logstream/shared/sink/sinktest"
	"github.com/logstream/logstream/shared/sink/splunk"
	"github.com/logstream/logstream/shared/sink/webhook"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/testevent"
)

const testEvent = `{"event_id":"test_1","type":"logstream.test","message":"hello"}`

// An invocation is an SQS event or a test, told apart by its top-level
// members alone; anything else is refused rather than guessed.
func TestInvocationDecode(t *testing.T) {
	tests := []struct {
		name     string
		payload  string
		wantSQS  int // records, -1: not an SQS event
		wantTest string
		wantErr  string
	}{
		{"sqs", `{"Records":[{"messageId":"m1","body":"{}"}]}`, 1, "", ""},
		{"sqs without records", `{"Records":[]}`, 0, "", ""},
		{"test", `{"logstream_test":{"project_id":"p","stream_id":"str_1","version":3,"event":` + testEvent + `}}`, -1, "str_1", ""},
		{"both", `{"Records":[],"logstream_test":{"project_id":"p","stream_id":"s","event":{}}}`, -1, "", "neither"},
		{"neither", `{"records":[]}`, -1, "", "neither"},
		{"not an object", `[]`, -1, "", "not a JSON object"},
		{"test without stream", `{"logstream_test":{"project_id":"p","event":{}}}`, -1, "", "required"},
		{"test without event", `{"logstream_test":{"project_id":"p","stream_id":"s"}}`, -1, "", "required"},
		{"test event not an object", `{"logstream_test":{"project_id":"p","stream_id":"s","event":"x"}}`, -1, "", "required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in Invocation
			err := json.Unmarshal([]byte(tc.payload), &in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (in.SQS != nil) != (tc.wantSQS >= 0) || (in.Test != nil) != (tc.wantTest != "") {
				t.Fatalf("decoded %+v", in)
			}
			if in.SQS != nil && len(in.SQS.Records) != tc.wantSQS {
				t.Fatalf("%d records, want %d", len(in.SQS.Records), tc.wantSQS)
			}
			if in.Test != nil && (in.Test.StreamID != tc.wantTest || in.Test.Version != 3 || string(in.Test.Event) != testEvent) {
				t.Fatalf("test %+v", in.Test)
			}
		})
	}
}

type streamsFunc func(projectID, streamID string) (stream.Stream, error)

func (f streamsFunc) Get(_ context.Context, projectID, streamID string) (stream.Stream, error) {
	return f(projectID, streamID)
}

type senderFunc func(ctx context.Context, s stream.Stream, b deliver.Batch) error

func (f senderFunc) Send(ctx context.Context, s stream.Stream, b deliver.Batch) error {
	return f(ctx, s, b)
}

// invokeTest runs a test invocation through the handler as Lambda would hand
// it over: the JSON payload, decoded.
func invokeTest(t *testing.T, h *Handler, req testevent.Request) (any, error) {
	t.Helper()
	payload, _ := json.Marshal(testevent.Payload{Test: &req})
	var in Invocation
	if err := json.Unmarshal(payload, &in); err != nil {
		t.Fatal(err)
	}
	return h.Handle(context.Background(), in)
}

// A test invocation reads the stream fresh and sends the API's event, alone,
// through the function's own sender; the destination's verdict is the answer.
func TestHandleTest(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	stored := stream.Stream{ID: "str_1", ProjectID: "p", DestinationType: "http", Version: 4, Status: stream.StatusPaused}
	tests := []struct {
		name    string
		version int64
		get     func(projectID, streamID string) (stream.Stream, error)
		send    func(ctx context.Context, b deliver.Batch) error
		want    testevent.Result
		wantErr string
	}{
		{"accepted", 4, nil, func(ctx context.Context, b deliver.Batch) error {
			if len(b.Events) != 1 || string(b.Events[0]) != testEvent || !strings.HasPrefix(b.Key, "test-") || !b.EnqueuedAt.Equal(now) {
				return fmt.Errorf("batch %+v", b)
			}
			return nil
		}, testevent.Result{OK: true, Message: "the destination accepted the test event"}, ""},
		{"refused", 4, nil, func(context.Context, deliver.Batch) error {
			return &sink.StatusError{Destination: "receiver", StatusCode: 503, Body: "down"}
		}, testevent.Result{StatusCode: 503, Message: `receiver answered 503 Service Unavailable: "down"`}, ""},
		{"unreachable", 4, nil, func(context.Context, deliver.Batch) error { return errors.New("dial: connection refused") },
			testevent.Result{Message: "dial: connection refused"}, ""},
		{"stream gone", 4, func(string, string) (stream.Stream, error) { return stream.Stream{}, stream.ErrNotFound }, nil,
			testevent.Result{}, "not found"},
		{"stale read", 5, nil, nil, testevent.Result{}, "older"},
		{"another type's stream", 4, func(string, string) (stream.Stream, error) {
			s := stored
			s.DestinationType = "datadog"
			return s, nil
		}, nil, testevent.Result{}, "a datadog stream"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			get := tc.get
			if get == nil {
				get = func(projectID, streamID string) (stream.Stream, error) {
					if projectID != "p" || streamID != "str_1" {
						return stream.Stream{}, stream.ErrNotFound
					}
					return stored, nil
				}
			}
			sent := false
			h := &Handler{Test: &Tester{Type: "http", Streams: streamsFunc(get), Now: func() time.Time { return now },
				Log:    slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)),
				Sender: senderFunc(func(ctx context.Context, _ stream.Stream, b deliver.Batch) error { sent = true; return tc.send(ctx, b) })}}
			got, err := invokeTest(t, h, testevent.Request{ProjectID: "p", StreamID: "str_1", Version: tc.version, Event: json.RawMessage(testEvent)})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || sent {
					t.Fatalf("err = %v (sent %v), want one mentioning %q and nothing sent", err, sent, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("%#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}

// A successful test reports the destination's status too, not only a
// failed one: the real sender's transport records it.
func TestTestReportsTheStatusOfASuccess(t *testing.T) {
	for _, status := range []int{200, 202, 204} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
			defer receiver.Close()
			st := sinktest.Stream(t, "http", map[string]any{"endpoint": receiver.URL})
			h := &Handler{Test: &Tester{Type: "http", Streams: streamsFunc(func(string, string) (stream.Stream, error) { return st, nil }),
				Sender: &webhook.Sender{Client: netguard.Policy{AllowPrivate: true}.Client(2 * time.Second), UserAgent: "logstream/test"}}}
			got, err := invokeTest(t, h, testevent.Request{ProjectID: st.ProjectID, StreamID: st.ID, Event: json.RawMessage(testEvent)})
			if r, ok := got.(testevent.Result); err != nil || !ok || !r.OK || r.StatusCode != status {
				t.Fatalf("%+v, %v; want ok with status_code %d", got, err, status)
			}
		})
	}
}

// A destination that echoes the credentials it received in its error answer,
// in any encoding, must not get them shown to whoever runs the test route
// (a read-only key can see the answer's message), nor into the log.
func TestTestRedactsEchoedSecrets(t *testing.T) {
	const (
		bearer   = `t0k"en\é€+9Fq2/Lx7Vm4Rz`
		lokiPass = `glc_pa"ss\wörd+7Qz9/Xk2Lm8=`
		ddKey    = "5f2c9a7e1b3d4c6f8a0e2d4b6c8f1a3e"
		hecToken = "8a1f9c2e-4b7d-4e3a-9c5f-2d8e6b1a7f40"
	)
	client := netguard.Policy{AllowPrivate: true}.Client(2 * time.Second)
	var echoURL string
	dests := []struct {
		typ     string
		sender  deliver.Sender
		config  func(url string) map[string]any
		secrets []string
	}{
		{"http", &webhook.Sender{Client: client, UserAgent: "logstream/test"},
			func(url string) map[string]any {
				return map[string]any{"endpoint": url, "authorization": "Bearer " + bearer}
			},
			[]string{bearer}},
		{"grafana_loki", &loki.Sender{Client: client, UserAgent: "logstream/test"}, func(url string) map[string]any {
			return map[string]any{"url": url + "/loki/api/v1/push", "username": "acct-734512", "password": lokiPass}
		}, []string{lokiPass, "acct-734512:" + lokiPass}},
		{"splunk_hec", &splunk.Sender{Client: client, UserAgent: "logstream/test"},
			func(url string) map[string]any { return map[string]any{"url": url, "token": hecToken} }, []string{hecToken}},
		{"datadog", &datadog.Sender{Client: client, UserAgent: "logstream/test", URL: func(string) string { return echoURL }},
			func(string) map[string]any { return map[string]any{"site": "datadoghq.eu", "api_key": ddKey} }, []string{ddKey}},
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
				st := sinktest.Stream(t, d.typ, d.config(echo.URL))
				h := &Handler{Test: &Tester{Type: d.typ, Streams: streamsFunc(func(string, string) (stream.Stream, error) { return st, nil }),
					Sender: d.sender, Log: slog.New(slog.NewJSONHandler(&logs, nil))}}
				got, err := invokeTest(t, h, testevent.Request{ProjectID: st.ProjectID, StreamID: st.ID, Event: json.RawMessage(testEvent)})
				answer, _ := json.Marshal(got)
				if err != nil || !strings.Contains(string(answer), "[REDACTED]") || !strings.Contains(string(answer), `"status_code":401`) {
					t.Fatalf("%s, %v", answer, err)
				}
				for place, text := range map[string]string{"answer": string(answer), "log": logs.String()} {
					if leaks := append(sinktest.Leaks(text, 0, d.secrets...), sinktest.Leaks(text, 8, d.secrets[0])...); len(leaks) > 0 {
						t.Errorf("the test's %s shows %s: %s", place, strings.Join(leaks, ", "), text)
					}
				}
			})
		}
	}
}

// An SQS event goes to the delivery core, as before.
func TestHandleSQS(t *testing.T) {
	h := &Handler{Core: &deliver.Core{Log: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}}
	got, err := h.Handle(context.Background(), Invocation{SQS: &events.SQSEvent{}})
	if r, ok := got.(events.SQSEventResponse); err != nil || !ok || len(r.BatchItemFailures) != 0 {
		t.Fatalf("%#v, %v", got, err)
	}
}
