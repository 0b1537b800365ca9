package webhook

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/sink/sinktest"
	"github.com/logstream/logstream/shared/stream"
)

const signingSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// request is what the receiver saw of one POST.
type request struct {
	header http.Header
	body   []byte
}

// receiver records requests and answers status; it checks what every http
// stream request must carry.
func receiver(t *testing.T, status int) (*httptest.Server, func() []request) {
	t.Helper()
	var mu sync.Mutex
	var got []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/hook" || r.Header.Get("X-Team") != "sec" ||
			r.Header.Get("Authorization") != "Bearer tok-123456789" || !strings.HasPrefix(r.Header.Get("User-Agent"), "logstream/") {
			t.Errorf("request contract broken: %s %s %v", r.Method, r.URL.Path, r.Header)
		}
		mu.Lock()
		got = append(got, request{header: r.Header.Clone(), body: body})
		mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, `{"ok":false}`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []request { mu.Lock(); defer mu.Unlock(); return append([]request(nil), got...) }
}

func testStream(endpoint, format, secret string) stream.Stream {
	cfg, _ := json.Marshal(map[string]any{"endpoint": endpoint + "/hook", "authorization": "Bearer tok-123456789",
		"custom_headers": map[string]string{"X-Team": "sec"}, "content_format": format, "signing_secret": secret})
	return stream.Stream{ID: "str_x", DestinationType: "http", DestinationConfig: cfg, Status: stream.StatusActive}
}

func sender(timeout time.Duration) *Sender {
	return &Sender{Client: netguard.Policy{AllowPrivate: true}.Client(timeout), UserAgent: "logstream/test",
		Now: func() time.Time { return time.Unix(1_800_000_000, 0) }}
}

var evs = []json.RawMessage{json.RawMessage(`{"event_id":"a"}`), json.RawMessage(`{"event_id":"b","x":[1,2]}`)}

func TestContentFormats(t *testing.T) {
	tests := []struct {
		format, contentType string
		requests            int
		check               func(t *testing.T, body []byte)
	}{
		{"JSONLINES", ContentTypeLines, 1, func(t *testing.T, body []byte) {
			sc := bufio.NewScanner(strings.NewReader(string(body)))
			n := 0
			for sc.Scan() {
				if !json.Valid(sc.Bytes()) {
					t.Errorf("line is not JSON: %q", sc.Text())
				}
				n++
			}
			if n != 2 || !strings.HasSuffix(string(body), "\n") {
				t.Errorf("body %q", body)
			}
		}},
		{"JSONARRAY", ContentTypeJSON, 1, func(t *testing.T, body []byte) {
			var arr []json.RawMessage
			if err := json.Unmarshal(body, &arr); err != nil || len(arr) != 2 {
				t.Errorf("body %q is not an array of 2", body)
			}
		}},
		{"JSONOBJECT", ContentTypeJSON, 2, func(t *testing.T, body []byte) {
			var obj map[string]any
			if err := json.Unmarshal(body, &obj); err != nil || obj["event_id"] == nil {
				t.Errorf("body %q is not one event", body)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			srv, got := receiver(t, 202)
			if err := sender(2*time.Second).Send(context.Background(), testStream(srv.URL, tc.format, ""), deliver.Batch{Events: evs}); err != nil {
				t.Fatal(err)
			}
			reqs := got()
			if len(reqs) != tc.requests {
				t.Fatalf("%d requests, want %d", len(reqs), tc.requests)
			}
			for _, r := range reqs {
				if r.header.Get("Content-Type") != tc.contentType {
					t.Errorf("content-type %q", r.header.Get("Content-Type"))
				}
				if r.header.Get("webhook-signature") != "" {
					t.Error("signed without a signing secret")
				}
				tc.check(t, r.body)
			}
		})
	}
}

// The Standard Webhooks reference test vector: a receiver's standard library
// must accept what logstream sends.
func TestSignMatchesTheStandardWebhooksVector(t *testing.T) {
	got, err := Sign(signingSecret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if err != nil || got != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("Sign = %q, %v", got, err)
	}
}

// verify checks a request the way a Standard Webhooks receiver does.
func verify(t *testing.T, r request) {
	t.Helper()
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(signingSecret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, r.header.Get("webhook-id")+"."+r.header.Get("webhook-timestamp")+".")
	mac.Write(r.body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if r.header.Get("webhook-signature") != want {
		t.Fatalf("signature %q, want %q", r.header.Get("webhook-signature"), want)
	}
	if ts, err := strconv.ParseInt(r.header.Get("webhook-timestamp"), 10, 64); err != nil || ts != 1_800_000_000 {
		t.Fatalf("timestamp %q", r.header.Get("webhook-timestamp"))
	}
}

func TestSignedRequestsAndStableIDs(t *testing.T) {
	srv, got := receiver(t, 500)
	s := sender(2 * time.Second)
	st := testStream(srv.URL, "JSONLINES", signingSecret)
	for range 2 { // the first attempt fails; SQS would retry the same batch
		if err := s.Send(context.Background(), st, deliver.Batch{Events: evs}); err == nil {
			t.Fatal("a 500 was treated as delivered")
		}
	}
	reqs := got()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, r := range reqs {
		verify(t, r)
	}
	if id := reqs[0].header.Get("webhook-id"); id == "" || id != reqs[1].header.Get("webhook-id") {
		t.Fatalf("webhook-id %q is not stable across retries (%q)", id, reqs[1].header.Get("webhook-id"))
	}
	if MessageID(evs[:1]) == MessageID(evs) {
		t.Fatal("different batches share a webhook-id")
	}
}

func TestStatusErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		class  deliver.Class
	}{
		{400, deliver.Rejected}, {401, deliver.Permanent}, {403, deliver.Permanent}, {410, deliver.Gone},
		{413, deliver.TooLarge}, {429, deliver.Retryable}, {500, deliver.Retryable}, {302, deliver.Retryable},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			srv, _ := receiver(t, tc.status)
			err := sender(2*time.Second).Send(context.Background(), testStream(srv.URL, "JSONLINES", ""), deliver.Batch{Events: evs})
			var se *sink.StatusError
			if !errors.As(err, &se) || se.StatusCode != tc.status {
				t.Fatalf("err = %v, want status %d", err, tc.status)
			}
			if c, _ := deliver.ClassOf(err); c != tc.class {
				t.Fatalf("class %v, want %v", c, tc.class)
			}
			if strings.Contains(err.Error(), "tok-123456789") {
				t.Fatalf("the error carries the authorization secret: %v", err)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	err := sender(2*time.Second).Send(context.Background(), testStream(srv.URL, "JSONLINES", ""), deliver.Batch{Events: evs})
	if c, after := deliver.ClassOf(err); c != deliver.Retryable || after != 2*time.Minute {
		t.Fatalf("class %v after %v, want retryable after 2m (err %v)", c, after, err)
	}
}

func TestJSONObjectReportsOnlyTheEventsNotSent(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	many := append(append([]json.RawMessage{}, evs...), evs...)
	err := sender(2*time.Second).Send(context.Background(), testStream(srv.URL, "JSONOBJECT", ""), deliver.Batch{Events: many})
	var pe *deliver.PartialError
	if !errors.As(err, &pe) || len(pe.Failed) != len(many)-2 {
		t.Fatalf("err = %v, want the %d events after the first two", err, len(many)-2)
	}
	for i := 2; i < len(many); i++ {
		if pe.Failed[i] == nil {
			t.Fatalf("event %d not reported", i)
		}
	}
}

func TestSendTimesOut(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	if err := sender(100*time.Millisecond).Send(context.Background(), testStream(srv.URL, "JSONLINES", ""), deliver.Batch{Events: evs}); err == nil {
		t.Fatal("a receiver that never answers was treated as delivered")
	}
}

func TestSendRefusesLoopbackWithoutSwitch(t *testing.T) {
	srv, got := receiver(t, 200)
	s := &Sender{Client: netguard.Policy{}.Client(time.Second), UserAgent: "logstream/test"}
	err := s.Send(context.Background(), testStream(srv.URL, "JSONLINES", ""), deliver.Batch{Events: evs})
	if !errors.Is(err, netguard.ErrForbiddenAddress) || len(got()) != 0 {
		t.Fatalf("err = %v, receiver got %d requests", err, len(got()))
	}
}

// MessageID reads each event_id as encoding/json would, without decoding the
// events: the ids of the same batch always make the same webhook-id.
func TestMessageIDFromEventIDs(t *testing.T) {
	batch := append(sinktest.Corpus(t, 20),
		json.RawMessage(`{"event_id":"esc\u0061ped\/"}`), json.RawMessage(`{"a":{"event_id":"nested"}}`),
		json.RawMessage(`{"event_id":7}`), json.RawMessage(`{}`))
	h := sha256.New()
	for _, e := range batch {
		var v struct {
			ID string `json:"event_id"`
		}
		_ = json.Unmarshal(e, &v)
		h.Write([]byte(v.ID))
		h.Write([]byte{0})
	}
	if got, want := MessageID(batch), "msg_"+hex.EncodeToString(h.Sum(nil)[:16]); got != want {
		t.Fatalf("MessageID = %s, want %s", got, want)
	}
	evs := sinktest.Corpus(t, 100)
	if allocs := testing.AllocsPerRun(10, func() { MessageID(evs) }); allocs > 4 {
		t.Fatalf("MessageID of %d events makes %v allocations; it should not decode them", len(evs), allocs)
	}
}

// A retried message goes out as the request its first attempt was, with the
// same webhook-id, even when newer messages of the stream arrive in the same
// batch: the core sends each message's events on their own (PerMessage), so a
// receiver that drops duplicates by webhook-id (Standard Webhooks) drops the
// retry and nothing else (issue 12). Merged with the new events, the retry
// would go out under a new id and be taken twice.
func TestRetriedMessageKeepsItsWebhookID(t *testing.T) {
	var (
		mu   sync.Mutex
		reqs []request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		reqs = append(reqs, request{header: r.Header.Clone(), body: body})
		if len(reqs) == 1 { // the first attempt fails after the receiver took it in
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	st := testStream(srv.URL, "JSONLINES", signingSecret)
	core := &deliver.Core{Streams: fixedStream(st), Sender: sender(2 * time.Second), Limits: Limits,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	msg := func(id string, receive int, evs ...string) events.SQSMessage {
		raws := make([]json.RawMessage, len(evs))
		for i, e := range evs {
			raws[i] = json.RawMessage(e)
		}
		packed, err := envelope.Pack("p", st.ID, raws, envelope.MaxMessageBytes)
		if err != nil {
			t.Fatal(err)
		}
		return events.SQSMessage{MessageId: id, Body: string(packed[0].Body),
			Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(receive)}}
	}
	first := msg("m1", 1, `{"event_id":"a"}`, `{"event_id":"b"}`)
	resp, _ := core.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{first}})
	if len(resp.BatchItemFailures) != 1 {
		t.Fatalf("the failed message is not retried: %+v", resp)
	}
	retry := first
	retry.Attributes = map[string]string{"ApproximateReceiveCount": "2"}
	resp, _ = core.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		retry, msg("m2", 1, `{"event_id":"c"}`, `{"event_id":"d"}`)}})
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %+v", resp.BatchItemFailures)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3: the first attempt, its retry, the new message", len(reqs))
	}
	firstID := reqs[0].header.Get("webhook-id")
	var again []request
	for _, r := range reqs[1:] {
		verify(t, r)
		if r.header.Get("webhook-id") == firstID {
			again = append(again, r)
		}
	}
	if len(again) != 1 || string(again[0].body) != string(reqs[0].body) {
		t.Fatalf("the retry did not go out as the first attempt (webhook-id %s, body %q); requests: %d", firstID, reqs[0].body, len(reqs))
	}
}

type fixedStream stream.Stream

func (f fixedStream) Get(context.Context, string, string) (stream.Stream, error) {
	return stream.Stream(f), nil
}
