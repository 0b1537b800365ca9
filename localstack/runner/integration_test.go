package runner

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/topology"
)

// Integration tests: they run against the stand-ins (standin.AWSConfig skips
// them when the stand-ins are not running, and fails them with CI=true).

// fastSpec is the production spec with a unique prefix and timings short
// enough for a test: a 1 s delivery function timeout, a 2 s visibility
// timeout and maxReceiveCount 3. The visibility timeout must cover the
// batching window (1 s) plus the function timeout, or a message becomes
// visible again while its batch is still being gathered or processed and is
// delivered twice — the reason AWS advises a generous visibility timeout.
func fastSpec(t *testing.T) topology.Spec {
	spec := standin.Spec(t)
	spec.SetBatchingWindow(topology.FunctionArchiver, 0)
	spec.SetBatchingWindow(topology.FunctionLokiArchiver, 0)
	for i := range spec.Functions {
		if spec.Functions[i].Source != nil {
			spec.Functions[i].Timeout = time.Second
		}
	}
	for i := range spec.Queues {
		spec.Queues[i].VisibilityTimeout = 2 * time.Second
		spec.Queues[i].MaxReceiveCount = 3
	}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	return spec
}

func startStack(t *testing.T, cfg aws.Config, spec topology.Spec, fake *fakeFunctions, opts ...func(*Options)) *Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := Options{
		Spec:       spec,
		AWS:        cfg,
		Overrides:  map[string]string{topology.EnvAllowPrivateEndpoints: "true"},
		NewHandler: fake.newHandler,
		Logger:     testLogger(t),
		PollWait:   time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	s, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		deleteResources(t, cfg, s.Resources())
	})
	return s
}

// deleteResources removes a test's table and queues, so a long-running
// stand-in does not accumulate them.
func deleteResources(t *testing.T, cfg aws.Config, res Resources) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := dynamodb.NewFromConfig(cfg).DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(res.Table)}); err != nil {
		t.Logf("delete table %s: %v", res.Table, err)
	}
	client := sqs.NewFromConfig(cfg)
	for _, q := range res.Queues {
		for _, url := range []string{q.URL, q.DLQURL} {
			if _, err := client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
				t.Logf("delete queue %s: %v", url, err)
			}
		}
	}
}

func TestProvisionIsIdempotent(t *testing.T) {
	t.Parallel()
	cfg := standin.AWSConfig(t)
	ctx := context.Background()
	spec := standin.Spec(t)

	first, err := Provision(ctx, cfg, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteResources(t, cfg, first) })
	second, err := Provision(ctx, cfg, spec)
	if err != nil {
		t.Fatalf("second Provision: %v", err)
	}
	eq(t, "resources", second, first)

	q := first.Queues[destination.HTTP]
	eq(t, "queue name", q.Name, spec.Prefix+"-deliver-http")
	eq(t, "queue ARN", q.ARN, "arn:aws:sqs:"+cfg.Region+":"+first.AccountID+":"+q.Name)
	eq(t, "DLQ ARN", q.DLQARN, "arn:aws:sqs:"+cfg.Region+":"+first.AccountID+":"+q.DLQName)

	sqsc := sqs.NewFromConfig(cfg)
	attrs := func(url string) map[string]string {
		out, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Attributes
	}
	redrive := func(a map[string]string) (string, string) {
		var p redrivePolicy
		if err := json.Unmarshal([]byte(a["RedrivePolicy"]), &p); err != nil {
			t.Fatalf("RedrivePolicy %q: %v", a["RedrivePolicy"], err)
		}
		return p.DeadLetterTargetArn, p.MaxReceiveCount.String()
	}
	a := attrs(q.URL)
	eq(t, "VisibilityTimeout", a["VisibilityTimeout"], "180")
	eq(t, "MessageRetentionPeriod", a["MessageRetentionPeriod"], strconv.Itoa(4*24*3600))
	dlqARN, maxReceive := redrive(a)
	eq(t, "deadLetterTargetArn", dlqARN, q.DLQARN)
	eq(t, "maxReceiveCount", maxReceive, strconv.Itoa(topology.DefaultMaxReceiveCount))
	eq(t, "DLQ MessageRetentionPeriod", attrs(q.DLQURL)["MessageRetentionPeriod"], strconv.Itoa(14*24*3600))

	t.Run("existing queues converge to a changed spec", func(t *testing.T) {
		changed := spec
		changed.Queues = append([]topology.Queue(nil), spec.Queues...)
		for i := range changed.Queues {
			if changed.Queues[i].Destination == destination.HTTP {
				changed.Queues[i].VisibilityTimeout = 200 * time.Second
				changed.Queues[i].MaxReceiveCount = 7
			}
		}
		if _, err := Provision(ctx, cfg, changed); err != nil {
			t.Fatal(err)
		}
		a := attrs(q.URL)
		eq(t, "VisibilityTimeout", a["VisibilityTimeout"], "200")
		_, maxReceive := redrive(a)
		eq(t, "maxReceiveCount", maxReceive, "7")
	})

	t.Run("existing table with another key schema is an error", func(t *testing.T) {
		name := standin.UniqueName(t, "badkeys")
		ddb := dynamodb.NewFromConfig(cfg)
		_, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(name),
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
			BillingMode:          ddbtypes.BillingModePayPerRequest,
		})
		if err != nil {
			t.Fatal(err)
		}
		bad := standin.Spec(t)
		bad.Table.Name = name
		res, err := Provision(ctx, cfg, bad)
		t.Cleanup(func() { deleteResources(t, cfg, Resources{Table: name, Queues: res.Queues}) })
		if err == nil || !strings.Contains(err.Error(), "key schema") {
			t.Fatalf("err = %v, want a key schema mismatch", err)
		}
		// Start says it was provisioning, so make dev can point at its
		// kept state.
		if s, err := Start(ctx, Options{Spec: bad, AWS: cfg, Logger: testLogger(t)}); !errors.Is(err, ErrProvision) {
			if err == nil {
				s.Close()
			}
			t.Fatalf("Start: err = %v, want ErrProvision", err)
		}
	})
}

// seen records what the delivery function was invoked with.
type seen struct {
	mu       sync.Mutex
	receives map[string][]string // body → ApproximateReceiveCount of each delivery
	records  []events.SQSMessage
}

func (s *seen) add(ev events.SQSEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.receives == nil {
		s.receives = map[string][]string{}
	}
	for _, r := range ev.Records {
		s.receives[r.Body] = append(s.receives[r.Body], r.Attributes["ApproximateReceiveCount"])
		s.records = append(s.records, r)
	}
}

func (s *seen) counts(body string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.receives[body]...)
}

func (s *seen) first() events.SQSMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records[0]
}

func send(t *testing.T, cfg aws.Config, url string, bodies ...string) {
	t.Helper()
	var entries []sqstypes.SendMessageBatchRequestEntry
	for i, b := range bodies {
		entries = append(entries, sqstypes.SendMessageBatchRequestEntry{
			Id:          aws.String(strconv.Itoa(i)),
			MessageBody: aws.String(b),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{
				"kind": {DataType: aws.String("String"), StringValue: aws.String("test")},
			},
		})
	}
	out, err := sqs.NewFromConfig(cfg).SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Failed) > 0 {
		t.Fatalf("send: %d failed: %s", len(out.Failed), aws.ToString(out.Failed[0].Message))
	}
}

// depth is the number of messages in a queue, visible or in flight.
func depth(t *testing.T, cfg aws.Config, url string) int {
	t.Helper()
	out, err := sqs.NewFromConfig(cfg).GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	visible, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	inFlight, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return visible + inFlight
}

// drain receives every message of a (dead-letter) queue and returns the bodies, sorted.
func drain(t *testing.T, cfg aws.Config, url string) []string {
	t.Helper()
	var bodies []string
	for {
		out, err := sqs.NewFromConfig(cfg).ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 60})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			sort.Strings(bodies)
			return bodies
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestEventSourceMapping(t *testing.T) {
	t.Parallel()
	cfg := standin.AWSConfig(t)

	t.Run("deletes successes, retries reported failures until the DLQ", func(t *testing.T) {
		t.Parallel()
		spec := fastSpec(t)
		rec := &seen{}
		fake := &fakeFunctions{sqs: func(_ context.Context, _ string, _ app.Getenv, ev events.SQSEvent) (events.SQSEventResponse, error) {
			rec.add(ev)
			var resp events.SQSEventResponse
			for _, r := range ev.Records {
				if strings.HasPrefix(r.Body, "fail") {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				}
			}
			return resp, nil
		}}
		s := startStack(t, cfg, spec, fake)
		q := s.Resources().Queues[destination.HTTP]
		send(t, cfg, q.URL, "ok-1", "ok-2", "ok-3", "fail-1", "fail-2")

		waitFor(t, 30*time.Second, "both failing messages in the DLQ", func() bool { return depth(t, cfg, q.DLQURL) == 2 })
		waitFor(t, 10*time.Second, "an empty source queue", func() bool { return depth(t, cfg, q.URL) == 0 })
		// Wait out another visibility timeout: a success that was not
		// deleted would be delivered again.
		time.Sleep(2500 * time.Millisecond)
		for _, b := range []string{"ok-1", "ok-2", "ok-3"} {
			eq(t, b+" receive counts", rec.counts(b), []string{"1"})
		}
		for _, b := range []string{"fail-1", "fail-2"} {
			eq(t, b+" receive counts", rec.counts(b), []string{"1", "2", "3"})
		}
		eq(t, "DLQ", drain(t, cfg, q.DLQURL), []string{"fail-1", "fail-2"})

		r := rec.first()
		eq(t, "eventSource", r.EventSource, "aws:sqs")
		eq(t, "eventSourceARN", r.EventSourceARN, q.ARN)
		eq(t, "awsRegion", r.AWSRegion, cfg.Region)
		sum := md5.Sum([]byte(r.Body))
		eq(t, "md5OfBody", r.Md5OfBody, hex.EncodeToString(sum[:]))
		for _, a := range []string{"ApproximateReceiveCount", "SentTimestamp", "ApproximateFirstReceiveTimestamp"} {
			if r.Attributes[a] == "" {
				t.Errorf("attribute %s missing: %v", a, r.Attributes)
			}
		}
		eq(t, "message attribute", aws.ToString(r.MessageAttributes["kind"].StringValue), "test")
		eq(t, "message attribute type", r.MessageAttributes["kind"].DataType, "String")
	})

	// Each of these fails the first delivery of a batch as a whole; the
	// second delivery succeeds, so every message is seen exactly twice and
	// none reaches the DLQ. (Panics and empty itemIdentifiers take the same
	// paths; TestGatewayErrors and TestPartialBatchResponse cover them.)
	failFirst := []struct {
		name string
		fail func(ev events.SQSEvent) (events.SQSEventResponse, error)
	}{
		{"invocation error", func(events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, errors.New("downstream unavailable")
		}},
		{"timeout", func(events.SQSEvent) (events.SQSEventResponse, error) {
			time.Sleep(1500 * time.Millisecond) // past the 1 s function timeout, ignoring ctx
			return events.SQSEventResponse{}, nil
		}},
		{"unknown itemIdentifier", func(events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "not-in-batch"}}}, nil
		}},
	}
	for _, tc := range failFirst {
		t.Run("whole batch fails on "+tc.name, func(t *testing.T) {
			t.Parallel()
			spec := fastSpec(t)
			rec := &seen{}
			// Only the first invocation fails, so the outcome does not depend on
			// how SQS happens to group the messages into batches: exactly the
			// messages of that batch must come back once more.
			var mu sync.Mutex
			var firstBatch map[string]bool
			fake := &fakeFunctions{sqs: func(_ context.Context, _ string, _ app.Getenv, ev events.SQSEvent) (events.SQSEventResponse, error) {
				rec.add(ev)
				mu.Lock()
				first := firstBatch == nil
				if first {
					firstBatch = map[string]bool{}
					for _, r := range ev.Records {
						firstBatch[r.Body] = true
					}
				}
				mu.Unlock()
				if first {
					return tc.fail(ev)
				}
				return events.SQSEventResponse{}, nil
			}}
			s := startStack(t, cfg, spec, fake)
			q := s.Resources().Queues[destination.HTTP]
			bodies := []string{"m-1", "m-2", "m-3"}
			send(t, cfg, q.URL, bodies...)

			want := func(b string) []string {
				mu.Lock()
				defer mu.Unlock()
				if firstBatch[b] {
					return []string{"1", "2"}
				}
				return []string{"1"}
			}
			waitFor(t, 30*time.Second, "every message delivered", func() bool {
				for _, b := range bodies {
					if len(rec.counts(b)) < len(want(b)) {
						return false
					}
				}
				return true
			})
			waitFor(t, 10*time.Second, "an empty source queue", func() bool { return depth(t, cfg, q.URL) == 0 })
			// Wait out another visibility timeout: a message deleted too early
			// or not at all would show up in the counts.
			time.Sleep(2500 * time.Millisecond)
			for _, b := range bodies {
				eq(t, b+" receive counts", rec.counts(b), want(b))
			}
			eq(t, "DLQ depth", depth(t, cfg, q.DLQURL), 0)
		})
	}

	t.Run("a message that always fails ends in the DLQ after maxReceiveCount", func(t *testing.T) {
		t.Parallel()
		spec := fastSpec(t)
		rec := &seen{}
		fake := &fakeFunctions{sqs: func(_ context.Context, _ string, _ app.Getenv, ev events.SQSEvent) (events.SQSEventResponse, error) {
			rec.add(ev)
			return events.SQSEventResponse{}, errors.New("always")
		}}
		s := startStack(t, cfg, spec, fake)
		q := s.Resources().Queues[destination.HTTP]
		send(t, cfg, q.URL, "poison")

		waitFor(t, 30*time.Second, "the message in the DLQ", func() bool { return depth(t, cfg, q.DLQURL) == 1 })
		eq(t, "receive counts", rec.counts("poison"), []string{"1", "2", "3"})
		eq(t, "source depth", depth(t, cfg, q.URL), 0)
		eq(t, "DLQ", drain(t, cfg, q.DLQURL), []string{"poison"})
	})
}

// TestEventSourceMappingConcurrency: against the stand-ins, with a backlog
// and invocations that hold their batch, a delivery mapping scales to its
// maximum concurrency (or Options.MaxMappingConcurrency) and no further, and
// the manifest and Usage report it.
func TestEventSourceMappingConcurrency(t *testing.T) {
	t.Parallel()
	cfg := standin.AWSConfig(t)
	tests := []struct {
		name  string
		limit int
		want  int
	}{
		{name: "the spec's maximum", want: topology.DefaultDeliverMaxConcurrency},
		{name: "a local cap", limit: 3, want: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const total = 200
			// The production spec: a 30 s function timeout, so a held
			// invocation is not retried while the mapping scales.
			spec := standin.Spec(t)
			var flight inFlight
			reached := make(chan struct{})
			var once sync.Once
			fake := &fakeFunctions{sqs: func(ctx context.Context, _ string, _ app.Getenv, ev events.SQSEvent) (events.SQSEventResponse, error) {
				if flight.begin(len(ev.Records)) == tc.want {
					once.Do(func() { close(reached) })
				}
				defer flight.end()
				select {
				case <-reached:
				case <-ctx.Done():
				}
				return events.SQSEventResponse{}, nil
			}}
			s := startStack(t, cfg, spec, fake, func(o *Options) { o.MaxMappingConcurrency = tc.limit })
			q := s.Resources().Queues[destination.HTTP]
			for i := 0; i < total; i += 10 {
				bodies := make([]string, 10)
				for j := range bodies {
					bodies[j] = fmt.Sprintf("m-%d", i+j)
				}
				send(t, cfg, q.URL, bodies...)
			}
			waitFor(t, 60*time.Second, "every message processed", func() bool {
				_, n := flight.read()
				return n >= total
			})
			waitFor(t, 10*time.Second, "an empty source queue", func() bool { return depth(t, cfg, q.URL) == 0 })

			fn := topology.DeliverFunctionID(destination.HTTP)
			peak, _ := flight.read()
			eq(t, "peak concurrent invocations", peak, tc.want)
			eq(t, "Usage peak", s.Usage()[fn].PeakConcurrency, tc.want)
			m, err := s.Manifest(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, mp := range m.Mappings {
				if mp.Function == fn {
					eq(t, "manifest maximum concurrency", mp.MaximumConcurrency, tc.want)
				}
			}
		})
	}
}

func TestStackServesRoutesWithResolvedEnv(t *testing.T) {
	t.Parallel()
	cfg := standin.AWSConfig(t)
	fake := &fakeFunctions{http: func(_ context.Context, id string, getenv app.Getenv, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		body, _ := json.Marshal(map[string]string{
			"function": id,
			"project":  req.PathParameters["project_id"],
			"table":    getenv(topology.EnvTable),
			"queue":    getenv(topology.QueueURLEnv(destination.HTTP)),
			"dlq":      getenv(topology.DLQURLEnv(destination.HTTP)),
			"private":  getenv(topology.EnvAllowPrivateEndpoints),
		})
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"content-type": "application/json"}, Body: string(body)}, nil
	}}
	s := startStack(t, cfg, standin.Spec(t), fake)
	res := s.Resources()

	tests := []struct {
		method, path string
		want         map[string]string
	}{
		// The API also publishes lifecycle events, so it has the queue too.
		{"GET", "/v1/projects/p1/streams", map[string]string{"function": "api", "project": "p1", "table": res.Table, "queue": res.Queues[destination.HTTP].URL,
			"dlq": res.Queues[destination.HTTP].DLQURL, "private": "true"}},
		// The operators' queue depths: the API reads every DLQ's; ingestion has none.
		{"GET", "/v1/admin/queues", map[string]string{"function": "api", "project": "", "table": res.Table, "queue": res.Queues[destination.HTTP].URL,
			"dlq": res.Queues[destination.HTTP].DLQURL, "private": "true"}},
		{"POST", "/v1/projects/p2/events", map[string]string{"function": "ingest", "project": "p2", "table": res.Table, "queue": res.Queues[destination.HTTP].URL,
			"dlq": "", "private": "true"}},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, s.URL()+tc.path, strings.NewReader(`{}`))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var got map[string]string
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("status %d body %s: %v", resp.StatusCode, b, err)
			}
			eq(t, "response", got, tc.want)
		})
	}
}

func TestStartFailsWhenAFunctionCannotInit(t *testing.T) {
	t.Parallel()
	cfg := standin.AWSConfig(t)
	spec := standin.Spec(t)
	fake := &fakeFunctions{init: func(id string) error {
		if id == topology.FunctionIngest {
			return errors.New("bad config")
		}
		return nil
	}}
	s, err := Start(context.Background(), Options{Spec: spec, AWS: cfg, NewHandler: fake.newHandler, Logger: testLogger(t)})
	res, _ := Provision(context.Background(), cfg, spec)
	t.Cleanup(func() { deleteResources(t, cfg, res) })
	if err == nil {
		s.Close()
		t.Fatal("Start succeeded")
	}
	if !strings.Contains(err.Error(), "init function ingest: bad config") || errors.Is(err, ErrProvision) {
		t.Errorf("err = %v", err)
	}
}

// TestManifestParity is the local twin of the CDK test: what the local stack
// provisions and runs, read back from the stand-ins, reduces to the same
// Manifest as the spec.
func TestManifestParity(t *testing.T) {
	t.Parallel()
	cfg := standin.AWSConfig(t)
	spec := standin.Spec(t)
	s := startStack(t, cfg, spec, &fakeFunctions{})
	got, err := s.Manifest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := spec.Manifest()
	if gb, wb := mustJSON(got), mustJSON(want); gb != wb {
		t.Errorf("local manifest differs from spec.Manifest()\n got: %s\nwant: %s", gb, wb)
	}
}

func mustJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return string(b)
}

// The stack invokes its scheduled functions on their schedule (here the
// dead-letter function, every second) with EventBridge's scheduled event,
// and reports the schedule it runs in its manifest.
func TestStackTicksScheduledFunctions(t *testing.T) {
	t.Parallel()
	cfg := standin.AWSConfig(t)
	spec := standin.Spec(t)
	spec.SetSchedule(topology.FunctionDeadLetters, time.Second)
	var mu sync.Mutex
	var got []events.EventBridgeEvent
	s := startStack(t, cfg, spec, &fakeFunctions{scheduled: func(_ context.Context, id string, ev events.EventBridgeEvent) error {
		mu.Lock()
		defer mu.Unlock()
		if id == topology.FunctionDeadLetters {
			got = append(got, ev)
		}
		return nil
	}})
	waitFor(t, 10*time.Second, "two scheduled invocations", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 2
	})
	mu.Lock()
	ev := got[0]
	mu.Unlock()
	if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || ev.Region != cfg.Region {
		t.Errorf("scheduled event %+v", ev)
	}
	m, err := s.Manifest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := spec.Manifest(); mustJSON(m) != mustJSON(want) {
		t.Errorf("local manifest differs from spec.Manifest()\n got: %s\nwant: %s", mustJSON(m), mustJSON(want))
	}
	for _, f := range m.Functions {
		if f.ID == topology.FunctionDeadLetters && f.ScheduleSeconds != 1 {
			t.Errorf("manifest schedule of %s: %d s, want 1", f.ID, f.ScheduleSeconds)
		}
	}
}

// A stack never lets a function reach AWS's EventBridge (the operator's
// notices, eventbridge streams): with no endpoint of its own set, the SDK's
// variable names the stack's sink on 127.0.0.1, before any function reads
// it. A black-box probe of make dev saw notices go to events.<region>.amazonaws.com.
func TestStackKeepsEventBridgeLocal(t *testing.T) {
	cfg := standin.AWSConfig(t)
	startStack(t, cfg, standin.Spec(t), &fakeFunctions{})
	ep := os.Getenv(EventBusEnv)
	if u, err := url.Parse(ep); err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("%s=%q, want the stack's own sink on 127.0.0.1", EventBusEnv, ep)
	}
}
