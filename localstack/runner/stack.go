package runner

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/shared/app/functions"
	"github.com/logstream/logstream/shared/topology"
)

// Options configure a Stack. Spec and AWS are required.
type Options struct {
	Spec topology.Spec
	// AWS is the SDK configuration used to provision and poll, normally from
	// config.LoadDefaultConfig, which reads AWS_ENDPOINT_URL_DYNAMODB /
	// AWS_ENDPOINT_URL_SQS.
	AWS aws.Config
	// Addr is the gateway's listen address; "" means 127.0.0.1:0 (a free port).
	Addr string
	// Overrides replace environment values of variables the functions
	// declare, e.g. LOGSTREAM_ALLOW_PRIVATE_ENDPOINTS=true. Naming a variable
	// no function declares is an error: it would silently do nothing.
	Overrides map[string]string
	// NewHandler builds each function's handler; nil means functions.New.
	NewHandler NewHandlerFunc
	// Logger receives the runner's logs; nil means slog.Default().
	Logger *slog.Logger
	// MaxMappingConcurrency, when positive, lowers every SQS event source
	// mapping's maximum concurrency (topology's MaxConcurrency, 10 for a
	// delivery mapping) to at most this many concurrent invocations: for a
	// small machine, or to measure a deliberately narrower deployment. 0
	// keeps each mapping's own. Either way the pollers scale between
	// Lambda's five concurrent batches and the maximum (see scaler), and
	// Manifest reports the maximum the stack runs.
	MaxMappingConcurrency int
	// PollWait is the long-poll wait of each ReceiveMessage, in whole seconds
	// (1–20); 0 means 2 s. It bounds how long Close waits for idle pollers,
	// and an empty wait is what makes a mapping scale down.
	PollWait time.Duration
	// APIID is reported as requestContext.apiId; "" means "local".
	APIID string
	// ShutdownTimeout bounds Close's graceful phase (in-flight requests and
	// invocations); 0 means 10 s.
	ShutdownTimeout time.Duration
}

// ErrProvision marks a Start that failed creating or checking the table,
// queues or bucket, as opposed to building the functions or listening: a
// table kept from an earlier run with another shape is one cause.
var ErrProvision = errors.New("provision")

// Stack is a running local stack: provisioned resources, function handlers,
// the HTTP API gateway, Lambda's Invoke API and the SQS event source mappings.
type Stack struct {
	spec     topology.Spec
	res      Resources
	ddb      *dynamodb.Client
	sqs      *sqs.Client
	fns      map[string]*function
	gateway  *gateway
	mappings []*mapping
	// schedules invoke the scheduled functions (topology.Function.Schedule),
	// by function ID.
	schedules map[string]*schedule
	// servers are the gateway's and the Lambda API's, each on its own
	// listener.
	server, lambda *server
	log            *slog.Logger
	shutdown       time.Duration

	stopPolling context.CancelFunc
	stopInvokes context.CancelFunc
	stopInit    context.CancelFunc
	pollCtx     context.Context
	invokeCtx   context.Context
	pollersDone chan struct{}
	closeOnce   sync.Once
	closeErr    error
}

// server is one HTTP server of the stack and its listener.
type server struct {
	http     *http.Server
	listener net.Listener
	done     chan struct{}
}

// withDefaults fills in the options left zero and checks the rest.
func (o Options) withDefaults() (Options, error) {
	if o.NewHandler == nil {
		o.NewHandler = functions.New
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxMappingConcurrency < 0 {
		return o, fmt.Errorf("runner: MaxMappingConcurrency %d is negative", o.MaxMappingConcurrency)
	}
	o.PollWait = o.PollWait.Truncate(time.Second)
	if o.PollWait <= 0 {
		o.PollWait = 2 * time.Second
	}
	o.PollWait = min(max(o.PollWait, time.Second), 20*time.Second) // SQS allows 0–20 s; 0 would busy-poll
	if o.APIID == "" {
		o.APIID = "local"
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.AWS.Region == "" {
		return o, errors.New("runner: AWS region is not set (AWS_REGION)")
	}
	return o, checkOverrides(o.Spec, o.Overrides)
}

// Start provisions the spec's resources, builds every function's handler with
// its resolved environment, and starts the gateway, the Lambda API and the
// SQS pollers. The returned Stack runs until Close; ctx only bounds start-up.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := ensureEventBus(opts.Logger); err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	res, err := Provision(ctx, opts.AWS, opts.Spec)
	if err != nil {
		return nil, fmt.Errorf("runner: %w: %w", ErrProvision, err)
	}
	s := &Stack{spec: opts.Spec, res: res, ddb: dynamodb.NewFromConfig(opts.AWS), sqs: sqs.NewFromConfig(opts.AWS),
		fns: map[string]*function{}, schedules: map[string]*schedule{}, log: opts.Logger, shutdown: opts.ShutdownTimeout}
	s.pollCtx, s.stopPolling = context.WithCancel(context.Background())
	s.invokeCtx, s.stopInvokes = context.WithCancel(context.Background())
	// Cold starts may happen at any time while the stack runs, so their
	// context lives until Close rather than ending with ctx.
	initCtx, stopInit := context.WithCancel(context.WithoutCancel(ctx))
	s.stopInit = stopInit
	if err := s.build(initCtx, opts); err != nil {
		s.stop()
		s.server.close()
		s.lambda.close()
		return nil, err
	}
	s.server.serve(s.gateway, s.log)
	s.lambda.serve(&lambdaAPI{fns: s.fns, log: s.log.With("component", "lambda"), invokeCtx: s.invokeCtx}, s.log)
	s.poll()
	s.log.Info("local stack started", "url", s.URL(), "lambda_url", s.LambdaURL(), "table", res.Table,
		"functions", len(s.fns), "mappings", len(s.mappings), "schedules", len(s.schedules))
	return s, nil
}

// build listens, then builds the functions (whose environment holds the
// Lambda API's address), the gateway and the event source mappings.
func (s *Stack) build(initCtx context.Context, opts Options) error {
	var err error
	if s.server, err = listen(opts.Addr); err != nil {
		return err
	}
	if s.lambda, err = listen("127.0.0.1:0"); err != nil {
		return err
	}
	account := cmp.Or(s.res.AccountID, "000000000000")
	// The endpoints of what the stack serves itself, read by the functions
	// through getenv (app.Endpoint): several stacks may share a process.
	served := map[string]string{"AWS_ENDPOINT_URL_LAMBDA": s.LambdaURL()}
	for _, fs := range opts.Spec.Functions {
		env := FunctionEnv(opts.Spec, fs, s.res, opts.Overrides)
		fn, err := newFunction(initCtx, fs, functionARN(s.res.Region, account, fs.Name), env, served, opts.NewHandler, s.log)
		if err != nil {
			return fmt.Errorf("runner: %w", err)
		}
		s.fns[fs.ID] = fn
	}
	if s.gateway, err = newGateway(opts.Spec.Routes, s.fns, account, opts.APIID, s.log.With("component", "gateway")); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	s.gateway.invokeCtx = s.invokeCtx
	for _, fs := range opts.Spec.Functions {
		if fs.Source == nil {
			continue
		}
		q := s.res.Queues[fs.Source.Destination]
		lo, hi := concurrencyLimits(fs.Source.MaxConcurrency, opts.MaxMappingConcurrency)
		s.mappings = append(s.mappings, &mapping{fn: s.fns[fs.ID], source: *fs.Source, queue: q, region: s.res.Region,
			sqs: s.sqs, scale: &scaler{lo: lo, hi: hi}, waitTime: opts.PollWait,
			log: s.log.With("component", "sqs-mapping", "function", fs.ID, "queue", q.Name)})
	}
	for _, fs := range opts.Spec.Functions {
		if fs.Schedule <= 0 {
			continue
		}
		s.schedules[fs.ID] = &schedule{fn: s.fns[fs.ID], every: fs.Schedule, region: s.res.Region, account: account,
			rule: fs.Name + "-schedule", log: s.log.With("component", "schedule", "function", fs.ID)}
	}
	return nil
}

// listen opens a server's listener; serve starts serving on it.
func listen(addr string) (*server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("runner: listen on %s: %w", addr, err)
	}
	return &server{listener: l, done: make(chan struct{})}, nil
}

func (sv *server) serve(h http.Handler, log *slog.Logger) {
	sv.http = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		defer close(sv.done)
		if err := sv.http.Serve(sv.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("server stopped", "addr", sv.listener.Addr().String(), "err", err)
		}
	}()
}

// close releases the listener of a server that never served; nil is none.
func (sv *server) close() {
	if sv != nil {
		sv.listener.Close()
	}
}

// poll starts every event source mapping's pollers and every schedule's
// ticker; both stop when polling stops.
func (s *Stack) poll() {
	s.pollersDone = make(chan struct{})
	go func() {
		defer close(s.pollersDone)
		var wg sync.WaitGroup
		for _, m := range s.mappings {
			wg.Go(func() { m.run(s.pollCtx, s.invokeCtx) })
		}
		for _, sc := range s.schedules {
			wg.Go(func() { sc.run(s.pollCtx, s.invokeCtx) })
		}
		wg.Wait()
	}()
}

// stop cancels every context the stack owns.
func (s *Stack) stop() {
	s.stopPolling()
	s.stopInvokes()
	s.stopInit()
}

// checkOverrides rejects override names that no function declares.
func checkOverrides(spec topology.Spec, overrides map[string]string) error {
	declared := map[string]bool{}
	for _, f := range spec.Functions {
		for _, e := range f.Env {
			declared[e.Name] = true
		}
	}
	for name := range overrides {
		if !declared[name] {
			return fmt.Errorf("runner: override %s is not an environment variable of any function", name)
		}
	}
	return nil
}

// URL is the gateway's base URL, e.g. http://127.0.0.1:8080.
func (s *Stack) URL() string { return "http://" + s.server.listener.Addr().String() }

// LambdaURL is the endpoint of the stack's Lambda Invoke API, as the
// functions get it in AWS_ENDPOINT_URL_LAMBDA.
func (s *Stack) LambdaURL() string { return "http://" + s.lambda.listener.Addr().String() }

// Usage returns each function's invocations so far and the time they took
// (function-seconds, what Lambda bills), by function ID.
func (s *Stack) Usage() map[string]Usage {
	out := make(map[string]Usage, len(s.fns))
	for id, fn := range s.fns {
		out[id] = fn.used()
	}
	return out
}

// Resources returns the provisioned resources.
func (s *Stack) Resources() Resources { return s.res }

// Env returns a copy of the resolved environment of a function.
func (s *Stack) Env(functionID string) map[string]string {
	fn, ok := s.fns[functionID]
	if !ok {
		return nil
	}
	env := make(map[string]string, len(fn.env))
	for k, v := range fn.env {
		env[k] = v
	}
	return env
}

// Close stops the stack: the gateway stops accepting requests, pollers stop
// receiving and schedules stop ticking; in-flight requests and invocations get ShutdownTimeout to finish,
// then are abandoned (their messages return to the queue after the visibility
// timeout, as after a Lambda timeout). Close is safe to call more than once.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.shutdown)
		defer cancel()
		s.stopPolling()
		var errs []error
		if err := s.server.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down gateway: %w", err))
		}
		if err := s.lambda.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down the Lambda API: %w", err))
		}
		select {
		case <-s.pollersDone:
		case <-ctx.Done():
			errs = append(errs, errors.New("SQS pollers or scheduled invocations still busy at shutdown timeout; abandoning their invocations"))
		}
		s.stop()
		// Abandoned invocations return promptly once their context is
		// canceled; bound the wait anyway.
		select {
		case <-s.pollersDone:
		case <-time.After(5 * time.Second):
			errs = append(errs, errors.New("SQS pollers or schedules did not stop"))
		}
		<-s.server.done
		<-s.lambda.done
		s.closeErr = errors.Join(errs...)
		s.log.Info("local stack stopped")
	})
	return s.closeErr
}

// Manifest reads back what the stack actually runs and reduces it to a
// topology.Manifest: the table and queues as the stand-ins describe them
// (DescribeTable; GetQueueAttributes VisibilityTimeout and RedrivePolicy), the
// event source mappings that are polling, the gateway's route keys and each
// function's timeout, running schedule and resolved environment names. It must equal
// Spec.Manifest(), as the CDK template's does.
func (s *Stack) Manifest(ctx context.Context) (topology.Manifest, error) {
	var m topology.Manifest
	t, err := s.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.res.Table)})
	if err != nil {
		return m, fmt.Errorf("describe table %s: %w", s.res.Table, err)
	}
	m.Table = aws.ToString(t.Table.TableName)

	dests := make([]string, 0, len(s.res.Queues))
	for d := range s.res.Queues {
		dests = append(dests, d)
	}
	sort.Strings(dests)
	for _, d := range dests {
		q := s.res.Queues[d]
		mq, err := s.describeQueue(ctx, q.URL)
		if err != nil {
			return m, err
		}
		m.Queues = append(m.Queues, mq)
	}

	for _, fn := range s.fns {
		mf := topology.ManifestFunction{ID: fn.spec.ID, TimeoutSeconds: int(fn.spec.Timeout / time.Second)}
		if sc, ok := s.schedules[fn.spec.ID]; ok {
			// The schedule that is ticking, not the spec's.
			mf.ScheduleSeconds = int(sc.every / time.Second)
		}
		for name := range fn.env {
			mf.EnvNames = append(mf.EnvNames, name)
		}
		m.Functions = append(m.Functions, mf)
	}
	for _, mp := range s.mappings {
		m.Mappings = append(m.Mappings, topology.ManifestMapping{
			Function:                 mp.fn.spec.ID,
			Queue:                    mp.queue.Name,
			BatchSize:                mp.source.BatchSize,
			MaxBatchingWindowSeconds: int(mp.source.MaxBatchingWindow / time.Second),
			ReportBatchItemFailures:  mp.source.ReportBatchItemFailures,
			// What the pollers scale to: the spec's maximum, or
			// Options.MaxMappingConcurrency where that is lower (and then
			// the manifest differs from the spec's, as the stack does).
			MaximumConcurrency: mp.scale.hi,
		})
	}
	m.Routes = s.gateway.routeKeys()
	m.Sort()
	return m, nil
}

func (s *Stack) describeQueue(ctx context.Context, url string) (topology.ManifestQueue, error) {
	out, err := s.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameQueueArn,
			sqstypes.QueueAttributeNameVisibilityTimeout,
			sqstypes.QueueAttributeNameRedrivePolicy,
		},
	})
	if err != nil {
		return topology.ManifestQueue{}, fmt.Errorf("get attributes of queue %s: %w", url, err)
	}
	a := out.Attributes
	mq := topology.ManifestQueue{Name: arnResource(a[string(sqstypes.QueueAttributeNameQueueArn)])}
	if mq.VisibilityTimeoutSeconds, err = strconv.Atoi(a[string(sqstypes.QueueAttributeNameVisibilityTimeout)]); err != nil {
		return mq, fmt.Errorf("queue %s VisibilityTimeout: %w", mq.Name, err)
	}
	if rp := a[string(sqstypes.QueueAttributeNameRedrivePolicy)]; rp != "" {
		var p redrivePolicy
		if err := json.Unmarshal([]byte(rp), &p); err != nil {
			return mq, fmt.Errorf("queue %s RedrivePolicy %q: %w", mq.Name, rp, err)
		}
		n, _ := p.MaxReceiveCount.Int64()
		mq.MaxReceiveCount = int(n)
		mq.DLQName = arnResource(p.DeadLetterTargetArn)
	}
	return mq, nil
}
