package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// pollInterval is how often a waiting command reads its job: a job reports
// progress as it goes, and a second keeps the bar live at the cost of one
// small read.
const pollInterval = time.Second

// jobKind is what following a job needs to know of its kind: dead-letter
// redrives and purges, and replays, are followed the same way.
type jobKind[J any] struct {
	// path is the route that reads the job with this id.
	path func(s *session, id string) string
	// id and final read a job's id and whether it will do no more.
	id    func(J) string
	final func(J) bool
	// status is a job's progress: done of total, and the line beside the
	// bar.
	status func(J) (done, total int, line string)
	// show is the command that shows a job by id, for the hint when the
	// CLI stops following one.
	show string
}

// follow reads the job every pollInterval until it ends, drawing its
// progress on stderr, and returns its last answer.
func follow[J any](ctx context.Context, s *session, k jobKind[J], j J) ([]byte, J, error) {
	p := newProgress(s.stderr, s.isTerminal(s.stderr))
	p.show(k.status(j))
	failures := 0
	for {
		if err := s.wait(ctx, pollInterval); err != nil {
			p.end()
			return nil, j, err
		}
		resp, err := s.api.do(ctx, request{method: http.MethodGet, path: k.path(s, k.id(j))})
		if err != nil && transient(err) && failures < maxPollFailures-1 {
			// A job can run for minutes or hours: one lost poll is no
			// reason to stop following it.
			failures++
			continue
		}
		if err != nil {
			p.end()
			return nil, j, hinted{err, "the job goes on without the CLI: '" + k.show + " " + k.id(j) + "' shows where it is"}
		}
		failures = 0
		var next J
		if err := json.Unmarshal(resp.body, &next); err != nil {
			p.end()
			return nil, j, fmt.Errorf("read the job the API answered: %w", err)
		}
		j = next
		p.show(k.status(j))
		if k.final(j) {
			p.end()
			return resp.body, j, nil
		}
	}
}

// maxPollFailures is how many polls in a row may fail for want of an answer
// (the network, a throttled or failing gateway) before the CLI stops
// following a job.
const maxPollFailures = 3

// transient reports whether a poll's error may pass on its own: no answer,
// 429, or a 5xx.
func transient(err error) bool {
	var te *transportError
	var ae *apiError
	switch {
	case errors.As(err, &te):
		return true
	case errors.As(err, &ae):
		return ae.Status == http.StatusTooManyRequests || ae.Status >= 500
	}
	return false
}

// progress draws a job's progress on stderr: a bar redrawn in place on a
// terminal, or a line each time the counts change elsewhere (a CI log
// would keep every redraw).
type progress struct {
	w        io.Writer
	terminal bool
	last     string
	drawn    bool
}

func newProgress(w io.Writer, terminal bool) *progress { return &progress{w: w, terminal: terminal} }

// barWidth is the bar's length in cells, short enough for an 80-column
// terminal with the counts beside it.
const barWidth = 30

// show draws done of total with line beside the bar; a total of 0 is a
// job with nothing to do, drawn full.
func (p *progress) show(done, total int, line string) {
	if !p.terminal {
		if line != p.last {
			fmt.Fprintln(p.w, line)
		}
		p.last = line
		return
	}
	filled := barWidth
	if total > 0 {
		filled = min(max(done, 0), total) * barWidth / total
	}
	bar := strings.Repeat("#", filled) + strings.Repeat(".", barWidth-filled)
	// \r and erase-line (ESC [K) redraw the line in place.
	fmt.Fprintf(p.w, "\r\x1b[K[%s] %s", bar, line)
	p.drawn = true
}

// end leaves the terminal's cursor on a fresh line.
func (p *progress) end() {
	if p.terminal && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// isTerminal reports whether w is a terminal, where a redrawn bar reads
// well; tests replace it.
func (c *cli) isTerminal(w io.Writer) bool {
	if c.terminal != nil {
		return c.terminal(w)
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// wait sleeps d, or less if ctx ends; tests replace it.
func (c *cli) wait(ctx context.Context, d time.Duration) error {
	if c.sleep != nil {
		return c.sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// parseTimeFlag reads a --flag's RFC 3339 time; "" is no time (nil).
func parseTimeFlag(flag, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, usagef("--%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z, not %q", flag, v)
	}
	return &t, nil
}

// postJob sends the request that starts a job, its body as JSON, with the
// Idempotency-Key (when key is set) that makes repeating the command return
// the job it started instead of starting another.
func (s *session) postJob(ctx context.Context, path string, body any, key string) (*response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	h := jsonHeader()
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	return s.api.do(ctx, request{method: http.MethodPost, path: path, header: h, body: b})
}

// noteKeyUsed says so when the API answered 200, not 202: the job is the
// one an earlier request with the same Idempotency-Key started.
func (s *session) noteKeyUsed(resp *response, what, id string) {
	if resp.status == http.StatusOK {
		fmt.Fprintf(s.stderr, "note: the idempotency key was used before: this is %s %s, which it started\n", what, cell(id))
	}
}
