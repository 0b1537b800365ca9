package bootstrap

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/dlstore"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/eventarchive"
	"github.com/logstream/logstream/shared/replay"
	"github.com/logstream/logstream/shared/replaystore"
	"github.com/logstream/logstream/shared/secret"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/testevent"
	"github.com/logstream/logstream/shared/topology"
)

const (
	project        = "proj_rie"
	adminKey       = "rie-admin-key-0123456789abcdef0123456789"
	bridgeUser     = "logstream"
	bridgePassword = "rie-bridge-password-0123456789"
)

// stack is one test's provisioned resources and every function's environment,
// resolved from topology's declaration as the CDK stack resolves it.
type stack struct {
	spec topology.Spec
	res  runner.Resources
	env  map[string]map[string]string // by function ID
	bins map[string]string            // by function ID
	cfg  aws.Config
	sqs  *sqs.Client
}

func newStack(t *testing.T, ctx context.Context) *stack {
	t.Helper()
	cfg := standin.AWSConfig(t)
	rieBin(t) // fail or skip before the minute of building
	spec := standin.Spec(t)
	res, err := runner.Provision(ctx, cfg, spec)
	if err != nil {
		t.Fatal(err)
	}
	key := secret.GenerateLocalKey()
	creds, _ := json.Marshal(map[string]any{"credentials": []map[string]string{{"username": bridgeUser, "password": bridgePassword}}})
	// The local-development values, in the variables the functions read in
	// AWS too (as localstack/cmd/localrun sets them).
	overrides := map[string]string{
		topology.EnvAllowPrivateEndpoints: "true", // the receiver is on 127.0.0.1
		topology.EnvAdminKey:              adminKey,
		topology.EnvLocalSecretKey:        key,
		topology.EnvS3PathStyle:           "true", // the S3 stand-in has no bucket host names
		topology.EnvBridgeCredentials:     string(creds),
		// The archive is written in this test before the replay reads it:
		// nothing more is on its way.
		topology.EnvArchiveSettle: "1s",
	}
	s := &stack{spec: spec, res: res, env: map[string]map[string]string{}, cfg: cfg, sqs: sqs.NewFromConfig(cfg)}
	for _, f := range spec.Functions {
		s.env[f.ID] = runner.FunctionEnv(spec, f, res, overrides)
	}
	s.bins = buildFunctions(t, spec)
	return s
}

func (s *stack) start(t *testing.T, id string) *emulator {
	t.Helper()
	return startEmulator(t, id, s.bins[id], s.env[id])
}

// apiRequest is a sample API Gateway request from events/apigw, addressed to
// this test's project, authorised with auth and carrying body.
func apiRequest(t *testing.T, sample, path, auth, body string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := samples.FS.ReadFile("apigw/" + sample)
	if err != nil {
		t.Fatal(err)
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatalf("%s: %v", sample, err)
	}
	if path != "" {
		req.RawPath, req.RequestContext.HTTP.Path = path, path
	}
	if req.PathParameters["project_id"] != "" {
		req.PathParameters["project_id"] = project
	}
	req.Headers["authorization"] = auth
	delete(req.Headers, "content-length")
	req.Body, req.IsBase64Encoded = body, false
	req.RequestContext.TimeEpoch = time.Now().UnixMilli()
	return req
}

// archiveLister lists the event archive's bucket through the test's own
// S3 client (eventarchive.Lister).
type archiveLister struct {
	c      *s3.Client
	bucket string
}

func (l archiveLister) List(ctx context.Context, prefix, after string) ([]eventarchive.Object, bool, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(l.bucket), Prefix: aws.String(prefix)}
	if after != "" {
		in.StartAfter = aws.String(after)
	}
	out, err := l.c.ListObjectsV2(ctx, in)
	if err != nil {
		return nil, false, err
	}
	var objs []eventarchive.Object
	for _, o := range out.Contents {
		objs = append(objs, eventarchive.Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size)})
	}
	return objs, aws.ToBool(out.IsTruncated), nil
}

// delivered counts the lines the receiver got that contain substr. The
// sample's auth events all have an "action"; logstream's own lifecycle
// events do not.
func delivered(got *syncBuffer, substr string) int {
	n := 0
	for _, l := range strings.Split(got.String(), "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// receive takes every message the queue holds, at least want, as an SQS
// event source mapping would hand them to the function: it polls until a poll
// after the first want messages comes back empty.
func (s *stack) receive(t *testing.T, ctx context.Context, queueURL, queueARN string, want int) events.SQSEvent {
	t.Helper()
	var ev events.SQSEvent
	// Generous: beside the end-to-end tests' stacks (make test runs
	// packages in parallel), the SQS stand-in can take a while to answer.
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		out, err := s.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, VisibilityTimeout: 60, MessageAttributeNames: []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 && len(ev.Records) >= want {
			break
		}
		for _, m := range out.Messages {
			attrs := map[string]events.SQSMessageAttribute{}
			for k, v := range m.MessageAttributes {
				attrs[k] = events.SQSMessageAttribute{DataType: aws.ToString(v.DataType), StringValue: v.StringValue}
			}
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), Attributes: m.Attributes, MessageAttributes: attrs,
				EventSource: "aws:sqs", EventSourceARN: queueARN, AWSRegion: s.cfg.Region})
		}
	}
	if len(ev.Records) < want {
		t.Fatalf("queue %s holds %d messages, want at least %d", queueURL, len(ev.Records), want)
	}
	return ev
}

// TestBootstraps runs each function's real bootstrap under the emulator and
// follows events through them: the API creates streams, ingestion enqueues a
// sample batch, the http and s3 delivery functions deliver what ingestion
// enqueued, every other delivery function parks what it cannot decode, the
// Loki bridge queues a push and the Loki archiver writes it to the bucket.
// Each function's cold start is measured.
func TestBootstraps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	s := newStack(t, ctx)
	// The receiver make dev runs: one line per delivered event.
	got := &syncBuffer{}
	recv := httptest.NewServer(runner.NewReceiver(got, nil))
	t.Cleanup(recv.Close)
	s3c := s3.NewFromConfig(s.cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	_, bucket := standin.S3(t, ctx, s.cfg, "rie-archive")
	var cold []coldStart
	measured := func(e *emulator) {
		cold = append(cold, coldStart{id: e.id, init: e.initDuration(t), firstAnswer: e.firstAnswer})
	}
	t.Cleanup(func() {
		for _, c := range cold {
			fmt.Fprintln(os.Stderr, "bootstrap: cold start", c)
		}
	})

	// api: two streams, checked in DynamoDB, not through the API's own answer.
	// Its test route invokes a delivery function through Lambda's Invoke API:
	// here the proxy, which hands the call to that function's emulator.
	proxy := newLambdaProxy(t)
	s.env[topology.FunctionAPI]["AWS_ENDPOINT_URL_LAMBDA"] = proxy.srv.URL
	api := s.start(t, topology.FunctionAPI)
	createStream := func(typ string, config map[string]any) string {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"name": "rie " + typ, "destination_type": typ, "destination_config": config})
		var resp events.APIGatewayV2HTTPResponse
		api.invoke(t, ctx, apiRequest(t, "create-stream.json", "/v1/projects/"+project+"/streams", "Bearer "+adminKey, string(body)), &resp)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("api: create %s stream: %d %s", typ, resp.StatusCode, resp.Body)
		}
		var created struct{ ID string }
		if err := json.Unmarshal([]byte(resp.Body), &created); err != nil || created.ID == "" {
			t.Fatalf("api: create %s stream answered %s", typ, resp.Body)
		}
		st, err := (&store.Streams{Client: dynamodb.NewFromConfig(s.cfg), Table: s.res.Table}).Get(ctx, project, created.ID)
		if err != nil || string(st.DestinationType) != typ {
			t.Fatalf("api: stream %s in table %s: %+v, %v", created.ID, s.res.Table, st, err)
		}
		return created.ID
	}
	httpID := createStream(destination.HTTP, map[string]any{"endpoint": recv.URL + "/hook"})
	s3ID := createStream(destination.S3, map[string]any{"bucket": bucket, "region": s.cfg.Region, "prefix": "rie/"})
	measured(api)

	// ingest: the sample batch, accepted for both streams and enqueued.
	ingest := s.start(t, topology.FunctionIngest)
	raw, _ := samples.FS.ReadFile("auth/stytch.json")
	var batch []json.RawMessage
	if err := json.Unmarshal(raw, &batch); err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	ingest.invoke(t, ctx, apiRequest(t, "ingest-events.json", "/v1/projects/"+project+"/events", "Bearer "+adminKey,
		string(samples.Fresh(raw, time.Now()))), &resp)
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(resp.Body, `"streams":2`) {
		t.Fatalf("ingest: %d %s", resp.StatusCode, resp.Body)
	}
	measured(ingest)

	// deliver-http and deliver-s3: what ingestion enqueued (and the streams'
	// lifecycle events), delivered for real.
	for _, c := range []struct {
		dest     string
		streamID string
		check    func(t *testing.T)
	}{
		{destination.HTTP, httpID, func(t *testing.T) {
			if n := delivered(got, `"action":`); n != len(batch) {
				t.Errorf("deliver-http: the receiver got %d of the %d sample events:\n%s", n, len(batch), got.String())
			}
		}},
		{destination.S3, s3ID, func(t *testing.T) {
			out, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("rie/")})
			if err != nil || len(out.Contents) == 0 {
				t.Errorf("deliver-s3: no object under rie/ in %s: %v", bucket, err)
			}
		}},
	} {
		id := topology.DeliverFunctionID(c.dest)
		q := s.res.Queues[c.dest]
		ev := s.receive(t, ctx, q.URL, q.ARN, 1)
		enqueued := 0
		for _, r := range ev.Records {
			env, err := envelope.Open(r.Body, aws.ToString(r.MessageAttributes[envelope.AttrEncoding].StringValue))
			if err != nil || env.ProjectID != project || env.StreamID != c.streamID {
				t.Fatalf("%s: queue message %s is not an envelope for stream %s: %v", id, r.Body, c.streamID, err)
			}
			for _, e := range env.Events {
				if strings.Contains(string(e), `"action":`) {
					enqueued++
				}
			}
		}
		if enqueued != len(batch) {
			t.Fatalf("%s: the queue holds %d of ingestion's %d events", id, enqueued, len(batch))
		}
		e := s.start(t, id)
		var out events.SQSEventResponse
		e.invoke(t, ctx, ev, &out)
		if len(out.BatchItemFailures) != 0 {
			t.Fatalf("%s: batchItemFailures %v, want none", id, out.BatchItemFailures)
		}
		c.check(t)
		measured(e)
		if c.dest == destination.HTTP {
			testRoute(t, ctx, api, e, proxy, c.streamID, got)
		}
	}

	// The other delivery functions, in parallel on their own ports: a message
	// that is not an envelope is parked in the function's own DLQ, with the
	// reason, and is not reported as failed.
	var mu sync.Mutex
	t.Run("park", func(t *testing.T) {
		for _, dest := range destination.Types() {
			if dest == destination.HTTP || dest == destination.S3 {
				continue
			}
			id := topology.DeliverFunctionID(dest)
			t.Run(id, func(t *testing.T) {
				t.Parallel()
				q := s.res.Queues[dest]
				e := s.start(t, id)
				var out events.SQSEventResponse
				msgID := "rie-" + id
				e.invoke(t, ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: msgID, ReceiptHandle: "rh-" + id,
					Body: "not an envelope", Attributes: map[string]string{"ApproximateReceiveCount": "1"},
					EventSource: "aws:sqs", EventSourceARN: q.ARN, AWSRegion: s.cfg.Region}}}, &out)
				if len(out.BatchItemFailures) != 0 {
					t.Fatalf("batchItemFailures %v, want none: the message is parked", out.BatchItemFailures)
				}
				parked := s.receive(t, ctx, q.DLQURL, q.DLQARN, 1).Records
				reason := aws.ToString(parked[0].MessageAttributes[envelope.AttrParkedReason].StringValue)
				if len(parked) != 1 || parked[0].Body != "not an envelope" || !strings.Contains(reason, "undecodable") {
					t.Fatalf("DLQ holds %d messages; the first %q, reason %q", len(parked), parked[0].Body, reason)
				}
				mu.Lock()
				defer mu.Unlock()
				cold = append(cold, coldStart{id: id, init: e.initDuration(t), firstAnswer: e.firstAnswer})
			})
		}
	})

	// deadletters: the schedule's event drains a DLQ into the dead-letter
	// store: a message SQS redrive moved to the http DLQ becomes the http
	// stream's letter, and leaves the DLQ.
	httpQ := s.res.Queues[destination.HTTP]
	env, _ := json.Marshal(envelope.Envelope{V: envelope.Version, ProjectID: project, StreamID: httpID, Events: []json.RawMessage{json.RawMessage(`{"event_id":"rie_dead"}`)}})
	if _, err := s.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(httpQ.DLQURL), MessageBody: aws.String(string(env))}); err != nil {
		t.Fatal(err)
	}
	dl := s.start(t, topology.FunctionDeadLetters)
	var none any
	dl.invoke(t, ctx, events.EventBridgeEvent{Version: "0", ID: "rie-tick", DetailType: "Scheduled Event", Source: "aws.events",
		Time: time.Now().UTC(), Region: s.cfg.Region, Detail: json.RawMessage(`{}`)}, &none)
	letters, _, err := (&dlstore.DeadLetters{Client: dynamodb.NewFromConfig(s.cfg), Table: s.res.Table, TTLAttribute: topology.TableTTLAttribute}).
		List(ctx, project, httpID, "", 10)
	if err != nil || len(letters) != 1 || letters[0].Events != 1 {
		t.Fatalf("deadletters: the http stream's letters after a tick: %+v, %v", letters, err)
	}
	measured(dl)

	// archiver: the archive queue's messages (ingestion's copy of the
	// sample batch, compressed), as the event source mapping hands them
	// over, become objects of the event archive.
	aq := s.res.Queues[topology.ArchiveQueue]
	archived := s.receive(t, ctx, aq.URL, aq.ARN, 1)
	arch := s.start(t, topology.FunctionArchiver)
	var archResp events.SQSEventResponse
	arch.invoke(t, ctx, archived, &archResp)
	if len(archResp.BatchItemFailures) != 0 {
		t.Fatalf("archiver: failed %+v", archResp.BatchItemFailures)
	}
	var firstHour, lastHour time.Time
	archiveEvents := 0
	err = eventarchive.Partition(ctx, archiveLister{s3c, s.res.EventArchiveBucket}, eventarchive.ProjectPrefix(project), "", func(o eventarchive.Object) (bool, error) {
		if firstHour.IsZero() || o.Hour.Before(firstHour) {
			firstHour = o.Hour
		}
		if o.Hour.After(lastHour) {
			lastHour = o.Hour
		}
		archiveEvents += o.Events
		return true, nil
	})
	if err != nil || archiveEvents == 0 {
		t.Fatalf("archiver: %d events in the event archive, %v", archiveEvents, err)
	}
	measured(arch)

	// replay: a job over the archived hours enqueues every archived event
	// to the http stream's delivery queue.
	jobs := replaystore.New(dynamodb.NewFromConfig(s.cfg), s.res.Table)
	now := time.Now().UTC()
	until := lastHour.Add(time.Hour)
	if until.After(now) {
		until = now // the sample's events are stamped now
	}
	job, err := jobs.Create(ctx, replay.Job{ID: "rpl_rie", ProjectID: project, StreamID: httpID, Origin: replay.OriginRequest,
		Since: firstHour, Until: until, Rate: replay.MaxRate, State: replay.StateQueued, NotBefore: now, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	rp := s.start(t, topology.FunctionReplay)
	rp.invoke(t, ctx, replay.Invocation{Job: &replay.JobRef{ProjectID: project, ID: job.ID}}, &none)
	if job, err = jobs.Get(ctx, project, job.ID); err != nil || job.State != replay.StateSucceeded || job.Progress.Sent != archiveEvents {
		t.Fatalf("replay: %+v, %v; want %d sent", job, err, archiveEvents)
	}
	replayed := 0
	for _, r := range s.receive(t, ctx, httpQ.URL, httpQ.ARN, 1).Records {
		if env, err := envelope.Open(r.Body, aws.ToString(r.MessageAttributes[envelope.AttrEncoding].StringValue)); err == nil && env.StreamID == httpID {
			replayed += len(env.Events)
		}
	}
	if replayed != archiveEvents {
		t.Fatalf("replay: %d events on the http queue, want %d", replayed, archiveEvents)
	}
	measured(rp)

	// lokibridge: a push with the configured credentials is acknowledged
	// only once it is kept: the sample is small, so in the bridge queue;
	// lokiarchiver then writes it to the bucket, as the event source
	// mapping hands it over.
	bridge := s.start(t, topology.FunctionLokiBridge)
	pushSample, _ := samples.FS.ReadFile("apigw/loki-push.json")
	var push events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(pushSample, &push); err != nil {
		t.Fatal(err)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(bridgeUser+":"+bridgePassword))
	bridge.invoke(t, ctx, apiRequest(t, "loki-push.json", "", basic, push.Body), &resp)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("lokibridge: push answered %d %s", resp.StatusCode, resp.Body)
	}
	measured(bridge)
	bq := s.res.Queues[topology.BridgeQueue]
	queued := s.receive(t, ctx, bq.URL, bq.ARN, 1)
	lokiArch := s.start(t, topology.FunctionLokiArchiver)
	var lokiResp events.SQSEventResponse
	lokiArch.invoke(t, ctx, queued, &lokiResp)
	if len(lokiResp.BatchItemFailures) != 0 {
		t.Fatalf("lokiarchiver: failed %+v", lokiResp.BatchItemFailures)
	}
	objs, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.res.ArchiveBucket)})
	if err != nil || len(objs.Contents) != 1 {
		t.Fatalf("lokiarchiver: archive bucket %s: %v objects, %v", s.res.ArchiveBucket, len(objs.Contents), err)
	}
	measured(lokiArch)
}

// testRoute sends test events to the stream the delivery bootstrap deliver
// serves, both ways in: a test invocation of that bootstrap, as the API makes
// it, and the API bootstrap's test route, which makes it through Lambda's
// Invoke API (the proxy). Each reaches the receiver once, and its answer is
// the receiver's verdict.
func testRoute(t *testing.T, ctx context.Context, api, deliver *emulator, proxy *lambdaProxy, streamID string, got *syncBuffer) {
	t.Helper()
	var res testevent.Result
	deliver.invoke(t, ctx, testevent.Payload{Test: &testevent.Request{ProjectID: project, StreamID: streamID,
		Event: json.RawMessage(`{"event_id":"test_rie_direct","type":"logstream.test"}`)}}, &res)
	if !res.OK || res.StatusCode != http.StatusNoContent || delivered(got, `"test_rie_direct"`) != 1 {
		t.Fatalf("%s: test invocation answered %+v; the receiver got:\n%s", deliver.id, res, got.String())
	}

	proxy.forward(deliver.url)
	req := apiRequest(t, "test-stream.json", "/v1/projects/"+project+"/streams/"+streamID+"/test", "Bearer "+adminKey, "")
	req.PathParameters["stream_id"] = streamID
	var resp events.APIGatewayV2HTTPResponse
	api.invoke(t, ctx, req, &resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"ok":true`) || delivered(got, `"type":"logstream.test"`) != 2 {
		t.Fatalf("api: test route answered %d %s; the receiver got:\n%s", resp.StatusCode, resp.Body, got.String())
	}
}

// lambdaProxy stands in for Lambda's endpoint in front of one emulator, which
// answers only its own path (/2015-03-31/functions/function/invocations): it
// forwards an Invoke of any function there, or answers 404 as Lambda does for
// an unknown function while it has nowhere to forward.
type lambdaProxy struct {
	srv *httptest.Server
	mu  sync.Mutex
	to  string
}

func newLambdaProxy(t *testing.T) *lambdaProxy {
	p := &lambdaProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		to := p.to
		p.mu.Unlock()
		if to == "" || r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/invocations") {
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			http.Error(w, `{"message":"Function not found"}`, http.StatusNotFound)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, to, r.Body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// forward sends every invocation to url from now on.
func (p *lambdaProxy) forward(url string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.to = url
}
