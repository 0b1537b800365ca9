package runner

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/topology"
)

// fakeFunctions is a NewHandlerFunc whose handlers are function fields, so
// each test decides what the functions do. A nil field answers with a
// zero-value success.
type fakeFunctions struct {
	http func(ctx context.Context, id string, getenv app.Getenv, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
	sqs  func(ctx context.Context, id string, getenv app.Getenv, ev events.SQSEvent) (events.SQSEventResponse, error)
	// scheduled handles a scheduled function's invocations.
	scheduled func(ctx context.Context, id string, ev events.EventBridgeEvent) error
	// init, when set, runs at every cold start and can fail it.
	init func(id string) error
}

func (f *fakeFunctions) newHandler(_ context.Context, id string, getenv app.Getenv) (any, error) {
	if f.init != nil {
		if err := f.init(id); err != nil {
			return nil, err
		}
	}
	fn, _ := topology.New("x").Function(id)
	if fn.Schedule > 0 {
		return func(ctx context.Context, ev events.EventBridgeEvent) error {
			if f.scheduled == nil {
				return nil
			}
			return f.scheduled(ctx, id, ev)
		}, nil
	}
	if fn.Source != nil {
		return app.SQSHandler(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			if f.sqs == nil {
				return events.SQSEventResponse{}, nil
			}
			return f.sqs(ctx, id, getenv, ev)
		}), nil
	}
	return app.HTTPHandler(func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if f.http == nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
		}
		return f.http(ctx, id, getenv, req)
	}), nil
}

// testLogger logs to stderr with -v and is silent otherwise.
func testLogger(t testing.TB) *slog.Logger {
	t.Helper()
	var w io.Writer = io.Discard
	if testing.Verbose() {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// testFunction hosts one handler value (any signature lambda.NewHandler takes).
func testFunction(t testing.TB, id string, timeout time.Duration, handler any) *function {
	t.Helper()
	spec := topology.Function{ID: id, Name: "test-" + id, Timeout: timeout}
	nh := func(context.Context, string, app.Getenv) (any, error) { return handler, nil }
	f, err := newFunction(context.Background(), spec, functionARN("us-east-1", "000000000000", spec.Name), map[string]string{}, nil, nh, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fakeSQS is an in-memory standard queue behind the sqsAPI a mapping uses.
// A receive hands out visible messages at once; with none visible it waits
// a moment (a long poll cut short, so scale-down tests run fast) or until
// its context ends, and comes back empty. Receipt handles are message IDs.
type fakeSQS struct {
	// perReceive, when positive, is the most one receive returns, as SQS
	// may return fewer than asked.
	perReceive int
	// received, when set, is called with every non-empty receive's message
	// IDs.
	received func(ids []string)

	mu sync.Mutex
	// empty, when set, is called after every empty receive; set it under
	// mu while the queue is in use.
	empty    func()
	visible  []sqstypes.Message
	deleted  map[string]bool
	released []string
}

var _ sqsAPI = (*fakeSQS)(nil)

// send makes n more messages visible, with IDs from prefix.
func (q *fakeSQS) send(prefix string, n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range n {
		id := prefix + strconv.Itoa(i)
		q.visible = append(q.visible, sqstypes.Message{MessageId: aws.String(id), ReceiptHandle: aws.String(id), Body: aws.String("{}")})
	}
}

func (q *fakeSQS) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	q.mu.Lock()
	n := min(int(in.MaxNumberOfMessages), len(q.visible))
	if q.perReceive > 0 {
		n = min(n, q.perReceive)
	}
	msgs := q.visible[:n:n]
	q.visible = q.visible[n:]
	empty := q.empty
	q.mu.Unlock()
	if n > 0 {
		if q.received != nil {
			ids := make([]string, n)
			for i, m := range msgs {
				ids[i] = aws.ToString(m.MessageId)
			}
			q.received(ids)
		}
		return &sqs.ReceiveMessageOutput{Messages: msgs}, nil
	}
	if in.WaitTimeSeconds > 0 {
		sleep(ctx, 5*time.Millisecond)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if empty != nil {
		empty()
	}
	return &sqs.ReceiveMessageOutput{}, nil
}

func (q *fakeSQS) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted == nil {
		q.deleted = map[string]bool{}
	}
	for _, e := range in.Entries {
		q.deleted[aws.ToString(e.ReceiptHandle)] = true
	}
	return &sqs.DeleteMessageBatchOutput{}, nil
}

func (q *fakeSQS) ChangeMessageVisibilityBatch(_ context.Context, in *sqs.ChangeMessageVisibilityBatchInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, e := range in.Entries {
		if e.VisibilityTimeout == 0 {
			q.released = append(q.released, aws.ToString(e.ReceiptHandle))
		}
	}
	return &sqs.ChangeMessageVisibilityBatchOutput{}, nil
}

// counts returns how many messages were deleted and which were released.
func (q *fakeSQS) counts() (deleted int, released []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.deleted), append([]string(nil), q.released...)
}
