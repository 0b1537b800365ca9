package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/topology"
)

// NewHandlerFunc builds a function's handler from its topology ID and
// environment: functions.New in the real stack, a fake in tests.
type NewHandlerFunc func(ctx context.Context, functionID string, getenv app.Getenv) (any, error)

// Lambda's synchronous invocation payload quota: 6 MB for the request and for
// the response ("Request must be smaller than 6291556 bytes for the Invoke
// operation").
const invokePayloadLimit = 6291556

// Errors an invocation can end with besides the handler's own.
var (
	errTimeout = errors.New("task timed out")
	errPanic   = errors.New("handler panicked")
)

// handlerError is the error a handler returned, as opposed to the runtime's
// own (timeout, panic).
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }
func (e *handlerError) Unwrap() error { return e.err }

// function is one hosted Lambda function. Like Lambda it keeps a pool of
// execution environments (handler instances): an environment serves one
// invocation at a time, a busy pool grows by a cold start (NewHandler), and an
// environment whose invocation timed out or panicked is discarded, because
// Lambda would have stopped that process.
type function struct {
	spec topology.Function
	arn  string
	env  map[string]string // what topology declares, resolved
	// served are the endpoints the stack serves itself
	// (AWS_ENDPOINT_URL_LAMBDA), read through getenv but not declared, so
	// not in env (nor the manifest).
	served     map[string]string
	newHandler NewHandlerFunc
	initCtx    context.Context // lives as long as the stack; cold starts use it
	log        *slog.Logger

	mu   sync.Mutex
	idle []lambda.Handler

	// usage is what Lambda would bill: invocations and their durations.
	usageMu  sync.Mutex
	usage    Usage
	inFlight int
}

// Usage is what a function's invocations cost, as Lambda bills them: how many
// ran and how long in all (GB-seconds are Busy times the function's memory),
// and the most that ran at once (CloudWatch's ConcurrentExecutions, Maximum).
type Usage struct {
	Invocations     int64
	Busy            time.Duration
	PeakConcurrency int
}

// begin counts an invocation that starts; account, one that ended after d.
func (f *function) begin() {
	f.usageMu.Lock()
	f.inFlight++
	f.usage.PeakConcurrency = max(f.usage.PeakConcurrency, f.inFlight)
	f.usageMu.Unlock()
}

func (f *function) account(d time.Duration) {
	f.usageMu.Lock()
	f.inFlight--
	f.usage.Invocations++
	f.usage.Busy += d
	f.usageMu.Unlock()
}

func (f *function) used() Usage {
	f.usageMu.Lock()
	defer f.usageMu.Unlock()
	return f.usage
}

func newFunction(ctx context.Context, spec topology.Function, arn string, env, served map[string]string, nh NewHandlerFunc, log *slog.Logger) (*function, error) {
	f := &function{spec: spec, arn: arn, env: env, served: served, newHandler: nh, initCtx: ctx, log: log.With("function", spec.ID)}
	// Build the first environment now so a broken configuration fails Start,
	// not the first request.
	h, err := f.coldStart()
	if err != nil {
		return nil, err
	}
	f.idle = append(f.idle, h)
	return f, nil
}

func (f *function) getenv(name string) string {
	if v, ok := f.env[name]; ok {
		return v
	}
	return f.served[name]
}

func (f *function) coldStart() (lambda.Handler, error) {
	h, err := f.newHandler(f.initCtx, f.spec.ID, f.getenv)
	if err != nil {
		return nil, fmt.Errorf("init function %s: %w", f.spec.ID, err)
	}
	if h == nil {
		return nil, fmt.Errorf("init function %s: NewHandler returned no handler", f.spec.ID)
	}
	return lambda.NewHandler(h), nil
}

func (f *function) acquire() (lambda.Handler, error) {
	f.mu.Lock()
	if n := len(f.idle); n > 0 {
		h := f.idle[n-1]
		f.idle = f.idle[:n-1]
		f.mu.Unlock()
		return h, nil
	}
	f.mu.Unlock()
	return f.coldStart()
}

func (f *function) release(h lambda.Handler) {
	f.mu.Lock()
	f.idle = append(f.idle, h)
	f.mu.Unlock()
}

// invoke runs one invocation the way Lambda's Go runtime does: the JSON payload
// goes through lambda.NewHandler(h).Invoke, the context carries the deadline
// (now + the function's timeout) and a lambdacontext.LambdaContext with a
// fresh request ID and the function ARN. When the deadline passes first the
// invocation fails with errTimeout even if the handler ignores its context.
func (f *function) invoke(ctx context.Context, payload []byte) ([]byte, error) {
	h, err := f.acquire()
	if err != nil {
		return nil, err
	}
	reqID := newUUID()
	start := time.Now()
	f.begin()
	defer func() { f.account(time.Since(start)) }()
	ctx, cancel := context.WithTimeout(ctx, f.spec.Timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: reqID, InvokedFunctionArn: f.arn})

	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- result{err: fmt.Errorf("%w: %v", errPanic, v)}
			}
		}()
		out, err := h.Invoke(ctx, payload)
		// Invoke's answer is the handler's pooled output buffer, valid
		// only until the environment's next invocation: keep a copy, or
		// the caller reads it while another invocation writes it.
		done <- result{out: bytes.Clone(out), err: err}
	}()

	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		select {
		case r = <-done: // finished just in time
		default:
			// The environment is still busy; drop it, as Lambda would.
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("function %s request %s: invocation abandoned: %w", f.spec.ID, reqID, context.Cause(ctx))
			}
			f.log.Warn("handler still running at its deadline; environment discarded", "request_id", reqID, "timeout", f.spec.Timeout)
			return nil, fmt.Errorf("function %s request %s: %w after %s", f.spec.ID, reqID, errTimeout, f.spec.Timeout)
		}
	}
	if errors.Is(r.err, errPanic) {
		return nil, fmt.Errorf("function %s request %s: %w", f.spec.ID, reqID, r.err)
	}
	f.release(h)
	if r.err != nil {
		return nil, fmt.Errorf("function %s request %s: %w", f.spec.ID, reqID, &handlerError{r.err})
	}
	if len(r.out) > invokePayloadLimit {
		return nil, fmt.Errorf("function %s request %s: response of %d bytes exceeds Lambda's %d byte limit", f.spec.ID, reqID, len(r.out), invokePayloadLimit)
	}
	return r.out, nil
}

// newUUID returns a random (version 4) UUID, the form of Lambda request IDs.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// functionARN is the ARN Lambda reports as InvokedFunctionArn.
func functionARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, account, name)
}
