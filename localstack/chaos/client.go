package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/manage"
)

// Client calls the stack's HTTP API with one key: the admin key, or a
// project's. The e2e tests use it too.
type Client struct {
	base, key string
	http      *http.Client
}

// NewClient calls the API at base (the gateway's URL) with key; a nil hc
// is http.DefaultClient.
func NewClient(base, key string, hc *http.Client) Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return Client{base: base, key: key, http: hc}
}

// Call sends body (JSON, or NDJSON for ingestion) and decodes a 2xx answer
// into out when out is set. A non-2xx answer is an error that names the
// status (Status reads it back).
func (c Client) Call(ctx context.Context, method, path, contentType string, body []byte, out any) (int, error) {
	return c.CallKeyed(ctx, method, path, contentType, "", body, out)
}

// CallKeyed is Call with an Idempotency-Key ("": none).
func (c Client) CallKeyed(ctx context.Context, method, path, contentType, idempotencyKey string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, &apiError{method: method, path: path, status: resp.StatusCode, body: string(b)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode %q: %w", method, path, b, err)
		}
	}
	return resp.StatusCode, nil
}

type apiError struct {
	method, path string
	status       int
	body         string
}

// Status is the HTTP status of a non-2xx answer err reports, 0 if none.
func Status(err error) int {
	var e *apiError
	if errors.As(err, &e) {
		return e.status
	}
	return 0
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, e.body)
}

// JSON sends in as JSON (none when nil) and decodes a 2xx answer into out.
func (c Client) JSON(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	_, err := c.Call(ctx, method, path, "application/json", body, out)
	return err
}

// queuesEmpty reports whether every delivery queue and DLQ holds nothing:
// no message visible, in flight or delayed (admin key).
func (c Client) QueuesEmpty(ctx context.Context) (bool, string, error) {
	var q manage.QueuesResponse
	if err := c.JSON(ctx, http.MethodGet, "/v1/admin/queues", nil, &q); err != nil {
		return false, "", err
	}
	for _, t := range q.Queues {
		for _, d := range []struct {
			name string
			d    manage.QueueDepth
		}{{"queue", t.Queue}, {"dead-letter queue", t.DeadLetterQueue}} {
			if n := d.d.Messages + d.d.InFlight + d.d.Delayed; n > 0 {
				return false, fmt.Sprintf("the %s %s holds %d messages (%d visible, %d in flight, %d delayed)",
					t.DestinationType, d.name, n, d.d.Messages, d.d.InFlight, d.d.Delayed), nil
			}
		}
	}
	return true, "", nil
}

// DeadEvents pages through every dead event of the project that the
// query's filter matches (stream_id, reason, parked_after, parked_before,
// event_ids; nil: all), limit per page (none set: the most a page takes).
func (c Client) DeadEvents(ctx context.Context, project string, query url.Values, each func(deadletter.PeekedEvent)) error {
	cursor := ""
	for {
		q := url.Values{"limit": {fmt.Sprint(deadletter.MaxPeekLimit)}}
		for k, v := range query {
			q[k] = v
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page deadletter.Page
		if err := c.JSON(ctx, http.MethodGet, "/v1/projects/"+project+"/dead-letters/events?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		for _, e := range page.Data {
			each(e)
		}
		if page.NextCursor == "" {
			return nil
		}
		cursor = page.NextCursor
	}
}

// WaitJob polls a job until it is final.
func (c Client) WaitJob(ctx context.Context, project, id string, every time.Duration) (deadletter.Job, error) {
	for {
		var j deadletter.Job
		if err := c.JSON(ctx, http.MethodGet, "/v1/projects/"+project+"/dead-letters/jobs/"+id, nil, &j); err != nil {
			return j, err
		}
		if j.State.Final() {
			return j, nil
		}
		if !sleep(ctx, every) {
			return j, fmt.Errorf("job %s of %s still %s (%d of %d done): %w", id, project, j.State, j.Progress.Done, j.Progress.Total, ctx.Err())
		}
	}
}

// sleep waits d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
