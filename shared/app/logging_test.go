package app

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/ingest"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/stream"
)

// recorder notes, for every record, whether its context carried the Lambda
// invocation: lambdacontext's handler takes the request id from there.
type recorder struct {
	mu      sync.Mutex
	records int
	missing []string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(ctx context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records++
	if lc, ok := lambdacontext.FromContext(ctx); !ok || lc.AwsRequestID == "" {
		r.missing = append(r.missing, rec.Message)
	}
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

type streamsFunc func(ctx context.Context, p, s string) (stream.Stream, error)

func (f streamsFunc) Get(ctx context.Context, p, s string) (stream.Stream, error) {
	return f(ctx, p, s)
}
func (f streamsFunc) Active(ctx context.Context, p string) ([]stream.Stream, error) {
	st, err := f(ctx, p, "str_a")
	return []stream.Stream{st}, err
}

type senderFunc func() error

func (f senderFunc) Send(context.Context, stream.Stream, deliver.Batch) error { return f() }

type publisherFunc func() error

func (f publisherFunc) Publish(context.Context, string, []envelope.Message) error { return f() }

// Every line the handlers log carries the invocation's request id, so one
// request can be followed through CloudWatch.
func TestLogLinesCarryTheRequestID(t *testing.T) {
	rec := &recorder{}
	log := slog.New(rec)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-123"})
	active := streamsFunc(func(_ context.Context, p, s string) (stream.Stream, error) {
		return stream.Stream{ID: s, ProjectID: p, DestinationType: "http", Status: stream.StatusActive}, nil
	})

	core := &deliver.Core{Streams: active, Sender: senderFunc(func() error { return errors.New("500") }),
		Limits: deliver.Limits{MaxBytes: 1 << 20, MaxEvents: 10}, Log: log}
	msgs, _ := envelope.Pack("p", "str_a", []json.RawMessage{json.RawMessage(`{}`)}, envelope.MaxMessageBytes)
	core.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: string(msgs[0].Body)}, {MessageId: "m2", Body: "junk"}}})

	svc := &ingest.Service{Auth: adminAuth{}, Streams: active, Publisher: publisherFunc(func() error { return errors.New("down") }),
		QueueURLs: map[string]string{"http": "q"}, Limits: logevent.DefaultLimits, Log: log}
	svc.Handle(ctx, events.APIGatewayV2HTTPRequest{RouteKey: ingest.RouteIngest,
		PathParameters: map[string]string{"project_id": "p"}, Body: `[{}]`})
	svc.Handle(ctx, events.APIGatewayV2HTTPRequest{RouteKey: ingest.RouteIngest,
		PathParameters: map[string]string{"project_id": "p"}, Body: `[`})

	if rec.records < 4 {
		t.Fatalf("only %d log records: the test no longer exercises the logging paths", rec.records)
	}
	if len(rec.missing) > 0 {
		t.Fatalf("log lines without the request id: %q", rec.missing)
	}
}

type adminAuth struct{}

func (adminAuth) Authenticate(context.Context, string) (apikey.Key, error) {
	return apikey.Key{ID: apikey.AdminID, Admin: true, Projects: []string{apikey.AllProjects}, Access: apikey.AccessWrite}, nil
}
