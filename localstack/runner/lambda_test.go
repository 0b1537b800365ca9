package runner

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// The stack's Lambda API answers aws-sdk-go-v2's lambda client as Lambda
// does: the handler's answer, a handler's failure as X-Amz-Function-Error
// with Lambda's error document, and Lambda's own errors as typed exceptions.
func TestLambdaInvoke(t *testing.T) {
	type in struct {
		Name string `json:"name"`
		Fail bool   `json:"fail"`
		Hang bool   `json:"hang"`
	}
	echo := testFunction(t, "echo", 50*time.Millisecond, func(ctx context.Context, v in) (map[string]string, error) {
		switch {
		case v.Fail:
			return nil, errors.New("stream not found")
		case v.Hang:
			<-ctx.Done()
			time.Sleep(20 * time.Millisecond) // past the deadline, as a handler that ignores it
			return nil, nil
		}
		return map[string]string{"hello": v.Name}, nil
	})
	api := &lambdaAPI{fns: map[string]*function{"echo": echo}, log: testLogger(t), invokeCtx: context.Background()}
	srv := httptest.NewServer(api)
	defer srv.Close()
	client := lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})

	tests := []struct {
		name          string
		function      string
		qualifier     string
		invocation    types.InvocationType
		payload       string
		wantStatus    int32
		wantPayload   string // exact, or the substring of a function error
		wantFuncError string
		wantErr       any // the exception type
	}{
		{name: "by name", function: "test-echo", payload: `{"name":"a"}`, wantStatus: 200, wantPayload: `{"hello":"a"}`},
		{name: "by ARN", function: echo.arn, payload: `{"name":"b"}`, wantStatus: 200, wantPayload: `{"hello":"b"}`},
		{name: "by partial ARN, $LATEST", function: "000000000000:function:test-echo:$LATEST", payload: `{}`, wantStatus: 200, wantPayload: `{"hello":""}`},
		{name: "qualifier $LATEST", function: "test-echo", qualifier: "$LATEST", payload: `{}`, wantStatus: 200, wantPayload: `{"hello":""}`},
		{name: "handler error", function: "test-echo", payload: `{"fail":true}`, wantStatus: 200,
			wantPayload: `{"errorMessage":"stream not found","errorType":"errorString"}`, wantFuncError: "Unhandled"},
		{name: "timeout", function: "test-echo", payload: `{"hang":true}`, wantStatus: 200,
			wantPayload: `"errorType":"Sandbox.Timedout"`, wantFuncError: "Unhandled"},
		{name: "payload the handler cannot take", function: "test-echo", payload: `[1]`, wantStatus: 200,
			wantPayload: `"errorMessage":"json: cannot unmarshal array`, wantFuncError: "Unhandled"},
		{name: "dry run", function: "test-echo", invocation: types.InvocationTypeDryRun, payload: `{}`, wantStatus: 204},
		{name: "event", function: "test-echo", invocation: types.InvocationTypeEvent, payload: `{}`, wantStatus: 202},
		{name: "unknown function", function: "test-nope", payload: `{}`, wantErr: &types.ResourceNotFoundException{}},
		{name: "another account's function", function: "111111111111:function:test-echo", payload: `{}`, wantErr: &types.ResourceNotFoundException{}},
		{name: "unknown version", function: "test-echo", qualifier: "7", payload: `{}`, wantErr: &types.ResourceNotFoundException{}},
		{name: "not JSON", function: "test-echo", payload: `{`, wantErr: &types.InvalidRequestContentException{}},
		{name: "too large", function: "test-echo", payload: `"` + strings.Repeat("x", invokePayloadLimit) + `"`, wantErr: &types.RequestTooLargeException{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			input := &lambda.InvokeInput{FunctionName: aws.String(tc.function), InvocationType: tc.invocation, Payload: []byte(tc.payload)}
			if tc.qualifier != "" {
				input.Qualifier = aws.String(tc.qualifier)
			}
			out, err := client.Invoke(context.Background(), input)
			if tc.wantErr != nil {
				target := tc.wantErr
				if err == nil || !errors.As(err, &target) {
					t.Fatalf("err = %v, want a %T", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.StatusCode != tc.wantStatus || aws.ToString(out.FunctionError) != tc.wantFuncError {
				t.Fatalf("status %d, function error %q; want %d, %q", out.StatusCode, aws.ToString(out.FunctionError), tc.wantStatus, tc.wantFuncError)
			}
			got := string(out.Payload)
			if tc.wantFuncError == "" && tc.wantPayload != "" && !jsonEqual(got, tc.wantPayload) ||
				tc.wantFuncError != "" && !strings.Contains(got, tc.wantPayload) {
				t.Fatalf("payload %s, want %s", got, tc.wantPayload)
			}
		})
	}
}

func jsonEqual(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && toJSON(x) == toJSON(y)
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
