package deliver

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/stream"
)

// A stream whose endpoint hangs neither delays another stream's send nor
// holds its delivered message until the invocation ends: every stream of the
// batch is sent at once, each within its own deadline, and a finished
// stream's messages are deleted while the hanging one still waits (issue 11).
func TestAHangingStreamHoldsNoOtherStream(t *testing.T) {
	for _, tc := range []struct {
		name        string
		concurrency int
	}{{"all streams at once (default)", 0}, {"one at a time", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			q := &fakeQueue{}
			quietSent := make(chan struct{})
			var deadBudget time.Duration
			var quietBeforeDeadGaveUp, ackedBeforeDeadGaveUp bool
			snd := &fakeSender{send: func(ctx context.Context, s stream.Stream, n int) error {
				if s.ID == "quiet" {
					close(quietSent)
					return nil
				}
				dl, _ := ctx.Deadline()
				deadBudget = time.Until(dl)
				// Hang until the stream's own deadline, watching what
				// happens to the quiet stream meanwhile.
				select {
				case <-quietSent:
					quietBeforeDeadGaveUp = true
				case <-ctx.Done():
				}
				for ctx.Err() == nil && !ackedBeforeDeadGaveUp {
					q.mu.Lock()
					ackedBeforeDeadGaveUp = slices.ContainsFunc(q.acked, func(r Receipt) bool { return r.MessageID == "q" })
					q.mu.Unlock()
					time.Sleep(5 * time.Millisecond)
				}
				<-ctx.Done()
				return ctx.Err()
			}}
			c := &Core{
				Streams: activeStreams(map[string]stream.Status{"dead": stream.StatusActive, "quiet": stream.StatusActive}),
				Sender:  snd, Limits: Limits{MaxEvents: 100, MaxBytes: 1 << 20}, Queue: q,
				Concurrency: tc.concurrency, StreamTimeout: 500 * time.Millisecond, AckAfter: 20 * time.Millisecond,
				Log: quietLog(),
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			resp, err := c.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{
				record(t, "d", "p", "dead", `{"n":1}`), record(t, "q", "p", "quiet", `{"n":2}`),
			}})
			if err != nil {
				t.Fatal(err)
			}
			if got := failures(resp); !slices.Equal(got, []string{"d"}) {
				t.Fatalf("retried %v, want the hanging stream's message only", got)
			}
			if deadBudget > 500*time.Millisecond {
				t.Errorf("the hanging stream had %s, want at most its StreamTimeout (500ms), not the invocation's minute", deadBudget)
			}
			if tc.concurrency == 1 {
				// The control: streams one after the other, the quiet one
				// is sent only once the hanging one gave up. It shows the
				// test can tell.
				if quietBeforeDeadGaveUp || ackedBeforeDeadGaveUp {
					t.Fatalf("one at a time, yet the quiet stream went first (sent %v, acked %v)", quietBeforeDeadGaveUp, ackedBeforeDeadGaveUp)
				}
				return
			}
			if !quietBeforeDeadGaveUp {
				t.Error("the quiet stream was sent only after the hanging one gave up")
			}
			if !ackedBeforeDeadGaveUp {
				t.Error("the quiet stream's delivered message was not deleted while the hanging one waited")
			}
			for _, r := range q.acked {
				if r.MessageID == "d" {
					t.Errorf("the hanging stream's message was acked: %+v", r)
				}
			}
		})
	}
}

// An invocation that ends within AckAfter deletes nothing itself: the event
// source mapping does, from the batch response. No extra SQS call.
func TestAShortInvocationAcksInItsResponse(t *testing.T) {
	q := &fakeQueue{}
	c := &Core{
		Streams: activeStreams(map[string]stream.Status{"a": stream.StatusActive, "b": stream.StatusActive}),
		Sender:  &fakeSender{}, Limits: Limits{MaxEvents: 100, MaxBytes: 1 << 20}, Queue: q,
		AckAfter: time.Hour, Log: quietLog(),
	}
	resp, err := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		record(t, "1", "p", "a", `{"n":1}`), record(t, "2", "p", "b", `{"n":2}`),
	}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %v, %v", resp, err)
	}
	if len(q.acked) != 0 {
		t.Fatalf("acked %v early in a short invocation", q.acked)
	}
}

// A probe to a stream that has been timing out is sent with the probe's own
// short deadline, not the delivery timeout.
func TestAProbeAfterTimeoutsIsShort(t *testing.T) {
	now := time.Unix(3_000_000, 0)
	var budgets []time.Duration
	snd := &fakeSender{send: func(ctx context.Context, s stream.Stream, n int) error {
		if dl, ok := ctx.Deadline(); ok {
			budgets = append(budgets, time.Until(dl).Round(100*time.Millisecond))
		} else {
			budgets = append(budgets, 0)
		}
		return context.DeadlineExceeded
	}}
	c := &Core{
		Streams: activeStreams(map[string]stream.Status{"dead": stream.StatusActive}),
		Sender:  snd, Limits: Limits{MaxEvents: 100, MaxBytes: 1 << 20},
		Breaker: &Breaker{Threshold: 2, Base: time.Minute, ProbeTimeout: 700 * time.Millisecond, Now: func() time.Time { return now }},
		Log:     quietLog(),
	}
	for range 2 {
		_, _ = c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{record(t, "d", "p", "dead", `{"n":1}`)}})
	}
	now = now.Add(time.Minute)
	_, _ = c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{record(t, "d", "p", "dead", `{"n":1}`)}})
	if want := []time.Duration{0, 0, 700 * time.Millisecond}; !slices.Equal(budgets, want) {
		t.Fatalf("request deadlines %v, want %v (two ordinary requests, then the short probe)", budgets, want)
	}
}
