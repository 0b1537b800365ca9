package sink

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// The status of a destination's answer reaches WithAnswerStatus's reader,
// whether the sender makes its request with Do or through the AWS SDK's
// client; without the context value nothing is recorded.
func TestAnswerStatusIsRecorded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(202)
	}))
	defer srv.Close()
	get := func(ctx context.Context, path string) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path, nil)
		return req
	}

	ctx, answered := WithAnswerStatus(context.Background())
	if answered() != 0 {
		t.Fatalf("status %d before any answer", answered())
	}
	if _, err := Do(srv.Client(), get(ctx, "/ok"), Secrets{}); err != nil || answered() != 202 {
		t.Fatalf("Do: err %v, status %d, want 202", err, answered())
	}
	if ans, _ := Do(srv.Client(), get(ctx, "/fail"), Secrets{}); ans == nil || answered() != 503 {
		t.Fatalf("Do: status %d, want the last answer's, 503", answered())
	}
	if _, err := Do(srv.Client(), get(context.Background(), "/ok"), Secrets{}); err != nil {
		t.Fatal(err)
	}

	ctx, answered = WithAnswerStatus(context.Background())
	c := StatusRecordingClient{Client: srv.Client()}
	resp, err := c.Do(get(ctx, "/ok"))
	if err != nil || answered() != 202 {
		t.Fatalf("SDK client: err %v, status %d, want 202", err, answered())
	}
	resp.Body.Close()
	failing := StatusRecordingClient{Client: doerFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("refused") })}
	ctx, answered = WithAnswerStatus(context.Background())
	if _, err := failing.Do(get(ctx, "/ok")); err == nil || answered() != 0 {
		t.Fatalf("no answer: err %v, status %d, want 0", err, answered())
	}
}
