package sink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/sink/datadog"
	"github.com/logstream/logstream/shared/sink/loki"
	"github.com/logstream/logstream/shared/sink/sinktest"
	"github.com/logstream/logstream/shared/sink/splunk"
	"github.com/logstream/logstream/shared/sink/webhook"
	"github.com/logstream/logstream/shared/stream"
)

// Fault tests: each HTTP destination misbehaves the way real services do —
// 429 with Retry-After, 500, a request that never answers, 401 — and the
// events, driven through the real delivery core and an SQS-like redelivery
// loop (visibility delays, receive counts, maxReceiveCount, DLQ), must each
// end delivered or parked with the reason. None lost.

const maxReceives = 4

// fault is how a fake destination answers: for the first n requests, then
// 2xx. n < 0 means always.
type fault struct {
	name       string
	n          int
	answer     func(w http.ResponseWriter)
	hang       bool
	wantParked bool   // the events end in the DLQ rather than delivered
	wantReason string // in the parked reason or the health reason
	minDelay   time.Duration
}

var faults = []fault{
	{name: "429 with Retry-After", n: 1, answer: func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"errors":["rate limited"]}`)
	}, minDelay: 7 * time.Second},
	{name: "500 twice", n: 2, answer: func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "internal error")
	}},
	{name: "timeout", n: 1, hang: true},
	{name: "500 for ever", n: -1, answer: func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "down")
	}, wantParked: true, wantReason: "503"},
	{name: "401", n: -1, answer: func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"code":2,"text":"Token is required","errors":["Unauthorized"]}`)
	}, wantParked: true, wantReason: "401"},
}

type destination struct {
	name   string
	limits deliver.Limits
	stream func(t *testing.T, url string) stream.Stream
	sender func(c *http.Client, url string, now func() time.Time) deliver.Sender
}

var destinations = []destination{
	{"datadog", datadog.Limits,
		func(t *testing.T, _ string) stream.Stream {
			return sinktest.Stream(t, "datadog", map[string]any{"site": "datadoghq.eu", "api_key": "0123456789abcdef0123456789abcdef"})
		},
		func(c *http.Client, url string, now func() time.Time) deliver.Sender {
			return &datadog.Sender{Client: c, UserAgent: "logstream/test", Now: now, URL: func(string) string { return url + "/api/v2/logs" }}
		}},
	{"loki", loki.Limits,
		func(t *testing.T, url string) stream.Stream {
			return sinktest.Stream(t, "grafana_loki", map[string]any{"url": url + "/loki/api/v1/push", "format": "protobuf"})
		},
		func(c *http.Client, _ string, now func() time.Time) deliver.Sender {
			return &loki.Sender{Client: c, UserAgent: "logstream/test", Now: now}
		}},
	{"splunk", splunk.Limits,
		func(t *testing.T, url string) stream.Stream {
			return sinktest.Stream(t, "splunk_hec", map[string]any{"url": url, "token": "12345678-1234-1234-1234-123456789012"})
		},
		func(c *http.Client, _ string, now func() time.Time) deliver.Sender {
			return &splunk.Sender{Client: c, UserAgent: "logstream/test", Now: now}
		}},
	{"webhook", webhook.Limits,
		func(t *testing.T, url string) stream.Stream {
			return sinktest.Stream(t, "http", map[string]any{"endpoint": url + "/hook"})
		},
		func(c *http.Client, _ string, now func() time.Time) deliver.Sender {
			return &webhook.Sender{Client: c, UserAgent: "logstream/test", Now: now}
		}},
}

// memQueue is the delivery queue and its DLQ, in memory.
type memQueue struct {
	mu     sync.Mutex
	delays map[string]time.Duration // receipt handle → delay asked for
	parked []envelope.Parked
}

func (q *memQueue) Delay(_ context.Context, ds []envelope.Delay) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, d := range ds {
		q.delays[d.ReceiptHandle] = d.After
	}
	return nil
}

func (q *memQueue) Ack(context.Context, []envelope.Receipt) error { return nil }

func (q *memQueue) Park(_ context.Context, p envelope.Parked) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.parked = append(q.parked, p)
	return nil
}

// clock is an instant the fault tests run at, with a corpus dated in the hour
// before it.
type clock struct {
	name string
	now  time.Time
	evs  []json.RawMessage
}

// clocks are the fixture's own hour, and the wall clock a year back, today and
// a year ahead. A sender that compares a date with time.Now instead of its
// injected clock, or a fixture dated once, fails here whatever day the tests
// run on, not weeks after it was written.
func clocks(t *testing.T, n int) []clock {
	out := []clock{{"fixture", sinktest.Now(), sinktest.Corpus(t, n)}}
	today := time.Now().UTC()
	for _, c := range []clock{{name: "year back", now: today.AddDate(-1, 0, 0)}, {name: "today", now: today}, {name: "year ahead", now: today.AddDate(1, 0, 0)}} {
		c.evs = sinktest.CorpusAt(t, n, c.now.Add(-time.Hour))
		out = append(out, c)
	}
	return out
}

func TestFaultsEndDeliveredOrParked(t *testing.T) {
	for _, c := range clocks(t, 40) {
		t.Run(c.name, func(t *testing.T) { runFaults(t, c.evs, func() time.Time { return c.now }) })
	}
}

// runFaults drives evs through every destination and every fault, with the
// senders' clock at now.
func runFaults(t *testing.T, evs []json.RawMessage, now func() time.Time) {
	for _, d := range destinations {
		for _, f := range faults {
			t.Run(d.name+"/"+f.name, func(t *testing.T) {
				var requests atomic.Int32
				received := map[string]int{}
				var mu sync.Mutex
				release := make(chan struct{})
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					n := int(requests.Add(1))
					body, _ := io.ReadAll(r.Body)
					if f.n < 0 || n <= f.n {
						if f.hang {
							<-release
							return
						}
						f.answer(w)
						return
					}
					mu.Lock()
					for _, e := range evs { // which events arrived (any encoding keeps the ids readable once decoded)
						id := eventID(e)
						if strings.Contains(decoded(r, body), id) {
							received[id]++
						}
					}
					mu.Unlock()
					w.WriteHeader(http.StatusOK) // 200 is success for all four
					io.WriteString(w, `{"text":"Success","code":0}`)
				}))
				defer srv.Close()
				defer close(release)

				client := netguard.Policy{AllowPrivate: true}.Client(300 * time.Millisecond)
				sender := d.sender(client, srv.URL, now)
				st := d.stream(t, srv.URL)
				q := &memQueue{delays: map[string]time.Duration{}}
				core := &deliver.Core{
					Streams: streamsOf(st), Sender: sender, Limits: d.limits, Queue: q,
					Backoff: deliver.Backoff{Base: time.Second, Max: time.Minute},
					Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
				}

				// Two messages of 20 events, received up to maxReceives times.
				msgs, err := envelope.Pack(st.ProjectID, st.ID, evs, 16<<10)
				if err != nil || len(msgs) < 2 {
					t.Fatalf("pack: %v, %d messages", err, len(msgs))
				}
				pending := map[string]events.SQSMessage{}
				for i, m := range msgs {
					id := fmt.Sprintf("m%d", i)
					pending[id] = events.SQSMessage{MessageId: id, Body: string(m.Body)}
				}
				dlq := 0 // events redrive moved to the DLQ
				var maxDelay time.Duration
				for receive := 1; receive <= maxReceives && len(pending) > 0; receive++ {
					var recs []events.SQSMessage
					for id, m := range pending {
						m.ReceiptHandle = fmt.Sprintf("%s-%d", id, receive)
						m.Attributes = map[string]string{"ApproximateReceiveCount": fmt.Sprint(receive), "SentTimestamp": "1800000000000"}
						recs = append(recs, m)
					}
					resp, _ := core.Handle(context.Background(), events.SQSEvent{Records: recs})
					failed := map[string]bool{}
					for _, f := range resp.BatchItemFailures {
						failed[f.ItemIdentifier] = true
					}
					for id, m := range pending {
						if !failed[id] {
							delete(pending, id) // acknowledged: deleted from SQS
							continue
						}
						maxDelay = max(maxDelay, q.delays[m.MessageId+"-"+fmt.Sprint(receive)])
						if receive == maxReceives { // redrive
							env, _ := envelope.Decode([]byte(m.Body))
							dlq += len(env.Events)
						}
					}
				}

				parked := dlq
				var reasons []string
				for _, p := range q.parked {
					parked += len(p.Events)
					reasons = append(reasons, p.Reason)
				}
				mu.Lock()
				delivered := len(received)
				mu.Unlock()
				if delivered+parked < len(evs) || (delivered > 0 && parked > 0 && delivered+parked != len(evs)) {
					t.Fatalf("%d delivered + %d parked of %d events: some were lost", delivered, parked, len(evs))
				}
				if f.wantParked && (delivered != 0 || parked != len(evs)) {
					t.Fatalf("want every event parked; %d delivered, %d parked", delivered, parked)
				}
				if !f.wantParked && delivered != len(evs) {
					t.Fatalf("want every event delivered after the fault; %d delivered, %d parked (%v)", delivered, parked, reasons)
				}
				if f.wantReason != "" && len(q.parked) > 0 && !strings.Contains(strings.Join(reasons, " "), f.wantReason) {
					t.Fatalf("parked reasons %q do not say %s", reasons, f.wantReason)
				}
				if f.name == "401" && (len(q.parked) == 0 || requests.Load() > 2) {
					t.Fatalf("a permanent failure was retried: %d requests, %d parked messages", requests.Load(), len(q.parked))
				}
				if maxDelay < f.minDelay {
					t.Fatalf("retry delay %v, want at least the destination's Retry-After %v", maxDelay, f.minDelay)
				}
			})
		}
	}
}

type fixedStreams stream.Stream

func (f fixedStreams) Get(context.Context, string, string) (stream.Stream, error) {
	return stream.Stream(f), nil
}

func streamsOf(st stream.Stream) deliver.Streams { return fixedStreams(st) }

func eventID(e json.RawMessage) string {
	var v struct {
		ID string `json:"event_id"`
	}
	_ = json.Unmarshal(e, &v)
	return v.ID
}

// decoded is the request body as plain bytes: gunzipped, or snappy-decoded
// for Loki's protobuf (event ids stay readable inside protobuf strings).
func decoded(r *http.Request, body []byte) string {
	switch {
	case r.Header.Get("Content-Encoding") == "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return ""
		}
		b, _ := io.ReadAll(zr)
		return string(b)
	case r.Header.Get("Content-Type") == "application/x-protobuf":
		b, _ := s2.Decode(nil, body)
		return string(b)
	}
	return string(body)
}
