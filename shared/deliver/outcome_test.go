package deliver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/stream"
)

// fakeQueue records what the core asks of the delivery queue and its DLQ.
type fakeQueue struct {
	mu         sync.Mutex
	delays     []Delay
	parked     []Parked
	requeued   []Requeued
	parkErr    error
	delayErr   error
	requeueErr error
	parkCalls  int
	acked      []Receipt
	// calls are "park m", "requeue m" and "ack m", in order.
	calls []string
}

func (q *fakeQueue) Ack(_ context.Context, r []Receipt) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.acked = append(q.acked, r...)
	for _, a := range r {
		q.calls = append(q.calls, "ack "+a.MessageID)
	}
	return nil
}

func (q *fakeQueue) Requeue(_ context.Context, r Requeued) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.requeueErr != nil {
		return q.requeueErr
	}
	q.requeued = append(q.requeued, r)
	q.calls = append(q.calls, "requeue "+r.SourceMessageID)
	return nil
}

func (q *fakeQueue) requeuedEvents() []string {
	var out []string
	for _, r := range q.requeued {
		for _, e := range r.Events {
			out = append(out, string(e))
		}
	}
	return out
}

func (q *fakeQueue) Delay(_ context.Context, d []Delay) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.delays = append(q.delays, d...)
	return q.delayErr
}

func (q *fakeQueue) Park(_ context.Context, p Parked) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.parkCalls++
	if q.parkErr != nil {
		return q.parkErr
	}
	q.parked = append(q.parked, p)
	q.calls = append(q.calls, "park "+p.SourceMessageID)
	return nil
}

func (q *fakeQueue) parkedEvents() []string {
	var out []string
	for _, p := range q.parked {
		for _, e := range p.Events {
			out = append(out, string(e))
		}
	}
	return out
}

type fakeSuspender struct{ suspended []string }

func (f *fakeSuspender) Suspend(_ context.Context, _, streamID, reason string) (bool, error) {
	f.suspended = append(f.suspended, streamID+": "+reason)
	return true, nil
}

// sendFunc is a Sender from a function of the batch's events.
type sendFunc func(evs []string) error

func (f sendFunc) Send(_ context.Context, _ stream.Stream, b Batch) error {
	evs := make([]string, len(b.Events))
	for i, e := range b.Events {
		evs[i] = string(e)
	}
	return f(evs)
}

func withAttrs(m events.SQSMessage, receiveCount int) events.SQSMessage {
	m.ReceiptHandle = "rh-" + m.MessageId
	m.Attributes = map[string]string{"ApproximateReceiveCount": fmt.Sprint(receiveCount), "SentTimestamp": "1800000000000"}
	return m
}

func evn(n int) string { return fmt.Sprintf(`{"n":%d}`, n) }

func newCore(snd Sender, q *fakeQueue, lim Limits) *Core {
	return &Core{Streams: activeStreams(map[string]stream.Status{"s": stream.StatusActive, "susp": stream.StatusSuspended}),
		Sender: snd, Queue: q, Requeue: q, Limits: lim, Backoff: Backoff{Base: 10 * time.Second, Max: time.Hour}, Log: quietLog()}
}

var bigLimits = Limits{MaxBytes: 1 << 20, MaxEvents: 1000}

// Every outcome ends with each event delivered, parked once, or its message
// retried — never dropped, never both parked and retried.
func TestOutcomes(t *testing.T) {
	perm := func(msg string) error { return Classify(Permanent, errors.New(msg)) }
	tests := []struct {
		name          string
		msgs          [][]int // events of each message, by number
		limits        Limits
		send          func(evs []string) error
		wantDelivered []string
		wantParked    []string
		wantRetried   []string // message ids
		wantRequeued  []string // events put back without their delivered neighbours
		wantRequests  int
	}{
		{name: "a permanent failure parks the events and acknowledges the message",
			msgs:       [][]int{{1, 2}, {3}},
			send:       func([]string) error { return perm("receiver answered 401") },
			wantParked: []string{evn(1), evn(2), evn(3)}, wantRequests: 1},
		{name: "a permanent failure stops the stream's later batches without sending them",
			msgs: [][]int{{1}, {2}, {3}}, limits: Limits{MaxBytes: 1 << 20, MaxEvents: 1},
			send:       func([]string) error { return perm("401") },
			wantParked: []string{evn(1), evn(2), evn(3)}, wantRequests: 1},
		{name: "a rejected batch is bisected so only the bad event is parked",
			msgs: [][]int{{1, 2, 3, 4}, {5, 6, 7, 8}},
			send: func(evs []string) error {
				if slices.Contains(evs, evn(6)) {
					return Classify(Rejected, errors.New("Loki answered 400: entry has timestamp too new"))
				}
				return nil
			},
			wantDelivered: []string{evn(1), evn(2), evn(3), evn(4), evn(5), evn(7), evn(8)},
			wantParked:    []string{evn(6)}, wantRequests: 7},
		{name: "a too-large request is halved until it fits",
			msgs: [][]int{{1, 2, 3, 4}},
			send: func(evs []string) error {
				if len(evs) > 1 {
					return Classify(TooLarge, errors.New("413"))
				}
				return nil
			},
			wantDelivered: []string{evn(1), evn(2), evn(3), evn(4)}, wantRequests: 7},
		{name: "a single event the destination finds too large is parked",
			msgs: [][]int{{1, 2}},
			send: func(evs []string) error {
				if slices.Contains(evs, evn(2)) {
					return Classify(TooLarge, errors.New("413"))
				}
				return nil
			},
			wantDelivered: []string{evn(1)}, wantParked: []string{evn(2)}, wantRequests: 3},
		{name: "an event over the destination's size limit is parked without sending",
			msgs: [][]int{{1, 1234567}, {3}}, limits: Limits{MaxBytes: 1 << 20, MaxEvents: 100, MaxEventBytes: 10},
			send:          func([]string) error { return nil },
			wantDelivered: []string{evn(1), evn(3)}, wantParked: []string{evn(1234567)}, wantRequests: 1},
		{name: "a retryable failure retries the messages, parking nothing",
			msgs:        [][]int{{1}, {2}},
			send:        func([]string) error { return errors.New("connection reset") },
			wantRetried: []string{"m0", "m1"}, wantRequests: 1},
		{name: "partial acceptance: failed entries parked or retried by their own class",
			msgs: [][]int{{1, 2}, {3, 4}},
			send: func(evs []string) error {
				return &PartialError{Failed: map[int]error{1: Classify(Rejected, errors.New("MalformedDetail")), 3: errors.New("ThrottlingException")}}
			},
			// m0: event 2 parked, m0 acknowledged; m1: event 4 may succeed
			// later, so it alone goes back, and m1 is acknowledged.
			wantDelivered: []string{evn(1), evn(3)}, wantParked: []string{evn(2)}, wantRequeued: []string{evn(4)}, wantRequests: 1},
		{name: "a message split across requests, one of which failed, puts back only that request's events",
			msgs: [][]int{{1, 2, 3}, {4}}, limits: Limits{MaxBytes: 1 << 20, MaxEvents: 2},
			send: func(evs []string) error {
				if slices.Contains(evs, evn(3)) {
					return errors.New("receiver answered 503")
				}
				return nil
			},
			// The failure stops the stream: m1's request is not sent, and
			// m1, with nothing delivered, is retried whole.
			wantDelivered: []string{evn(1), evn(2)}, wantRequeued: []string{evn(3)}, wantRetried: []string{"m1"}, wantRequests: 2},
		{name: "a message with a retryable event is retried whole; its permanent events are not parked twice",
			msgs: [][]int{{1, 2}},
			send: func(evs []string) error {
				return &PartialError{Failed: map[int]error{0: Classify(Permanent, errors.New("denied")), 1: errors.New("throttled")}}
			},
			wantRetried: []string{"m0"}, wantRequests: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var (
				delivered []string
				requests  int
			)
			snd := sendFunc(func(evs []string) error {
				requests++
				err := tc.send(evs)
				if err == nil {
					delivered = append(delivered, evs...)
				}
				var pe *PartialError
				if errors.As(err, &pe) {
					for i, e := range evs {
						if pe.Failed[i] == nil {
							delivered = append(delivered, e)
						}
					}
				}
				return err
			})
			lim := tc.limits
			if lim.MaxEvents == 0 {
				lim = bigLimits
			}
			q := &fakeQueue{}
			c := newCore(snd, q, lim)
			var recs []events.SQSMessage
			for i, m := range tc.msgs {
				var evs []string
				for _, n := range m {
					evs = append(evs, evn(n))
				}
				recs = append(recs, withAttrs(record(t, fmt.Sprint("m", i), "p", "s", evs...), 1))
			}
			resp, _ := c.Handle(context.Background(), events.SQSEvent{Records: recs})
			if got := failures(resp); !slices.Equal(got, tc.wantRetried) {
				t.Errorf("retried %v, want %v", got, tc.wantRetried)
			}
			if !slices.Equal(delivered, tc.wantDelivered) {
				t.Errorf("delivered %v, want %v", delivered, tc.wantDelivered)
			}
			if got := q.parkedEvents(); !slices.Equal(got, tc.wantParked) {
				t.Errorf("parked %v, want %v", got, tc.wantParked)
			}
			if got := q.requeuedEvents(); !slices.Equal(got, tc.wantRequeued) {
				t.Errorf("requeued %v, want %v", got, tc.wantRequeued)
			}
			if requests != tc.wantRequests {
				t.Errorf("%d requests, want %d", requests, tc.wantRequests)
			}
			if len(q.delays) != len(tc.wantRetried) {
				t.Errorf("%d delays for %d retried messages", len(q.delays), len(tc.wantRetried))
			}
			for _, p := range q.parked {
				if p.Reason == "" || p.ProjectID != "p" || p.StreamID != "s" || p.SourceMessageID == "" {
					t.Errorf("parked without its provenance: %+v", p)
				}
			}
		})
	}
}

func TestRetryDelayGrowsAndHonoursRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name         string
		receiveCount int
		err          error
		min, max     time.Duration
	}{
		{"first receive", 1, errors.New("503"), 5 * time.Second, 10 * time.Second},
		{"third receive", 3, errors.New("503"), 20 * time.Second, 40 * time.Second},
		{"capped", 30, errors.New("503"), 30 * time.Minute, time.Hour},
		{"Retry-After beyond the backoff", 1, RetryAfter(errors.New("429"), 5*time.Minute), 5 * time.Minute, 5 * time.Minute},
		{"Retry-After within the backoff", 3, RetryAfter(errors.New("429"), time.Second), 20 * time.Second, 40 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &fakeQueue{}
			c := newCore(sendFunc(func([]string) error { return tc.err }), q, bigLimits)
			c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{withAttrs(record(t, "m", "p", "s", evn(1)), tc.receiveCount)}})
			if len(q.delays) != 1 {
				t.Fatalf("%d delays", len(q.delays))
			}
			d := q.delays[0]
			if d.ReceiptHandle != "rh-m" || d.After < tc.min || d.After > tc.max {
				t.Fatalf("delay %+v, want %v..%v", d, tc.min, tc.max)
			}
		})
	}
}

func TestBackoffStaysWithinSQSLimits(t *testing.T) {
	b := Backoff{Base: time.Hour, Max: 100 * time.Hour}
	if d := b.After(50, 0); d > 12*time.Hour {
		t.Fatalf("delay %v beyond SQS's 12 h visibility limit", d)
	}
	if d := b.After(1, 48*time.Hour); d != 12*time.Hour {
		t.Fatalf("Retry-After of 48 h gave %v, want the 12 h cap", d)
	}
	if d := (Backoff{}).After(3, 0); d != 0 {
		t.Fatalf("zero backoff gave %v", d)
	}
}

func TestGoneSuspendsTheStreamAndParks(t *testing.T) {
	q := &fakeQueue{}
	susp := &fakeSuspender{}
	c := newCore(sendFunc(func([]string) error { return Classify(Gone, errors.New("receiver answered 410 Gone")) }), q,
		Limits{MaxBytes: 1 << 20, MaxEvents: 1})
	c.Suspend = susp
	resp, _ := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		withAttrs(record(t, "m1", "p", "s", evn(1), evn(2)), 1)}})
	if len(resp.BatchItemFailures) != 0 || len(susp.suspended) != 1 || !strings.Contains(susp.suspended[0], "410") {
		t.Fatalf("failures %v, suspended %v", resp.BatchItemFailures, susp.suspended)
	}
	if got := q.parkedEvents(); !slices.Equal(got, []string{evn(1), evn(2)}) || !strings.HasPrefix(q.parked[0].Reason, "gone: ") {
		t.Fatalf("parked %v (%+v)", got, q.parked)
	}
}

func TestSuspendedStreamParksWhatWasQueued(t *testing.T) {
	q := &fakeQueue{}
	sent := 0
	c := newCore(sendFunc(func([]string) error { sent++; return nil }), q, bigLimits)
	resp, _ := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{withAttrs(record(t, "m1", "p", "susp", evn(1)), 1)}})
	if sent != 0 || len(resp.BatchItemFailures) != 0 || len(q.parked) != 1 || q.parked[0].Reason != "stream is suspended" {
		t.Fatalf("sent %d, failures %v, parked %+v", sent, resp.BatchItemFailures, q.parked)
	}
}

// If the DLQ cannot take what should be parked, the message is retried: the
// events stay in SQS rather than vanish.
func TestParkFailureRetriesTheMessage(t *testing.T) {
	q := &fakeQueue{parkErr: errors.New("sqs unavailable")}
	c := newCore(sendFunc(func([]string) error { return Classify(Permanent, errors.New("401")) }), q, bigLimits)
	resp, _ := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		withAttrs(record(t, "m1", "p", "s", evn(1)), 1), {MessageId: "junk", Body: "not an envelope", Attributes: map[string]string{}}}})
	if got := failures(resp); !slices.Equal(got, []string{"junk", "m1"}) || q.parkCalls != 2 {
		t.Fatalf("failures %v after %d park calls", got, q.parkCalls)
	}
}

func TestUndecodableMessageIsParkedAsIs(t *testing.T) {
	q := &fakeQueue{}
	c := newCore(sendFunc(func([]string) error { return nil }), q, bigLimits)
	resp, _ := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "junk", Body: "not an envelope"}}})
	if len(resp.BatchItemFailures) != 0 || len(q.parked) != 1 || q.parked[0].Body != "not an envelope" ||
		!strings.HasPrefix(q.parked[0].Reason, "undecodable message") {
		t.Fatalf("failures %v, parked %+v", resp.BatchItemFailures, q.parked)
	}
}

// Per-message batches are named by their message, and the parts of a split
// message by the events they hold, so a retry writes the same names.
func TestPerMessageBatchesAreNamedStably(t *testing.T) {
	snd := &fakeSender{}
	c := newCore(snd, &fakeQueue{}, Limits{MaxBytes: 1 << 20, MaxEvents: 2, PerMessage: true})
	recs := []events.SQSMessage{withAttrs(record(t, "m1", "p", "s", evn(1), evn(2), evn(3)), 1), withAttrs(record(t, "m2", "p", "s", evn(4)), 1)}
	for range 2 {
		snd.got = nil
		c.Handle(context.Background(), events.SQSEvent{Records: recs})
		var keys []string
		for _, g := range snd.got {
			keys = append(keys, g.key)
		}
		if want := []string{"m1-0-1", "m1-2-2", "m2"}; !slices.Equal(keys, want) {
			t.Fatalf("keys %v, want %v", keys, want)
		}
	}
}

func TestBatchCarriesEnqueueTime(t *testing.T) {
	var got time.Time
	c := newCore(senderOf(func(b Batch) error { got = b.EnqueuedAt; return nil }), &fakeQueue{}, bigLimits)
	c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{withAttrs(record(t, "m1", "p", "s", evn(1)), 1)}})
	if !got.Equal(time.UnixMilli(1_800_000_000_000)) {
		t.Fatalf("EnqueuedAt %v", got)
	}
}

type senderOf func(Batch) error

func (f senderOf) Send(_ context.Context, _ stream.Stream, b Batch) error { return f(b) }

// The health counters count events, not messages: an event the destination
// took is delivered even when its message comes back for another one.
func TestHealthCountsEvents(t *testing.T) {
	h := &tallyHealth{}
	c := newCore(sendFunc(func(evs []string) error {
		return &PartialError{Failed: map[int]error{1: Classify(Rejected, errors.New("MalformedDetail")), 3: errors.New("ThrottlingException")}}
	}), &fakeQueue{}, bigLimits)
	c.Health = h
	c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		withAttrs(record(t, "m0", "p", "s", evn(1), evn(2)), 1), withAttrs(record(t, "m1", "p", "s", evn(3), evn(4)), 1)}})
	// 1 and 3 delivered; 2 parked; 4 to retry (its message m1 comes back whole).
	if got := h.of("p", "s"); got.Delivered != 2 || got.Parked() != 1 || got.Retried != 1 {
		t.Fatalf("tally %+v, want 2 delivered, 1 parked, 1 retried", got)
	}
}

// compressed is rec as ingestion sends it when compression makes it smaller
// (envelope.Compress): its body gzip+base64, marked with AttrEncoding.
func compressed(t *testing.T, rec events.SQSMessage) events.SQSMessage {
	t.Helper()
	c, err := envelope.Compress(envelope.Message{Body: []byte(rec.Body)})
	if err != nil || c.Attributes[envelope.AttrEncoding] != envelope.EncodingGzip {
		t.Fatalf("not compressed: %v", err)
	}
	rec.Body = string(c.Body)
	if rec.MessageAttributes == nil {
		rec.MessageAttributes = map[string]events.SQSMessageAttribute{}
	}
	enc := envelope.EncodingGzip
	rec.MessageAttributes[envelope.AttrEncoding] = events.SQSMessageAttribute{StringValue: &enc, DataType: "String"}
	return rec
}

// A delivery message is read whether ingestion compressed it or not (one
// from an older deployment, or parked, or requeued, is plain); one that
// cannot be inflated is parked as it came, with its encoding, so the
// dead-letter store can still read what it can.
func TestHandleReadsCompressedAndPlainBodies(t *testing.T) {
	var evs []string
	for i := range 20 {
		evs = append(evs, fmt.Sprintf(`{"n":%d,"message":"user session started from a known device"}`, i))
	}
	withEncoding := func(rec events.SQSMessage, enc string) events.SQSMessage {
		rec.MessageAttributes = map[string]events.SQSMessageAttribute{envelope.AttrEncoding: {StringValue: &enc, DataType: "String"}}
		return rec
	}
	tests := []struct {
		name       string
		rec        func(t *testing.T) events.SQSMessage
		wantSent   []string
		wantParked string // the parked body's encoding, "-" for none parked
	}{
		{"plain", func(t *testing.T) events.SQSMessage { return withAttrs(record(t, "m1", "p", "s", evs...), 1) }, evs, "-"},
		{"compressed", func(t *testing.T) events.SQSMessage {
			return compressed(t, withAttrs(record(t, "m1", "p", "s", evs...), 1))
		}, evs, "-"},
		{"compressed body that is not gzip", func(t *testing.T) events.SQSMessage {
			return withEncoding(events.SQSMessage{MessageId: "m1", Body: "bm90IGd6aXA="}, envelope.EncodingGzip)
		}, nil, envelope.EncodingGzip},
		{"an encoding this version does not know", func(t *testing.T) events.SQSMessage {
			return withEncoding(record(t, "m1", "p", "s", evs...), "zstd")
		}, nil, "zstd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &fakeQueue{}
			var sent []string
			c := newCore(sendFunc(func(evs []string) error { sent = append(sent, evs...); return nil }), q, bigLimits)
			rec := tc.rec(t)
			resp, _ := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{rec}})
			if len(resp.BatchItemFailures) != 0 || !slices.Equal(sent, tc.wantSent) {
				t.Fatalf("failures %v, sent %v", resp.BatchItemFailures, sent)
			}
			if tc.wantParked == "-" {
				if len(q.parked) != 0 {
					t.Fatalf("parked %+v", q.parked)
				}
				return
			}
			if len(q.parked) != 1 || q.parked[0].Body != rec.Body || q.parked[0].Encoding != tc.wantParked ||
				!strings.HasPrefix(q.parked[0].Reason, "undecodable message") {
				t.Fatalf("parked %+v", q.parked)
			}
		})
	}
}
