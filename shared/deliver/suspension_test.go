package deliver

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/stream"
)

// runHealth is the health store's failure run in memory, kept as
// store.Streams.Record keeps it: started by the first failure, counted by
// permanent ones, ended by a delivered event.
type runHealth struct {
	mu  sync.Mutex
	run stream.FailureRun
}

func (h *runHealth) Record(_ context.Context, _, _ string, t Tally, at time.Time) (stream.FailureRun, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case t.Delivered > 0:
		h.run = stream.FailureRun{}
	case t.Failed():
		if h.run.FailingSince.IsZero() {
			h.run.FailingSince = at
		}
		if t.Permanent {
			h.run.PermanentFailures++
		}
	}
	return h.run, nil
}

// flipSuspender suspends like store.Streams: only an active stream, and
// says whether this call did; the stream's status is what Streams reads.
type flipSuspender struct {
	mu        sync.Mutex
	status    stream.Status
	suspended []string
	own       *stream.Suspension // the stream's own policy
}

func (f *flipSuspender) Suspend(_ context.Context, _, streamID, reason string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status != stream.StatusActive {
		return false, nil
	}
	f.status = stream.StatusSuspended
	f.suspended = append(f.suspended, streamID+": "+reason)
	return true, nil
}

func (f *flipSuspender) Get(_ context.Context, p, s string) (stream.Stream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return stream.Stream{ID: s, ProjectID: p, DestinationType: "http", Status: f.status, Suspension: f.own}, nil
}

type noticeLog struct{ notices []stream.Notice }

func (n *noticeLog) Notify(_ context.Context, x stream.Notice) error {
	n.notices = append(n.notices, x)
	return nil
}

// Issue 13 §3: a stream whose destination fails with no success for the
// policy's window, or refuses it the policy's count of times in a row, is
// suspended once, with the reason and the run's start, and told of once; a
// success in between starts the run again. The clock is the test's.
func TestSuspendsOnSustainedFailure(t *testing.T) {
	t0 := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	policy := stream.SuspensionPolicy{After: time.Hour, AfterPermanent: 3}
	retryable := func([]string) error { return errors.New("receiver answered 500") }
	permanent := func([]string) error { return Classify(Permanent, errors.New("receiver answered 401")) }
	ok := func([]string) error { return nil }
	type step struct {
		at   time.Duration // after t0
		send func([]string) error
	}
	permanentOnly := stream.SuspensionPolicy{AfterPermanent: 3}
	tests := []struct {
		name       string
		policy     *stream.SuspensionPolicy // default: policy
		own        *stream.Suspension       // the stream's own policy
		steps      []step
		wantReason string // empty: not suspended
		wantSince  time.Duration
	}{
		{name: "failing within the window", steps: []step{{0, retryable}, {59 * time.Minute, retryable}}},
		{name: "failing for the window", steps: []step{{0, retryable}, {30 * time.Minute, retryable}, {time.Hour, retryable}, {2 * time.Hour, retryable}},
			wantReason: "no success", wantSince: 0},
		{name: "a success starts the run again", steps: []step{{0, retryable}, {50 * time.Minute, ok}, {55 * time.Minute, retryable}, {time.Hour + 50*time.Minute, retryable}}},
		// The count rule waits for the run to be stream.MinPermanentRun old,
		// which the time rule (an hour here) would reach too: it is off in
		// these cases, so only the count decides.
		{name: "permanent failures in a row", policy: &permanentOnly, steps: []step{{0, permanent}, {time.Minute, permanent}, {2 * time.Minute, permanent},
			{stream.MinPermanentRun, permanent}, {stream.MinPermanentRun + time.Minute, permanent}},
			wantReason: "4 times in a row", wantSince: 0},
		{name: "permanent failures, a young run", policy: &permanentOnly, steps: []step{{0, permanent}, {time.Minute, permanent}, {2 * time.Minute, permanent},
			{3 * time.Minute, permanent}, {4 * time.Minute, permanent}}},
		// A stream's own policy replaces the deployment's rule: here a
		// deployment that would wait 72 hours, and a stream that says one.
		{name: "the stream's own window", policy: &stream.SuspensionPolicy{After: 72 * time.Hour}, own: &stream.Suspension{After: "1h"},
			steps:      []step{{0, retryable}, {30 * time.Minute, retryable}, {time.Hour, retryable}},
			wantReason: "no success", wantSince: 0},
		{name: "a stream that turned the rule off", own: &stream.Suspension{After: "0s", AfterPermanentFailures: new(int)},
			steps: []step{{0, retryable}, {time.Hour, retryable}, {5 * time.Hour, permanent}, {6 * time.Hour, permanent}, {7 * time.Hour, permanent}, {8 * time.Hour, permanent}}},
		{name: "permanent failures broken by a success", policy: &permanentOnly, steps: []step{{0, permanent}, {time.Minute, permanent}, {2 * time.Minute, ok},
			{stream.MinPermanentRun, permanent}, {stream.MinPermanentRun + time.Minute, permanent}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := t0
			susp := &flipSuspender{status: stream.StatusActive, own: tc.own}
			notes := &noticeLog{}
			var send func([]string) error
			c := newCore(sendFunc(func(evs []string) error { return send(evs) }), &fakeQueue{}, bigLimits)
			c.Health, c.Suspend, c.Streams, c.Notify, c.Suspension = &runHealth{}, susp, susp, notes, policy
			if tc.policy != nil {
				c.Suspension = *tc.policy
			}
			c.Now = func() time.Time { return now }
			for i, s := range tc.steps {
				now, send = t0.Add(s.at), s.send
				c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
					withAttrs(record(t, "m"+string(rune('a'+i)), "p", "s", evn(i)), 1)}})
			}
			if tc.wantReason == "" {
				if len(susp.suspended) != 0 || len(notes.notices) != 0 {
					t.Fatalf("suspended %v, notices %+v", susp.suspended, notes.notices)
				}
				return
			}
			// Once only, and the messages after it parked, not sent.
			if len(susp.suspended) != 1 || !strings.Contains(susp.suspended[0], tc.wantReason) {
				t.Fatalf("suspended %v, want once with %q", susp.suspended, tc.wantReason)
			}
			if len(notes.notices) != 1 {
				t.Fatalf("notices %+v, want one", notes.notices)
			}
			n := notes.notices[0]
			if n.Status != stream.StatusSuspended || n.StreamID != "s" || n.ProjectID != "p" || n.DestinationType != "http" ||
				!strings.Contains(n.Reason, tc.wantReason) || n.FirstFailureAt == nil || !n.FirstFailureAt.Equal(t0.Add(tc.wantSince)) {
				t.Fatalf("notice %+v", n)
			}
		})
	}
}

// A stream suspended for failing parks what was queued with the reason it
// was suspended for.
func TestSuspendedStreamParksWithItsReason(t *testing.T) {
	q := &fakeQueue{}
	c := newCore(sendFunc(func([]string) error { return nil }), q, bigLimits)
	c.Streams = &fakeStreams{get: func(p, s string) (stream.Stream, error) {
		return stream.Stream{ID: s, ProjectID: p, DestinationType: "http", Status: stream.StatusSuspended, StatusReason: "failing for 72h"}, nil
	}}
	c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{withAttrs(record(t, "m1", "p", "s", evn(1)), 1)}})
	if len(q.parked) != 1 || q.parked[0].Reason != "stream is suspended: failing for 72h" || q.parked[0].Code != string(stream.ReasonSuspended) {
		t.Fatalf("parked %+v", q.parked)
	}
}
