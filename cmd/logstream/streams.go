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
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/manage"
)

// streamView is what the CLI reads of a stream; --output json prints the
// API's own JSON instead.
type streamView struct {
	ID                string          `json:"id"`
	Name              string          `json:"name"`
	DestinationType   string          `json:"destination_type"`
	DestinationConfig json.RawMessage `json:"destination_config"`
	Status            string          `json:"status"`
	Filters           json.RawMessage `json:"filters"`
	PII               json.RawMessage `json:"pii"`
	Suspension        json.RawMessage `json:"suspension"`
	CreatedAt         string          `json:"created_at"`
	UpdatedAt         string          `json:"updated_at"`
	Version           int64           `json:"version"`
}

var streamHeader = []string{"ID", "NAME", "TYPE", "STATUS", "VERSION", "UPDATED"}

func (v streamView) row() []string {
	return []string{v.ID, v.Name, v.DestinationType, v.Status, strconv.FormatInt(v.Version, 10), when(v.UpdatedAt)}
}

func (s *session) streamPath(id, action string) string {
	p := "/v1/projects/" + url.PathEscape(s.project) + "/streams"
	if id != "" {
		p += "/" + url.PathEscape(id)
	}
	if action != "" {
		p += "/" + action
	}
	return p
}

// printStream prints a stream answer: the API's JSON, or its row and its
// configuration.
func (s *session) printStream(body []byte) error {
	if err := s.printStreamBody(body); err != nil {
		return err
	}
	s.noteRevealed(body)
	return nil
}

func (s *session) printStreamBody(body []byte) error {
	if s.json {
		return s.printRaw(body)
	}
	var v streamView
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("read the stream the API answered: %w", err)
	}
	if err := table(s.stdout, streamHeader, v.row()); err != nil {
		return err
	}
	for _, part := range []struct {
		name string
		raw  json.RawMessage
	}{{"destination_config", v.DestinationConfig}, {"filters", v.Filters}, {"pii", v.PII}, {"suspension", v.Suspension}} {
		if len(part.raw) > 0 && string(part.raw) != "null" {
			fmt.Fprintf(s.stdout, "\n%s:\n%s\n", part.name, indentJSON(part.raw, "  "))
		}
	}
	return nil
}

// noteRevealed warns that a secret logstream generated is in this answer
// and nowhere else. The API shows every stored secret as <field>_last_four
// and adds a secret it generated in this request under its own name, so a
// field beside its own _last_four is one shown once.
func (s *session) noteRevealed(body []byte) {
	var v struct {
		DestinationConfig map[string]json.RawMessage `json:"destination_config"`
	}
	if json.Unmarshal(body, &v) != nil {
		return
	}
	var shown []string
	for k := range v.DestinationConfig {
		if _, ok := v.DestinationConfig[k+"_last_four"]; ok {
			shown = append(shown, "destination_config."+k)
		}
	}
	sort.Strings(shown)
	for _, f := range shown {
		fmt.Fprintf(s.stderr, "note: %s is shown once, in this answer only: store it now\n", f)
	}
}

func streamsList(fs *flag.FlagSet) action {
	limit := fs.Int("limit", 0, "`N` streams a page, 1 to 100 (default: the API's, 20)")
	all := fs.Bool("all", false, "list every stream, following next_cursor")
	return func(ctx context.Context, s *session, _ []string) error {
		if *limit < 0 {
			return usagef("--limit must be from 1 to 100")
		}
		q := url.Values{}
		if *limit > 0 {
			q.Set("limit", strconv.Itoa(*limit))
		}
		items, raw, err := listPages[json.RawMessage](ctx, s, s.streamPath("", ""), q, *all,
			"streams", "there are more streams; --all lists every one")
		if err != nil {
			return err
		}
		if raw != nil {
			return s.printRaw(raw)
		}
		if s.json {
			b, err := json.Marshal(struct {
				Data []json.RawMessage `json:"data"`
			}{items})
			if err != nil {
				return err
			}
			return s.printRaw(b)
		}
		rows := make([][]string, 0, len(items))
		for _, raw := range items {
			var v streamView
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("read a stream the API answered: %w", err)
			}
			rows = append(rows, v.row())
		}
		return table(s.stdout, streamHeader, rows...)
	}
}

func streamsGet(*flag.FlagSet) action {
	return func(ctx context.Context, s *session, args []string) error {
		resp, err := s.api.do(ctx, request{method: http.MethodGet, path: s.streamPath(args[0], "")})
		if err != nil {
			return err
		}
		return s.printStream(resp.body)
	}
}

// destinationTypes lists every destination type for the help texts, from
// their one declaration, so a new type needs no edit here.
func destinationTypes() string {
	t := destination.Types()
	return strings.Join(t[:len(t)-1], ", ") + " or " + t[len(t)-1]
}

func streamsCreate(fs *flag.FlagSet) action {
	name := fs.String("name", "", "the stream's `NAME` (required)")
	typ := fs.String("type", "", "the destination `TYPE`: "+destinationTypes()+" (required)")
	config := fs.String("config", "", "the destination config, a JSON object, from `FILE` or - for stdin (required)")
	paused := fs.Bool("paused", false, "create the stream paused: nothing is delivered until it is enabled")
	var filters filterSource
	filters.register(fs, "the stream's filters")
	pii := fs.String("pii", "", "the stream's PII rules, JSON from `FILE` or -")
	suspendAfter := fs.String("suspend-after", "", "suspend the stream after this `DURATION` of failures with no success (\"0s\": never; default: the deployment's, 72h)")
	suspendAfterPermanent := fs.String("suspend-after-permanent", "", "suspend it after `N` permanent failures in a row (0: never; default: the deployment's, 50)")
	startFrom := fs.String("start-from", "", "backfill the stream with the project's archived events from `TIME` on (RFC 3339), as a replay")
	return func(ctx context.Context, s *session, _ []string) error {
		switch {
		case strings.TrimSpace(*name) == "":
			return usagef("--name is required")
		case *typ == "":
			return usagef("--type is required")
		case *config == "":
			return usagef("--config is required (a file, or - for stdin)")
		}
		// Field order and names are those of the API's create request.
		var body struct {
			Name              string          `json:"name"`
			DestinationType   string          `json:"destination_type"`
			DestinationConfig json.RawMessage `json:"destination_config"`
			Status            string          `json:"status,omitempty"`
			Filters           json.RawMessage `json:"filters,omitempty"`
			PII               json.RawMessage `json:"pii,omitempty"`
			Suspension        *suspension     `json:"suspension,omitempty"`
			StartFrom         *time.Time      `json:"start_from,omitempty"`
		}
		body.Name, body.DestinationType = *name, *typ
		var err error
		if body.StartFrom, err = parseTimeFlag("start-from", *startFrom); err != nil {
			return err
		}
		if body.Suspension, err = suspensionFlags(*suspendAfter, *suspendAfterPermanent); err != nil {
			return err
		}
		if body.DestinationConfig, err = s.readJSON("config", *config); err != nil {
			return err
		}
		if body.Filters, err = filters.read(ctx, s); err != nil {
			return err
		}
		if *pii != "" {
			if body.PII, err = s.readJSON("pii", *pii); err != nil {
				return err
			}
		}
		if *paused {
			body.Status = "paused"
		}
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		resp, err := s.api.do(ctx, request{method: http.MethodPost, path: s.streamPath("", ""), header: jsonHeader(), body: b})
		if err != nil {
			return replayHint(err, "")
		}
		if err := s.printStream(resp.body); err != nil || s.json || body.StartFrom == nil {
			return err
		}
		return s.printBackfill(resp.body)
	}
}

func streamsUpdate(fs *flag.FlagSet) action {
	patch := fs.String("patch", "", "a JSON merge patch (RFC 7396) from `FILE` or - for stdin (required)")
	ifMatch := ifMatchFlag(fs, "apply")
	return func(ctx context.Context, s *session, args []string) error {
		if *patch == "" {
			return usagef("--patch is required (a file, or - for stdin)")
		}
		return s.change(ctx, http.MethodPatch, args[0], "patch", *patch, *ifMatch)
	}
}

func streamsReplace(fs *flag.FlagSet) action {
	body := fs.String("body", "", "the whole configuration, a JSON object, from `FILE` or - for stdin (required)")
	ifMatch := ifMatchFlag(fs, "replace")
	return func(ctx context.Context, s *session, args []string) error {
		if *body == "" {
			return usagef("--body is required (a file, or - for stdin)")
		}
		return s.change(ctx, http.MethodPut, args[0], "body", *body, *ifMatch)
	}
}

// change sends a PATCH or PUT of the stream with the JSON in file.
func (s *session) change(ctx context.Context, method, id, flagName, file, ifMatch string) error {
	h, err := withIfMatch(jsonHeader(), ifMatch)
	if err != nil {
		return err
	}
	b, err := s.readJSON(flagName, file)
	if err != nil {
		return err
	}
	resp, err := s.api.do(ctx, request{method: method, path: s.streamPath(id, ""), header: h, body: b})
	if err != nil {
		return err
	}
	return s.printStream(resp.body)
}

// ifMatchFlag registers --if-match, which every change of a stream takes:
// the API answers 412 precondition_failed when the stream is no longer at
// that version, so a change made on a stale read is refused, not lost.
func ifMatchFlag(fs *flag.FlagSet, verb string) *string {
	return fs.String("if-match", "", verb+" only if the stream is still at this `VERSION`")
}

// withIfMatch adds the If-Match header for a --if-match version to h (a new
// header when h is nil); an empty version adds nothing.
func withIfMatch(h http.Header, version string) (http.Header, error) {
	if h == nil {
		h = http.Header{}
	}
	if version == "" {
		return h, nil
	}
	tag, err := entityTag(version)
	if err != nil {
		return nil, err
	}
	h.Set("If-Match", tag)
	return h, nil
}

// entityTag turns a version ("4") into the strong entity tag the API
// compares If-Match with ("\"4\"", RFC 9110 §8.8.3); "*" and a quoted tag
// pass as they are.
func entityTag(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "*" {
		return v, nil
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(v, `"`), `"`), 10, 64)
	if err != nil || n < 1 {
		return "", usagef("--if-match must be a stream version such as 4, not %q", v)
	}
	return `"` + strconv.FormatInt(n, 10) + `"`, nil
}

func streamsDelete(fs *flag.FlagSet) action {
	ifMatch := ifMatchFlag(fs, "delete")
	return func(ctx context.Context, s *session, args []string) error {
		h, err := withIfMatch(nil, *ifMatch)
		if err != nil {
			return err
		}
		resp, err := s.api.do(ctx, request{method: http.MethodDelete, path: s.streamPath(args[0], ""), header: h})
		if err != nil {
			return err
		}
		if s.json {
			return s.printRaw(resp.body) // 204: nothing
		}
		_, err = fmt.Fprintf(s.stdout, "deleted %s\n", cell(args[0]))
		return err
	}
}

// streamsEnable enables a stream, and says how many of its dead letters
// wait: the API tells that in the answer's dead_letters, and starts their
// redrive when asked to.
func streamsEnable(fs *flag.FlagSet) action {
	ifMatch := ifMatchFlag(fs, "enable")
	redrive := fs.Bool("redrive-dead-letters", false, "also start the redrive of the stream's dead letters")
	return func(ctx context.Context, s *session, args []string) error {
		h, err := withIfMatch(nil, *ifMatch)
		if err != nil {
			return err
		}
		r := request{method: http.MethodPost, path: s.streamPath(args[0], "enable"), header: h}
		if *redrive {
			// Without the flag no body is sent, as before dead letters were
			// a part of the route.
			r.header.Set("Content-Type", "application/json")
			r.body = []byte(`{"redrive_dead_letters":true}`)
		}
		resp, err := s.api.do(ctx, r)
		if err != nil {
			return err
		}
		if err := s.printStream(resp.body); err != nil || s.json {
			return err
		}
		var v struct {
			DeadLetters *deadletter.Waiting `json:"dead_letters"`
		}
		if err := json.Unmarshal(resp.body, &v); err != nil {
			return fmt.Errorf("read the stream the API answered: %w", err)
		}
		w := v.DeadLetters
		switch {
		case w == nil:
			// An API without a dead-letter store answers the stream alone.
			if *redrive {
				fmt.Fprintln(s.stderr, "note: the API said nothing of dead letters: no redrive was started")
			}
			return nil
		case w.Redrive != nil:
			_, err = fmt.Fprintf(s.stdout, "\ndead letters: %d events in %d letters wait\nredrive: job %s %s; 'logstream dlq jobs %s' follows it\n",
				w.Events, w.Letters, cell(w.Redrive.ID), w.Redrive.State, cell(w.Redrive.ID))
		case w.Events > 0:
			_, err = fmt.Fprintf(s.stdout, "\ndead letters: %d events in %d letters wait\n", w.Events, w.Letters)
			if err == nil && !*redrive {
				fmt.Fprintf(s.stderr, "note: 'logstream dlq redrive --stream %s' sends them again\n", cell(args[0]))
			}
		default:
			_, err = fmt.Fprintln(s.stdout, "\ndead letters: none wait")
		}
		return err
	}
}

// streamsStatus serves disable.
func streamsStatus(verb string) func(*flag.FlagSet) action {
	return func(fs *flag.FlagSet) action {
		ifMatch := ifMatchFlag(fs, verb)
		return func(ctx context.Context, s *session, args []string) error {
			h, err := withIfMatch(nil, *ifMatch)
			if err != nil {
				return err
			}
			resp, err := s.api.do(ctx, request{method: http.MethodPost, path: s.streamPath(args[0], verb), header: h})
			if err != nil {
				return err
			}
			return s.printStream(resp.body)
		}
	}
}

func streamsHealth(*flag.FlagSet) action {
	return func(ctx context.Context, s *session, args []string) error {
		resp, err := s.api.do(ctx, request{method: http.MethodGet, path: s.streamPath(args[0], "health")})
		if err != nil {
			return err
		}
		if s.json {
			return s.printRaw(resp.body)
		}
		var h struct {
			StreamID        string  `json:"stream_id"`
			Status          string  `json:"status"`
			DeliveredEvents int64   `json:"delivered_events"`
			FailedEvents    int64   `json:"failed_events"`
			RetriedAttempts int64   `json:"retried_attempts"`
			LastSuccessAt   *string `json:"last_success_at"`
			LastError       *string `json:"last_error"`
			LastErrorAt     *string `json:"last_error_at"`
			FailingSince    *string `json:"failing_since"`
			SuspendsAt      *string `json:"suspends_at"`
			DeadLetters     map[string]struct {
				Count int64 `json:"count"`
			} `json:"dead_letters"`
			DeadLettersExpired int64 `json:"dead_letters_expired"`
		}
		if err := json.Unmarshal(resp.body, &h); err != nil {
			return fmt.Errorf("read the health the API answered: %w", err)
		}
		lastError := ""
		if h.LastError != nil {
			lastError = *h.LastError
		}
		// "exhausted 228, permanent 12": the reasons by name, so the line
		// reads the same on every call.
		var dead []string
		for _, why := range slices.Sorted(maps.Keys(h.DeadLetters)) {
			dead = append(dead, why+" "+strconv.FormatInt(h.DeadLetters[why].Count, 10))
		}
		return pairs(s.stdout,
			"STREAM", h.StreamID,
			"STATUS", h.Status,
			"DELIVERED", strconv.FormatInt(h.DeliveredEvents, 10),
			"FAILED", strconv.FormatInt(h.FailedEvents, 10),
			"RETRIED", strconv.FormatInt(h.RetriedAttempts, 10),
			"DEAD LETTERS", strings.Join(dead, ", "),
			"DEAD LETTERS EXPIRED", strconv.FormatInt(h.DeadLettersExpired, 10),
			"LAST SUCCESS", whenPtr(h.LastSuccessAt),
			"LAST ERROR AT", whenPtr(h.LastErrorAt),
			"LAST ERROR", lastError,
			"FAILING SINCE", whenPtr(h.FailingSince),
			"SUSPENDS AT", whenPtr(h.SuspendsAt))
	}
}

// errTestRefused makes "streams test" exit 1 when the destination did not
// accept the event, so scripts can rely on the exit code.
var errTestRefused = errors.New("the destination did not accept the test event")

func streamsTest(*flag.FlagSet) action {
	return func(ctx context.Context, s *session, args []string) error {
		resp, err := s.api.do(ctx, request{method: http.MethodPost, path: s.streamPath(args[0], "test")})
		if err != nil {
			return err
		}
		var r manage.TestResult
		if err := json.Unmarshal(resp.body, &r); err != nil {
			return fmt.Errorf("read the test result the API answered: %w", err)
		}
		if s.json {
			err = s.printRaw(resp.body)
		} else {
			code := ""
			if r.StatusCode != 0 {
				code = strconv.Itoa(r.StatusCode)
			}
			err = table(s.stdout, []string{"OK", "STATUS CODE", "MESSAGE"}, []string{strconv.FormatBool(r.OK), code, r.Message})
		}
		if err != nil {
			return err
		}
		if !r.OK {
			return errTestRefused
		}
		return nil
	}
}

func jsonHeader() http.Header {
	return http.Header{"Content-Type": {"application/json"}}
}

// maxInputBytes bounds a file read for a request body: API Gateway refuses
// HTTP API requests over 10 MB.
const maxInputBytes = 10 << 20

// readInput reads FILE, or stdin for "-" (once per command). label names
// the input in errors ("--config").
func (s *session) readInput(label, name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		if s.stdinTaken {
			return nil, usagef("only one input can come from stdin (-)")
		}
		s.stdinTaken = true
		r = s.stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, usagef("%s: %v", label, err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", label, displayName(name), err)
	}
	if len(b) > maxInputBytes {
		return nil, usagef("%s: %s is larger than %d bytes, more than the API accepts", label, displayName(name), maxInputBytes)
	}
	return b, nil
}

// readJSON reads a JSON document for a request body. Its meaning is the
// API's to check; only its syntax is checked here, so a typo fails before
// anything is sent.
func (s *session) readJSON(flagName, name string) (json.RawMessage, error) {
	b, err := s.readInput("--"+flagName, name)
	if err != nil {
		return nil, err
	}
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v)
		return nil, usagef("--%s: %s is not valid JSON: %v", flagName, displayName(name), err)
	}
	return b, nil
}

func displayName(name string) string {
	if name == "-" {
		return "stdin"
	}
	return name
}

// suspension is a stream's own suspension policy, as the API takes it.
type suspension struct {
	After                  string `json:"after,omitempty"`
	AfterPermanentFailures *int   `json:"after_permanent_failures,omitempty"`
}

// suspensionFlags is the policy --suspend-after and
// --suspend-after-permanent set, nil when neither is given; the API checks
// the bounds.
func suspensionFlags(after, permanent string) (*suspension, error) {
	if after == "" && permanent == "" {
		return nil, nil
	}
	p := &suspension{After: after}
	if after != "" {
		if _, err := time.ParseDuration(after); err != nil {
			return nil, usagef("--suspend-after %q is not a duration such as 72h or 90m", after)
		}
	}
	if permanent != "" {
		n, err := strconv.Atoi(permanent)
		if err != nil {
			return nil, usagef("--suspend-after-permanent %q is not a whole number", permanent)
		}
		p.AfterPermanentFailures = &n
	}
	return p, nil
}

// filterSource is --filters FILE|- or --preset NAME: filters as JSON, from
// a file or from one of the API's presets. Creating a stream sets them as
// its filters; a replay narrows the stream's with them.
type filterSource struct {
	file   string
	preset onceString
}

func (f *filterSource) register(fs *flag.FlagSet, what string) {
	fs.StringVar(&f.file, "filters", "", what+", JSON from `FILE` or -")
	fs.Var(&f.preset, "preset", "take "+what+" from the preset `NAME` ('presets list'); once")
}

// read returns the filters the flags name, nil when neither is given. The
// filters' meaning is the API's to check.
func (f *filterSource) read(ctx context.Context, s *session) (json.RawMessage, error) {
	switch {
	case f.file != "" && f.preset != "":
		return nil, usagef("--filters and --preset both set the filters; give one")
	case f.file != "":
		return s.readJSON("filters", f.file)
	case f.preset != "":
		p, _, err := s.preset(ctx, string(f.preset))
		if err != nil {
			return nil, fmt.Errorf("--preset %s: %w", f.preset, err)
		}
		return p.Filters, nil
	}
	return nil, nil
}

// onceString is a string flag that may be given once: a second --preset
// would silently replace the first, while the user meant both. Presets'
// rules do not simply add up (one may exclude what another includes), so
// combining them is left to a --filters file.
type onceString string

func (o *onceString) String() string {
	if o == nil {
		return ""
	}
	return string(*o)
}

func (o *onceString) Set(s string) error {
	if *o != "" {
		return fmt.Errorf("given twice (%q, then %q): give one; to combine presets, merge their include rules ('presets show') into a --filters file", string(*o), s)
	}
	*o = onceString(s)
	return nil
}
