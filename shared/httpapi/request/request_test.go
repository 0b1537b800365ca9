package request

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func TestHeader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers map[string]string
		ask     string
		want    string
	}{
		{name: "lower case, as API Gateway sends", headers: map[string]string{"content-type": "a"}, ask: "Content-Type", want: "a"},
		{name: "mixed case from another producer", headers: map[string]string{"X-Scope-OrgID": "acme"}, ask: "x-scope-orgid", want: "acme"},
		{name: "absent", headers: map[string]string{"accept": "x"}, ask: "authorization", want: ""},
		{name: "no headers", ask: "authorization", want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Header(events.APIGatewayV2HTTPRequest{Headers: tc.headers}, tc.ask); got != tc.want {
				t.Errorf("Header(%q) = %q, want %q", tc.ask, got, tc.want)
			}
		})
	}
}

func TestBodyReader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		req     events.APIGatewayV2HTTPRequest
		want    string
		wantErr error
	}{
		{name: "text", req: events.APIGatewayV2HTTPRequest{Body: `{"a":1}`}, want: `{"a":1}`},
		{name: "base64", req: events.APIGatewayV2HTTPRequest{IsBase64Encoded: true, Body: base64.StdEncoding.EncodeToString([]byte{0, 1, 0xff})}, want: "\x00\x01\xff"},
		{name: "bad base64", req: events.APIGatewayV2HTTPRequest{IsBase64Encoded: true, Body: "%%%"}, wantErr: ErrBase64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, size, err := BodyReader(tc.req)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			b, berr := Body(tc.req)
			if !errors.Is(berr, tc.wantErr) {
				t.Fatalf("Body err %v, want %v", berr, tc.wantErr)
			}
			if err != nil {
				return
			}
			got, _ := io.ReadAll(r)
			if string(got) != tc.want || size != len(tc.want) || string(b) != tc.want {
				t.Errorf("BodyReader %q (size %d), Body %q; want %q", got, size, b, tc.want)
			}
		})
	}
}

func TestBeforeDeadline(t *testing.T) {
	deadline := time.Now().Add(time.Minute)
	withDeadline, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want time.Time // zero: no deadline
	}{
		{name: "brought forward", ctx: withDeadline, want: deadline.Add(-time.Second)},
		{name: "no deadline", ctx: context.Background()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := BeforeDeadline(tc.ctx, time.Second)
			defer cancel()
			got, ok := ctx.Deadline()
			if ok != !tc.want.IsZero() || !got.Equal(tc.want) {
				t.Errorf("deadline %v (%v), want %v", got, ok, tc.want)
			}
		})
	}
}

// Size is the decoded length of a base64 body, padded or not, and the
// length of a text body, without decoding either.
func TestSize(t *testing.T) {
	for _, body := range []string{"", "a", "ab", "abc", "abcd", "\x00\xff\x10 gzip bytes…"} {
		padded := events.APIGatewayV2HTTPRequest{Body: base64.StdEncoding.EncodeToString([]byte(body)), IsBase64Encoded: true}
		raw := events.APIGatewayV2HTTPRequest{Body: base64.RawStdEncoding.EncodeToString([]byte(body)), IsBase64Encoded: true}
		text := events.APIGatewayV2HTTPRequest{Body: body}
		for name, req := range map[string]events.APIGatewayV2HTTPRequest{"padded": padded, "unpadded": raw, "text": text} {
			if got := Size(req); got != len(body) {
				t.Errorf("%s %q: size %d, want %d", name, body, got, len(body))
			}
		}
	}
}
