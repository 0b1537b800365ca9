package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// schedule emulates an EventBridge rate rule targeting a function: every
// tick it invokes the function with the event EventBridge sends a scheduled
// rule's target ("Scheduled Event" from "aws.events", detail {}).
//
// EventBridge itself would start the next invocation on time even while the
// last one runs (a scheduled function must tolerate overlap in AWS); here a
// tick that comes while the previous invocation still runs is skipped
// instead, so a slow tick on a small machine does not pile invocations up.
// The function's own code must not rely on either.
type schedule struct {
	fn      *function
	every   time.Duration
	region  string
	account string
	rule    string // the emulated rule's name, for the event's resources
	log     *slog.Logger

	// ticks, when set, replaces the ticker (tests).
	ticks <-chan time.Time

	mu      sync.Mutex
	running bool
	skipped int
}

// event is the payload of one scheduled invocation, as EventBridge builds it.
func (sc *schedule) event(now time.Time) ([]byte, error) {
	return json.Marshal(events.EventBridgeEvent{
		Version:    "0",
		ID:         newUUID(),
		DetailType: "Scheduled Event",
		Source:     "aws.events",
		AccountID:  sc.account,
		// EventBridge stamps the scheduled time to the second.
		Time:      now.UTC().Truncate(time.Second),
		Region:    sc.region,
		Resources: []string{fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", sc.region, sc.account, sc.rule)},
		Detail:    json.RawMessage("{}"),
	})
}

// run ticks until ctx ends, then waits for the invocation in flight, which
// invokeCtx bounds (Close cancels it after its graceful phase).
func (sc *schedule) run(ctx, invokeCtx context.Context) {
	ticks := sc.ticks
	if ticks == nil {
		t := time.NewTicker(sc.every)
		defer t.Stop()
		ticks = t.C
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticks:
			if !sc.begin() {
				sc.log.Warn("previous scheduled invocation still running; tick skipped", "every", sc.every)
				continue
			}
			wg.Go(func() {
				defer sc.end()
				sc.tick(invokeCtx, now)
			})
		}
	}
}

// begin claims the schedule for one invocation; false if one is running.
func (sc *schedule) begin() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.running {
		sc.skipped++
		return false
	}
	sc.running = true
	return true
}

func (sc *schedule) end() {
	sc.mu.Lock()
	sc.running = false
	sc.mu.Unlock()
}

// tick runs one scheduled invocation. Like EventBridge's asynchronous
// invocation, nobody waits for its answer: a failure is logged.
func (sc *schedule) tick(ctx context.Context, now time.Time) {
	payload, err := sc.event(now)
	if err != nil {
		sc.log.Error("build scheduled event", "err", err)
		return
	}
	if _, err := sc.fn.invoke(ctx, payload); err != nil && ctx.Err() == nil {
		sc.log.Error("scheduled invocation failed", "err", err)
	}
}
