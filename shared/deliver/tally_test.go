package deliver

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/stream"
)

// tallyHealth is the Health store in memory: each stream's tallies summed,
// and how many Records it took.
type tallyHealth struct {
	mu      sync.Mutex
	sum     map[[2]string]Tally
	records map[[2]string]int
}

func (h *tallyHealth) Record(_ context.Context, projectID, streamID string, t Tally, _ time.Time) (stream.FailureRun, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sum == nil {
		h.sum, h.records = map[[2]string]Tally{}, map[[2]string]int{}
	}
	k := [2]string{projectID, streamID}
	s := h.sum[k]
	s.Delivered += t.Delivered
	s.Retried += t.Retried
	s.LagMillis += t.LagMillis
	s.LagEvents += t.LagEvents
	for why, n := range t.DeadLetters {
		if s.DeadLetters == nil {
			s.DeadLetters = map[stream.DeadLetterReason]int{}
		}
		s.DeadLetters[why] += n
	}
	if t.LastError != "" {
		s.LastError = t.LastError
	}
	h.sum[k] = s
	h.records[k]++
	return stream.FailureRun{}, nil
}

// of is the sum of a stream's tallies.
func (h *tallyHealth) of(projectID, streamID string) Tally {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sum[[2]string{projectID, streamID}]
}

// writes is how many Records the stream's tallies took.
func (h *tallyHealth) writes(projectID, streamID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.records[[2]string{projectID, streamID}]
}

// Issue 12 §3: each event of an invocation is counted exactly once in its
// stream's tally (delivered, parked by reason, or retried), with one Record
// per stream.
func TestTallyCountsEachEventOnce(t *testing.T) {
	retryable := errors.New("receiver answered 503")
	tests := []struct {
		name    string
		stream  string
		recs    func(t *testing.T) []events.SQSMessage
		send    func([]string) error
		open    bool // the stream's circuit is open
		limits  Limits
		want    Tally
		parkFor map[string]stream.DeadLetterReason // reason text → its category, of each DLQ message
	}{
		{name: "all delivered", stream: "s",
			recs: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{withAttrs(record(t, "m1", "p", "s", evn(1), evn(2)), 1), withAttrs(record(t, "m2", "p", "s", evn(3)), 1)}
			},
			send: func([]string) error { return nil },
			want: Tally{Delivered: 3}},
		{name: "partial, the rest requeued", stream: "s",
			recs: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{withAttrs(record(t, "m1", "p", "s", evn(1), evn(2), evn(3)), 1)}
			},
			send: func([]string) error { return &PartialError{Failed: map[int]error{1: retryable, 2: retryable}} },
			want: Tally{Delivered: 1, Retried: 2, LastError: retryable.Error()}},
		{name: "deferred by an open circuit", stream: "s", open: true,
			recs: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{withAttrs(record(t, "m1", "p", "s", evn(1), evn(2)), 1), withAttrs(record(t, "m2", "p", "s", evn(3)), 2)}
			},
			send: func([]string) error { t.Error("an open circuit sent a request"); return nil },
			want: Tally{Retried: 3, LastError: "receiver answered 502 (not sent again until a probe succeeds)"}},
		{name: "parked for good", stream: "s",
			recs: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{withAttrs(record(t, "m1", "p", "s", evn(1), evn(2)), 1)}
			},
			send:    func([]string) error { return Classify(Permanent, errors.New("401 bad token")) },
			want:    Tally{DeadLetters: map[stream.DeadLetterReason]int{stream.ReasonPermanent: 2}, LastError: "permanent: 401 bad token"},
			parkFor: map[string]stream.DeadLetterReason{"permanent: 401 bad token": stream.ReasonPermanent}},
		{name: "exhausted on the last receive", stream: "s",
			recs: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{withAttrs(record(t, "m1", "p", "s", evn(1), evn(2), evn(3)), maxReceives)}
			},
			send: func([]string) error { return &PartialError{Failed: map[int]error{1: retryable, 2: retryable}} },
			want: Tally{Delivered: 1, DeadLetters: map[stream.DeadLetterReason]int{stream.ReasonExhausted: 2}, LastError: retryable.Error()},
			parkFor: map[string]stream.DeadLetterReason{
				"receiver answered 503; gave up after 4 receives": stream.ReasonExhausted}},
		{name: "suspended stream", stream: "susp",
			recs: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{withAttrs(record(t, "m1", "p", "susp", evn(1), evn(2)), 1), withAttrs(record(t, "m2", "p", "susp", evn(3)), 1)}
			},
			send:    func([]string) error { t.Error("a suspended stream sent a request"); return nil },
			want:    Tally{DeadLetters: map[stream.DeadLetterReason]int{stream.ReasonSuspended: 3}, LastError: "stream is suspended"},
			parkFor: map[string]stream.DeadLetterReason{"stream is suspended": stream.ReasonSuspended}},
		{name: "each reason its own dead letter", stream: "s", limits: Limits{MaxBytes: 1 << 20, MaxEvents: 1000, MaxEventBytes: 20},
			recs: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{withAttrs(record(t, "m1", "p", "s", evn(1), `{"big":"`+strings.Repeat("x", 30)+`"}`, evn(2), evn(3), evn(4)), 1)}
			},
			// Of the four sent, the second is rejected.
			send: func([]string) error {
				return &PartialError{Failed: map[int]error{1: Classify(Rejected, errors.New("bad line"))}}
			},
			want: Tally{Delivered: 3, DeadLetters: map[stream.DeadLetterReason]int{stream.ReasonRejected: 1, stream.ReasonTooLarge: 1},
				LastError: "event is 40 bytes; the destination takes at most 20"},
			parkFor: map[string]stream.DeadLetterReason{
				"event is 40 bytes; the destination takes at most 20": stream.ReasonTooLarge,
				"rejected: bad line": stream.ReasonRejected}},
		{name: "failed for good beside a retry: back with the rest, parked later", stream: "s",
			recs: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{withAttrs(record(t, "m1", "p", "s", evn(1), evn(2), evn(3)), 1)}
			},
			send: func([]string) error {
				return &PartialError{Failed: map[int]error{1: Classify(Rejected, errors.New("bad line")), 2: retryable}}
			},
			want: Tally{Delivered: 1, Retried: 2, LastError: retryable.Error()}},
		{name: "stream not loaded", stream: "broken",
			recs: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{withAttrs(record(t, "m1", "p", "broken", evn(1), evn(2)), 1)}
			},
			send: func([]string) error { t.Error("sent without the stream"); return nil },
			want: Tally{Retried: 2, LastError: "load stream: dynamodb unavailable"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &fakeQueue{}
			lim := cmp.Or(tc.limits, bigLimits)
			c := newCore(sendFunc(tc.send), q, lim)
			c.Streams = activeStreams(map[string]stream.Status{"s": stream.StatusActive, "susp": stream.StatusSuspended, "broken": "error"})
			c.MaxReceives = maxReceives
			h := &tallyHealth{}
			c.Health = h
			// Every message was enqueued at withAttrs' SentTimestamp and
			// each send is acknowledged 1.5 s later.
			c.Now = func() time.Time { return time.UnixMilli(1800000000000 + 1500) }
			if tc.open {
				c.Breaker = &Breaker{}
				for range 3 {
					c.Breaker.Done(context.Background(), [2]string{"p", tc.stream}, Result{Failed: true, Reason: "receiver answered 502"})
				}
			}
			recs := tc.recs(t)
			c.Handle(context.Background(), events.SQSEvent{Records: recs})

			got := h.of("p", tc.stream)
			if got.Delivered != tc.want.Delivered || got.Retried != tc.want.Retried || !maps.Equal(got.DeadLetters, tc.want.DeadLetters) ||
				got.LastError != tc.want.LastError {
				t.Errorf("tally %+v, want %+v", got, tc.want)
			}
			// The hour's lag counts each delivered event once, 1.5 s each.
			if got.LagEvents != got.Delivered || got.LagMillis != 1500*int64(got.Delivered) {
				t.Errorf("lag %d ms over %d events, want 1500 ms for each of %d delivered", got.LagMillis, got.LagEvents, got.Delivered)
			}
			if n := h.writes("p", tc.stream); n != 1 {
				t.Errorf("%d Records for the stream, want one", n)
			}
			events := 0
			for _, r := range recs {
				env, _ := envelope.Decode([]byte(r.Body))
				events += len(env.Events)
			}
			if n := got.Delivered + got.Parked() + got.Retried; n != events {
				t.Errorf("delivered + parked + retried = %d, want each of the %d events once", n, events)
			}
			if got.Parked() != len(q.parkedEvents()) {
				t.Errorf("tally parked %d, the DLQ got %d events", got.Parked(), len(q.parkedEvents()))
			}
			parkedBy := map[stream.DeadLetterReason]int{}
			for _, p := range q.parked {
				why, ok := tc.parkFor[p.Reason]
				if !ok {
					t.Errorf("parked with reason %q, want one of %v", p.Reason, tc.parkFor)
				}
				parkedBy[why] += len(p.Events)
			}
			if len(q.parked) > 0 && !maps.Equal(parkedBy, tc.want.DeadLetters) {
				t.Errorf("DLQ messages by reason %v, want %v: one message per reason", parkedBy, tc.want.DeadLetters)
			}
		})
	}
}

// A stream that no longer wants its events (paused, deleted) counts nothing:
// they are dropped on purpose, neither delivered nor failed.
func TestTallyOfADroppedStreamIsNotWritten(t *testing.T) {
	c := newCore(sendFunc(func([]string) error { t.Error("sent"); return nil }), &fakeQueue{}, bigLimits)
	c.Streams = activeStreams(map[string]stream.Status{"paused": stream.StatusPaused})
	h := &tallyHealth{}
	c.Health = h
	c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		withAttrs(record(t, "m1", "p", "paused", evn(1)), 1), withAttrs(record(t, "m2", "p", "gone", evn(2)), 1)}})
	if h.writes("p", "paused")+h.writes("p", "gone") != 0 {
		t.Fatalf("tallies %+v %+v", h.of("p", "paused"), h.of("p", "gone"))
	}
}
