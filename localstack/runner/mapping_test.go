package runner

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/shared/topology"
)

// TestPartialBatchResponse pins Lambda's documented success and failure
// conditions for ReportBatchItemFailures.
func TestPartialBatchResponse(t *testing.T) {
	batch := []sqstypes.Message{{MessageId: aws.String("m1")}, {MessageId: aws.String("m2")}}
	tests := []struct {
		name       string
		report     bool
		output     string
		wantFailed map[string]bool
		wantErr    bool // the whole batch failed
	}{
		{name: "empty batchItemFailures list", report: true, output: `{"batchItemFailures":[]}`},
		{name: "null batchItemFailures list", report: true, output: `{"batchItemFailures":null}`},
		{name: "empty response object", report: true, output: `{}`},
		{name: "null response", report: true, output: `null`},
		{name: "one failed item", report: true, output: `{"batchItemFailures":[{"itemIdentifier":"m2"}]}`, wantFailed: map[string]bool{"m2": true}},
		{name: "every item failed", report: true, output: `{"batchItemFailures":[{"itemIdentifier":"m1"},{"itemIdentifier":"m2"}]}`, wantFailed: map[string]bool{"m1": true, "m2": true}},
		{name: "empty itemIdentifier", report: true, output: `{"batchItemFailures":[{"itemIdentifier":""}]}`, wantErr: true},
		{name: "null itemIdentifier", report: true, output: `{"batchItemFailures":[{"itemIdentifier":null}]}`, wantErr: true},
		{name: "itemIdentifier under a bad key name", report: true, output: `{"batchItemFailures":[{"messageId":"m1"}]}`, wantErr: true},
		{name: "unknown message ID", report: true, output: `{"batchItemFailures":[{"itemIdentifier":"nope"}]}`, wantErr: true},
		{name: "invalid JSON", report: true, output: `{"batchItemFailures":`, wantErr: true},
		{name: "response ignored without ReportBatchItemFailures", report: false, output: `{"batchItemFailures":[{"itemIdentifier":"m1"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &mapping{source: topology.EventSource{ReportBatchItemFailures: tc.report}}
			failed, err := m.failures([]byte(tc.output), batch)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want whole-batch failure %v", err, tc.wantErr)
			}
			if len(failed) != len(tc.wantFailed) {
				t.Fatalf("failed = %v, want %v", failed, tc.wantFailed)
			}
			for id := range tc.wantFailed {
				if !failed[id] {
					t.Errorf("%s not reported failed", id)
				}
			}
		})
	}
}

func TestSQSEvent(t *testing.T) {
	m := &mapping{region: "eu-west-1", queue: QueueResources{ARN: "arn:aws:sqs:eu-west-1:000000000000:q"}}
	ev := m.event([]sqstypes.Message{{
		MessageId:              aws.String("m1"),
		ReceiptHandle:          aws.String("rh"),
		Body:                   aws.String("hello"),
		MD5OfBody:              aws.String("5d41402abc4b2a76b9719d911017c592"),
		MD5OfMessageAttributes: aws.String("abc"),
		Attributes:             map[string]string{"ApproximateReceiveCount": "2", "SentTimestamp": "1"},
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"stream": {DataType: aws.String("String"), StringValue: aws.String("s1")},
		},
	}})
	if len(ev.Records) != 1 {
		t.Fatalf("records = %d", len(ev.Records))
	}
	r := ev.Records[0]
	eq(t, "messageId", r.MessageId, "m1")
	eq(t, "receiptHandle", r.ReceiptHandle, "rh")
	eq(t, "body", r.Body, "hello")
	eq(t, "md5OfBody", r.Md5OfBody, "5d41402abc4b2a76b9719d911017c592")
	eq(t, "md5OfMessageAttributes", r.Md5OfMessageAttributes, "abc")
	eq(t, "attributes", r.Attributes, map[string]string{"ApproximateReceiveCount": "2", "SentTimestamp": "1"})
	eq(t, "eventSource", r.EventSource, "aws:sqs")
	eq(t, "eventSourceARN", r.EventSourceARN, "arn:aws:sqs:eu-west-1:000000000000:q")
	eq(t, "awsRegion", r.AWSRegion, "eu-west-1")
	a := r.MessageAttributes["stream"]
	eq(t, "dataType", a.DataType, "String")
	eq(t, "stringValue", aws.ToString(a.StringValue), "s1")
	// Lambda sends empty lists, not null.
	eq(t, "stringListValues", a.StringListValues, []string{})
	eq(t, "binaryListValues", a.BinaryListValues, [][]byte{})
}

func TestConcurrencyLimits(t *testing.T) {
	tests := []struct {
		name           string
		maxConcurrency int
		limit          int
		wantLo, wantHi int
	}{
		{name: "delivery mapping", maxConcurrency: topology.DefaultDeliverMaxConcurrency, wantLo: 5, wantHi: 10},
		{name: "maximum below Lambda's five", maxConcurrency: 2, wantLo: 2, wantHi: 2},
		{name: "no maximum: Lambda's 1000 batches, down to two", wantLo: 2, wantHi: 1000},
		{name: "local cap below the maximum", maxConcurrency: 10, limit: 4, wantLo: 4, wantHi: 4},
		{name: "local cap above the maximum", maxConcurrency: 10, limit: 50, wantLo: 5, wantHi: 10},
		{name: "local cap of one", maxConcurrency: 10, limit: 1, wantLo: 1, wantHi: 1},
		{name: "local cap without a maximum", limit: 20, wantLo: 2, wantHi: 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := concurrencyLimits(tc.maxConcurrency, tc.limit)
			if lo != tc.wantLo || hi != tc.wantHi {
				t.Errorf("concurrencyLimits(%d, %d) = %d, %d; want %d, %d", tc.maxConcurrency, tc.limit, lo, hi, tc.wantLo, tc.wantHi)
			}
		})
	}
}

// mappingRun is a mapping over a fakeSQS, running until stop.
type mappingRun struct {
	m                    *mapping
	stopPoll, stopInvoke context.CancelFunc
	done                 chan struct{}

	mu      sync.Mutex
	pollers []int // every poller count the scaler reported, in order
	changed chan struct{}
}

func startMapping(t *testing.T, q *fakeSQS, src topology.EventSource, handler any) *mappingRun {
	t.Helper()
	lo, hi := concurrencyLimits(src.MaxConcurrency, 0)
	r := &mappingRun{done: make(chan struct{}), changed: make(chan struct{}, 1)}
	r.m = &mapping{fn: testFunction(t, "deliver-test", 30*time.Second, handler), source: src,
		queue:  QueueResources{Name: "q", URL: "http://sqs.local/q", ARN: "arn:aws:sqs:us-east-1:000000000000:q"},
		region: "us-east-1", sqs: q, waitTime: time.Second, log: testLogger(t),
		scale: &scaler{lo: lo, hi: hi, changed: func(n int) {
			r.mu.Lock()
			r.pollers = append(r.pollers, n)
			r.mu.Unlock()
			select {
			case r.changed <- struct{}{}:
			default:
			}
		}}}
	pollCtx, stopPoll := context.WithCancel(context.Background())
	invokeCtx, stopInvoke := context.WithCancel(context.Background())
	r.stopPoll, r.stopInvoke = stopPoll, stopInvoke
	go func() {
		defer close(r.done)
		r.m.run(pollCtx, invokeCtx)
	}()
	t.Cleanup(func() {
		// Normally stopped already; after a failure, do not wait for
		// held invocations either.
		r.stopPoll()
		r.stopInvoke()
		<-r.done
	})
	return r
}

// stop stops receiving, lets invocations under way finish, as Close does,
// and waits for every poller to stop.
func (r *mappingRun) stop() {
	r.stopPoll()
	<-r.done
	r.stopInvoke()
}

// history returns the poller counts reported so far.
func (r *mappingRun) history() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pollers)
}

// waitPollers waits until the scaler reports n pollers running.
func (r *mappingRun) waitPollers(t *testing.T, n int) {
	t.Helper()
	for {
		h := r.history()
		if len(h) > 0 && h[len(h)-1] == n {
			return
		}
		select {
		case <-r.changed:
		case <-time.After(10 * time.Second): // a hang guard, not a bound
			t.Fatalf("pollers never came to %d; counts so far %v", n, h)
		}
	}
}

// inFlight measures a handler's concurrent invocations.
type inFlight struct {
	mu        sync.Mutex
	now, peak int
	records   int
}

func (f *inFlight) begin(records int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now++
	f.peak = max(f.peak, f.now)
	f.records += records
	return f.now
}

func (f *inFlight) end() {
	f.mu.Lock()
	f.now--
	f.mu.Unlock()
}

func (f *inFlight) read() (peak, records int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peak, f.records
}

// TestMappingScales: with a backlog and invocations that hold their batch,
// a mapping grows from Lambda's five concurrent batches to its maximum
// concurrency and never past it; once the queue is empty it shrinks back to
// five and stays there. Both of the scaler's backlog signals are covered:
// full receives, and (one message per receive) every poller busy invoking.
func TestMappingScales(t *testing.T) {
	tests := []struct {
		name       string
		perReceive int
	}{
		{name: "full receives"},
		{name: "one message per receive, every poller busy", perReceive: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const total = 300
			src := topology.EventSource{BatchSize: 10, ReportBatchItemFailures: true, MaxConcurrency: topology.DefaultDeliverMaxConcurrency}
			lo, hi := concurrencyLimits(src.MaxConcurrency, 0)
			q := &fakeSQS{perReceive: tc.perReceive}
			q.send("m", total)

			// The first invocations hold their batch until hi run at
			// once; from then on the handler is fast and drains the rest.
			var flight inFlight
			reached := make(chan struct{})
			var once sync.Once
			drained := make(chan struct{})
			var drainOnce sync.Once
			handler := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				if flight.begin(len(ev.Records)) == hi {
					once.Do(func() { close(reached) })
				}
				defer flight.end()
				select {
				case <-reached:
				case <-ctx.Done():
				}
				if _, n := flight.read(); n == total {
					drainOnce.Do(func() { close(drained) })
				}
				return events.SQSEventResponse{}, nil
			}
			r := startMapping(t, q, src, handler)

			select {
			case <-reached:
			case <-time.After(10 * time.Second): // a hang guard, not a bound
				peak, _ := flight.read()
				t.Fatalf("concurrent invocations reached %d, never the maximum %d; poller counts %v", peak, hi, r.history())
			}
			select {
			case <-drained:
			case <-time.After(10 * time.Second):
				_, n := flight.read()
				t.Fatalf("%d of %d messages processed", n, total)
			}

			// Drained: every poller's long poll comes back empty, and the
			// surplus ones stop. Count empty receives from here on.
			r.waitPollers(t, lo)
			var mu sync.Mutex
			more := 0
			enough := make(chan struct{})
			q.mu.Lock()
			q.empty = func() {
				mu.Lock()
				defer mu.Unlock()
				if more++; more == 4*lo {
					close(enough)
				}
			}
			q.mu.Unlock()
			<-enough
			h := r.history()
			r.stop()

			peak, _ := flight.read()
			if peak != hi {
				t.Errorf("peak concurrent invocations %d, want the maximum %d", peak, hi)
			}
			if u := r.m.fn.used(); u.PeakConcurrency != hi || u.Invocations == 0 {
				t.Errorf("Usage = %+v, want PeakConcurrency %d", u, hi)
			}
			if top := slices.Max(h); top != hi {
				t.Errorf("most pollers %d, want %d: %v", top, hi, h)
			}
			// After the maximum, down to lo and no lower.
			if bottom := slices.Min(h[slices.Index(h, hi):]); bottom != lo || h[len(h)-1] != lo {
				t.Errorf("pollers went down to %d while the queue was empty, want %d: %v", bottom, lo, h)
			}
			if deleted, released := q.counts(); deleted != total || len(released) != 0 {
				t.Errorf("deleted %d of %d, released %v", deleted, total, released)
			}
		})
	}
}

// TestMappingGrowsOnAFullReceive: a receive that comes back as full as it
// asked shows a backlog, and adds a poller even while others are still
// receiving; one that comes back short does not.
func TestMappingGrowsOnAFullReceive(t *testing.T) {
	tests := []struct {
		name     string
		messages int
		wantMore int // pollers beyond lo
	}{
		{name: "full receive", messages: 10, wantMore: 1},
		{name: "short receive", messages: 9, wantMore: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := topology.EventSource{BatchSize: 10, ReportBatchItemFailures: true, MaxConcurrency: topology.DefaultDeliverMaxConcurrency}
			lo, _ := concurrencyLimits(src.MaxConcurrency, 0)
			q := &fakeSQS{}
			q.send("m", tc.messages)
			invoked := make(chan struct{})
			r := startMapping(t, q, src, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				close(invoked) // once: there is one batch
				<-ctx.Done()
				return events.SQSEventResponse{}, nil
			})
			select {
			case <-invoked: // the scaler decided before the invocation
			case <-time.After(10 * time.Second): // a hang guard, not a bound
				t.Fatal("never invoked")
			}
			if h := r.history(); slices.Max(h) != lo+tc.wantMore {
				t.Errorf("most pollers %d, want %d: %v", slices.Max(h), lo+tc.wantMore, h)
			}
		})
	}
}

// TestMappingReleasesOnStop: a poller gathering a batch when the mapping
// stops hands its messages back at once, uninvoked, whatever the scaling.
func TestMappingReleasesOnStop(t *testing.T) {
	src := topology.EventSource{BatchSize: 10, MaxBatchingWindow: time.Minute, ReportBatchItemFailures: true,
		MaxConcurrency: topology.DefaultDeliverMaxConcurrency}
	got := make(chan []string, 1)
	q := &fakeSQS{received: func(ids []string) { got <- ids }}
	q.send("m", 3)
	var flight inFlight
	r := startMapping(t, q, src, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		flight.begin(len(ev.Records))
		defer flight.end()
		return events.SQSEventResponse{}, nil
	})
	var ids []string
	select {
	case ids = <-got: // all three: the queue has no more, and the window is a minute
	case <-time.After(10 * time.Second): // a hang guard, not a bound
		t.Fatal("no messages received")
	}
	r.stop()
	deleted, released := q.counts()
	slices.Sort(released)
	if !slices.Equal(released, ids) || deleted != 0 {
		t.Errorf("released %v, deleted %d; want %v released, none deleted", released, deleted, ids)
	}
	if peak, _ := flight.read(); peak != 0 {
		t.Errorf("%d invocations, want none", peak)
	}
}

// The last poller still receiving does not retire on an empty poll, however
// many are running: the others are invoking, and would leave nothing
// receiving.
func TestLastReceivingPollerStays(t *testing.T) {
	s := &scaler{lo: 2, hi: 10}
	s.start()         // 2 pollers, both receiving
	s.received(false) // one invokes
	s.received(false) // the other too: nothing receives, so a third starts
	if s.pollers != 3 || s.polling != 1 {
		t.Fatalf("pollers %d, receiving %d; want 3 and 1", s.pollers, s.polling)
	}
	if s.empty() { // the only one receiving, with 3 running (> lo)
		t.Fatalf("the last receiving poller retired (pollers %d, receiving %d): nothing would receive", s.pollers, s.polling)
	}
	s.invoked() // an invoking poller receives again: two receiving
	if !s.empty() {
		t.Fatal("a poller above lo with another still receiving should retire")
	}
	if s.pollers != 2 || s.polling != 1 {
		t.Fatalf("after retiring: pollers %d, receiving %d; want 2 and 1", s.pollers, s.polling)
	}
}
