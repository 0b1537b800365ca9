package runner

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// testSchedule runs a schedule of a function with handler h, ticked by the
// returned channel, until the test ends.
func testSchedule(t *testing.T, h any) (*schedule, chan<- time.Time, func()) {
	t.Helper()
	ticks := make(chan time.Time)
	sc := &schedule{fn: testFunction(t, "cron", 5*time.Second, h), every: time.Minute, region: "eu-west-1",
		account: "123456789012", rule: "test-cron-schedule", log: testLogger(t), ticks: ticks}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc.run(ctx, context.Background())
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return sc, ticks, stop
}

// Each tick invokes the function with the event EventBridge sends a
// scheduled rule's target.
func TestScheduleInvokesWithScheduledEvent(t *testing.T) {
	got := make(chan json.RawMessage, 1)
	_, ticks, _ := testSchedule(t, func(_ context.Context, payload json.RawMessage) error {
		got <- payload
		return nil
	})
	at := time.Date(2026, 3, 1, 12, 0, 0, 500, time.UTC)
	ticks <- at
	var raw json.RawMessage
	select {
	case raw = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no invocation after a tick")
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || string(ev.Detail) != "{}" || ev.Version != "0" ||
		ev.ID == "" || ev.AccountID != "123456789012" || ev.Region != "eu-west-1" || !ev.Time.Equal(at.Truncate(time.Second)) ||
		len(ev.Resources) != 1 || ev.Resources[0] != "arn:aws:events:eu-west-1:123456789012:rule/test-cron-schedule" {
		t.Errorf("scheduled event %s", raw)
	}
	// Nothing the dead-letter function reads as a job: it ticks.
	var in struct {
		Job *struct{} `json:"job"`
	}
	if err := json.Unmarshal(raw, &in); err != nil || in.Job != nil {
		t.Errorf("scheduled event %s reads as a job", raw)
	}
}

// A tick while the previous invocation runs is skipped, never run beside
// it; once that invocation ends, the next tick invokes again. A failed
// invocation does not stop the schedule.
func TestScheduleSkipsTicksWhileRunning(t *testing.T) {
	var running, most, calls atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	sc, ticks, stop := testSchedule(t, func(context.Context, json.RawMessage) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		calls.Add(1)
		started <- struct{}{}
		<-release
		return errors.New("tick failed")
	})
	ticks <- time.Now()
	<-started
	for range 3 {
		ticks <- time.Now() // received while the first runs: skipped
	}
	// The loop has received the last tick; wait until it has judged it.
	waitFor(t, 5*time.Second, "three skipped ticks", func() bool {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		return sc.skipped == 3
	})
	release <- struct{}{}
	waitFor(t, 5*time.Second, "the first invocation to end", func() bool {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		return !sc.running
	})
	ticks <- time.Now()
	<-started
	release <- struct{}{}
	stop() // waits for the invocation in flight
	if calls.Load() != 2 || most.Load() != 1 {
		t.Errorf("%d invocations, at most %d at once; want 2, one at a time", calls.Load(), most.Load())
	}
}

// Stopping the schedule stops its ticks and waits for the invocation in
// flight, which the invocation context ends.
func TestScheduleStops(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(1)
	ticks := make(chan time.Time, 1)
	sc := &schedule{fn: testFunction(t, "cron", time.Minute, func(ctx context.Context, _ json.RawMessage) error {
		wg.Done()
		<-ctx.Done()
		return ctx.Err()
	}), every: time.Minute, log: testLogger(t), ticks: ticks}
	ctx, cancel := context.WithCancel(context.Background())
	invokeCtx, stopInvokes := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc.run(ctx, invokeCtx)
	}()
	ticks <- time.Now()
	wg.Wait()
	cancel()
	select {
	case <-done:
		t.Fatal("schedule stopped before its invocation ended")
	case <-time.After(50 * time.Millisecond):
	}
	stopInvokes()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("schedule did not stop once its invocation was canceled")
	}
}
