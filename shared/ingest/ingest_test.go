package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/httpapi"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/stream"
)

type fakeStreams struct {
	calls  int
	active func(projectID string) ([]stream.Stream, error)
}

func (f *fakeStreams) Active(_ context.Context, p string) ([]stream.Stream, error) {
	f.calls++
	return f.active(p)
}

type fakePublisher struct {
	mu      sync.Mutex // the archive's publish runs beside the streams'
	byQueue map[string][]envelope.Message
	publish func(queueURL string, msgs []envelope.Message) error
}

func (f *fakePublisher) Publish(_ context.Context, url string, msgs []envelope.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.publish != nil {
		if err := f.publish(url, msgs); err != nil {
			return err
		}
	}
	if f.byQueue == nil {
		f.byQueue = map[string][]envelope.Message{}
	}
	f.byQueue[url] = append(f.byQueue[url], msgs...)
	return nil
}

func twoStreams(string) ([]stream.Stream, error) {
	return []stream.Stream{{ID: "str_a", DestinationType: "http"}, {ID: "str_b", DestinationType: "http"}}, nil
}

func request(body []byte, headers map[string]string, b64 bool) events.APIGatewayV2HTTPRequest {
	h := map[string]string{}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	r := events.APIGatewayV2HTTPRequest{RouteKey: RouteIngest, Headers: h,
		PathParameters: map[string]string{"project_id": "proj_demo"}, Body: string(body), IsBase64Encoded: b64}
	if b64 {
		r.Body = base64.StdEncoding.EncodeToString(body)
	}
	return r
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

type errorBody struct {
	Error struct{ Code, Message, Field string } `json:"error"`
}

func newService(st *fakeStreams, pub *fakePublisher) *Service {
	return &Service{Auth: adminAuth{}, Streams: st, Publisher: pub, QueueURLs: map[string]string{"http": "q-http"},
		Limits: logevent.DefaultLimits, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name       string
		req        events.APIGatewayV2HTTPRequest
		active     func(string) ([]stream.Stream, error)
		publish    func(string, []envelope.Message) error
		wantStatus int
		wantCode   string
		want       Result
	}{
		{name: "json array to two streams", req: request([]byte(`[{"a":1},{"a":2},{"a":3}]`), map[string]string{"content-type": "application/json"}, false),
			active: twoStreams, wantStatus: 202, want: Result{Accepted: 3, Streams: 2, Messages: 2}},
		{name: "gzip ndjson, base64 encoded by API Gateway", req: request(gzipped("{\"a\":1}\n{\"a\":2}\n"), map[string]string{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}, true),
			active: twoStreams, wantStatus: 202, want: Result{Accepted: 2, Streams: 2, Messages: 2}},
		{name: "no active streams still accepts", req: request([]byte(`[{}]`), nil, false),
			active: func(string) ([]stream.Stream, error) { return nil, nil }, wantStatus: 202, want: Result{Accepted: 1}},
		{name: "bad json", req: request([]byte(`[{"a":}]`), nil, false), active: twoStreams, wantStatus: 400, wantCode: "invalid_json"},
		{name: "bad project id", req: func() events.APIGatewayV2HTTPRequest {
			r := request([]byte(`[{}]`), nil, false)
			r.PathParameters["project_id"] = "../etc"
			return r
		}(), active: twoStreams, wantStatus: 400, wantCode: "invalid_request"},
		{name: "unsupported media type", req: request([]byte(`a,b`), map[string]string{"content-type": "text/csv"}, false), active: twoStreams, wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "invalid UTF-8 in a JSON array", req: request([]byte("[{\"a\":1},{\"a\":\"\xff\"}]"), map[string]string{"content-type": "application/json"}, true), active: twoStreams, wantStatus: 400, wantCode: "invalid_event"},
		{name: "invalid UTF-8 in NDJSON", req: request([]byte("{\"a\":1}\n{\"a\":\"\xff\"}\n"), map[string]string{"content-type": "application/x-ndjson"}, true), active: twoStreams, wantStatus: 400, wantCode: "invalid_event"},
		{name: "text/plain is not parsed as NDJSON", req: request([]byte(`{"a":1}`), map[string]string{"content-type": "text/plain; charset=utf-8"}, false), active: twoStreams, wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "too many events", req: request([]byte("["+strings.Repeat(`{},`, logevent.DefaultLimits.MaxEvents)+"{}]"), nil, false), active: twoStreams, wantStatus: 413, wantCode: "too_many_events"},
		{name: "body too large", req: request(bytes.Repeat([]byte(" "), int(logevent.DefaultLimits.MaxBodyBytes)+1), nil, false), active: twoStreams, wantStatus: 413, wantCode: "payload_too_large"},
		{name: "stream lookup fails", req: request([]byte(`[{}]`), nil, false),
			active: func(string) ([]stream.Stream, error) { return nil, errors.New("throttled") }, wantStatus: 500, wantCode: "internal"},
		{name: "SQS refuses: no 202", req: request([]byte(`[{}]`), nil, false), active: twoStreams,
			publish: func(string, []envelope.Message) error {
				return publishError{sent: 0}
			},
			wantStatus: 503, wantCode: "enqueue_failed"},
		{name: "a stream of a type with no queue does not stop the others", req: request([]byte(`[{}]`), nil, false),
			active: func(string) ([]stream.Stream, error) {
				return []stream.Stream{{ID: "x", DestinationType: "pigeon"}, {ID: "y", DestinationType: "http"}}, nil
			},
			wantStatus: 202, want: Result{Accepted: 1, Streams: 1, Messages: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub := &fakePublisher{publish: tc.publish}
			resp, err := newService(&fakeStreams{active: tc.active}, pub).Handle(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, resp.Body)
			}
			if resp.Headers["content-type"] != "application/json" {
				t.Errorf("content-type %q", resp.Headers["content-type"])
			}
			if tc.wantCode != "" {
				var eb errorBody
				if err := json.Unmarshal([]byte(resp.Body), &eb); err != nil || eb.Error.Code != tc.wantCode || eb.Error.Message == "" {
					t.Fatalf("error body %s, want code %s", resp.Body, tc.wantCode)
				}
				return
			}
			var got Result
			json.Unmarshal([]byte(resp.Body), &got)
			if got != tc.want {
				t.Fatalf("result %+v, want %+v", got, tc.want)
			}
			total := 0
			for _, m := range pub.byQueue["q-http"] {
				total += m.Events
			}
			if total != tc.want.Accepted*tc.want.Streams {
				t.Fatalf("enqueued %d events, want %d", total, tc.want.Accepted*tc.want.Streams)
			}
		})
	}
}

func TestStreamsAreCached(t *testing.T) {
	st := &fakeStreams{active: twoStreams}
	s := newService(st, &fakePublisher{})
	s.CacheTTL = time.Minute
	for range 5 {
		if resp, _ := s.Handle(context.Background(), request([]byte(`[{}]`), nil, false)); resp.StatusCode != 202 {
			t.Fatal(resp.Body)
		}
	}
	if st.calls != 1 {
		t.Fatalf("Active called %d times, want 1", st.calls)
	}
}

// The API Gateway samples in events/ are accepted as they are.
func TestSampleRequests(t *testing.T) {
	for _, name := range []string{"apigw/ingest-events.json", "apigw/ingest-events-gzip.json"} {
		t.Run(name, func(t *testing.T) {
			b, err := samples.FS.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			var req events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(b, &req); err != nil {
				t.Fatal(err)
			}
			// The samples are fixed requests: the clock is set to their time.
			body, err := httpapi.Body(req)
			if err != nil {
				t.Fatal(err)
			}
			if body, err = logevent.Decode(body, req.Headers["content-encoding"], logevent.DefaultLimits); err != nil {
				t.Fatal(err)
			}
			latest, ok := samples.Latest(body)
			if !ok {
				t.Fatal("the sample has no times")
			}
			pub := &fakePublisher{}
			s := newService(&fakeStreams{active: twoStreams}, pub)
			s.Stamper.Now = func() time.Time { return latest }
			resp, _ := s.Handle(context.Background(), req)
			if resp.StatusCode != 202 {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			var got Result
			json.Unmarshal([]byte(resp.Body), &got)
			if got.Accepted == 0 || got.Streams != 2 || len(pub.byQueue["q-http"]) != 2 {
				t.Fatalf("result %+v", got)
			}
		})
	}
}

// The vendor-shaped auth logs in events/auth parse and enqueue in full, their
// times moved to the service's clock.
func TestSampleAuthLogs(t *testing.T) {
	now := time.Now().UTC()
	for _, name := range []string{"auth/stytch.json", "auth/auth0.json", "auth/okta.json", "auth/mixed.ndjson"} {
		t.Run(name, func(t *testing.T) {
			b, _ := samples.FS.ReadFile(name)
			ct := "application/json"
			if strings.HasSuffix(name, ".ndjson") {
				ct = "application/x-ndjson"
			}
			pub := &fakePublisher{}
			s := newService(&fakeStreams{active: twoStreams}, pub)
			s.Stamper.Now = func() time.Time { return now }
			resp, _ := s.Handle(context.Background(), request(samples.Fresh(b, now), map[string]string{"content-type": ct}, false))
			var got Result
			json.Unmarshal([]byte(resp.Body), &got)
			if resp.StatusCode != 202 || got.Accepted < 15 {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
		})
	}
}

// adminAuth lets every request through as the admin key; auth_test.go
// covers authentication itself.
type adminAuth struct{}

func (adminAuth) Authenticate(context.Context, string) (apikey.Key, error) {
	return apikey.Key{ID: apikey.AdminID, Admin: true, Projects: []string{apikey.AllProjects}, Access: apikey.AccessWrite}, nil
}

func TestIngestNeedsAWriteKeyForTheProject(t *testing.T) {
	keys := map[string]apikey.Key{
		"Bearer write-p": {Projects: []string{"proj_demo"}, Access: apikey.AccessWrite},
		"Bearer read-p":  {Projects: []string{"proj_demo"}, Access: apikey.AccessRead},
		"Bearer write-q": {Projects: []string{"proj_other"}, Access: apikey.AccessWrite},
	}
	auth := authFunc(func(h string) (apikey.Key, error) {
		if k, ok := keys[h]; ok {
			return k, nil
		}
		return apikey.Key{}, apikey.ErrUnauthenticated
	})
	for header, want := range map[string]int{"": 401, "Bearer nope": 401, "Bearer write-p": 202, "Bearer read-p": 403, "Bearer write-q": 404} {
		t.Run(header, func(t *testing.T) {
			s := newService(&fakeStreams{active: twoStreams}, &fakePublisher{})
			s.Auth = auth
			req := request([]byte(`[{}]`), map[string]string{"authorization": header}, false)
			resp, _ := s.Handle(context.Background(), req)
			if resp.StatusCode != want {
				t.Fatalf("%d %s, want %d", resp.StatusCode, resp.Body, want)
			}
		})
	}
	noAuth := newService(&fakeStreams{active: twoStreams}, &fakePublisher{})
	noAuth.Auth = nil
	if resp, _ := noAuth.Handle(context.Background(), request([]byte(`[{}]`), nil, false)); resp.StatusCode != 401 {
		t.Fatalf("a service without an authenticator answered %d", resp.StatusCode)
	}
}

type authFunc func(string) (apikey.Key, error)

func (f authFunc) Authenticate(_ context.Context, h string) (apikey.Key, error) { return f(h) }

// publishError is a Publisher's error that says how many messages it sent
// (PublishError), as queue.PublishError does.
type publishError struct{ sent int }

func (e publishError) Error() string     { return "SQS down" }
func (e publishError) MessagesSent() int { return e.sent }

// The answer to a failed enqueue says how many messages were queued before,
// counting what the Publisher's PublishError reports.
func TestEnqueueFailureCountsSent(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"a PublishError", fmt.Errorf("publish: %w", publishError{sent: 2}), "(2 messages were)"},
		{"any other error", errors.New("down"), "(0 messages were)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub := &fakePublisher{publish: func(string, []envelope.Message) error { return tc.err }}
			resp, err := newService(&fakeStreams{active: twoStreams}, pub).Handle(context.Background(), request([]byte(`[{}]`), nil, false))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 503 || !strings.Contains(resp.Body, tc.want) {
				t.Errorf("answer %d %s, want 503 saying %s", resp.StatusCode, resp.Body, tc.want)
			}
		})
	}
}
