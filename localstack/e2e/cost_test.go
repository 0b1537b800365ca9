package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/topology"
)

// meter is a reverse proxy in front of one stand-in that counts the calls
// made to it, by operation, as the service bills them: SQS per 64 KiB
// chunk of each request's payload (the larger of what was sent and what
// came back), and a ReceiveMessage that returned messages apart from an
// empty poll.
type meter struct {
	service string
	mu      sync.Mutex
	calls   map[string]int
	chunks  int // SQS billed requests
	// writesByKey counts DynamoDB writes by partition key.
	writesByKey map[string]int
	srv         *httptest.Server
}

func newMeter(t *testing.T, service, target string) *meter {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	m := &meter{service: service, calls: map[string]int{}, writesByKey: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(u)
	if service == "dynamodb" {
		// Which partition key each write lands on: the hot-key check.
		direct := proxy.Director
		proxy.Director = func(r *http.Request) {
			direct(r)
			op := r.Header.Get("X-Amz-Target")
			if !strings.HasSuffix(op, ".UpdateItem") && !strings.HasSuffix(op, ".PutItem") && !strings.HasSuffix(op, ".DeleteItem") {
				return
			}
			body, err := io.ReadAll(r.Body)
			r.Body.Close()
			r.Body = io.NopCloser(bytes.NewReader(body))
			var in struct {
				Key, Item struct {
					PK struct{ S string } `json:"pk"`
				}
			}
			if err == nil && json.Unmarshal(body, &in) == nil {
				m.mu.Lock()
				m.writesByKey[in.Key.PK.S+in.Item.PK.S]++
				m.mu.Unlock()
			}
		}
	}
	proxy.ModifyResponse = func(resp *http.Response) error {
		req := resp.Request
		op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "AmazonSQS.")
		if i := strings.IndexByte(op, '.'); i >= 0 {
			op = op[i+1:] // DynamoDB_20120810.UpdateItem
		}
		if op == "" && service == "s3" {
			op = s3Operation(req)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if op == "ReceiveMessage" && !bytes.Contains(body, []byte(`"MessageId"`)) {
			op = "ReceiveMessage (empty)"
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		m.calls[op]++
		if service == "sqs" {
			m.chunks += max(1, (max(int(req.ContentLength), len(body))+64<<10-1)/(64<<10))
		}
		return nil
	}
	m.srv = httptest.NewServer(proxy)
	t.Cleanup(m.srv.Close)
	return m
}

// s3Operation names an S3 REST call (path-style: /bucket/key).
func s3Operation(r *http.Request) string {
	key := strings.Count(strings.Trim(r.URL.Path, "/"), "/") > 0
	switch {
	case r.Method == http.MethodPut && key:
		return "PutObject"
	case r.Method == http.MethodGet && key:
		return "GetObject"
	case r.Method == http.MethodGet:
		return "ListObjects"
	default:
		return r.Method + " bucket"
	}
}

func (m *meter) snapshot() (map[string]int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	calls := make(map[string]int, len(m.calls))
	for k, v := range m.calls {
		calls[k] = v
	}
	return calls, m.chunks
}

// costRun is one measured run: what the stack did for events ingested in
// requests of perRequest events each, to streams http streams.
type costRun struct {
	perRequest, streams, events, requests int
	sqs, dynamodb, s3                     map[string]int
	sqsChunks                             int
	usage                                 map[string]runner.Usage
	memoryMB                              map[string]int // by function ID, as deployed
}

// TestRequestCountsPerMillionEvents is issue 16's measured cost model: the
// whole pipeline on the local stack (the HTTP API, ingest, the delivery
// and archive queues and their mappings, deliver-http, the archiver), with
// every call to the SQS, DynamoDB and S3 stand-ins counted through a
// metering proxy, at 1, 100 and 1,000 events per ingest request to 1, 2 and
// 5 streams. It holds the counts that scale with events to the design's
// formulas (so a change that adds calls per request or per message fails
// here), and docs/cost.md prices them: run with LOGSTREAM_COST_TABLE=1 for
// its table.
func TestRequestCountsPerMillionEvents(t *testing.T) {
	standin.AWSConfig(t) // the stand-ins answer, or CI fails here
	meters := map[string]*meter{}
	for _, s := range []struct{ service, env string }{{"sqs", "AWS_ENDPOINT_URL_SQS"}, {"dynamodb", "AWS_ENDPOINT_URL_DYNAMODB"}, {"s3", "AWS_ENDPOINT_URL_S3"}} {
		meters[s.service] = newMeter(t, s.service, os.Getenv(s.env))
		t.Setenv(s.env, meters[s.service].srv.URL) // the functions' SDK and the runner's read it at start
	}
	var runs []costRun
	for _, perRequest := range []int{1, 100, 1000} {
		for _, streams := range []int{1, 2, 5} {
			t.Run(fmt.Sprintf("%d-per-request-%d-streams", perRequest, streams), func(t *testing.T) {
				runs = append(runs, measureCosts(t, meters, perRequest, streams))
			})
		}
	}
	if t.Failed() {
		return
	}
	table := costTable(runs)
	t.Logf("per million events:\n%s", table)
	if os.Getenv("LOGSTREAM_COST_TABLE") != "" {
		fmt.Print(table)
	}
}

func measureCosts(t *testing.T, meters map[string]*meter, perRequest, streams int) costRun {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	events := map[int]int{1: 200, 100: 2000, 1000: 3000}[perRequest]
	// Deployed timeouts and visibility (fastSpec's 2 s function timeout
	// is for tests that want retries soon; a 1,000-event batch under
	// -race on a loaded machine can outlast it and be retried, which
	// would be counted), with the archive written within a second.
	spec := standin.Spec(t)
	spec.SetBatchingWindow(topology.FunctionArchiver, time.Second)
	// The stream lists cached as deployed (startStack turns the cache off
	// for tests that change streams): the table reads are what a steady
	// stream of requests costs.
	st := startStack(t, ctx, spec, map[string]string{topology.EnvStreamCacheTTL: topology.DefaultStreamCacheTTL.String()})
	base := st.URL()
	rec := newBodyRecorder(t, http.StatusNoContent)
	for i := range streams {
		createStream(t, base, fmt.Sprintf("cost-%d", i), rec.srv.URL+"/hook", "active")
	}
	// The streams' logstream.stream.created events (as many as the API's
	// cached stream list let through) are delivered first; count from
	// there.
	waitLines(t, rec, 1)
	time.Sleep(2 * time.Second)
	_, lifecycle := rec.snapshot()
	before := map[string]map[string]int{}
	chunksBefore := 0
	for name, m := range meters {
		before[name], _ = m.snapshot()
		if name == "sqs" {
			_, chunksBefore = m.snapshot()
		}
	}
	usageBefore := st.Usage()

	body := func(from int) []byte {
		var b bytes.Buffer
		b.WriteByte('[')
		for i := from; i < from+perRequest; i++ {
			if i > from {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"event_id":"cost-%06d","type":"user.session.start","actor":{"id":"usr_%d","ip":"198.51.100.7"},"user_agent":"Mozilla/5.0 (X11; Linux x86_64)","result":"success"}`, i, i%97)
		}
		b.WriteByte(']')
		return b.Bytes()
	}
	requests := 0
	for from := 0; from < events; from += perRequest {
		if code, out := do(t, "POST", base+"/v1/projects/"+project+"/events", "application/json", "", body(from)); code != http.StatusAccepted {
			t.Fatalf("ingest: %d %s", code, out)
		}
		requests++
	}
	waitLines(t, rec, len(lifecycle)+events*streams)
	// The archive: every event in S3 (the archiver's window is a second
	// here), then a quiet second for the last deletes.
	deadline := time.Now().Add(time.Minute)
	for {
		calls, _ := meters["s3"].snapshot()
		if calls["PutObject"] > before["s3"]["PutObject"] && st.Usage()[topology.FunctionArchiver].Invocations > usageBefore[topology.FunctionArchiver].Invocations {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing archived in a minute")
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)

	run := costRun{perRequest: perRequest, streams: streams, events: events, requests: requests, usage: map[string]runner.Usage{}, memoryMB: map[string]int{}}
	for _, f := range spec.Functions {
		run.memoryMB[f.ID] = f.MemoryMB
	}
	diff := func(name string) map[string]int {
		now, _ := meters[name].snapshot()
		out := map[string]int{}
		for k, v := range now {
			if d := v - before[name][k]; d > 0 {
				out[k] = d
			}
		}
		return out
	}
	run.sqs, run.dynamodb, run.s3 = diff("sqs"), diff("dynamodb"), diff("s3")
	_, chunks := meters["sqs"].snapshot()
	run.sqsChunks = chunks - chunksBefore - run.sqs["ReceiveMessage (empty)"]
	scheduled := map[string]bool{}
	for _, f := range spec.Functions {
		scheduled[f.ID] = f.Schedule > 0
	}
	for fn, u := range st.Usage() {
		// A scheduled function (the dead-letter drain, the replay
		// worker) runs by the clock, not per event: a fixed monthly
		// cost, in docs/cost.md apart.
		if scheduled[fn] {
			continue
		}
		b := usageBefore[fn]
		run.usage[fn] = runner.Usage{Invocations: u.Invocations - b.Invocations, Busy: u.Busy - b.Busy}
	}

	// The design's formulas. Ingestion: one SendMessageBatch per stream and
	// one for the archive per request (these events fit one message each).
	if got, want := run.sqs["SendMessageBatch"], requests*(streams+1); got != want {
		t.Errorf("SendMessageBatch: %d calls for %d requests to %d streams, want %d", got, requests, streams, want)
	}
	// Delivery: each message received is deleted, ten per call at most, at
	// least one per invocation; nothing is retried.
	msgs := requests * streams
	if d := run.sqs["DeleteMessageBatch"]; d > msgs+requests || d < (msgs+requests)/10 {
		t.Errorf("DeleteMessageBatch: %d calls for %d delivery and %d archive messages", d, msgs, requests)
	}
	inv := run.usage[topology.DeliverFunctionID("http")].Invocations
	if inv == 0 || inv > int64(msgs) {
		t.Errorf("deliver-http: %d invocations for %d messages", inv, msgs)
	}
	// The table: the health counters, one write per stream per invocation
	// that delivered to it (and nothing per event); stream reads only on a
	// cache miss (the cache is off here, so per invocation at most).
	writes := run.dynamodb["UpdateItem"] + run.dynamodb["PutItem"] + run.dynamodb["TransactWriteItems"]
	if writes > 2*int(inv)*streams+streams {
		t.Errorf("DynamoDB writes %v for %d deliver invocations to %d streams", run.dynamodb, inv, streams)
	}
	return run
}

// waitLines waits until the receiver holds n events.
func waitLines(t *testing.T, rec *bodyRecorder, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, lines := rec.snapshot(); len(lines) >= n {
			return
		}
		if time.Now().After(deadline) {
			_, lines := rec.snapshot()
			t.Fatalf("the receiver holds %d of %d events", len(lines), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Prices, US East (N. Virginia), list (docs/cost.md names them): per
// request or unit.
const (
	priceAPIGateway = 1.00 / 1e6    // HTTP API, first 300 M a month
	priceLambdaReq  = 0.20 / 1e6    // per invocation
	priceLambdaGBs  = 0.0000133334  // arm64, per GB-second
	priceSQS        = 0.40 / 1e6    // standard queue, per 64 KiB chunk
	priceDDBWrite   = 0.625 / 1e6   // on-demand, per write request unit
	priceDDBRead    = 0.125 / 1e6   // on-demand, per read request unit
	priceS3Put      = 0.005 / 1000  // PUT, COPY, POST, LIST
	priceS3Get      = 0.0004 / 1000 // GET
	perMillion      = 1e6
)

// costTable prices each run's counts per million events.
func costTable(runs []costRun) string {
	slices.SortFunc(runs, func(a, b costRun) int { return a.perRequest*10 + a.streams - b.perRequest*10 - b.streams })
	var b strings.Builder
	b.WriteString("| events/request | streams | API GW | Lambda invocations | Lambda GB-s | SQS billed requests | DynamoDB writes / reads | S3 PUT / GET | $ API GW | $ Lambda | $ SQS | $ DynamoDB | $ S3 | **$ total** |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range runs {
		scale := perMillion / float64(r.events)
		var inv int64
		gbs := 0.0
		for fn, u := range r.usage {
			inv += u.Invocations
			gbs += u.Busy.Seconds() * float64(r.memoryMB[fn]) / 1024
		}
		writes := r.dynamodb["UpdateItem"] + r.dynamodb["PutItem"] + r.dynamodb["BatchWriteItem"] + r.dynamodb["DeleteItem"]
		reads := r.dynamodb["GetItem"] + r.dynamodb["Query"] + r.dynamodb["BatchGetItem"] + r.dynamodb["Scan"]
		puts, gets := r.s3["PutObject"]+r.s3["ListObjects"], r.s3["GetObject"]
		api := float64(r.requests) * priceAPIGateway
		lam := float64(inv)*priceLambdaReq + gbs*priceLambdaGBs
		sqs := float64(r.sqsChunks) * priceSQS
		ddb := float64(writes)*priceDDBWrite + float64(reads)*priceDDBRead
		s3 := float64(puts)*priceS3Put + float64(gets)*priceS3Get
		fmt.Fprintf(&b, "| %d | %d | %.0f | %.0f | %.1f | %.0f | %.0f / %.0f | %.0f / %.0f | %.3f | %.3f | %.3f | %.3f | %.3f | **%.3f** |\n",
			r.perRequest, r.streams, float64(r.requests)*scale, float64(inv)*scale, gbs*scale, float64(r.sqsChunks)*scale,
			float64(writes)*scale, float64(reads)*scale, float64(puts)*scale, float64(gets)*scale,
			api*scale, lam*scale, sqs*scale, ddb*scale, s3*scale, (api+lam+sqs+ddb+s3)*scale)
	}
	// Per function: invocations and busy seconds per million events, what
	// docs/scaling.md scales to a million events a second.
	b.WriteString("\n| events/request | streams | function | invocations | busy s | ms per invocation |\n|---:|---:|---|---:|---:|---:|\n")
	for _, r := range runs {
		scale := perMillion / float64(r.events)
		for _, fn := range slices.Sorted(maps.Keys(r.usage)) {
			u := r.usage[fn]
			if u.Invocations == 0 {
				continue
			}
			fmt.Fprintf(&b, "| %d | %d | %s | %.0f | %.1f | %.1f |\n", r.perRequest, r.streams, fn, float64(u.Invocations)*scale,
				u.Busy.Seconds()*scale, u.Busy.Seconds()*1000/float64(u.Invocations))
		}
	}
	return b.String()
}

// TestHealthWritesSpreadOverKeys is docs/scaling.md's hot-key case on the
// local stack: one project with 25 streams, its events interleaved in one
// delivery queue, so nearly every message is a health counter write. The
// writes must spread over the streams' own partition keys: none lands on
// the project's key (where the counters were kept before issue 16, beside
// the streams), and the busiest key takes about one stream's share.
func TestHealthWritesSpreadOverKeys(t *testing.T) {
	standin.AWSConfig(t)
	ddb := newMeter(t, "dynamodb", os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb.srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := startStack(t, ctx, fastSpec(t), map[string]string{topology.EnvStreamCacheTTL: topology.DefaultStreamCacheTTL.String()})
	base := st.URL()
	rec := newBodyRecorder(t, http.StatusNoContent)
	const streams, requests, perRequest = 25, 20, 50
	for i := range streams {
		createStream(t, base, fmt.Sprintf("hot-%d", i), rec.srv.URL+"/hook", "active")
	}
	waitLines(t, rec, 1)
	time.Sleep(2 * time.Second)
	_, lifecycle := rec.snapshot()
	ddb.mu.Lock()
	ddb.writesByKey = map[string]int{}
	ddb.mu.Unlock()
	for r := range requests {
		var b bytes.Buffer
		b.WriteByte('[')
		for i := range perRequest {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"event_id":"hot-%d-%d","type":"user.login"}`, r, i)
		}
		b.WriteByte(']')
		if code, out := do(t, "POST", base+"/v1/projects/"+project+"/events", "application/json", "", b.Bytes()); code != http.StatusAccepted {
			t.Fatalf("ingest: %d %s", code, out)
		}
	}
	waitLines(t, rec, len(lifecycle)+streams*requests*perRequest)
	time.Sleep(time.Second)

	ddb.mu.Lock()
	byKey := maps.Clone(ddb.writesByKey)
	ddb.mu.Unlock()
	total, busiest, busiestKey := 0, 0, ""
	for k, n := range byKey {
		total += n
		if n > busiest {
			busiest, busiestKey = n, k
		}
	}
	t.Logf("%d writes over %d partition keys for %d messages; the busiest, %s, took %d (%.0f%%)",
		total, len(byKey), streams*requests, busiestKey, busiest, 100*float64(busiest)/float64(max(total, 1)))
	if n := byKey["PROJECT#"+project]; n != 0 {
		t.Errorf("%d writes on the project's own partition key", n)
	}
	if len(byKey) < streams || busiest > 2*total/streams {
		t.Errorf("writes by key %v: not spread over the %d streams' keys", byKey, streams)
	}
}
