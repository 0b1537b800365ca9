// Package webhook delivers events to an "http" stream: one POST per batch,
// the events as JSON lines.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/stream"
)

// Limits of one webhook request: generic receivers (and the proxies in front
// of them) commonly cap bodies at 1 MiB or a little more.
var Limits = deliver.Limits{MaxBytes: 1 << 20, MaxEvents: 1000}

// ContentType of the request body: newline-delimited JSON.
const ContentType = "application/x-ndjson"

// Sender posts batches to the stream's endpoint. Its Client must enforce
// netguard's policy and a timeout.
type Sender struct {
	Client    *http.Client
	UserAgent string
}

var _ deliver.Sender = (*Sender)(nil)

// StatusError is a non-2xx answer from the receiver.
type StatusError struct {
	StatusCode int
	Body       string // the first bytes of the answer, for the operator
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("receiver answered %d: %q", e.StatusCode, e.Body)
}

// Send posts the events as JSON lines and succeeds only on a 2xx answer.
func (s *Sender) Send(ctx context.Context, st stream.Stream, evs []json.RawMessage) error {
	cfg, err := st.HTTP()
	if err != nil {
		return err
	}
	size := 0
	for _, e := range evs {
		size += len(e) + 1
	}
	body := make([]byte, 0, size)
	for _, e := range evs {
		body = append(body, e...)
		body = append(body, '\n')
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.Endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request for stream %s: %w", st.ID, err)
	}
	for k, v := range cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("User-Agent", s.UserAgent)
	resp, err := s.Client.Do(req)
	if err != nil {
		return fmt.Errorf("post to stream %s: %w", st.ID, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	// Drain a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{StatusCode: resp.StatusCode, Body: string(snippet)}
	}
	return nil
}
