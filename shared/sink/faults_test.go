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
// 429 with Retry-After, 500, a request that never answers, 401, a failure
// after part of a message was accepted — and the events, driven through the
// real delivery core and an SQS-like redelivery loop (visibility delays,
// receive counts, maxReceiveCount, DLQ, the rest of a message put back), must
// each end delivered exactly once or parked with the reason. None lost, none
// sent twice, none moved to the DLQ by redrive without a reason (issue 12).

const maxReceives = 4

// fault is how a fake destination answers: for the first n requests, then
// 2xx. n < 0 means always.
type fault struct {
	name string
	n    int
	// every, when set, fails every every-th request instead, with answer.
	every int
	// maxEvents, when set, makes requests smaller than a message, so a
	// message can be delivered in part.
	maxEvents  int
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
	{name: "a message delivered in part", every: 3, maxEvents: 8, answer: func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "bad gateway")
	}},
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
	mu       sync.Mutex
	delays   map[string]time.Duration // receipt handle → delay asked for
	parked   []envelope.Parked
	requeued []envelope.Requeued
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

func (q *memQueue) Requeue(_ context.Context, r envelope.Requeued) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.requeued = append(q.requeued, r)
	return nil
}

// takeRequeued returns what was put back since the last call.
func (q *memQueue) takeRequeued() []envelope.Requeued {
	q.mu.Lock()
	defer q.mu.Unlock()
	r := q.requeued
	q.requeued = nil
	return r
}

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
					if f.every > 0 && n%f.every == 0 {
						f.answer(w)
						return
					}
					if f.every == 0 && (f.n < 0 || n <= f.n) {
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

				// Long enough that a loaded machine does not time out an answered
				// request (it would be sent again: delivered twice), short enough
				// for the hanging fault.
				client := netguard.Policy{AllowPrivate: true}.Client(time.Second)
				sender := d.sender(client, srv.URL, now)
				st := d.stream(t, srv.URL)
				q := &memQueue{delays: map[string]time.Duration{}}
				limits := d.limits
				if f.maxEvents > 0 {
					limits.MaxEvents = f.maxEvents
				}
				core := &deliver.Core{
					Streams: streamsOf(st), Sender: sender, Limits: limits, Queue: q, Requeue: q, MaxReceives: maxReceives,
					Backoff: deliver.Backoff{Base: time.Second, Max: time.Minute},
					Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
				}

				// Two messages of 20 events, received up to maxReceives times.
				msgs, err := envelope.Pack(st.ProjectID, st.ID, evs, 16<<10)
				if err != nil || len(msgs) < 2 {
					t.Fatalf("pack: %v, %d messages", err, len(msgs))
				}
				// A message and how often SQS has handed it out.
				type queued struct {
					rec      events.SQSMessage
					receives int
				}
				pending := map[string]*queued{}
				for i, m := range msgs {
					id := fmt.Sprintf("m%d", i)
					pending[id] = &queued{rec: events.SQSMessage{MessageId: id, Body: string(m.Body)}}
				}
				dlq := 0 // events redrive moved to the DLQ, without a reason
				var maxDelay time.Duration
				for round := 0; len(pending) > 0; round++ {
					if round == 4*maxReceives {
						t.Fatalf("%d messages still pending after %d rounds", len(pending), round)
					}
					var recs []events.SQSMessage
					for id, m := range pending {
						m.receives++
						m.rec.ReceiptHandle = fmt.Sprintf("%s-%d", id, m.receives)
						m.rec.Attributes = map[string]string{"ApproximateReceiveCount": fmt.Sprint(m.receives), "SentTimestamp": "1800000000000"}
						recs = append(recs, m.rec)
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
						maxDelay = max(maxDelay, q.delays[m.rec.ReceiptHandle])
						if m.receives == maxReceives { // redrive
							env, _ := envelope.Decode([]byte(m.rec.Body))
							dlq += len(env.Events)
							delete(pending, id)
						}
					}
					// The rest of a partly delivered message, as the SQS
					// adapter publishes it.
					for i, r := range q.takeRequeued() {
						rm, err := r.Messages()
						if err != nil || len(rm) != 1 {
							t.Fatalf("requeued %+v: %v", r, err)
						}
						attempts := rm[0].Attributes[envelope.AttrAttempts]
						maxDelay = max(maxDelay, rm[0].Delay)
						pending[fmt.Sprintf("r%d-%d", round, i)] = &queued{rec: events.SQSMessage{MessageId: fmt.Sprintf("r%d-%d", round, i),
							Body: string(rm[0].Body), MessageAttributes: map[string]events.SQSMessageAttribute{
								envelope.AttrAttempts: {DataType: "String", StringValue: &attempts}}}}
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
				for id, n := range received {
					if n != 1 {
						t.Errorf("event %s delivered %d times", id, n)
					}
				}
				mu.Unlock()
				if dlq > 0 {
					t.Fatalf("%d events reached the DLQ by redrive, without a reason", dlq)
				}
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
