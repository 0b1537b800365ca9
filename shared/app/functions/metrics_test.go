package functions

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/app/deliverfn"
	"github.com/logstream/logstream/shared/app/pipeline"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/eventarchive"
	"github.com/logstream/logstream/shared/ingest"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/lokibridge"
	"github.com/logstream/logstream/shared/lokibridge/archive"
	"github.com/logstream/logstream/shared/lokibridge/coalesce"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/metrics/emftest"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
)

// lines is what a function's EMF output must be: per line (its dimension
// combination, emftest.Doc.Key) each metric's values, sorted; a scalar is
// one value. Nothing more, nothing less.
type lines map[string]map[string][]float64

// check decodes out, checks every line against the EMF specification and
// the contract (emftest), and compares the lines with want.
func check(t *testing.T, out []byte, want lines) {
	t.Helper()
	got := emftest.Lines(t, out)
	if !slices.Equal(emftest.Keys(got), emftest.Keys(want)) {
		t.Fatalf("lines %v, want %v\n%s", emftest.Keys(got), emftest.Keys(want), out)
	}
	for key, wm := range want {
		d := got[key]
		if !slices.Equal(emftest.Keys(d.Metrics), emftest.Keys(wm)) {
			t.Errorf("%s: metrics %v, want %v", key, emftest.Keys(d.Metrics), emftest.Keys(wm))
			continue
		}
		for name, wv := range wm {
			gv := slices.Sorted(slices.Values(d.Metrics[name].Values))
			if !slices.EqualFunc(gv, slices.Sorted(slices.Values(wv)), func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }) {
				t.Errorf("%s: %s = %v, want %v", key, name, gv, wv)
			}
		}
	}
}

func one(v int) []float64 { return []float64{float64(v)} }

func repeat(v float64, n int) []float64 { return slices.Repeat([]float64{v}, n) }

// readSample decodes a sample of the events folder into v.
func readSample(t *testing.T, name string, v any) []byte {
	t.Helper()
	b, err := samples.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// latestTime is the latest time in a sample, which the handlers' clocks are
// set after: no test depends on the day it runs.
func latestTime(t *testing.T, b []byte) time.Time {
	t.Helper()
	at, ok := samples.Latest(b)
	if !ok {
		t.Fatal("the sample holds no time")
	}
	return at
}

// The functions' metrics, on the samples a deployment receives (events/):
// every function's handler, with fakes for its AWS services, prints lines
// that are EMF as CloudWatch specifies it, hold only the contract's names,
// and count what the input makes them count. A function topology declares
// and this test has no case for fails it.
func TestMetricsOfEveryFunction(t *testing.T) {
	cases := map[string]func(t *testing.T, out io.Writer) lines{
		topology.FunctionIngest:       ingestMetrics,
		topology.FunctionLokiBridge:   bridgeMetrics,
		topology.FunctionArchiver:     archiverMetrics,
		topology.FunctionLokiArchiver: lokiArchiverMetrics,
		// Their work is jobs and management calls, with no metric of the
		// contract: they print none (TestMetricsWiring runs them).
		topology.FunctionAPI:         nil,
		topology.FunctionDeadLetters: nil,
		topology.FunctionReplay:      nil,
		topology.FunctionConsole:     nil,
	}
	for _, p := range pipeline.All() {
		cases[topology.DeliverFunctionID(p.Type)] = func(t *testing.T, out io.Writer) lines { return deliverMetrics(t, out, p) }
	}
	for _, f := range topology.New("logstream").Functions {
		t.Run(f.ID, func(t *testing.T) {
			run, ok := cases[f.ID]
			if !ok {
				t.Fatalf("no metrics case for %s: add one", f.ID)
			}
			if run == nil {
				t.Skip("no metrics of its own; TestMetricsWiring checks it prints none")
			}
			var out bytes.Buffer
			want := run(t, &out)
			check(t, out.Bytes(), want)
		})
	}
}

// ingestMetrics sends the sample ingest request (events/apigw), fresh and
// as a project key, to two streams.
func ingestMetrics(t *testing.T, out io.Writer) lines {
	var req events.APIGatewayV2HTTPRequest
	readSample(t, "apigw/ingest-events.json", &req)
	now := latestTime(t, []byte(req.Body)).Add(time.Minute)
	var evs []json.RawMessage
	if err := json.Unmarshal([]byte(req.Body), &evs); err != nil {
		t.Fatal(err)
	}
	s := &ingest.Service{
		Auth: authFunc(func(string) (apikey.Key, error) {
			return apikey.Key{Projects: []string{"proj_demo"}, Access: apikey.AccessWrite}, nil
		}),
		Streams: streamsFunc(func(string) ([]stream.Stream, error) {
			return []stream.Stream{{ID: "str_a", DestinationType: "http"}, {ID: "str_b", DestinationType: "datadog"}}, nil
		}),
		Publisher:  publisherFunc(func(string, []envelope.Message) error { return nil }),
		QueueURLs:  map[string]string{"http": "q-http", "datadog": "q-datadog"},
		ArchiveURL: "q-archive",
		Limits:     logevent.DefaultLimits,
		Stamper:    logevent.Stamper{Now: func() time.Time { return now }},
		Log:        quiet(),
		Metrics:    &metrics.Emitter{Out: out, Function: topology.FunctionIngest, Detail: metrics.DetailProject, Now: func() time.Time { return now }},
	}
	resp, err := s.Handle(context.Background(), req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("%d %s, %v", resp.StatusCode, resp.Body, err)
	}
	counts := map[string][]float64{
		topology.MetricIngestRequests: one(1), topology.MetricIngestBytes: one(len(req.Body)),
		topology.MetricEventsAccepted: one(len(evs)), topology.MetricEventsRefused: one(0), topology.MetricIngestServerErrors: one(0),
	}
	return lines{"Function=ingest": counts, "Function=ingest,Project=proj_demo": counts}
}

// deliverMetrics delivers the sample SQS batch (events/sqs) through p's
// limits to a sender that takes everything, a minute after its latest
// event, on a clock that stands still (so every send takes 0 ms).
func deliverMetrics(t *testing.T, out io.Writer, p deliverfn.Pipeline) lines {
	var ev events.SQSEvent
	raw := readSample(t, "sqs/deliver-http-batch.json", &ev)
	// On a millisecond, as SQS's SentTimestamp is.
	now := latestTime(t, raw).Add(time.Minute).Truncate(time.Millisecond)
	var lagTS, lagEnqueue []float64
	for _, r := range ev.Records {
		env, err := envelope.Decode([]byte(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		sent, _ := strconv.ParseInt(r.Attributes["SentTimestamp"], 10, 64)
		for _, e := range env.Events {
			var f struct{ Timestamp time.Time }
			if err := json.Unmarshal(e, &f); err != nil || f.Timestamp.IsZero() {
				t.Fatalf("sample event without a timestamp: %s", e)
			}
			lagTS = append(lagTS, float64(now.UnixMilli()-f.Timestamp.UnixMilli()))
			lagEnqueue = append(lagEnqueue, float64(now.UnixMilli()-sent))
		}
	}
	var mu sync.Mutex
	var batches []float64
	c := &deliver.Core{
		Streams: getFunc(func(projectID, streamID string) (stream.Stream, error) {
			return stream.Stream{ID: streamID, ProjectID: projectID, DestinationType: p.Type, Status: stream.StatusActive}, nil
		}),
		Sender: sendFunc(func(_ context.Context, _ stream.Stream, b deliver.Batch) error {
			mu.Lock()
			defer mu.Unlock()
			batches = append(batches, float64(len(b.Events)))
			return nil
		}),
		Limits:          p.Limits,
		Now:             func() time.Time { return now },
		Log:             quiet(),
		Metrics:         &metrics.Emitter{Out: out, Function: topology.DeliverFunctionID(p.Type), Now: func() time.Time { return now }},
		DestinationType: p.Type,
	}
	resp, err := c.Handle(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("failures %v, err %v", resp.BatchItemFailures, err)
	}
	if len(batches) == 0 {
		t.Fatal("nothing sent")
	}
	return lines{"Function=" + topology.DeliverFunctionID(p.Type) + ",DestinationType=" + p.Type: {
		topology.MetricEventsDelivered: one(len(lagTS)), topology.MetricEventsRetried: one(0),
		topology.MetricEventsParked: one(0), topology.MetricEventsFiltered: one(0),
		topology.MetricDestinationLatency: repeat(0, len(batches)), topology.MetricBatchSize: batches,
		topology.MetricLagFromTimestamp: lagTS, topology.MetricLagFromEnqueue: lagEnqueue,
	}}
}

// bridgeMetrics sends the sample Loki push (events/apigw) with the
// credentials it names, to a bridge whose queue takes it.
func bridgeMetrics(t *testing.T, out io.Writer) lines {
	var req events.APIGatewayV2HTTPRequest
	readSample(t, "apigw/loki-push.json", &req)
	pr, err := lokipush.Parse(strings.NewReader(req.Body), "application/json", "", lokipush.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	entries, newest := 0, time.Time{}
	for _, s := range pr.Streams {
		for _, e := range s.Entries {
			entries++
			if e.Time.After(newest) {
				newest = e.Time
			}
		}
	}
	creds, err := lokibridge.ParseCredentials([]byte(`{"username":"logstream","password":"<the bridge password>"}`))
	if err != nil {
		t.Fatal(err)
	}
	now := newest.Add(time.Minute)
	h, err := lokibridge.New(lokibridge.Config{Store: putFunc(nil), Queue: enqueueFunc(func(string) error { return nil }), Credentials: creds,
		Limits: lokipush.DefaultLimits(), Log: quiet(), Now: func() time.Time { return now },
		Metrics: &metrics.Emitter{Out: out, Function: topology.FunctionLokiBridge, Now: func() time.Time { return now }}})
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := h.Handle(context.Background(), req); resp.StatusCode != 204 {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	return lines{"Function=lokibridge": {topology.MetricBridgePushes: one(1), topology.MetricBridgeEntries: one(entries),
		topology.MetricBridgeBytes: one(len(req.Body)), topology.MetricBridgeRefusals: one(0)}}
}

// archiverMetrics archives the sample ingest request's events as ingestion
// queues them (gzip envelopes), for two projects, one of whose objects the
// bucket refuses.
func archiverMetrics(t *testing.T, out io.Writer) lines {
	var req events.APIGatewayV2HTTPRequest
	readSample(t, "apigw/ingest-events.json", &req)
	var evs []json.RawMessage
	if err := json.Unmarshal([]byte(req.Body), &evs); err != nil {
		t.Fatal(err)
	}
	now := latestTime(t, []byte(req.Body)).Add(time.Minute)
	stamped, err := logevent.Parse([]byte(req.Body), logevent.FormatSniff, logevent.DefaultLimits, logevent.Stamper{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	raws := make([]json.RawMessage, len(stamped))
	for i, e := range stamped {
		raws[i] = e.Raw
	}
	var ev events.SQSEvent
	hours := map[string]bool{}
	for _, project := range []string{"proj_demo", "proj_refused"} {
		msgs, err := envelope.Pack(project, envelope.ArchiveStreamID, raws, envelope.MaxMessageBytes)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range msgs {
			if m, err = envelope.Compress(m); err != nil {
				t.Fatal(err)
			}
			r := events.SQSMessage{MessageId: fmt.Sprintf("%s-%d", project, i), Body: string(m.Body),
				Attributes: map[string]string{"SentTimestamp": strconv.FormatInt(now.UnixMilli(), 10)}}
			r.MessageAttributes = map[string]events.SQSMessageAttribute{}
			for k, v := range m.Attributes {
				r.MessageAttributes[k] = events.SQSMessageAttribute{StringValue: &v, DataType: "String"}
			}
			ev.Records = append(ev.Records, r)
		}
		for _, e := range stamped {
			var f struct{ Timestamp time.Time }
			_ = json.Unmarshal(e.Raw, &f)
			hours[project+f.Timestamp.UTC().Truncate(time.Hour).String()] = true
		}
	}
	refused := 0
	for h := range hours {
		if strings.HasPrefix(h, "proj_refused") {
			refused++
		}
	}
	w := &eventarchive.Writer{
		Store: putFunc(func(key string) error {
			if strings.Contains(key, "project=proj_refused/") {
				return fmt.Errorf("S3 answered 503 SlowDown")
			}
			return nil
		}),
		Now: func() time.Time { return now }, Log: quiet(),
		Metrics: &metrics.Emitter{Out: out, Function: topology.FunctionArchiver, Now: func() time.Time { return now }},
	}
	if _, err := w.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	return lines{"Function=archiver": {topology.MetricArchiveObjectsWritten: one(len(hours) - refused),
		topology.MetricArchiveWriteFailures: one(refused)}}
}

// lokiArchiverMetrics writes the sample Loki push as the bridge queues it,
// for two tenants, one of whose objects the bucket refuses.
func lokiArchiverMetrics(t *testing.T, out io.Writer) lines {
	var req events.APIGatewayV2HTTPRequest
	readSample(t, "apigw/loki-push.json", &req)
	var ev events.SQSEvent
	for _, tenant := range []string{"acme", "refused"} {
		pr, err := lokipush.Parse(strings.NewReader(req.Body), "application/json", "", lokipush.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		obj, err := archive.Records(tenant, pr)
		if err != nil {
			t.Fatal(err)
		}
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: tenant, Body: archive.EncodeMessage(obj)})
	}
	w := &coalesce.Writer{
		Store: putFunc(func(key string) error {
			if strings.HasPrefix(key, "tenant=refused/") {
				return fmt.Errorf("S3 answered 500 InternalError")
			}
			return nil
		}),
		Log:     quiet(),
		Metrics: &metrics.Emitter{Out: out, Function: topology.FunctionLokiArchiver},
	}
	if _, err := w.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	return lines{"Function=lokiarchiver": {topology.MetricArchiveObjectsWritten: one(1), topology.MetricArchiveWriteFailures: one(1)}}
}

// The fakes.

type streamsFunc func(projectID string) ([]stream.Stream, error)

func (f streamsFunc) Active(_ context.Context, projectID string) ([]stream.Stream, error) {
	return f(projectID)
}

type getFunc func(projectID, streamID string) (stream.Stream, error)

func (f getFunc) Get(_ context.Context, projectID, streamID string) (stream.Stream, error) {
	return f(projectID, streamID)
}

type publisherFunc func(url string, msgs []envelope.Message) error

func (f publisherFunc) Publish(_ context.Context, url string, msgs []envelope.Message) error {
	return f(url, msgs)
}

type authFunc func(header string) (apikey.Key, error)

func (f authFunc) Authenticate(_ context.Context, h string) (apikey.Key, error) { return f(h) }

type sendFunc func(ctx context.Context, s stream.Stream, b deliver.Batch) error

func (f sendFunc) Send(ctx context.Context, s stream.Stream, b deliver.Batch) error {
	return f(ctx, s, b)
}

// putFunc is a bucket that answers every Put with f (nil: stored).
type putFunc func(key string) error

func (f putFunc) Put(_ context.Context, key string, _ []byte) error {
	if f == nil {
		return nil
	}
	return f(key)
}

func (f putFunc) Check(context.Context) error { return nil }

type enqueueFunc func(body string) error

func (f enqueueFunc) Enqueue(_ context.Context, body string) error { return f(body) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// closedEndpoint is a local address nothing listens on: every AWS call
// of a function pointed at it fails at once, and none leaves the machine.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// captureStdout points os.Stdout, where a function's logs and metrics go,
// at a pipe until the returned function gives back what was written.
func captureStdout(t *testing.T) func() []byte {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&buf, r); close(done) }()
	return func() []byte {
		os.Stdout = stdout
		w.Close()
		<-done
		r.Close()
		return buf.Bytes()
	}
}

// The wiring: each function built as the local runner and Lambda build it
// (New, with topology's environment) writes its metrics to stdout with its
// own topology ID as Function, and the functions without metrics of the
// contract write none. Every AWS service is a closed local port, so each
// handler meets the failure its AWS calls end in, which the metrics count
// too.
func TestMetricsWiring(t *testing.T) {
	endpoint := closedEndpoint(t)
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	for _, svc := range []string{"DYNAMODB", "SQS", "S3", "KMS", "SECRETS_MANAGER", "EVENTBRIDGE", "LAMBDA"} {
		t.Setenv("AWS_ENDPOINT_URL_"+svc, endpoint)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_PROFILE", "")

	const password = "bridge-password-0123456789"
	now := time.Now()
	fresh := func(name string) events.APIGatewayV2HTTPRequest {
		var req events.APIGatewayV2HTTPRequest
		readSample(t, name, &req)
		req.Body = string(samples.Fresh([]byte(req.Body), now))
		req.Headers["authorization"] = "Bearer " + adminKey
		return req
	}
	ingestReq := fresh("apigw/ingest-events.json")
	pushBody := fmt.Sprintf(`{"streams":[{"stream":{"job":"authlogs"},"values":[["%d","login ok"],["%d","login failed"]]}]}`,
		now.Add(-time.Minute).UnixNano(), now.UnixNano())
	pushReq := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "$default", RawPath: lokibridge.PathPush, Body: pushBody,
		Headers: map[string]string{"content-type": "application/json",
			"authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("logstream:"+password))}}
	pushReq.RequestContext.HTTP.Method, pushReq.RequestContext.HTTP.Path = "POST", lokibridge.PathPush
	var sqsBatch events.SQSEvent
	readSample(t, "sqs/deliver-http-batch.json", &sqsBatch)
	archiveMsg := func() events.SQSEvent {
		msgs, err := envelope.Pack("proj_demo", envelope.ArchiveStreamID,
			[]json.RawMessage{json.RawMessage(`{"event_id":"e1","timestamp":"2026-07-01T12:00:00Z"}`)}, envelope.MaxMessageBytes)
		if err != nil {
			t.Fatal(err)
		}
		return events.SQSEvent{Records: []events.SQSMessage{{MessageId: "a1", Body: string(msgs[0].Body)}}}
	}()
	lokiMsg := func() events.SQSEvent {
		pr, err := lokipush.Parse(strings.NewReader(pushBody), "application/json", "", lokipush.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		obj, err := archive.Records("acme", pr)
		if err != nil {
			t.Fatal(err)
		}
		return events.SQSEvent{Records: []events.SQSMessage{{MessageId: "l1", Body: archive.EncodeMessage(obj)}}}
	}()
	consoleReq := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: topology.RouteConsoleFiles, RawPath: "/console/app.js",
		PathParameters: map[string]string{"proxy": "app.js"}}
	consoleReq.RequestContext.HTTP.Method, consoleReq.RequestContext.HTTP.Path = "GET", "/console/app.js"
	tick := json.RawMessage(`{"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`)

	type tc struct {
		input any
		want  lines
	}
	cases := map[string]tc{
		topology.FunctionAPI: {input: fresh("apigw/list-streams.json")},
		// The admin key passes; the table does not answer: a 500.
		topology.FunctionIngest: {input: ingestReq, want: lines{"Function=ingest": {topology.MetricIngestRequests: one(1),
			topology.MetricIngestBytes: one(len(ingestReq.Body)), topology.MetricEventsAccepted: one(0),
			topology.MetricEventsRefused: one(0), topology.MetricIngestServerErrors: one(1)}}},
		// The queue does not answer: a 503.
		topology.FunctionLokiBridge: {input: pushReq, want: lines{
			"Function=lokibridge": {topology.MetricBridgePushes: one(0), topology.MetricBridgeEntries: one(0),
				topology.MetricBridgeBytes: one(len(pushBody)), topology.MetricBridgeRefusals: one(1)},
			"Function=lokibridge,Status=5xx": {topology.MetricBridgeRefusals: one(1)}}},
		topology.FunctionArchiver: {input: archiveMsg, want: lines{"Function=archiver": {
			topology.MetricArchiveObjectsWritten: one(0), topology.MetricArchiveWriteFailures: one(1)}}},
		topology.FunctionLokiArchiver: {input: lokiMsg, want: lines{"Function=lokiarchiver": {
			topology.MetricArchiveObjectsWritten: one(0), topology.MetricArchiveWriteFailures: one(1)}}},
		topology.FunctionDeadLetters: {input: tick},
		topology.FunctionReplay:      {input: tick},
		topology.FunctionConsole:     {input: consoleReq},
	}
	events9 := 0
	for _, r := range sqsBatch.Records {
		env, err := envelope.Decode([]byte(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		events9 += len(env.Events)
	}
	for _, p := range pipeline.All() {
		// The table does not answer: every event is retried.
		cases[topology.DeliverFunctionID(p.Type)] = tc{input: sqsBatch, want: lines{
			"Function=" + topology.DeliverFunctionID(p.Type) + ",DestinationType=" + p.Type: {
				topology.MetricEventsDelivered: one(0), topology.MetricEventsRetried: one(events9),
				topology.MetricEventsParked: one(0), topology.MetricEventsFiltered: one(0)}}}
	}

	spec := topology.New("logstream")
	for _, f := range spec.Functions {
		t.Run(f.ID, func(t *testing.T) {
			c, ok := cases[f.ID]
			if !ok {
				t.Fatalf("no wiring case for %s: add one", f.ID)
			}
			env := map[string]string{}
			for _, e := range f.Env {
				env[e.Name] = e.Value
				switch e.Ref {
				case topology.RefTableName:
					env[e.Name] = "streams"
				case topology.RefQueueURL, topology.RefDLQURL:
					env[e.Name] = endpoint + "/000000000000/" + e.Queue
				case topology.RefArchiveBucket, topology.RefEventArchiveBucket:
					env[e.Name] = "bucket"
				case topology.RefFunctionName:
					env[e.Name] = "logstream-" + e.Function
				}
			}
			env[topology.EnvAdminKey] = adminKey
			env[topology.EnvLocalSecretKey] = localKey
			env[topology.EnvLocalPIIKey] = localKey
			env[topology.EnvBridgeCredentials] = `{"username":"logstream","password":"` + password + `"}`
			env[topology.EnvS3PathStyle] = "true"
			env["AWS_ENDPOINT_URL_LAMBDA"] = endpoint

			stdout := captureStdout(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			h, err := New(ctx, f.ID, func(k string) string { return env[k] })
			if err != nil {
				stdout()
				t.Fatal(err)
			}
			payload, err := json.Marshal(c.input)
			if err != nil {
				stdout()
				t.Fatal(err)
			}
			_, _ = lambda.NewHandler(h).Invoke(ctx, payload) // the failure is the point; its metrics are checked
			check(t, stdout(), c.want)
		})
	}
}
