package sink

import (
	"context"
	"net/http"
	"sync/atomic"
)

// statusKey carries a *atomic.Int32 in a request's context.
type statusKey struct{}

// WithAnswerStatus returns a context whose requests to destinations record
// the HTTP status of the last answer, and a function that reads it (0 when
// no answer came). A sender's Send reports a failure's status in its
// *StatusError but nothing for a success; the test route reads a success's
// status this way.
func WithAnswerStatus(ctx context.Context) (context.Context, func() int) {
	var last atomic.Int32
	return context.WithValue(ctx, statusKey{}, &last), func() int { return int(last.Load()) }
}

// recordStatus records code for ctx's WithAnswerStatus, if it has one.
func recordStatus(ctx context.Context, code int) {
	if last, ok := ctx.Value(statusKey{}).(*atomic.Int32); ok {
		last.Store(int32(code))
	}
}

// HTTPDoer is an HTTP client as the AWS SDK takes one (aws.HTTPClient).
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// StatusRecordingClient is an HTTP client for the AWS SDK senders
// (EventBridge, S3) that records each answer's status for WithAnswerStatus,
// as Do does for the senders that make their own requests. The SDK builds
// each request with the operation's context.
type StatusRecordingClient struct {
	Client HTTPDoer
}

// Do sends r with the wrapped client and records the answer's status.
func (c StatusRecordingClient) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.Client.Do(r)
	if err == nil {
		recordStatus(r.Context(), resp.StatusCode)
	}
	return resp, err
}
