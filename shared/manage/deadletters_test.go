package manage

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/stream"
)

// fakeDL is a dead-letter store recording what the API asked of it.
type fakeDL struct {
	summary   deadletter.Summary
	sumFor    [2]string
	peekF     deadletter.Filter
	peekCur   string
	peekLimit int
	started   []deadletter.JobRequest
	kinds     []deadletter.Kind
	keys      []string
	jobs      map[string]deadletter.Job
}

func (f *fakeDL) Summary(_ context.Context, p, s string) (deadletter.Summary, error) {
	f.sumFor = [2]string{p, s}
	return f.summary, nil
}

func (f *fakeDL) Peek(_ context.Context, _ string, flt deadletter.Filter, cur string, limit int) (deadletter.Page, error) {
	if cur == "bad" {
		return deadletter.Page{}, deadletter.ErrBadCursor
	}
	f.peekF, f.peekCur, f.peekLimit = flt, cur, limit
	return deadletter.Page{Data: []deadletter.PeekedEvent{{LetterID: "dl_x", Event: json.RawMessage(`{"event_id":"e1"}`)}}, NextCursor: "next"}, nil
}

func (f *fakeDL) StartJob(_ context.Context, p string, k deadletter.Kind, req deadletter.JobRequest, key string) (deadletter.Job, bool, error) {
	if err := req.Filter.Validate(); err != nil {
		return deadletter.Job{}, false, &deadletter.ErrInvalid{Msg: err.Error()}
	}
	if j, ok := f.jobs[key]; ok && key != "" {
		return j, false, nil
	}
	f.started, f.kinds, f.keys = append(f.started, req), append(f.kinds, k), append(f.keys, key)
	j := deadletter.Job{ID: "job_1", ProjectID: p, Kind: k, Filter: req.Filter, DryRun: req.DryRun, State: deadletter.StateQueued}
	if f.jobs == nil {
		f.jobs = map[string]deadletter.Job{}
	}
	f.jobs[key] = j
	return j, true, nil
}

func (f *fakeDL) Job(_ context.Context, p, id string) (deadletter.Job, error) {
	for _, j := range f.jobs {
		if j.ID == id && j.ProjectID == p {
			return j, nil
		}
	}
	return deadletter.Job{}, deadletter.ErrJobNotFound
}

func (f *fakeDL) ListJobs(context.Context, string, int) ([]deadletter.Job, error) { return nil, nil }

func (f *fakeDL) Overview(context.Context) (deadletter.Overview, error) {
	return deadletter.Overview{Projects: []deadletter.Summary{f.summary}}, nil
}

func dlCall(t *testing.T, a *API, secret, route, project string, params, query map[string]string, body string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	p := map[string]string{"project_id": project}
	for k, v := range params {
		p[k] = v
	}
	h := map[string]string{"content-type": "application/json", "authorization": "Bearer " + secret}
	for k, v := range headers {
		h[k] = v
	}
	resp, err := a.Handle(context.Background(), events.APIGatewayV2HTTPRequest{RouteKey: route, PathParameters: p, QueryStringParameters: query, Body: body, Headers: h})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestDeadLetterRoutes(t *testing.T) {
	a := authAPI()
	dl := &fakeDL{summary: deadletter.Summary{ProjectID: "proj_a", Events: 7}}
	a.DeadLetters = dl
	writeA, _ := createKey(t, a, `["proj_a"]`, "write")
	readA, _ := createKey(t, a, `["proj_a"]`, "read")
	sid := "str_0123456789abcdef0123456789abcdef"

	r := dlCall(t, a, readA, RouteDeadLetterSummary, "proj_a", nil, map[string]string{"stream_id": sid}, "", nil)
	if r.StatusCode != 200 || !strings.Contains(r.Body, `"events":7`) || dl.sumFor != [2]string{"proj_a", sid} {
		t.Fatalf("summary: %d %s (asked %v)", r.StatusCode, r.Body, dl.sumFor)
	}

	after := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	r = dlCall(t, a, readA, RouteDeadLetterEvents, "proj_a", nil, map[string]string{"reason": "permanent, rejected", "parked_after": after.Format(time.RFC3339),
		"limit": "20", "cursor": "c1", "event_ids": "e1,e2"}, "", nil)
	if r.StatusCode != 200 || !strings.Contains(r.Body, `"next_cursor":"next"`) {
		t.Fatalf("events: %d %s", r.StatusCode, r.Body)
	}
	if len(dl.peekF.Reasons) != 2 || dl.peekF.Reasons[1] != stream.ReasonRejected || !dl.peekF.ParkedAfter.Equal(after) ||
		dl.peekLimit != 20 || dl.peekCur != "c1" || len(dl.peekF.EventIDs) != 2 {
		t.Fatalf("events asked with %+v, cursor %q, limit %d", dl.peekF, dl.peekCur, dl.peekLimit)
	}

	bad := []struct {
		name  string
		query map[string]string
	}{
		{"unknown reason", map[string]string{"reason": "lost"}},
		{"bad time", map[string]string{"parked_before": "yesterday"}},
		{"limit too large", map[string]string{"limit": "501"}},
		{"bad stream id", map[string]string{"stream_id": "nope"}},
		{"foreign cursor", map[string]string{"cursor": "bad"}},
	}
	for _, b := range bad {
		r := dlCall(t, a, readA, RouteDeadLetterEvents, "proj_a", nil, b.query, "", nil)
		if code, _ := errCode(t, r); r.StatusCode != 400 || code != "invalid_request" {
			t.Errorf("%s: %d %s, want 400 invalid_request", b.name, r.StatusCode, r.Body)
		}
	}

	// Jobs: 202 when started, 200 for the same Idempotency-Key again; a
	// read key cannot start one.
	body := `{"filter":{"reasons":["permanent"],"stream_id":"` + sid + `"},"dry_run":true,"rate":200}`
	r = dlCall(t, a, writeA, RouteDeadLetterRedrive, "proj_a", nil, nil, body, map[string]string{"idempotency-key": "k1"})
	if r.StatusCode != 202 || r.Headers["location"] != "/v1/projects/proj_a/dead-letters/jobs/job_1" {
		t.Fatalf("redrive: %d %v %s", r.StatusCode, r.Headers, r.Body)
	}
	if got := dl.started[0]; !got.DryRun || got.Rate == nil || *got.Rate != 200 || got.Filter.StreamID != sid || dl.keys[0] != "k1" || dl.kinds[0] != deadletter.KindRedrive {
		t.Fatalf("redrive asked %+v key %q", got, dl.keys[0])
	}
	if r := dlCall(t, a, writeA, RouteDeadLetterRedrive, "proj_a", nil, nil, body, map[string]string{"idempotency-key": "k1"}); r.StatusCode != 200 || len(dl.started) != 1 {
		t.Fatalf("the same Idempotency-Key again: %d, %d jobs", r.StatusCode, len(dl.started))
	}
	if r := dlCall(t, a, readA, RouteDeadLetterPurge, "proj_a", nil, nil, `{}`, nil); r.StatusCode != 403 {
		t.Fatalf("a read key purged: %d %s", r.StatusCode, r.Body)
	}
	for name, b := range map[string]string{
		"unknown field":  `{"filter":{},"force":true}`,
		"purge has rate": `{"rate":5}`,
		"bad reason":     `{"filter":{"reasons":["x"]}}`,
	} {
		r := dlCall(t, a, writeA, RouteDeadLetterPurge, "proj_a", nil, nil, b, nil)
		if r.StatusCode != 400 {
			t.Errorf("%s: %d %s, want 400", name, r.StatusCode, r.Body)
		}
	}
	if r := dlCall(t, a, writeA, RouteDeadLetterPurge, "proj_a", nil, nil, "", nil); r.StatusCode != 202 || dl.kinds[1] != deadletter.KindPurge {
		t.Fatalf("purge with no body: %d %s", r.StatusCode, r.Body)
	}
	if r := dlCall(t, a, readA, RouteDeadLetterJob, "proj_a", map[string]string{"job_id": "job_1"}, nil, "", nil); r.StatusCode != 200 || !strings.Contains(r.Body, `"state":"queued"`) {
		t.Fatalf("job: %d %s", r.StatusCode, r.Body)
	}
	if r := dlCall(t, a, readA, RouteDeadLetterJob, "proj_a", map[string]string{"job_id": "job_nope"}, nil, "", nil); r.StatusCode != 404 {
		t.Fatalf("unknown job: %d %s", r.StatusCode, r.Body)
	}
	if r := dlCall(t, a, readA, RouteDeadLetterJobs, "proj_a", nil, nil, "", nil); r.StatusCode != 200 || r.Body != `{"data":[]}` {
		t.Fatalf("jobs: %d %s", r.StatusCode, r.Body)
	}
}

// A project's key reaches only its own project's dead letters, and only
// an admin key the operators' overview.
func TestDeadLetterIsolation(t *testing.T) {
	a := queuesAPI(nil)
	a.DeadLetters = &fakeDL{}
	writeA, _ := createKey(t, a, `["proj_a"]`, "write")
	for _, route := range []string{RouteDeadLetterSummary, RouteDeadLetterEvents, RouteDeadLetterRedrive, RouteDeadLetterPurge, RouteDeadLetterJobs, RouteDeadLetterJob} {
		// Another project's dead letters are not there for this key,
		// as its streams are not: 404, and the store is never asked.
		r := dlCall(t, a, writeA, route, "proj_b", map[string]string{"job_id": "job_1"}, nil, `{}`, nil)
		if r.StatusCode != 404 {
			t.Errorf("%s on another project: %d %s, want 404", route, r.StatusCode, r.Body)
		}
	}
	if dl := a.DeadLetters.(*fakeDL); dl.sumFor != [2]string{} || dl.started != nil || dl.peekLimit != 0 {
		t.Errorf("the store was asked for another project: %+v", dl)
	}
	if r := dlCall(t, a, writeA, RouteAdminDeadLetters, "", nil, nil, "", nil); r.StatusCode != 403 {
		t.Errorf("overview with a project key: %d", r.StatusCode)
	}
	if r := dlCall(t, a, adminSecret, RouteAdminDeadLetters, "", nil, nil, "", nil); r.StatusCode != 200 || !strings.Contains(r.Body, `"projects":[`) ||
		!strings.Contains(r.Body, `"dead_letter_queues":[{"destination_type":"datadog","dead_letter_queue":{"messages":4,"in_flight":5,"delayed":6}}`) {
		t.Errorf("overview with the admin key: %d %s", r.StatusCode, r.Body)
	}
	a.DeadLetters = nil
	if r := dlCall(t, a, writeA, RouteDeadLetterSummary, "proj_a", nil, nil, "", nil); r.StatusCode != 503 {
		t.Errorf("no store: %d, want 503", r.StatusCode)
	}
}

type healthFake struct{ h stream.Health }

func (f healthFake) Health(context.Context, string, string) (stream.Health, error) { return f.h, nil }

// The health view's dead letters are the store's, as they are now; enabling
// a stream tells how many wait and can start their redrive.
func TestDeadLettersInHealthAndEnable(t *testing.T) {
	a := &API{Auth: adminAuth{}, Streams: &memStreams{m: map[string]stream.Stream{}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		HealthReader: healthFake{stream.Health{DeliveredEvents: 5, FailedEvents: 9}}}
	parked := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	dl := &fakeDL{summary: deadletter.Summary{Events: 9, Letters: 2, ExpiredEvents: 3,
		Reasons: []deadletter.ReasonSummary{{Reason: stream.ReasonGone, Events: 9, Letters: 2, OldestAt: parked, NewestAt: parked}}}}
	a.DeadLetters = dl
	s := decodeStream(t, call(t, a, RouteCreate, "proj_a", "", "", createBody))
	r := call(t, a, RouteHealth, "proj_a", s.ID, "", "")
	var h HealthResponse
	if err := json.Unmarshal([]byte(r.Body), &h); err != nil || r.StatusCode != 200 {
		t.Fatalf("health: %d %s", r.StatusCode, r.Body)
	}
	if h.DeadLetters[stream.ReasonGone].Count != 9 || h.DeadLettersExpired != 3 || h.FailedEvents != 9 || dl.sumFor[1] != s.ID {
		t.Fatalf("health %+v", h)
	}

	call(t, a, RouteDisable, "proj_a", s.ID, "", "")
	r = call(t, a, RouteEnable, "proj_a", s.ID, "", `{"redrive_dead_letters":true}`)
	var er struct {
		Status      stream.Status       `json:"status"`
		DeadLetters *deadletter.Waiting `json:"dead_letters"`
	}
	if err := json.Unmarshal([]byte(r.Body), &er); err != nil || r.StatusCode != 200 || r.Headers["etag"] == "" {
		t.Fatalf("enable: %d %s", r.StatusCode, r.Body)
	}
	if er.Status != stream.StatusActive || er.DeadLetters == nil || er.DeadLetters.Events != 9 || er.DeadLetters.Redrive == nil ||
		len(dl.started) != 1 || dl.started[0].Filter.StreamID != s.ID {
		t.Fatalf("enable answered %+v, jobs started %+v", er, dl.started)
	}
	// Without the flag it only counts.
	call(t, a, RouteDisable, "proj_a", s.ID, "", "")
	r = call(t, a, RouteEnable, "proj_a", s.ID, "", "")
	if !strings.Contains(r.Body, `"dead_letters":{"events":9,"letters":2}`) || len(dl.started) != 1 {
		t.Fatalf("enable without redrive: %s; %d jobs", r.Body, len(dl.started))
	}
	if r := call(t, a, RouteEnable, "proj_a", s.ID, "", `{"redrive":true}`); r.StatusCode != 400 {
		t.Fatalf("unknown enable field: %d", r.StatusCode)
	}
}
