package invoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/testevent"
)

type lambdaFunc func(ctx context.Context, in *lambda.InvokeInput) (*lambda.InvokeOutput, error)

func (f lambdaFunc) Invoke(ctx context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	return f(ctx, in)
}

const ev = `{"event_id":"test_1","type":"logstream.test"}`

func TestTester(t *testing.T) {
	s := stream.Stream{ID: "str_1", ProjectID: "p", DestinationType: "http", Version: 7,
		DestinationConfig: json.RawMessage(`{"endpoint":"https://h.example.com"}`)}
	answer := func(payload string) func() (*lambda.InvokeOutput, error) {
		return func() (*lambda.InvokeOutput, error) {
			return &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(payload)}, nil
		}
	}
	tests := []struct {
		name    string
		stream  func(s stream.Stream) stream.Stream
		answer  func() (*lambda.InvokeOutput, error)
		want    manage.TestResult
		wantErr string
		notTest bool // manage.ErrNotTestable, and no invocation
	}{
		{name: "accepted", answer: answer(`{"ok":true,"status_code":202,"message":"the destination accepted the test event"}`),
			want: manage.TestResult{OK: true, StatusCode: 202, Message: "the destination accepted the test event"}},
		{name: "refused by the destination", answer: answer(`{"ok":false,"status_code":401,"message":"receiver answered 401: \"[REDACTED]\""}`),
			want: manage.TestResult{StatusCode: 401, Message: `receiver answered 401: "[REDACTED]"`}},
		{name: "invoke fails", answer: func() (*lambda.InvokeOutput, error) {
			return nil, &types.TooManyRequestsException{Message: aws.String("Rate exceeded")}
		}, wantErr: "invoke logstream-deliver-http: TooManyRequestsException"},
		{name: "function missing", answer: func() (*lambda.InvokeOutput, error) {
			return nil, &types.ResourceNotFoundException{Message: aws.String("Function not found")}
		}, wantErr: "ResourceNotFoundException"},
		{name: "function error", answer: func() (*lambda.InvokeOutput, error) {
			return &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"),
				Payload: []byte(`{"errorMessage":"test stream str_1: stream not found","errorType":"wrapError"}`)}, nil
		}, wantErr: "function error (Unhandled): {\"errorMessage\":\"test stream str_1: stream not found\""},
		{name: "answer not a result", answer: answer(`null x`), wantErr: "not a test result"},
		{name: "type without a function", stream: func(s stream.Stream) stream.Stream { s.DestinationType = "s3"; return s }, notTest: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := s
			if tc.stream != nil {
				st = tc.stream(st)
			}
			invoked := false
			tester := &Tester{Functions: map[string]string{"http": "logstream-deliver-http"},
				Client: lambdaFunc(func(ctx context.Context, in *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
					invoked = true
					var p testevent.Payload
					if aws.ToString(in.FunctionName) != "logstream-deliver-http" || in.InvocationType != types.InvocationTypeRequestResponse {
						t.Errorf("invoked %s (%s)", aws.ToString(in.FunctionName), in.InvocationType)
					}
					// The payload names the stream; it never carries its configuration.
					if err := json.Unmarshal(in.Payload, &p); err != nil || p.Test == nil || p.Test.ProjectID != "p" || p.Test.StreamID != "str_1" ||
						p.Test.Version != 7 || string(p.Test.Event) != ev || strings.Contains(string(in.Payload), "h.example.com") {
						t.Errorf("payload %s", in.Payload)
					}
					return tc.answer()
				})}
			got, err := tester.Test(context.Background(), st, json.RawMessage(ev))
			switch {
			case tc.notTest:
				if !errors.Is(err, manage.ErrNotTestable) || invoked {
					t.Fatalf("err = %v (invoked %v), want manage.ErrNotTestable without an invocation", err, invoked)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
			case err != nil || got != tc.want:
				t.Fatalf("%+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// The invocation ends before the caller's deadline, so the API still answers.
func TestTesterLeavesAMargin(t *testing.T) {
	deadline := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var got time.Time
	tester := &Tester{Functions: map[string]string{"http": "f"}, Client: lambdaFunc(func(ctx context.Context, _ *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
		got, _ = ctx.Deadline()
		return nil, ctx.Err()
	})}
	_, err := tester.Test(ctx, stream.Stream{DestinationType: "http"}, json.RawMessage(ev))
	if want := deadline.Add(-margin); !got.Equal(want) || !strings.Contains(fmt.Sprint(err), "no answer in time") {
		t.Fatalf("invoked with deadline %s, err %v; want %s and a timeout", got, err, want)
	}
}
