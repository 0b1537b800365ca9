package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/manage"
)

// client calls the stack's HTTP API with one key.
type client struct {
	base, key string
	http      *http.Client
}

// call sends body (JSON, or NDJSON for ingestion) and decodes a 2xx answer
// into out when out is set. A non-2xx answer is an *apiError.
func (c client) call(ctx context.Context, method, path, contentType string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
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

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, e.body)
}

func (c client) json(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	_, err := c.call(ctx, method, path, "application/json", body, out)
	return err
}

// queuesEmpty reports whether every delivery queue and DLQ holds nothing:
// no message visible, in flight or delayed (admin key).
func (c client) queuesEmpty(ctx context.Context) (bool, string, error) {
	var q manage.QueuesResponse
	if err := c.json(ctx, http.MethodGet, "/v1/admin/queues", nil, &q); err != nil {
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

// deadEvents pages through every dead event of the project.
func (c client) deadEvents(ctx context.Context, project string, each func(deadletter.PeekedEvent)) error {
	cursor := ""
	for {
		q := url.Values{"limit": {fmt.Sprint(deadletter.MaxPeekLimit)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page deadletter.Page
		if err := c.json(ctx, http.MethodGet, "/v1/projects/"+project+"/dead-letters/events?"+q.Encode(), nil, &page); err != nil {
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

// waitJob polls a job until it is final.
func (c client) waitJob(ctx context.Context, project, id string, every time.Duration) (deadletter.Job, error) {
	for {
		var j deadletter.Job
		if err := c.json(ctx, http.MethodGet, "/v1/projects/"+project+"/dead-letters/jobs/"+id, nil, &j); err != nil {
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
