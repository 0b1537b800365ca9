package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/logstream/logstream/localstack/chaos"
	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
)

// TestDeadLetterFault is issue 12's own fault test: two projects' http
// streams behind a chaos receiver (20% 500, 10% 429 with Retry-After, 5%
// hangs past the delivery timeout, 5% connection resets), one stream whose
// receiver answers 401 for ever and one whose receiver answers 410 once.
// Once the stack has settled, every accepted (stream, event) pair is
// delivered or in the dead-letter store, as the project's own key reads it
// through the API, and every DLQ has been drained into the store. Then the
// receiver heals, the 401 stream gets its credential, the 410 stream a
// healthy endpoint and an enable that redrives its dead letters, and every
// other stream's dead letters are redriven: everything is delivered, no dead
// letter is left, and no event is delivered twice. There is no crash here,
// so every window for a duplicate the design leaves open needs one
// (docs/architecture.md); the aim is none, and the test says where any came
// from rather than allowing some.
//
// The retry schedule and maxReceiveCount are short, so retries run out in
// test time and some events of the chaotic streams are parked as exhausted.
// The figures for 100,000 events, with and without a crash, are
// localstack/cmd/chaos's (make chaos).
func TestDeadLetterFault(t *testing.T) {
	const (
		deliveryTimeout = time.Second
		hangFor         = 3 * time.Second // > deliveryTimeout: every hang times out
		maxReceives     = 3
		// Over two projects, 20 per request from 4 clients each pausing
		// 20 ms: each delivery request carries a few messages, so there
		// are hundreds of them for the faults to fall on.
		events, batch = 6000, 20
	)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// fastSpec's short visibility and delivery timeouts, with room for a
	// request that hangs the whole delivery timeout: an invocation
	// overrunning its timeout would cost its environment, which this test
	// is not about.
	spec := fastSpec(t)
	spec.SetMaxReceiveCount(maxReceives)
	// The dead-letter function drains the DLQs every second, not every
	// minute as EventBridge's rate rules do in AWS.
	spec.SetSchedule(topology.FunctionDeadLetters, time.Second)
	spec.SetBatchingWindow(topology.FunctionArchiver, time.Second)
	spec.SetBatchingWindow(topology.FunctionLokiArchiver, time.Second)
	for i := range spec.Queues {
		spec.Queues[i].VisibilityTimeout = 5 * time.Second
	}
	for i, f := range spec.Functions {
		if f.Source != nil {
			spec.Functions[i].Timeout = 4 * time.Second
		}
	}
	st := startStack(t, ctx, spec, map[string]string{
		topology.EnvRetryBase:       "1s",
		topology.EnvRetryMax:        "2s",
		topology.EnvDeliveryTimeout: deliveryTimeout.String(),
	})

	res, err := chaos.Run(ctx, chaos.Scenario{
		Base: st.URL(), AdminKey: adminKey, Prefix: "dlfault",
		Projects: 2, Streams: 2, Events: events, Batch: batch, Clients: 4, Pace: 20 * time.Millisecond,
		Faults: chaos.IssueFaults(hangFor), Seed: 12,
		RedriveRate: 5000, Settle: 100 * time.Second,
		Logf: t.Logf,
	})
	report := func(phase string, tl chaos.Tally) {
		t.Logf("%s: %v", phase, tl)
		for _, e := range tl.Examples {
			t.Logf("  %s", e)
		}
		fmt.Fprintf(os.Stderr, "e2e: dead-letter fault, %s: %v\n", phase, tl)
	}
	report("settled", res.Settled)
	if res.Redriven.Accepted > 0 {
		report("redriven", res.Redriven)
	}
	t.Logf("receiver answers %v; ingest %.1fs, settle %.1fs, fix and redrive %.1fs", res.Answers,
		res.IngestTime.Seconds(), res.SettleTime.Seconds(), res.RedriveTime.Seconds())
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != events || res.IngestRetries != 0 {
		t.Fatalf("ingestion accepted %d of %d events, %d requests retried", res.Events, events, res.IngestRetries)
	}

	// Settled: delivered ∪ dead letters = accepted. Each kind of failure
	// happened and ended where it should.
	s := res.Settled
	if s.Lost != 0 || s.Unexpected != 0 || s.Delivered+s.Dead != s.Accepted {
		t.Errorf("settled: %d of %d pairs lost, %d unexpected", s.Lost, s.Accepted, s.Unexpected)
	}
	for _, k := range []string{"200", "500", "429", "hang", "reset", "401", "410"} {
		if res.Answers[k] == 0 {
			t.Errorf("the receiver never answered %s: %v", k, res.Answers)
		}
	}
	for _, r := range []stream.DeadLetterReason{stream.ReasonPermanent, stream.ReasonGone, stream.ReasonExhausted} {
		if s.DeadByReason[r] == 0 {
			t.Errorf("no dead letter with reason %s: %v", r, s.DeadByReason)
		}
	}
	if res.GoneStatus != string(stream.StatusSuspended) {
		t.Errorf("the 410 stream was %q before it was fixed, not suspended", res.GoneStatus)
	}
	if res.Waiting == nil || res.Waiting.Events == 0 || res.Waiting.Redrive == nil {
		t.Errorf("enabling the 410 stream told no dead letters waiting, or started no redrive: %+v", res.Waiting)
	}
	// Duplicates before the redrive are reported, not asserted here: the
	// redrive would deliver a delivered-and-dead pair a second time, which
	// the assertion below catches.
	t.Logf("settled: %d duplicates (%.0f per 100k events)", s.Duplicates(), chaos.PerHundredK(s.Duplicates(), res.Events))

	// Redriven: 100% delivered, nothing dead, nothing twice.
	done := 0
	for _, j := range res.Jobs {
		if j.State != deadletter.StateSucceeded || len(j.Progress.Skipped) > 0 {
			t.Errorf("redrive job %s: %s, skipped %v, %s", j.ID, j.State, j.Progress.Skipped, j.Error)
		}
		done += j.Progress.Done
	}
	if done < s.DeadEvents { // and logstream's own events parked with them
		t.Errorf("the redrive jobs sent %d events, fewer than the %d of the run's in the store", done, s.DeadEvents)
	}
	r := res.Redriven
	if !r.Settled || r.Delivered != r.Accepted || r.DeadEvents != 0 || r.Unexpected != 0 {
		t.Errorf("redriven: %d of %d pairs delivered, %d dead events left, %d unexpected (%s)", r.Delivered, r.Accepted, r.DeadEvents, r.Unexpected, r.Waiting)
	}
	if r.Duplicates() != 0 {
		t.Errorf("%d duplicates without a crash: %d delivered twice, %d delivered and dead, %d dead twice; see the examples above",
			r.Duplicates(), r.DeliveredTwice, r.DeliveredAndDead, r.DeadTwice)
	}
}
