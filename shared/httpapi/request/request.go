// Package request reads API Gateway (payload format 2.0) and Function URL
// requests: headers, the body, and the time left to answer. It imports no
// logstream package, so a handler that answers in its own shape (the Loki
// bridge) shares these with httpapi without linking httpapi's domain.
package request

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// ErrBase64 is returned for a base64-flagged body that does not decode.
var ErrBase64 = errors.New("body is not valid base64")

// Body returns the request body, decoding the base64 that Function URLs and
// HTTP APIs apply to binary bodies (protobuf, anything compressed).
func Body(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if !req.IsBase64Encoded {
		return []byte(req.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, ErrBase64
	}
	return b, nil
}

// Size is the body's size as the client sent it, without decoding it:
// API Gateway's base64 of a binary body counts as the bytes it encodes.
func Size(req events.APIGatewayV2HTTPRequest) int {
	n := len(req.Body)
	if !req.IsBase64Encoded {
		return n
	}
	pad := n - len(strings.TrimRight(req.Body, "="))
	return max(0, n/4*3+(n%4)*3/4-pad)
}

// BodyReader is Body as a reader, with the body's size. A text body is read
// in place, not copied: for a handler that streams the body (the Loki
// bridge), plain JSON is the largest body there is.
func BodyReader(req events.APIGatewayV2HTTPRequest) (io.Reader, int, error) {
	if !req.IsBase64Encoded {
		return strings.NewReader(req.Body), len(req.Body), nil
	}
	b, err := Body(req)
	if err != nil {
		return nil, 0, err
	}
	return bytes.NewReader(b), len(b), nil
}

// Header returns a request header. Function URLs and HTTP APIs lower-case
// header names, so that is looked up first; any other producer is matched
// without regard to case, as HTTP requires (RFC 9110 §5.1).
func Header(req events.APIGatewayV2HTTPRequest, name string) string {
	name = strings.ToLower(name)
	if v, ok := req.Headers[name]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// BeforeDeadline is ctx with its deadline brought forward by margin, so
// work that runs late is answered and logged by the handler instead of the
// function being killed with no answer and no log line.
func BeforeDeadline(ctx context.Context, margin time.Duration) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-margin))
	}
	return context.WithCancel(ctx)
}
