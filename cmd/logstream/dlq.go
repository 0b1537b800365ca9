package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/stream"
)

func (s *session) deadLetterPath(rest string) string {
	return "/v1/projects/" + url.PathEscape(s.project) + "/dead-letters" + rest
}

// filterFlags are the flags that select dead letters, shared by peek,
// redrive and purge so they read the same everywhere.
type filterFlags struct {
	stream        string
	reasons       listFlag
	after, before string
	eventIDs      listFlag
}

func (f *filterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.stream, "stream", "", "only the dead letters of stream `ID`")
	fs.Var(&f.reasons, "reason", "only these `REASONS`, comma-separated or repeated: "+reasonList())
	fs.StringVar(&f.after, "after", "", "only events parked at or after `TIME` (RFC 3339, e.g. 2026-01-02T15:04:05Z)")
	fs.StringVar(&f.before, "before", "", "only events parked before `TIME` (RFC 3339)")
	fs.Var(&f.eventIDs, "event-id", "only the event with this event_id `ID`; repeat for more (at most "+strconv.Itoa(deadletter.MaxFilterEventIDs)+")")
}

func reasonList() string {
	names := make([]string, len(stream.StoredDeadLetterReasons))
	for i, r := range stream.StoredDeadLetterReasons {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// filter checks the flags as the API would, so a typo fails with exit 2
// before anything is sent, and returns them as the API's Filter.
func (f *filterFlags) filter() (deadletter.Filter, error) {
	out := deadletter.Filter{StreamID: f.stream, EventIDs: f.eventIDs}
	for _, r := range f.reasons {
		out.Reasons = append(out.Reasons, deadletter.Reason(r))
	}
	var err error
	if out.ParkedAfter, err = parseTimeFlag("after", f.after); err != nil {
		return out, err
	}
	if out.ParkedBefore, err = parseTimeFlag("before", f.before); err != nil {
		return out, err
	}
	if err := out.Validate(); err != nil {
		// The API's own check, with the flags' names.
		msg := strings.NewReplacer("stream_id", "--stream", "reason ", "--reason ", "parked_after", "--after",
			"parked_before", "--before", "event_ids", "--event-id").Replace(err.Error())
		return out, usagef("%s", msg)
	}
	return out, nil
}

// filterQuery renders a filter as the events route's query parameters.
func filterQuery(f deadletter.Filter) url.Values {
	q := url.Values{}
	if f.StreamID != "" {
		q.Set("stream_id", f.StreamID)
	}
	if len(f.Reasons) > 0 {
		rs := make([]string, len(f.Reasons))
		for i, r := range f.Reasons {
			rs[i] = string(r)
		}
		q.Set("reason", strings.Join(rs, ","))
	}
	if f.ParkedAfter != nil {
		q.Set("parked_after", f.ParkedAfter.Format(time.RFC3339Nano))
	}
	if f.ParkedBefore != nil {
		q.Set("parked_before", f.ParkedBefore.Format(time.RFC3339Nano))
	}
	if len(f.EventIDs) > 0 {
		q.Set("event_ids", strings.Join(f.EventIDs, ","))
	}
	return q
}

func dlqSummary(fs *flag.FlagSet) action {
	streamID := fs.String("stream", "", "only the dead letters of stream `ID`")
	return func(ctx context.Context, s *session, _ []string) error {
		q := url.Values{}
		if *streamID != "" {
			q.Set("stream_id", *streamID)
		}
		resp, err := s.api.do(ctx, request{method: http.MethodGet, path: s.deadLetterPath(""), query: q})
		if err != nil {
			return err
		}
		if s.json {
			return s.printRaw(resp.body)
		}
		var sum deadletter.Summary
		if err := json.Unmarshal(resp.body, &sum); err != nil {
			return fmt.Errorf("read the summary the API answered: %w", err)
		}
		return printSummary(s.stdout, sum)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// printSummary prints a project's summary: totals, then by reason, then by
// stream.
func printSummary(w io.Writer, sum deadletter.Summary) error {
	a := sum.Age
	err := pairs(w,
		"PROJECT", sum.ProjectID,
		"EVENTS", itoa(sum.Events),
		"LETTERS", itoa(sum.Letters),
		"PARKED", fmt.Sprintf("under 1h %d, 1h to 24h %d, 1d to 7d %d, over 7d %d", a.Under1h, a.Under24h, a.Under7d, a.Over7d),
		"EXPIRING IN 24H", itoa(sum.ExpiringWithin24h),
		"EXPIRED", strconv.FormatInt(sum.ExpiredEvents, 10),
		"RETENTION", strconv.FormatFloat(sum.RetentionDays, 'f', -1, 64)+" days")
	if err != nil || sum.Events == 0 && len(sum.Streams) == 0 {
		return err
	}
	fmt.Fprintln(w)
	if err := table(w, []string{"REASON", "EVENTS", "LETTERS", "OLDEST", "NEWEST"}, reasonRows(sum.Reasons)...); err != nil {
		return err
	}
	fmt.Fprintln(w)
	rows := make([][]string, 0, len(sum.Streams))
	for _, st := range sum.Streams {
		rows = append(rows, []string{st.StreamID, st.DestinationType, itoa(st.Events), itoa(st.Letters),
			strconv.FormatInt(st.ExpiredEvents, 10), reasonCounts(st.Reasons)})
	}
	return table(w, []string{"STREAM", "TYPE", "EVENTS", "LETTERS", "EXPIRED", "REASONS"}, rows...)
}

func reasonRows(rs []deadletter.ReasonSummary) [][]string {
	rows := make([][]string, 0, len(rs))
	for _, r := range rs {
		rows = append(rows, []string{string(r.Reason), itoa(r.Events), itoa(r.Letters), timeCell(r.OldestAt), timeCell(r.NewestAt)})
	}
	return rows
}

// reasonCounts reads "exhausted 228, permanent 12", as streams health does.
func reasonCounts(rs []deadletter.ReasonSummary) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		parts = append(parts, string(r.Reason)+" "+itoa(r.Events))
	}
	return strings.Join(parts, ", ")
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func timePtrCell(t *time.Time) string {
	if t == nil {
		return ""
	}
	return timeCell(*t)
}

var peekHeader = []string{"EVENT ID", "STREAM", "REASON", "PARKED", "EXPIRES", "RECEIVES", "ERROR"}

// maxErrorCell bounds an error in a table row; --output json has it whole.
const maxErrorCell = 80

func peekRow(e deadletter.PeekedEvent) []string {
	var ev map[string]json.RawMessage
	id := ""
	if json.Unmarshal(e.Event, &ev) == nil {
		_ = json.Unmarshal(ev[logevent.FieldID], &id)
	}
	msg := e.Error
	if r := []rune(msg); len(r) > maxErrorCell {
		msg = string(r[:maxErrorCell-1]) + "…"
	}
	return []string{id, e.StreamID, string(e.Reason), timeCell(e.ParkedAt), timeCell(e.ExpiresAt), itoa(e.ReceiveCount), msg}
}

func dlqPeek(fs *flag.FlagSet) action {
	var ff filterFlags
	ff.register(fs)
	limit := fs.Int("limit", 0, "`N` events a page, 1 to "+strconv.Itoa(deadletter.MaxPeekLimit)+" (default: the API's, "+strconv.Itoa(deadletter.DefaultPeekLimit)+")")
	all := fs.Bool("all", false, "show every matching event, following next_cursor")
	return func(ctx context.Context, s *session, _ []string) error {
		if *limit < 0 || *limit > deadletter.MaxPeekLimit {
			return usagef("--limit must be from 1 to %d", deadletter.MaxPeekLimit)
		}
		f, err := ff.filter()
		if err != nil {
			return err
		}
		q := filterQuery(f)
		if *limit > 0 {
			q.Set("limit", strconv.Itoa(*limit))
		}
		items, raw, err := listPages[deadletter.PeekedEvent](ctx, s, s.deadLetterPath("/events"), q, *all,
			"dead letters", "there are more dead events; --all shows every one")
		if err != nil {
			return err
		}
		if raw != nil {
			return s.printRaw(raw)
		}
		if s.json {
			b, err := json.Marshal(deadletter.Page{Data: items})
			if err != nil {
				return err
			}
			return s.printRaw(b)
		}
		rows := make([][]string, 0, len(items))
		for _, e := range items {
			rows = append(rows, peekRow(e))
		}
		return table(s.stdout, peekHeader, rows...)
	}
}

// errJobFailed makes a waited-for job that failed exit 1.
var errJobFailed = errors.New("the job failed")

// dlqJob serves redrive and purge: start the job, then (unless --no-wait)
// follow it to its end.
func dlqJob(kind deadletter.Kind) func(*flag.FlagSet) action {
	return func(fs *flag.FlagSet) action {
		var ff filterFlags
		ff.register(fs)
		dryRun := fs.Bool("dry-run", false, "count what the job would "+string(kind)+", changing nothing")
		var rate *optionalInt
		if kind == deadletter.KindRedrive {
			rate = &optionalInt{}
			fs.Var(rate, "rate", "send at most `N` events a second (default: the API's, "+strconv.Itoa(deadletter.DefaultRate)+"; at most "+strconv.Itoa(deadletter.MaxRate)+")")
		}
		idemKey := fs.String("idempotency-key", "", "send `KEY` as Idempotency-Key: repeating the command with it returns the same job instead of starting another")
		noWait := fs.Bool("no-wait", false, "print the job as it starts and return, without following it")
		var yes *bool
		if kind == deadletter.KindPurge {
			yes = fs.Bool("yes", false, "confirm the purge: the matching dead letters are deleted for good")
		}
		return func(ctx context.Context, s *session, _ []string) error {
			f, err := ff.filter()
			if err != nil {
				return err
			}
			if yes != nil && !*yes && !*dryRun {
				return usagef("a purge deletes the matching dead letters for good: add --yes to confirm (--dry-run counts them first)")
			}
			req := deadletter.JobRequest{Filter: f, DryRun: *dryRun}
			if rate != nil && rate.set {
				if rate.n < 1 || rate.n > deadletter.MaxRate {
					return usagef("--rate must be from 1 to %d events a second", deadletter.MaxRate)
				}
				req.Rate = &rate.n
			}
			resp, err := s.postJob(ctx, s.deadLetterPath("/"+string(kind)), req, *idemKey)
			if err != nil {
				return err
			}
			var j deadletter.Job
			if err := json.Unmarshal(resp.body, &j); err != nil {
				return fmt.Errorf("read the job the API answered: %w", err)
			}
			s.noteKeyUsed(resp, "job", j.ID)
			if *noWait || j.State.Final() {
				return s.printJob(resp.body, j)
			}
			fmt.Fprintf(s.stderr, "%s job %s started; 'logstream dlq jobs %s' shows it (it goes on if you interrupt this)\n", kind, cell(j.ID), cell(j.ID))
			body, j, err := follow(ctx, s, deadLetterJobs, j)
			if err != nil {
				return err
			}
			return s.printJob(body, j)
		}
	}
}

// deadLetterJobs follows redrives and purges.
var deadLetterJobs = jobKind[deadletter.Job]{
	path:   func(s *session, id string) string { return s.deadLetterPath("/jobs/" + url.PathEscape(id)) },
	id:     func(j deadletter.Job) string { return j.ID },
	final:  func(j deadletter.Job) bool { return j.State.Final() },
	status: deadLetterStatus,
	show:   "logstream dlq jobs",
}

// deadLetterStatus counts a job's events done or skipped (matched, for a
// dry run) of its total.
func deadLetterStatus(j deadletter.Job) (done, total int, line string) {
	pr := j.Progress
	counted := pr.Done
	for _, n := range pr.Skipped {
		counted += n
	}
	if j.DryRun {
		counted = pr.Events
	}
	total = max(pr.Total, counted)
	line = fmt.Sprintf("%s %s: %d/%d events", j.Kind, j.State, counted, total)
	if n := len(pr.Skipped); n > 0 {
		line += " (skipped " + skippedCell(pr.Skipped) + ")"
	}
	return counted, total, line
}

// printJob prints a job and turns a failed one into exit 1.
func (s *session) printJob(body []byte, j deadletter.Job) error {
	var err error
	if s.json {
		err = s.printRaw(body)
	} else {
		err = printJob(s.stdout, j)
	}
	if err != nil {
		return err
	}
	if j.State == deadletter.StateFailed {
		if j.Error != "" {
			return fmt.Errorf("%w: %s", errJobFailed, j.Error)
		}
		return errJobFailed
	}
	return nil
}

func printJob(w io.Writer, j deadletter.Job) error {
	kind := string(j.Kind)
	if j.DryRun {
		kind += " (dry run)"
	}
	rate := ""
	if j.Kind == deadletter.KindRedrive && j.Rate > 0 {
		rate = itoa(j.Rate) + " events/s"
	}
	return pairs(w,
		"JOB", j.ID,
		"KIND", kind,
		"STATE", string(j.State),
		"FILTER", describeFilter(j.Filter),
		"RATE", rate,
		"MATCHED", fmt.Sprintf("%d events in %d letters (of %d)", j.Progress.Events, j.Progress.Letters, j.Progress.Total),
		"DONE", doneCell(j),
		"SKIPPED", skippedCell(j.Progress.Skipped),
		"CREATED", timeCell(j.CreatedAt),
		"STARTED", timePtrCell(j.StartedAt),
		"ENDED", timePtrCell(j.EndedAt),
		"ERROR", j.Error)
}

func doneCell(j deadletter.Job) string {
	if j.DryRun {
		return "nothing (dry run)"
	}
	verb := "redriven"
	if j.Kind == deadletter.KindPurge {
		verb = "purged"
	}
	return itoa(j.Progress.Done) + " events " + verb
}

// skippedCell reads "stream_not_active 12, no_stream 3", by reason name.
func skippedCell(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for _, why := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, why+" "+itoa(m[why]))
	}
	return strings.Join(parts, ", ")
}

func describeFilter(f deadletter.Filter) string {
	var parts []string
	if f.StreamID != "" {
		parts = append(parts, "stream "+f.StreamID)
	}
	if len(f.Reasons) > 0 {
		rs := make([]string, len(f.Reasons))
		for i, r := range f.Reasons {
			rs[i] = string(r)
		}
		parts = append(parts, "reasons "+strings.Join(rs, ","))
	}
	if f.ParkedAfter != nil {
		parts = append(parts, "parked from "+timeCell(*f.ParkedAfter))
	}
	if f.ParkedBefore != nil {
		parts = append(parts, "parked before "+timeCell(*f.ParkedBefore))
	}
	if n := len(f.EventIDs); n > 0 {
		parts = append(parts, itoa(n)+" event ids")
	}
	if len(parts) == 0 {
		return "all of the project's dead letters"
	}
	return strings.Join(parts, "; ")
}

var jobHeader = []string{"ID", "KIND", "STATE", "DRY RUN", "MATCHED", "DONE", "SKIPPED", "CREATED", "ENDED"}

func jobRow(j deadletter.Job) []string {
	skipped := 0
	for _, n := range j.Progress.Skipped {
		skipped += n
	}
	return []string{j.ID, string(j.Kind), string(j.State), strconv.FormatBool(j.DryRun), itoa(j.Progress.Events),
		itoa(j.Progress.Done), itoa(skipped), timeCell(j.CreatedAt), timePtrCell(j.EndedAt)}
}

func dlqJobs(fs *flag.FlagSet) action {
	limit := fs.Int("limit", 0, "list at most `N` jobs (default: the API's, 20)")
	return func(ctx context.Context, s *session, args []string) error {
		if len(args) == 1 && *limit != 0 {
			return usagef("--limit bounds the list of jobs; it does not go with JOB_ID")
		}
		if len(args) == 1 {
			resp, err := s.api.do(ctx, request{method: http.MethodGet, path: s.deadLetterPath("/jobs/" + url.PathEscape(args[0]))})
			if err != nil {
				return err
			}
			if s.json {
				return s.printRaw(resp.body)
			}
			var j deadletter.Job
			if err := json.Unmarshal(resp.body, &j); err != nil {
				return fmt.Errorf("read the job the API answered: %w", err)
			}
			return printJob(s.stdout, j)
		}
		if *limit < 0 {
			return usagef("--limit must be from 1 to 100")
		}
		q := url.Values{}
		if *limit > 0 {
			q.Set("limit", strconv.Itoa(*limit))
		}
		resp, err := s.api.do(ctx, request{method: http.MethodGet, path: s.deadLetterPath("/jobs"), query: q})
		if err != nil {
			return err
		}
		if s.json {
			return s.printRaw(resp.body)
		}
		var list deadletter.JobList
		if err := json.Unmarshal(resp.body, &list); err != nil {
			return fmt.Errorf("read the jobs the API answered: %w", err)
		}
		rows := make([][]string, 0, len(list.Data))
		for _, j := range list.Data {
			rows = append(rows, jobRow(j))
		}
		return table(s.stdout, jobHeader, rows...)
	}
}

func adminDeadLetters(*flag.FlagSet) action {
	return func(ctx context.Context, s *session, _ []string) error {
		resp, err := s.api.do(ctx, request{method: http.MethodGet, path: "/v1/admin/dead-letters"})
		if err != nil {
			return err
		}
		if s.json {
			return s.printRaw(resp.body)
		}
		var o manage.AdminDeadLetters
		if err := json.Unmarshal(resp.body, &o); err != nil {
			return fmt.Errorf("read the overview the API answered: %w", err)
		}
		return printOverview(s.stdout, s.stderr, o)
	}
}

// printOverview prints the operators' view: the store's dead letters by
// destination type beside what each SQS DLQ holds, not yet drained into
// the store, then by project.
func printOverview(w, notes io.Writer, o manage.AdminDeadLetters) error {
	if err := pairs(w, "EVENTS", itoa(o.Events)); err != nil {
		return err
	}
	dlqs := map[string]manage.QueueDepth{}
	for _, q := range o.DeadLetterQueues {
		dlqs[q.DestinationType] = q.DeadLetterQueue
	}
	if o.DeadLetterQueues == nil {
		fmt.Fprintln(notes, "note: the API could not read SQS: the DLQs' depths are missing ('logstream admin queues' retries)")
	}
	types := map[string]deadletter.TypeSummary{}
	var names []string
	for _, t := range o.Types {
		types[t.DestinationType] = t
		names = append(names, t.DestinationType)
	}
	for _, q := range o.DeadLetterQueues {
		if _, ok := types[q.DestinationType]; !ok {
			names = append(names, q.DestinationType)
		}
	}
	rows := make([][]string, 0, len(names))
	for _, name := range names {
		t := types[name]
		queued, inFlight := "", ""
		if q, ok := dlqs[name]; ok {
			queued, inFlight = strconv.FormatInt(q.Messages, 10), strconv.FormatInt(q.InFlight, 10)
		}
		rows = append(rows, []string{name, itoa(t.Events), itoa(t.Letters), itoa(t.Projects), queued, inFlight})
	}
	fmt.Fprintln(w)
	if err := table(w, []string{"TYPE", "EVENTS", "LETTERS", "PROJECTS", "SQS DLQ", "SQS DLQ IN FLIGHT"}, rows...); err != nil {
		return err
	}
	rows = make([][]string, 0, len(o.Projects))
	for _, p := range o.Projects {
		rows = append(rows, []string{p.ProjectID, itoa(p.Events), itoa(p.Letters), itoa(p.ExpiringWithin24h),
			strconv.FormatInt(p.ExpiredEvents, 10), reasonCounts(p.Reasons)})
	}
	fmt.Fprintln(w)
	return table(w, []string{"PROJECT", "EVENTS", "LETTERS", "EXPIRING IN 24H", "EXPIRED", "REASONS"}, rows...)
}

// optionalInt is an integer flag that knows whether it was given, so that
// one left out is left to the API's default rather than sent as 0.
type optionalInt struct {
	n   int
	set bool
}

func (o *optionalInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.n)
}

func (o *optionalInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not a whole number")
	}
	o.n, o.set = n, true
	return nil
}
