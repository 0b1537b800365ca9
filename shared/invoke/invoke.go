// Package invoke is the API's manage.Tester in a deployment: it sends the
// test route's event through the stream's destination type's own delivery
// function, invoked synchronously with Lambda's Invoke API. So the API links
// no sender and holds no destination's credentials or grants, and the test
// takes the path real deliveries take: the deployed function, its
// configuration, its role and its network.
package invoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/testevent"
)

// LambdaAPI is the part of the Lambda client the Tester uses.
type LambdaAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// margin is kept before the caller's deadline: the invocation is cut short
// then, so the API still answers (502) before Lambda stops it.
const margin = 500 * time.Millisecond

// maxErrorText is how much of a function error's document an error keeps:
// enough to name the cause in the API's log.
const maxErrorText = 300

// Tester invokes the delivery function of the stream's destination type.
type Tester struct {
	Client LambdaAPI
	// Functions names each destination type's delivery function; a type
	// without one is manage.ErrNotTestable.
	Functions map[string]string
}

var _ manage.Tester = (*Tester)(nil)

// Test invokes the delivery function with a testevent.Payload naming s (not
// its configuration: the function reads the stream and opens its secrets
// itself) and returns the function's answer, the destination's verdict. An
// invocation that fails (function missing, throttled, timed out, or its
// handler failed) is an error.
func (t *Tester) Test(ctx context.Context, s stream.Stream, event json.RawMessage) (manage.TestResult, error) {
	fn := t.Functions[s.DestinationType]
	if fn == "" {
		return manage.TestResult{}, manage.ErrNotTestable
	}
	payload, err := json.Marshal(testevent.Payload{Test: &testevent.Request{
		ProjectID: s.ProjectID, StreamID: s.ID, Version: s.Version, Event: event}})
	if err != nil {
		return manage.TestResult{}, fmt.Errorf("test event for stream %s: %w", s.ID, err)
	}
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-margin))
		defer cancel()
	}
	out, err := t.Client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   &fn,
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return manage.TestResult{}, fmt.Errorf("invoke %s: no answer in time: %w", fn, err)
		}
		return manage.TestResult{}, fmt.Errorf("invoke %s: %w", fn, err)
	}
	// Lambda answers 200 even when the handler failed; X-Amz-Function-Error
	// (FunctionError) says so, and the payload is the error document.
	if out.FunctionError != nil {
		text := string(out.Payload)
		if len(text) > maxErrorText {
			text = text[:maxErrorText] + "…"
		}
		return manage.TestResult{}, fmt.Errorf("invoke %s: function error (%s): %s", fn, *out.FunctionError, text)
	}
	var res manage.TestResult
	if err := json.Unmarshal(out.Payload, &res); err != nil {
		return manage.TestResult{}, fmt.Errorf("invoke %s: answer is not a test result: %w", fn, err)
	}
	return res, nil
}
