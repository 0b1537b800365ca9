package manage

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/stream"
)

// fakeClock is the API's clock and its retries' sleep: a sleep moves time on
// at once, so a test of minutes of contention takes microseconds.
type fakeClock struct {
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) total() time.Duration {
	var sum time.Duration
	for _, d := range c.slept {
		sum += d
	}
	return sum
}

// A change that loses the race to another writer is retried on the fresh
// version with growing, jittered pauses until the retry deadline: the
// request's budget, or the invocation's deadline less a margin when that
// comes first. Only contention that outlasts it answers 409.
func TestChangeRetriesUntilDeadline(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		name    string
		races   int           // how many times another writer wins
		budget  time.Duration // Retry.Budget
		ctxLeft time.Duration // time to the invocation's deadline; 0: none
		ifMatch string
		// want: the answer's status; its pauses exactly, or their total
		// within (minSlept, maxSlept].
		wantStatus         int
		wantSlept          []time.Duration
		minSlept, maxSlept time.Duration
	}{
		{name: "loses three races, then applies", races: 3, wantStatus: 200,
			wantSlept: []time.Duration{10 * ms, 20 * ms, 40 * ms}},
		{name: "sustained contention past the budget", races: 1000, budget: time.Second, wantStatus: 409,
			minSlept: time.Second - retryCap, maxSlept: time.Second},
		{name: "default budget", races: 1000, wantStatus: 409,
			minSlept: defaultRetryBudget - retryCap, maxSlept: defaultRetryBudget},
		{name: "the invocation's deadline comes first", races: 1000, ctxLeft: 1500 * ms, wantStatus: 409,
			minSlept: 500*ms - retryCap, maxSlept: 500 * ms},
		{name: "an invocation with time to spare keeps the budget", races: 1000, budget: time.Second, ctxLeft: time.Minute,
			wantStatus: 409, minSlept: time.Second - retryCap, maxSlept: time.Second},
		{name: "If-Match: the loser gets 412 at once", races: 1, ifMatch: `"1"`, wantStatus: 412, wantSlept: []time.Duration{}},
		{name: "If-Match *: retried like none", races: 2, ifMatch: "*", wantStatus: 200,
			wantSlept: []time.Duration{10 * ms, 20 * ms}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Now()}
			mem := &memStreams{m: map[string]stream.Stream{}}
			a := &API{Auth: adminAuth{}, Streams: &racingStreams{memStreams: mem}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Now: clock.Now, Retry: Retry{Budget: tc.budget, Sleep: clock.Sleep, Jitter: func(max time.Duration) time.Duration { return max }}}
			id := decodeStream(t, call(t, a, RouteCreate, "p", "", "", createBody)).ID
			a.Streams.(*racingStreams).races = tc.races

			ctx := context.Background()
			if tc.ctxLeft > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, clock.now.Add(tc.ctxLeft))
				defer cancel()
			}
			r, err := a.Handle(ctx, events.APIGatewayV2HTTPRequest{RouteKey: RoutePatch,
				PathParameters: map[string]string{"project_id": "p", "stream_id": id}, Body: `{"status":"paused"}`,
				Headers: map[string]string{"content-type": "application/json", "if-match": tc.ifMatch}})
			if err != nil {
				t.Fatal(err)
			}
			if r.StatusCode != tc.wantStatus {
				t.Fatalf("%d %s, want %d", r.StatusCode, r.Body, tc.wantStatus)
			}
			if tc.wantSlept != nil {
				if len(clock.slept) != len(tc.wantSlept) {
					t.Fatalf("paused %v, want %v", clock.slept, tc.wantSlept)
				}
				for i := range tc.wantSlept {
					if clock.slept[i] != tc.wantSlept[i] {
						t.Fatalf("paused %v, want %v", clock.slept, tc.wantSlept)
					}
				}
			} else if got := clock.total(); got <= tc.minSlept || got > tc.maxSlept {
				t.Fatalf("paused %v in all (%d pauses), want more than %v and at most %v", got, len(clock.slept), tc.minSlept, tc.maxSlept)
			}
			if tc.wantStatus == 200 {
				// Both writers' changes are kept.
				if s := decodeStream(t, r); s.Name != "changed elsewhere" || s.Status != stream.StatusPaused || s.Version != int64(tc.races)+2 {
					t.Fatalf("lost an update: %+v", s)
				}
			}
		})
	}
}

// The pause before each retry is drawn afresh up to a cap that doubles,
// so writers that collided spread out.
func TestRetryPauses(t *testing.T) {
	var maxes []time.Duration
	r := Retry{Jitter: func(max time.Duration) time.Duration { maxes = append(maxes, max); return 0 },
		Sleep: func(context.Context, time.Duration) error { return nil }}
	now := time.Now()
	for n := 1; n <= 8; n++ {
		if !r.pause(context.Background(), func() time.Time { return now }, now.Add(time.Second), n) {
			t.Fatalf("retry %d refused before the deadline", n)
		}
	}
	const ms = time.Millisecond
	want := []time.Duration{10 * ms, 20 * ms, 40 * ms, 80 * ms, 160 * ms, 200 * ms, 200 * ms, 200 * ms}
	for i := range want {
		if maxes[i] != want[i] {
			t.Fatalf("pause caps %v, want %v", maxes, want)
		}
	}
	// Without an injected jitter, every pause stays within its cap.
	r.Jitter = nil
	var slept []time.Duration
	r.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	for range 200 {
		r.pause(context.Background(), func() time.Time { return now }, now.Add(time.Second), 3)
	}
	for _, d := range slept {
		if d < 0 || d > 40*ms {
			t.Fatalf("pause %v outside [0, 40ms]", d)
		}
	}
	// A cancelled request stops retrying.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if (Retry{}).pause(ctx, func() time.Time { return now }, now.Add(time.Second), 1) {
		t.Fatal("retried after the request was cancelled")
	}
}
