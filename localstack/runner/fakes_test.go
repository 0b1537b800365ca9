package runner

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/topology"
)

// fakeFunctions is a NewHandlerFunc whose handlers are function fields, so
// each test decides what the functions do. A nil field answers with a
// zero-value success.
type fakeFunctions struct {
	http func(ctx context.Context, id string, getenv app.Getenv, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
	sqs  func(ctx context.Context, id string, getenv app.Getenv, ev events.SQSEvent) (events.SQSEventResponse, error)
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
