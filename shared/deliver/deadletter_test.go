package deliver

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/stream"
)

// Issue 12: every dead letter says why, and nothing a destination accepted is
// sent to it again or parked.

const maxReceives = 4

// carrying gives m the attempts of the messages it is the rest of.
func carrying(m events.SQSMessage, attempts string) events.SQSMessage {
	m.MessageAttributes = map[string]events.SQSMessageAttribute{
		envelope.AttrAttempts: {DataType: "String", StringValue: &attempts}}
	return m
}

// On its last receive, a message that would be retried is parked by the core
// with the last error and the receive count, and acknowledged: SQS redrive,
// which records no reason, never moves it.
func TestLastReceiveParksWithTheReason(t *testing.T) {
	down := func([]string) error { return errors.New("receiver answered 503") }
	tests := []struct {
		name       string
		rec        events.SQSMessage
		send       func([]string) error
		ctx        func() (context.Context, context.CancelFunc)
		open       bool // the stream's circuit is open
		wantParked bool
		wantReason []string
		wantCount  int
	}{
		{name: "before the last receive it is retried",
			rec: withAttrs(record(t, "m1", "p", "s", evn(1)), maxReceives-1), send: down},
		{name: "on the last receive it is parked",
			rec: withAttrs(record(t, "m1", "p", "s", evn(1)), maxReceives), send: down,
			wantParked: true, wantReason: []string{"receiver answered 503", "gave up after 4 receives"}, wantCount: maxReceives},
		{name: "a rest counts the receives of the messages before it",
			rec: carrying(withAttrs(record(t, "m1", "p", "s", evn(1)), 1), "3"), send: down,
			wantParked: true, wantReason: []string{"receiver answered 503", "gave up after 4 receives"}, wantCount: maxReceives},
		{name: "an unreadable attempts attribute counts nothing",
			rec: carrying(withAttrs(record(t, "m1", "p", "s", evn(1)), 1), "three"), send: down},
		{name: "deferred by an open circuit",
			rec: withAttrs(record(t, "m1", "p", "s", evn(1)), maxReceives), open: true,
			send:       func([]string) error { t.Error("an open circuit sent a request"); return nil },
			wantParked: true, wantReason: []string{"receiver answered 502", "circuit open"}, wantCount: maxReceives},
		{name: "not sent for lack of time",
			rec:  withAttrs(record(t, "m1", "p", "s", evn(1)), maxReceives),
			send: func([]string) error { t.Error("sent after the deadline"); return nil },
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			},
			wantParked: true, wantReason: []string{"invocation time ran out"}, wantCount: maxReceives},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &fakeQueue{}
			c := newCore(sendFunc(tc.send), q, bigLimits)
			c.MaxReceives = maxReceives
			ctx, cancel := context.WithCancel(context.Background())
			if tc.ctx != nil {
				ctx, cancel = tc.ctx()
			}
			defer cancel()
			if tc.open {
				c.Breaker = &Breaker{}
				for range 3 {
					c.Breaker.Done(ctx, [2]string{"p", "s"}, Result{Failed: true, Reason: "receiver answered 502"})
				}
			}
			resp, _ := c.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{tc.rec}})
			if !tc.wantParked {
				if got := failures(resp); !slices.Equal(got, []string{"m1"}) || len(q.parked) != 0 {
					t.Fatalf("failures %v, parked %+v; want it retried", got, q.parked)
				}
				return
			}
			if len(resp.BatchItemFailures) != 0 || len(q.delays) != 0 {
				t.Fatalf("failures %v, delays %v; want it acknowledged", resp.BatchItemFailures, q.delays)
			}
			if len(q.parked) != 1 || !slices.Equal(q.parkedEvents(), []string{evn(1)}) {
				t.Fatalf("parked %+v", q.parked)
			}
			p := q.parked[0]
			for _, w := range tc.wantReason {
				if !strings.Contains(p.Reason, w) {
					t.Errorf("reason %q does not say %q", p.Reason, w)
				}
			}
			if p.ReceiveCount != tc.wantCount || p.SourceMessageID != "m1" || p.ProjectID != "p" || p.StreamID != "s" {
				t.Errorf("parked %+v, want receive count %d and its provenance", p, tc.wantCount)
			}
		})
	}
}

// A message on its last receive that the DLQ cannot take is retried, as
// before: the events stay in SQS, and redrive is the backstop.
func TestLastReceiveParkFailureRetries(t *testing.T) {
	q := &fakeQueue{parkErr: errors.New("sqs unavailable")}
	c := newCore(sendFunc(func([]string) error { return errors.New("503") }), q, bigLimits)
	c.MaxReceives = maxReceives
	resp, _ := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		withAttrs(record(t, "m1", "p", "s", evn(1)), maxReceives)}})
	if got := failures(resp); !slices.Equal(got, []string{"m1"}) || q.parkCalls != 1 || len(q.delays) != 1 {
		t.Fatalf("failures %v after %d park calls, delays %v", got, q.parkCalls, q.delays)
	}
}

// After a partial success only the events the destination did not accept go
// back, in a new message that carries the attempts so far and the retry
// delay; the original is acknowledged.
func TestRemainderIsRequeued(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(evs []string) error
	}{
		{"a request of the message failed", func(evs []string) error {
			if slices.Contains(evs, evn(3)) {
				return RetryAfter(errors.New("receiver answered 429"), 2*time.Minute)
			}
			return nil
		}},
		{"the destination accepted part of a request", func(evs []string) error {
			if slices.Contains(evs, evn(3)) {
				return &PartialError{Failed: map[int]error{0: RetryAfter(errors.New("ThrottlingException"), 2*time.Minute), 1: errors.New("InternalFailure")}}
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &fakeQueue{}
			c := newCore(sendFunc(tc.send), q, Limits{MaxBytes: 1 << 20, MaxEvents: 2})
			c.MaxReceives = maxReceives
			// Its second receive, and the rest of a message received once.
			rec := carrying(withAttrs(record(t, "m1", "p", "s", evn(1), evn(2), evn(3), evn(4)), 2), "1")
			resp, _ := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{rec}})
			if len(resp.BatchItemFailures) != 0 || len(q.delays) != 0 || len(q.parked) != 0 {
				t.Fatalf("failures %v, delays %v, parked %v; want the original acknowledged", resp.BatchItemFailures, q.delays, q.parked)
			}
			if len(q.requeued) != 1 {
				t.Fatalf("requeued %+v", q.requeued)
			}
			r := q.requeued[0]
			if got := q.requeuedEvents(); !slices.Equal(got, []string{evn(3), evn(4)}) {
				t.Errorf("requeued events %v, want only the undelivered 3 and 4", got)
			}
			if r.Attempts != 3 || r.SourceMessageID != "m1" || r.ProjectID != "p" || r.StreamID != "s" ||
				!r.EnqueuedAt.Equal(time.UnixMilli(1_800_000_000_000)) {
				t.Errorf("requeued %+v, want 3 attempts, the original's stream and its enqueue time", r)
			}
			// The backoff of a third attempt (10 s doubled twice, with
			// jitter) is shorter than the destination's Retry-After.
			if r.After != 2*time.Minute {
				t.Errorf("requeued after %v, want the destination's Retry-After of 2m", r.After)
			}
		})
	}
}

// The original is deleted only once its rest is on the queue: the early
// delete (Queue.Ack) of a message that was requeued comes after the requeue.
func TestOriginalAckedOnlyAfterRemainderPublished(t *testing.T) {
	q := &fakeQueue{}
	slow := make(chan struct{})
	snd := &fakeSender{send: func(ctx context.Context, s stream.Stream, n int) error {
		switch {
		case s.ID == "slow":
			<-slow // holds the invocation while the other stream's message is acked early
			return nil
		case n == 1:
			return errors.New("receiver answered 500")
		}
		return nil
	}}
	c := &Core{Streams: activeStreams(map[string]stream.Status{"s": stream.StatusActive, "slow": stream.StatusActive}),
		Sender: snd, Queue: q, Requeue: q, Limits: Limits{MaxBytes: 1 << 20, MaxEvents: 2}, AckAfter: 5 * time.Millisecond,
		Backoff: Backoff{Base: time.Second, Max: time.Minute}, Log: quietLog()}
	go func() {
		// Until m1 is acknowledged early, or (the failure this test
		// looks for) it never is.
		defer close(slow)
		for give := time.After(5 * time.Second); ; {
			q.mu.Lock()
			acked := slices.Contains(q.calls, "ack m1")
			q.mu.Unlock()
			select {
			case <-give:
				return
			default:
			}
			if acked {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	resp, _ := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		withAttrs(record(t, "m1", "p", "s", evn(1), evn(2), evn(3)), 1), withAttrs(record(t, "w", "p", "slow", evn(9)), 1)}})
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", resp.BatchItemFailures)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	r, a := slices.Index(q.calls, "requeue m1"), slices.Index(q.calls, "ack m1")
	if r < 0 || a < r {
		t.Fatalf("calls %v: want the rest requeued before the original is acknowledged", q.calls)
	}
}

// If the rest cannot be put back, the message is retried whole, as before:
// its delivered events may be sent again, but nothing is lost.
func TestRequeueFailureRetriesWhole(t *testing.T) {
	q := &fakeQueue{requeueErr: errors.New("sqs unavailable")}
	c := newCore(sendFunc(func(evs []string) error {
		if slices.Contains(evs, evn(2)) {
			return errors.New("receiver answered 503")
		}
		return nil
	}), q, Limits{MaxBytes: 1 << 20, MaxEvents: 1})
	resp, _ := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		withAttrs(record(t, "m1", "p", "s", evn(1), evn(2)), 1)}})
	if got := failures(resp); !slices.Equal(got, []string{"m1"}) || len(q.delays) != 1 || len(q.requeued) != 0 {
		t.Fatalf("failures %v, delays %v, requeued %v; want it retried whole", got, q.delays, q.requeued)
	}
}

// Nothing the destination accepted is ever parked: on the last receive the
// core parks only the undelivered events, each with its own reason.
func TestNothingDeliveredIsParked(t *testing.T) {
	q := &fakeQueue{}
	c := newCore(sendFunc(func(evs []string) error {
		if slices.Contains(evs, evn(1)) { // 1 and 2: 2 is malformed
			return &PartialError{Failed: map[int]error{1: Classify(Rejected, errors.New("MalformedDetail"))}}
		}
		return &PartialError{Failed: map[int]error{1: errors.New("ThrottlingException")}} // 3 and 4: 4 throttled
	}), q, Limits{MaxBytes: 1 << 20, MaxEvents: 2})
	c.MaxReceives = maxReceives
	resp, _ := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		withAttrs(record(t, "m1", "p", "s", evn(1), evn(2), evn(3), evn(4)), maxReceives)}})
	if len(resp.BatchItemFailures) != 0 || len(q.requeued) != 0 {
		t.Fatalf("failures %v, requeued %v", resp.BatchItemFailures, q.requeued)
	}
	if got := q.parkedEvents(); !slices.Equal(got, []string{evn(2), evn(4)}) {
		t.Fatalf("parked %v, want only the undelivered 2 and 4", got)
	}
	if !strings.HasPrefix(q.parked[0].Reason, "rejected: MalformedDetail") ||
		!strings.Contains(q.parked[1].Reason, "ThrottlingException") || !strings.Contains(q.parked[1].Reason, "gave up") {
		t.Fatalf("reasons %q and %q", q.parked[0].Reason, q.parked[1].Reason)
	}
}

// A destination that is gone after it accepted part of a message: the stream
// is suspended and only the rest is parked, in this message and in the
// stream's later ones; earlier messages, delivered, are acknowledged.
func TestSuspensionAfterPartialDeliveryParksOnlyTheRest(t *testing.T) {
	q := &fakeQueue{}
	susp := &fakeSuspender{}
	requests := 0
	c := newCore(sendFunc(func(evs []string) error {
		requests++
		if requests >= 3 { // 1, 2 | 3, 4 | 5 …
			return Classify(Gone, errors.New("receiver answered 410 Gone"))
		}
		return nil
	}), q, Limits{MaxBytes: 1 << 20, MaxEvents: 2, PerMessage: true})
	c.Suspend = susp
	c.MaxReceives = maxReceives
	resp, _ := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		withAttrs(record(t, "m1", "p", "s", evn(1), evn(2)), 1),
		withAttrs(record(t, "m2", "p", "s", evn(3), evn(4), evn(5), evn(6)), 1),
		withAttrs(record(t, "m3", "p", "s", evn(7)), 1)}})
	if len(resp.BatchItemFailures) != 0 || len(susp.suspended) != 1 || len(q.requeued) != 0 {
		t.Fatalf("failures %v, suspended %v, requeued %v", resp.BatchItemFailures, susp.suspended, q.requeued)
	}
	if got := q.parkedEvents(); !slices.Equal(got, []string{evn(5), evn(6), evn(7)}) {
		t.Fatalf("parked %v, want only 5, 6 and 7, which the destination never accepted", got)
	}
	for _, p := range q.parked {
		if p.SourceMessageID == "m1" {
			t.Fatalf("the delivered message m1 was parked: %+v", p)
		}
	}
}

// When a circuit's open period ends, one message probes and the others wait;
// a message on its last receive is the probe, so it does not go to the DLQ
// untried, and is parked with the probe's error if that fails.
func TestLastReceiveGoesWithTheProbe(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	q := &fakeQueue{}
	var sent []string
	c := newCore(sendFunc(func(evs []string) error {
		sent = append(sent, evs...)
		return errors.New("receiver answered 503")
	}), q, Limits{MaxBytes: 1 << 20, MaxEvents: 100, PerMessage: true})
	c.MaxReceives = maxReceives
	c.Breaker = &Breaker{Base: 10 * time.Second, Now: func() time.Time { return now }}
	for range 3 {
		c.Breaker.Done(context.Background(), [2]string{"p", "s"}, Result{Failed: true, Reason: "receiver answered 503"})
	}
	now = now.Add(time.Minute) // the open period is over: one probe
	resp, _ := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		withAttrs(record(t, "m1", "p", "s", evn(1)), 1), withAttrs(record(t, "m2", "p", "s", evn(2)), 1),
		withAttrs(record(t, "m3", "p", "s", evn(3)), maxReceives)}})
	if !slices.Equal(sent, []string{evn(3)}) {
		t.Fatalf("sent %v; want m3, on its last receive, as the probe, and nothing else", sent)
	}
	if got := failures(resp); !slices.Equal(got, []string{"m1", "m2"}) {
		t.Fatalf("failures %v, want m1 and m2 (waiting for a later probe)", got)
	}
	if got := q.parkedEvents(); !slices.Equal(got, []string{evn(3)}) || !strings.Contains(q.parked[0].Reason, "503") {
		t.Fatalf("parked %v (%+v), want m3's event with the probe's error", got, q.parked)
	}
}

// A rest is dated by when ingestion queued its events, not by when it was put
// back, so senders that date by it (Loki's stamp, S3's partition) see the
// same time on every attempt.
func TestRestKeepsItsEnqueueTime(t *testing.T) {
	var got time.Time
	c := newCore(senderOf(func(b Batch) error { got = b.EnqueuedAt; return nil }), &fakeQueue{}, bigLimits)
	rec := withAttrs(record(t, "r1", "p", "s", evn(1)), 1) // SentTimestamp 1_800_000_000_000
	at := "1700000000000"
	rec.MessageAttributes = map[string]events.SQSMessageAttribute{envelope.AttrEnqueuedAt: {DataType: "String", StringValue: &at}}
	c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{rec}})
	if !got.Equal(time.UnixMilli(1_700_000_000_000)) {
		t.Fatalf("EnqueuedAt %v, want the original's", got)
	}
}

// A message settled by parking or by putting its rest back is deleted at once,
// not when the invocation ends (nor a second early), so an invocation that
// dies after it does not park or put back its events a second time; a
// message that is simply delivered waits for the batch response as always.
func TestParkedAndRequeuedAreDeletedAtOnce(t *testing.T) {
	q := &fakeQueue{}
	c := newCore(sendFunc(func(evs []string) error {
		switch {
		case slices.Contains(evs, evn(1)):
			return Classify(Rejected, errors.New("receiver answered 400: bad event"))
		case slices.Contains(evs, evn(4)):
			return errors.New("receiver answered 500")
		}
		return nil
	}), q, Limits{MaxBytes: 1 << 20, MaxEvents: 1, PerMessage: true})
	c.AckAfter = time.Hour // no early-ack tick in this invocation
	resp, _ := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		withAttrs(record(t, "parked", "p", "s", evn(1)), 1),
		withAttrs(record(t, "delivered", "p", "s", evn(5)), 1),
		// Last: its 500 stops the stream's later requests.
		withAttrs(record(t, "requeued", "p", "s", evn(3), evn(4)), 1),
	}})
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", resp.BatchItemFailures)
	}
	var acked []string
	for _, r := range q.acked {
		acked = append(acked, r.MessageID)
	}
	slices.Sort(acked)
	if !slices.Equal(acked, []string{"parked", "requeued"}) {
		t.Fatalf("deleted at once %v, want the parked and the requeued message (the delivered one is the batch response's)", acked)
	}
	// The dead letter names its reason's category beside the reason.
	if len(q.parked) != 1 || q.parked[0].Code != string(stream.ReasonRejected) {
		t.Fatalf("parked %+v, want one dead letter coded %q", q.parked, stream.ReasonRejected)
	}
}
