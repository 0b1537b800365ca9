package docs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/app/deliverfn"
	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/deadletter/dltest"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/eventarchive/archivetest"
	"github.com/logstream/logstream/shared/ingest"
	"github.com/logstream/logstream/shared/invoke"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/lokibridge"
	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/queue"
	"github.com/logstream/logstream/shared/replay"
	"github.com/logstream/logstream/shared/replay/replaytest"
	"github.com/logstream/logstream/shared/sink/webhook"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
)

// The bootstrap admin key, configured by its hash as in a deployment.
const adminSecret = "lsk_0dm1n0dm1n0dm1n0dm1n0dm1n0dm1n0dm1n0dm1n0d"

const (
	projectA = "proj_a" // has streams
	projectB = "proj_b" // has none
	// stytchProject is Stytch project acme's environment production, as the
	// /pwa/v3 routes name it (manage.StytchProjectID).
	stytchProject = "acme.production"
	// httpQueue is the http destination's delivery queue.
	httpQueue = "https://sqs.us-east-1.amazonaws.com/123456789012/logstream-deliver-http"
)

// environment is what every scenario's fixture shares: a webhook receiver on
// loopback for the test route, and the address of one that is gone.
type environment struct {
	receiver *httptest.Server
	gone     string
}

func newEnvironment(t *testing.T) *environment {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/fail" {
			http.Error(w, "receiver is down for maintenance", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	return &environment{receiver: receiver, gone: gone.URL}
}

// fixture is one scenario's world: real handlers over fresh in-memory stores,
// with a project holding a webhook stream and a paused S3 stream, and keys of
// every kind.
type fixture struct {
	t           *testing.T
	env         *environment
	streams     *memStreams
	keys        *memKeys
	pub         *fakePublisher
	depths      *fakeDepths
	api         *manage.API
	ingest      *ingest.Service
	bridgeStore *memArchive
	// dl is the dead-letter store, under the real deadletter.Service.
	dl *dltest.Store
	// now is the fixture's clock for the replay routes: the API and the
	// replay service read it, and their fixtures are built relative to it.
	now time.Time
	// replays is the real replay service, over an in-memory job store
	// (jobs) and event archive (events), with no Starter: jobs are stored,
	// and a scenario runs a worker itself when it needs one.
	replays *replay.Service
	jobs    *replaytest.Jobs
	events  *archivetest.Archive
	// handlers by topology function ID.
	handlers  map[string]handlerFunc
	functions map[string]string // route key → function ID

	webhook, archive            stream.Stream // in projectA
	writeKey, readKey, otherKey string
	writeKeyID                  string
	spare                       apikey.Key // a read key of projectA, to revoke
	spareSecret                 string
}

func (e *environment) fixture(t *testing.T, functions map[string]string) *fixture {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := &fixture{t: t, env: e, functions: functions,
		streams: &memStreams{m: map[string]stream.Stream{}, health: map[string]stream.Health{}},
		keys:    &memKeys{m: map[string]apikey.Key{}}, pub: &fakePublisher{}, depths: &fakeDepths{}, dl: dltest.New(),
		// The clock stands still at the moment the fixture is made, so
		// every window, not_before and until is exact relative to it; it
		// is taken from the real clock only so that what reads the real
		// one (key and stream timestamps) stays near it.
		now: time.Now().UTC().Truncate(time.Millisecond), jobs: &replaytest.Jobs{}, events: &archivetest.Archive{}}
	f.replays = &replay.Service{Jobs: f.jobs, Archive: f.events, Streams: f.streams, Reader: f.events, Publisher: f.pub,
		QueueURLs: map[string]string{destination.HTTP: httpQueue}, Now: f.clock, Log: log,
		// The clock stands still: pacing a worker's run must not wait.
		Sleep: func(context.Context, time.Duration) {}}
	auth := &apikey.Authenticator{Keys: f.keys, AdminKeyHash: apikey.HashKey(adminSecret)}
	// Loopback receivers are private addresses: allowed as in local development.
	policy := netguard.Policy{AllowPrivate: true}
	f.api = &manage.API{
		Auth: auth, Keys: f.keys, Streams: f.streams, HealthReader: f.streams, Projects: f.streams,
		// The test route as deployed: the http delivery function's handler,
		// invoked with the payload Lambda would carry. Datadog's function is
		// named but not running (502); other types have none (501).
		Tester: &invoke.Tester{Functions: map[string]string{destination.HTTP: "logstream-deliver-http",
			destination.Datadog: "logstream-deliver-datadog"},
			Client: localLambda{destination.HTTP: &deliverfn.Handler{Test: &deliverfn.Tester{Type: destination.HTTP,
				Streams: f.streams, Log: log,
				Sender: &webhook.Sender{Client: policy.Client(2 * time.Second), UserAgent: "logstream-docs-test"}}}}},
		// The document describes a complete deployment: every destination
		// type deliverable (manage's tests cover the refusal for the rest).
		Validator: stream.Validator{Net: policy, Deliverable: func(string) bool { return true }}, Log: log,
		// Every type's queue and DLQ, as the deployment names them.
		Depths: f.depths, Queues: queueURLs(),
		// A writer that always wins the race (updateErr) is sustained
		// contention: answer 409 at once rather than after the real budget.
		Retry: manage.Retry{Budget: time.Millisecond},
		// Jobs are only stored: no worker runs them here (no Starter).
		DeadLetters: &deadletter.Service{Letters: f.dl, Jobs: f.dl, Counters: f.dl, Streams: f.streams, Log: log},
		// As deployed: a backfill ends when every ingestion function's
		// stream cache (topology.DefaultStreamCacheTTL) holds the stream.
		Replays: f.replays, LiveAfter: topology.DefaultStreamCacheTTL, Now: f.clock,
	}
	f.ingest = &ingest.Service{Auth: auth, Streams: f.streams, Publisher: f.pub,
		QueueURLs: map[string]string{destination.HTTP: httpQueue}, Limits: logevent.DefaultLimits, Log: log,
		Attempts: &memAttempts{m: map[string]ingest.Attempt{}}}
	f.bridgeStore = &memArchive{objects: map[string][]byte{}}
	creds, err := lokibridge.NewCredentials(lokibridge.Credential{Username: bridgeUser, Password: bridgePassword},
		lokibridge.Credential{Username: "retiring", Password: "an-older-password-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := lokibridge.New(lokibridge.Config{Store: f.bridgeStore, Credentials: creds, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	f.handlers = map[string]handlerFunc{topology.FunctionAPI: f.api.Handle, topology.FunctionIngest: f.ingest.Handle,
		topology.FunctionLokiBridge: lb.Handle}

	var wk apikey.Key
	f.writeKey, wk = f.newKey(t, []string{projectA, stytchProject}, apikey.AccessWrite)
	f.writeKeyID = wk.ID
	f.readKey, _ = f.newKey(t, []string{projectA, stytchProject}, apikey.AccessRead)
	f.otherKey, _ = f.newKey(t, []string{projectB}, apikey.AccessWrite)
	_, _ = f.newKey(t, []string{apikey.AllProjects}, apikey.AccessRead)
	f.spareSecret, f.spare = f.newKey(t, []string{projectA}, apikey.AccessRead)

	f.webhook = f.seed(t, `{"name":"SIEM webhook","destination_type":"http","destination_config":{"endpoint":"`+e.receiver.URL+`/ok","authorization":"Bearer webhook-token-0123456789"}}`)
	f.archive = f.seed(t, `{"name":"Archive","destination_type":"s3","status":"paused","destination_config":{"bucket":"acme-audit-logs","region":"eu-west-1","prefix":"logstream/"}}`)
	return f
}

// clock is the fixture's clock, f.now.
func (f *fixture) clock() time.Time { return f.now }

// localLambda invokes delivery functions' handlers by destination type, with
// Lambda's payloads: JSON in, JSON or a function error out.
type localLambda map[string]*deliverfn.Handler

func (l localLambda) Invoke(ctx context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	h := l[strings.TrimPrefix(aws.ToString(in.FunctionName), "logstream-deliver-")]
	var inv deliverfn.Invocation
	if err := json.Unmarshal(in.Payload, &inv); err != nil || h == nil {
		return nil, fmt.Errorf("invoke %s: %v", aws.ToString(in.FunctionName), err)
	}
	out, err := h.Handle(ctx, inv)
	if err != nil {
		doc, _ := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "error"})
		return &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"), Payload: doc}, nil
	}
	payload, err := json.Marshal(out)
	return &lambda.InvokeOutput{StatusCode: 200, Payload: payload}, err
}

func (f *fixture) newKey(t *testing.T, projects []string, access apikey.Access) (string, apikey.Key) {
	t.Helper()
	secret, k, err := apikey.Generate("docs test key", projects, access, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.keys.m[k.ID] = k
	return secret, k
}

// seed stores a stream validated as the API would, without going through it.
func (f *fixture) seed(t *testing.T, body string) stream.Stream {
	t.Helper()
	var cr stream.CreateRequest
	if err := json.Unmarshal([]byte(body), &cr); err != nil {
		t.Fatal(err)
	}
	s, err := f.api.Validator.New(projectA, cr, time.Now())
	if err != nil {
		t.Fatalf("seed %s: %v", body, err)
	}
	s.Revealed = nil
	f.streams.m[s.ProjectID+"/"+s.ID] = s
	return s
}

// do sends the call to the handler of the function topology routes it to.
func (f *fixture) do(route string, c call) *result {
	f.t.Helper()
	fn, ok := f.functions[route]
	if !ok {
		f.t.Fatalf("topology routes %s to no function", route)
	}
	h, ok := f.handlers[fn]
	if !ok {
		f.t.Fatalf("no handler for function %q", fn)
	}
	resp, err := h(context.Background(), c.apiGateway(route))
	if err != nil {
		f.t.Fatalf("handler returned an error instead of an answer: %v", err)
	}
	return newResult(f.t, resp)
}

// memStreams is the streams table in memory: manage.Streams,
// manage.HealthReader and ingest.Streams.
type memStreams struct {
	mu     sync.Mutex
	m      map[string]stream.Stream // project/id → stream
	health map[string]stream.Health // id → record
	// updateErr, when set, fails every Update (ErrConflict: a writer that
	// always wins the race).
	updateErr error
}

var (
	_ manage.Streams      = (*memStreams)(nil)
	_ manage.HealthReader = (*memStreams)(nil)
	_ ingest.Streams      = (*memStreams)(nil)
)

func (f *memStreams) Create(_ context.Context, s stream.Stream, limit int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, x := range f.m {
		if x.ProjectID == s.ProjectID {
			n++
		}
	}
	if n >= limit {
		return stream.ErrLimitReached
	}
	f.m[s.ProjectID+"/"+s.ID] = s
	return nil
}

func (f *memStreams) Get(_ context.Context, p, id string) (stream.Stream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.m[p+"/"+id]
	if !ok {
		return s, stream.ErrNotFound
	}
	return s, nil
}

// List pages in id order; the cursor is the last id of the previous page.
func (f *memStreams) List(_ context.Context, p string, limit int, cursor string) ([]stream.Stream, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []stream.Stream
	for _, s := range f.m {
		if s.ProjectID == p && s.ID > cursor {
			all = append(all, s)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	if len(all) > limit {
		return all[:limit], all[limit-1].ID, nil
	}
	return all, "", nil
}

func (f *memStreams) Update(_ context.Context, s stream.Stream, expected int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.updateErr != nil {
		return f.updateErr
	}
	cur, ok := f.m[s.ProjectID+"/"+s.ID]
	if !ok {
		return stream.ErrNotFound
	}
	if cur.Version != expected {
		return stream.ErrConflict
	}
	f.m[s.ProjectID+"/"+s.ID] = s
	return nil
}

func (f *memStreams) Delete(_ context.Context, p, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.m[p+"/"+id]; !ok {
		return stream.ErrNotFound
	}
	delete(f.m, p+"/"+id)
	return nil
}

func (f *memStreams) Active(_ context.Context, p string) ([]stream.Stream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []stream.Stream
	for _, s := range f.m {
		if s.ProjectID == p && s.Status == stream.StatusActive {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *memStreams) Health(_ context.Context, _, id string) (stream.Health, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.health[id], nil
}

// memKeys is the key store in memory: manage.Keys and apikey.Getter.
type memKeys struct {
	mu sync.Mutex
	m  map[string]apikey.Key
}

var (
	_ manage.Keys   = (*memKeys)(nil)
	_ apikey.Getter = (*memKeys)(nil)
)

func (m *memKeys) Create(_ context.Context, k apikey.Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[k.ID] = k
	return nil
}

func (m *memKeys) Get(_ context.Context, id string) (apikey.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.m[id]
	if !ok {
		return k, apikey.ErrNotFound
	}
	return k, nil
}

func (m *memKeys) List(context.Context) ([]apikey.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]apikey.Key, 0, len(m.m))
	for _, id := range sortedKeys(m.m) {
		out = append(out, m.m[id])
	}
	return out, nil
}

func (m *memKeys) Revoke(_ context.Context, id string, now time.Time) (apikey.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.m[id]
	if !ok {
		return k, apikey.ErrNotFound
	}
	now = now.UTC()
	k.RevokedAt = &now
	m.m[id] = k
	return k, nil
}

// fakePublisher records what ingestion queues; fail makes SQS refuse it.
// fakeDepths stands for SQS's queue attributes: each DLQ holds 2 messages,
// each queue 5 visible, 1 in flight and none delayed; err fails every read.
type fakeDepths struct{ err error }

func (d *fakeDepths) Depth(_ context.Context, url string) (int64, int64, int64, error) {
	if d.err != nil {
		return 0, 0, 0, d.err
	}
	if strings.HasSuffix(url, "-dlq") {
		return 2, 0, 0, nil
	}
	return 5, 1, 0, nil
}

func queueURLs() map[string]manage.Queues {
	out := map[string]manage.Queues{}
	for _, q := range topology.New("logstream").Queues {
		base := "https://sqs.us-east-1.amazonaws.com/123456789012/"
		out[q.Destination] = manage.Queues{URL: base + q.Name, DLQURL: base + q.DLQName}
	}
	return out
}

type fakePublisher struct {
	mu   sync.Mutex
	msgs map[string][]envelope.Message
	fail bool
}

var _ ingest.Publisher = (*fakePublisher)(nil)

// memAttempts keeps ingestion's Idempotency-Keys in memory.
type memAttempts struct{ m map[string]ingest.Attempt }

func (a *memAttempts) Get(_ context.Context, projectID, key string) (ingest.Attempt, bool, error) {
	at, ok := a.m[projectID+"/"+key]
	return at, ok, nil
}

func (a *memAttempts) Put(_ context.Context, projectID, key string, at ingest.Attempt) error {
	a.m[projectID+"/"+key] = at
	return nil
}

func (p *fakePublisher) Publish(_ context.Context, url string, msgs []envelope.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return &queue.PublishError{Sent: 0, Failed: len(msgs), Err: errors.New("ServiceUnavailable")}
	}
	if p.msgs == nil {
		p.msgs = map[string][]envelope.Message{}
	}
	p.msgs[url] = append(p.msgs[url], msgs...)
	return nil
}

// queued returns the events queued for the http destination, decoded.
func (p *fakePublisher) queued(t *testing.T) []map[string]any {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, m := range p.msgs[httpQueue] {
		var env envelope.Envelope
		if err := json.Unmarshal(m.Body, &env); err != nil {
			t.Fatalf("queued message is not an envelope: %v", err)
		}
		for _, raw := range env.Events {
			var ev map[string]any
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			out = append(out, ev)
		}
	}
	return out
}

// Projects lists the projects with a stream, in id order, on one page.
func (s *memStreams) Projects(_ context.Context, limit int, _ string) ([]string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, st := range s.m {
		seen[st.ProjectID] = true
	}
	ids := slices.Sorted(maps.Keys(seen))
	return ids[:min(limit, len(ids))], "", nil
}
