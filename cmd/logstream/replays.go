package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/replay"
)

func (s *session) replayPath(id, action string) string {
	p := "/v1/projects/" + url.PathEscape(s.project) + "/replays"
	if id != "" {
		p += "/" + url.PathEscape(id)
	}
	if action != "" {
		p += "/" + action
	}
	return p
}

// replayJobs follows replays.
var replayJobs = jobKind[replay.Job]{
	path:   func(s *session, id string) string { return s.replayPath(id, "") },
	id:     func(j replay.Job) string { return j.ID },
	final:  func(j replay.Job) bool { return j.State.Final() },
	status: replayStatus,
	show:   "logstream replays get",
}

// replayStatus measures a replay by the events it has read of its total,
// the archive's count when it started: sent and filtered ones both move
// it on. That total is an upper bound (eventarchive.Size.Exact), so a
// replay that succeeds is drawn full whatever it read.
func replayStatus(j replay.Job) (done, total int, line string) {
	pr := j.Progress
	total = max(pr.Total, pr.Events)
	done = pr.Events
	if j.State == replay.StateSucceeded {
		done = total
	}
	line = fmt.Sprintf("replay %s: %d sent", j.State, pr.Sent)
	if pr.Filtered > 0 {
		line += fmt.Sprintf(", %d filtered", pr.Filtered)
	}
	line += fmt.Sprintf(" of %s events, %d/%d hours", upTo(total, j.Size.Exact), pr.HoursDone, pr.Hours)
	if j.State == replay.StateQueued && !j.NotBefore.IsZero() && j.NotBefore.After(j.UpdatedAt) {
		line += " (starts once the archive holds the window, at " + timeCell(j.NotBefore) + ")"
	}
	if j.CancelRequested && !j.State.Final() {
		line += " (cancel requested)"
	}
	return done, total, line
}

// upTo reads a count of the archive's index: exact, or an upper bound
// when the window cuts its first or last hour.
func upTo(n int, exact bool) string {
	if exact {
		return itoa(n)
	}
	return "at most " + itoa(n)
}

// errJobCancelled makes a waited-for replay that was cancelled exit 1: it
// did not send its window.
var errJobCancelled = errors.New("the replay was cancelled")

// printReplay prints a replay job: the API's JSON, or its fields.
func (s *session) printReplay(body []byte, j replay.Job) error {
	if s.json {
		return s.printRaw(body)
	}
	return printReplayJob(s.stdout, j)
}

// replayOutcome turns a waited-for replay that did not succeed into exit 1.
func replayOutcome(j replay.Job) error {
	switch j.State {
	case replay.StateFailed:
		if j.Error != "" {
			return fmt.Errorf("%w: %s", errJobFailed, j.Error)
		}
		return errJobFailed
	case replay.StateCancelled:
		return errJobCancelled
	}
	return nil
}

// waitReplay follows a replay to its end, prints it, and exits 1 unless it
// succeeded.
func (s *session) waitReplay(ctx context.Context, body []byte, j replay.Job) error {
	if !j.State.Final() {
		var err error
		if body, j, err = follow(ctx, s, replayJobs, j); err != nil {
			return err
		}
	}
	if err := s.printReplay(body, j); err != nil {
		return err
	}
	return replayOutcome(j)
}

func printReplayJob(w io.Writer, j replay.Job) error {
	state := string(j.State)
	if j.CancelRequested && !j.State.Final() {
		state += " (cancel requested)"
	}
	origin := string(j.Origin)
	if j.Origin == replay.OriginStartFrom {
		origin += " (the backfill of a new stream)"
	}
	filter := ""
	if j.Filter != nil {
		if b, err := json.Marshal(j.Filter); err == nil {
			filter = string(b)
		}
	}
	notBefore := ""
	if j.State == replay.StateQueued {
		notBefore = timeCell(j.NotBefore)
	}
	pr := j.Progress
	return pairs(w,
		"JOB", j.ID,
		"STREAM", j.StreamID,
		"ORIGIN", origin,
		"STATE", state,
		"WINDOW", window(j.Since, j.Until),
		"FILTER", filter,
		"RATE", itoa(j.Rate)+" events/s",
		"SIZE", upTo(j.Size.Events, j.Size.Exact)+" events in "+itoa(j.Size.Partitions)+" hours",
		"HOURS", fmt.Sprintf("%d/%d read", pr.HoursDone, pr.Hours),
		"EVENTS", fmt.Sprintf("%d read of %s: %d sent, %d filtered, %d duplicates", pr.Events, upTo(pr.Total, j.Size.Exact), pr.Sent, pr.Filtered, pr.Duplicates),
		"NOT BEFORE", notBefore,
		"CREATED", timeCell(j.CreatedAt),
		"STARTED", timePtrCell(j.StartedAt),
		"ENDED", timePtrCell(j.EndedAt),
		"ERROR", j.Error)
}

// window reads [since, until); a backfill of a stream created paused has
// no end until the stream is enabled.
func window(since, until time.Time) string {
	if until.IsZero() {
		return "from " + timeCell(since) + ", until the stream is enabled"
	}
	return "from " + timeCell(since) + " to " + timeCell(until)
}

var replayHeader = []string{"ID", "STREAM", "ORIGIN", "STATE", "SENT", "FILTERED", "TOTAL", "HOURS", "SINCE", "UNTIL", "CREATED"}

func replayRow(j replay.Job) []string {
	pr := j.Progress
	return []string{j.ID, j.StreamID, string(j.Origin), string(j.State), itoa(pr.Sent), itoa(pr.Filtered), itoa(pr.Total),
		itoa(pr.HoursDone) + "/" + itoa(pr.Hours), timeCell(j.Since), timeCell(j.Until), timeCell(j.CreatedAt)}
}

// printDryRun prints what a replay would send, from the archive's index.
func printDryRun(w io.Writer, d manage.DryRun) error {
	z := d.Size
	estimate := (time.Duration(d.Seconds) * time.Second).String()
	if !z.Exact {
		estimate = "at most " + estimate
	}
	return pairs(w,
		"STREAM", d.StreamID,
		"WINDOW", window(d.Since, d.Until),
		"EVENTS", upTo(z.Events, z.Exact),
		"BYTES", byteCount(z.Bytes, z.Exact)+" as NDJSON",
		"STORED BYTES", byteCount(z.StoredBytes, z.Exact)+" compressed in the archive",
		"PARTITIONS", itoa(z.Partitions)+" hours, "+itoa(z.Objects)+" objects",
		"RATE", itoa(d.Rate)+" events/s",
		"ESTIMATED TIME", estimate+" at that rate")
}

// byteCount reads "12345678 (11.8 MiB)".
func byteCount(n int64, exact bool) string {
	s := strconv.FormatInt(n, 10)
	if n >= 1024 {
		v, unit := float64(n)/1024, "KiB"
		for _, u := range []string{"MiB", "GiB", "TiB"} {
			if v < 1024 {
				break
			}
			v, unit = v/1024, u
		}
		s += fmt.Sprintf(" (%.1f %s)", v, unit)
	}
	if !exact {
		s = "at most " + s
	}
	return s
}

// replayHint adds what to do next to the replay route's refusals.
func replayHint(err error, streamID string) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.Code {
	case "too_many_replays":
		return hinted{err, "'logstream replays list' shows the project's replays; 'logstream replays cancel JOB_ID' ends one"}
	case "stream_not_active":
		return hinted{err, "'logstream streams enable " + cmpOr(streamID, "ID") + "' resumes the stream; then replay again"}
	case "idempotency_key_reused":
		return hinted{err, "a new replay needs a new --idempotency-key; the same key returns the replay it started only for the same request"}
	case "replay_unavailable":
		return hinted{err, "this deployment has no event archive to replay from"}
	}
	return err
}

func streamsReplay(fs *flag.FlagSet) action {
	since := fs.String("since", "", "replay the events from `TIME` on (RFC 3339, e.g. 2026-01-02T15:04:05Z; required)")
	until := fs.String("until", "", "up to `TIME`, not included (RFC 3339; default: now)")
	var filters filterSource
	filters.register(fs, "extra filters (the stream's own apply too)")
	rate := &optionalInt{}
	fs.Var(rate, "rate", "send at most `N` events a second (default: the API's, "+itoa(replay.DefaultRate)+"; at most "+itoa(replay.MaxRate)+")")
	dryRun := fs.Bool("dry-run", false, "size the replay from the archive's index, starting nothing")
	wait := fs.Bool("wait", false, "follow the replay to its end, with its progress on stderr; exit 1 unless it succeeds")
	idemKey := fs.String("idempotency-key", "", "send `KEY` as Idempotency-Key: repeating the command with it returns the same replay instead of starting another")
	return func(ctx context.Context, s *session, args []string) error {
		if *since == "" {
			return usagef("--since is required")
		}
		if *dryRun && *wait {
			return usagef("--dry-run starts nothing for --wait to follow; give one")
		}
		// Field order and names are those of replay.Request; the filters
		// go as read, for the API to check strictly.
		var body struct {
			Since  *time.Time      `json:"since"`
			Until  *time.Time      `json:"until,omitempty"`
			Filter json.RawMessage `json:"filter,omitempty"`
			Rate   *int            `json:"rate,omitempty"`
			DryRun bool            `json:"dry_run,omitempty"`
		}
		var err error
		if body.Since, err = parseTimeFlag("since", *since); err != nil {
			return err
		}
		if body.Until, err = parseTimeFlag("until", *until); err != nil {
			return err
		}
		if body.Until != nil && !body.Since.Before(*body.Until) {
			return usagef("--since must be before --until")
		}
		if rate.set {
			if rate.n < 1 || rate.n > replay.MaxRate {
				return usagef("--rate must be from 1 to %d events a second", replay.MaxRate)
			}
			body.Rate = &rate.n
		}
		if body.Filter, err = filters.read(ctx, s); err != nil {
			return err
		}
		body.DryRun = *dryRun
		resp, err := s.postJob(ctx, s.streamPath(args[0], "replay"), body, *idemKey)
		if err != nil {
			return replayHint(err, args[0])
		}
		if *dryRun {
			if s.json {
				return s.printRaw(resp.body)
			}
			var d manage.DryRun
			if err := json.Unmarshal(resp.body, &d); err != nil {
				return fmt.Errorf("read the dry run the API answered: %w", err)
			}
			return printDryRun(s.stdout, d)
		}
		var j replay.Job
		if err := json.Unmarshal(resp.body, &j); err != nil {
			return fmt.Errorf("read the replay the API answered: %w", err)
		}
		s.noteKeyUsed(resp, "replay", j.ID)
		if !*wait {
			fmt.Fprintf(s.stderr, "replay %s %s; 'logstream replays get %s --wait' follows it\n", cell(j.ID), j.State, cell(j.ID))
			return s.printReplay(resp.body, j)
		}
		if !j.State.Final() {
			fmt.Fprintf(s.stderr, "replay %s started; 'logstream replays get %s' shows it (it goes on if you interrupt this)\n", cell(j.ID), cell(j.ID))
		}
		return s.waitReplay(ctx, resp.body, j)
	}
}

func replaysList(fs *flag.FlagSet) action {
	limit := fs.Int("limit", 0, "list at most `N` replays, 1 to 100 (default: the API's, 20)")
	return func(ctx context.Context, s *session, _ []string) error {
		if *limit < 0 || *limit > 100 {
			return usagef("--limit must be from 1 to 100")
		}
		q := url.Values{}
		if *limit > 0 {
			q.Set("limit", strconv.Itoa(*limit))
		}
		// One page: the route answers the newest jobs, without a cursor.
		jobs, raw, err := listPages[replay.Job](ctx, s, s.replayPath("", ""), q, false, "replays", "there are more replays")
		if err != nil {
			return replayHint(err, "")
		}
		if raw != nil {
			return s.printRaw(raw)
		}
		rows := make([][]string, 0, len(jobs))
		for _, j := range jobs {
			rows = append(rows, replayRow(j))
		}
		return table(s.stdout, replayHeader, rows...)
	}
}

func replaysGet(fs *flag.FlagSet) action {
	wait := fs.Bool("wait", false, "follow the replay to its end, with its progress on stderr; exit 1 unless it succeeds")
	return func(ctx context.Context, s *session, args []string) error {
		resp, err := s.api.do(ctx, request{method: http.MethodGet, path: s.replayPath(args[0], "")})
		if err != nil {
			return replayHint(err, "")
		}
		var j replay.Job
		if err := json.Unmarshal(resp.body, &j); err != nil {
			return fmt.Errorf("read the replay the API answered: %w", err)
		}
		if *wait {
			return s.waitReplay(ctx, resp.body, j)
		}
		return s.printReplay(resp.body, j)
	}
}

func replaysCancel(*flag.FlagSet) action {
	return func(ctx context.Context, s *session, args []string) error {
		resp, err := s.api.do(ctx, request{method: http.MethodPost, path: s.replayPath(args[0], "cancel")})
		if err != nil {
			return replayHint(err, "")
		}
		var j replay.Job
		if err := json.Unmarshal(resp.body, &j); err != nil {
			return fmt.Errorf("read the replay the API answered: %w", err)
		}
		if !j.State.Final() {
			// A running replay stops at its next checkpoint (one batch).
			fmt.Fprintf(s.stderr, "note: replay %s stops after the batch it is sending; 'logstream replays get %s --wait' follows it to its end\n", cell(j.ID), cell(j.ID))
		}
		return s.printReplay(resp.body, j)
	}
}

// printBackfill tells of the backfill a stream created with --start-from
// answered with, if any.
func (s *session) printBackfill(body []byte) error {
	var v struct {
		Backfill *replay.Job `json:"backfill"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("read the stream the API answered: %w", err)
	}
	j := v.Backfill
	if j == nil {
		fmt.Fprintln(s.stderr, "note: the API answered no backfill: nothing will be replayed")
		return nil
	}
	_, err := fmt.Fprintf(s.stdout, "\nbackfill: replay %s %s, %s; 'logstream replays get %s --wait' follows it\n",
		cell(j.ID), j.State, window(j.Since, j.Until), cell(j.ID))
	return err
}
