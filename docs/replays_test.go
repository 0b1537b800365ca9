package docs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/eventarchive"
	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/replay"
	"github.com/logstream/logstream/shared/replay/replaytest"
	"github.com/logstream/logstream/shared/stream"
)

// Replay route keys, as topology and the document name them.
const (
	rReplay       = "POST /v1/projects/{project_id}/streams/{stream_id}/replay"
	rReplays      = "GET /v1/projects/{project_id}/replays"
	rReplayJob    = "GET /v1/projects/{project_id}/replays/{job_id}"
	rCancelReplay = "POST /v1/projects/{project_id}/replays/{job_id}/cancel"
)

// hour is the start of the fixture's current hour: a window on whole hours
// is measured exactly by the archive's index.
func (f *fixture) hour() time.Time { return f.now.Truncate(time.Hour) }

func rfc3339(t time.Time) string { return t.Format(time.RFC3339Nano) }

// replayBody is a replay request of the window [hour+since, hour+until),
// with more members after those two.
func (f *fixture) replayBody(since, until time.Duration, more string) string {
	return `{"since":"` + rfc3339(f.hour().Add(since)) + `","until":"` + rfc3339(f.hour().Add(until)) + `"` + more + `}`
}

func (f *fixture) replayParams(jobID string) map[string]string {
	return map[string]string{"project_id": projectA, "job_id": jobID}
}

// archiveObject is one object as the archiver writes it: gzip NDJSON under
// a key that names its project, hour, events and bytes.
type archiveObject struct {
	key        string
	body       []byte
	events     int
	bytes      int64
	hourOffset time.Duration
}

// archiveObjects are projectA's archive for the two hours before the one
// before hour: three objects, six events, one of them a user.logout, each
// with an actor's email for masking to find.
func archiveObjects(hour time.Time) []archiveObject {
	objects := []struct {
		ago   time.Duration
		types []string
	}{
		{3 * time.Hour, []string{"user.login", "user.logout", "user.login"}},
		{2 * time.Hour, []string{"user.login", "user.session.start"}},
		{2 * time.Hour, []string{"user.login"}},
	}
	var out []archiveObject
	n := 0
	for i, o := range objects {
		h := hour.Add(-o.ago)
		var lines []string
		for j, typ := range o.types {
			n++
			lines = append(lines, fmt.Sprintf(`{"event_id":"evt_replay_%d","type":%q,"timestamp":%q,"actor":{"id":"usr_42","email":"ada@example.com"}}`,
				n, typ, rfc3339(h.Add(time.Duration(10*(j+1))*time.Minute))))
		}
		ndjson := []byte(strings.Join(lines, "\n") + "\n")
		// Written a minute after the hour ended, by the archiver's clock.
		key := eventarchive.Key(projectA, h, h.Add(time.Hour+time.Duration(i+1)*time.Minute), fmt.Sprintf("0a1b2c3%d", i), len(o.types), int64(len(ndjson)))
		out = append(out, archiveObject{key: key, body: gzipped(ndjson), events: len(o.types), bytes: int64(len(ndjson)), hourOffset: -o.ago})
	}
	return out
}

// archived is what archiveObjects hold, as the index must size it.
func archived(hour time.Time) eventarchive.Size {
	s := eventarchive.Size{Partitions: 2, Exact: true}
	for _, o := range archiveObjects(hour) {
		s.Objects++
		s.Events += o.events
		s.Bytes += o.bytes
		s.StoredBytes += int64(len(o.body))
	}
	return s
}

// archiveSome puts archiveObjects in the fixture's event archive.
func (f *fixture) archiveSome() {
	f.t.Helper()
	for _, o := range archiveObjects(f.hour()) {
		if err := f.events.Put(context.Background(), o.key, o.body); err != nil {
			f.t.Fatal(err)
		}
	}
}

// someReplay is the id of a replay job of projectA, started for the
// occasion if there is none: the base window to the webhook stream,
// without its logouts.
func (f *fixture) someReplay() string {
	f.t.Helper()
	ctx := context.Background()
	jobs, err := f.jobs.List(ctx, projectA, 1)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(jobs) > 0 {
		return jobs[0].ID
	}
	since, until, rate := f.hour().Add(-3*time.Hour), f.hour().Add(-time.Hour), 500
	j, _, err := f.replays.Start(ctx, projectA, f.webhook.ID, replay.Request{Since: &since, Until: &until, Rate: &rate,
		Filter: &stream.Filters{Exclude: []stream.Rule{{Field: "type", Match: "user.logout"}}}}, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return j.ID
}

// runReplay runs someReplay's job to its end, as the replay function would.
func (f *fixture) runReplay() {
	f.t.Helper()
	id := f.someReplay()
	if err := f.replays.RunJob(context.Background(), projectA, id); err != nil {
		f.t.Fatal(err)
	}
	if j, _ := f.jobs.Get(context.Background(), projectA, id); j.State != replay.StateSucceeded {
		f.t.Fatalf("the worker left the job %s: %+v", j.State, j)
	}
}

// failingCreate is a replay job store that can store no new job, as when
// DynamoDB refuses the write.
type failingCreate struct{ *replaytest.Jobs }

func (failingCreate) Create(context.Context, replay.Job) (replay.Job, error) {
	return replay.Job{}, errors.New("dynamodb: ProvisionedThroughputExceededException")
}

// withStartFrom puts start_from, at ago before the fixture's now, first in
// the call's JSON object body.
func withStartFrom(ago time.Duration) func(f *fixture, c *call) {
	return func(f *fixture, c *call) {
		c.body = []byte(`{"start_from":"` + rfc3339(f.now.Add(-ago)) + `",` + strings.TrimPrefix(string(c.body), "{"))
	}
}

func decodeJob(t *testing.T, b []byte) replay.Job {
	t.Helper()
	var j replay.Job
	if err := json.Unmarshal(b, &j); err != nil || j.ID == "" {
		t.Fatalf("not a replay job: %v: %s", err, b)
	}
	return j
}

func replayScenarios() []scenario {
	withSetup := func(sc scenario, setup func(f *fixture)) scenario { sc.setup = setup; return sc }
	archive := func(f *fixture) { f.archiveSome() }
	noService := func(f *fixture, _ *call) { f.api.Replays = nil }
	body := func(b func(f *fixture) string) func(f *fixture, c *call) {
		return func(f *fixture, c *call) { c.body = []byte(b(f)) }
	}
	located := func(t *testing.T, r *result, j replay.Job) {
		if want := "/v1/projects/" + projectA + "/replays/" + j.ID; r.headers.Get("Location") != want {
			t.Errorf("Location %q, want %q", r.headers.Get("Location"), want)
		}
	}
	stored := func(t *testing.T, f *fixture) []replay.Job {
		jobs, err := f.jobs.List(context.Background(), projectA, 100)
		if err != nil {
			t.Fatal(err)
		}
		return jobs
	}
	var out []scenario
	for _, route := range []string{rReplay, rReplays, rReplayJob, rCancelReplay} {
		out = append(out, derive(route, "no replay service", 503, "replay_unavailable", "", false, noService))
	}

	// POST …/replay
	out = append(out,
		withSetup(succeeds(rReplay, "start", 202, func(t *testing.T, f *fixture, r *result) {
			j := decodeJob(t, r.body)
			h := f.hour()
			if j.Origin != replay.OriginRequest || j.State != replay.StateQueued || j.Rate != 500 || j.StreamID != f.webhook.ID ||
				!j.Since.Equal(h.Add(-3*time.Hour)) || !j.Until.Equal(h.Add(-time.Hour)) || j.Filter == nil {
				t.Errorf("job %s", r.body)
			}
			// The window ended an hour ago: settled, it may start now.
			if !j.NotBefore.Equal(f.now) || j.Size != archived(h) || j.Progress.Total != 6 || j.Progress.Hours != 2 {
				t.Errorf("not_before, size or progress: %s, want size %+v", r.body, archived(h))
			}
			located(t, r, j)
			if jobs := stored(t, f); len(jobs) != 1 || jobs[0].ID != j.ID {
				t.Errorf("stored %+v", jobs)
			}
		}), archive),
		derive(rReplay, "until now: waits for the archive to settle", 202, "", "", false, body(func(f *fixture) string {
			return `{"since":"` + rfc3339(f.now.Add(-90*time.Minute)) + `"}`
		})).checking(func(t *testing.T, f *fixture, r *result) {
			j := decodeJob(t, r.body)
			// Its first hour is read once it has settled: the settle time
			// after that hour (or the window) ends, and not before now.
			first := f.now.Add(-90 * time.Minute).Truncate(time.Hour).Add(time.Hour)
			if first.After(f.now) {
				first = f.now
			}
			want := first.Add(replay.DefaultSettle)
			if want.Before(f.now) {
				want = f.now
			}
			if !j.Until.Equal(f.now) || !j.NotBefore.Equal(want) || j.Size.Exact || j.Rate != replay.DefaultRate {
				t.Errorf("job %s", r.body)
			}
		}),
		withSetup(derive(rReplay, "dry run", 200, "", "", false, body(func(f *fixture) string {
			return f.replayBody(-3*time.Hour, -time.Hour, `,"rate":4,"dry_run":true`)
		})), archive).checking(func(t *testing.T, f *fixture, r *result) {
			var d manage.DryRun
			if err := json.Unmarshal(r.body, &d); err != nil || !d.DryRun || d.Size != archived(f.hour()) || d.Seconds != 2 || d.Rate != 4 {
				t.Errorf("dry run %s (%v), want size %+v and 2 s", r.body, err, archived(f.hour()))
			}
			if r.headers.Get("Location") != "" || len(stored(t, f)) != 0 {
				t.Errorf("a dry run started a job: Location %q, jobs %v", r.headers.Get("Location"), stored(t, f))
			}
		}),
		derive(rReplay, "dry run to a paused stream", 409, "stream_not_active", "", false, func(f *fixture, c *call) {
			c.params = f.streamParams(f.archive)
			c.body = []byte(f.replayBody(-3*time.Hour, -time.Hour, `,"dry_run":true`))
		}),
		derive(rReplay, "same Idempotency-Key again", 200, "", "", false, func(f *fixture, c *call) {
			c.headers["Idempotency-Key"] = "replay-1"
			if first := f.do(rReplay, *c); first.status != 202 {
				f.t.Fatalf("first replay: %d %s", first.status, first.body)
			}
		}).checking(func(t *testing.T, f *fixture, r *result) {
			j := decodeJob(t, r.body)
			if jobs := stored(t, f); len(jobs) != 1 || jobs[0].ID != j.ID {
				t.Errorf("a second job was started: %v", jobs)
			}
			located(t, r, j)
		}),
		derive(rReplay, "Idempotency-Key of another rate", 422, "idempotency_key_reused", "Idempotency-Key", false, func(f *fixture, c *call) {
			c.headers["Idempotency-Key"] = "replay-2"
			if first := f.do(rReplay, *c); first.status != 202 {
				f.t.Fatalf("first replay: %d %s", first.status, first.body)
			}
			c.body = []byte(f.replayBody(-3*time.Hour, -time.Hour, `,"filter":{"exclude":[{"field":"type","match":"user.logout"}]},"rate":2000`))
		}).checking(func(t *testing.T, f *fixture, _ *result) {
			if jobs := stored(t, f); len(jobs) != 1 || jobs[0].Rate != 500 {
				t.Errorf("jobs %+v, want the first alone", jobs)
			}
		}),
		derive(rReplay, "Idempotency-Key too long", 400, "invalid_idempotency_key", "Idempotency-Key", true, func(_ *fixture, c *call) {
			c.headers["Idempotency-Key"] = strings.Repeat("k", 257)
		}),
		derive(rReplay, "Idempotency-Key too short", 400, "invalid_idempotency_key", "Idempotency-Key", true, func(_ *fixture, c *call) {
			c.headers["Idempotency-Key"] = "short"
		}),
		derive(rReplay, "no since", 400, "invalid_request", "since", true, body(func(f *fixture) string {
			return `{"until":"` + rfc3339(f.hour()) + `"}`
		})),
		derive(rReplay, "since not RFC 3339", 400, "invalid_request", "since", true, body(func(*fixture) string {
			return `{"since":"yesterday"}`
		})),
		derive(rReplay, "until in the future", 400, "invalid_request", "until", false, body(func(f *fixture) string {
			return `{"since":"` + rfc3339(f.now.Add(-time.Hour)) + `","until":"` + rfc3339(f.now.Add(time.Minute)) + `"}`
		})),
		derive(rReplay, "since older than the archive keeps", 400, "invalid_request", "since", false, body(func(f *fixture) string {
			return `{"since":"` + rfc3339(f.now.Add(-replay.DefaultRetention-time.Minute)) + `"}`
		})),
		derive(rReplay, "since not before until", 400, "invalid_request", "since", false, body(func(f *fixture) string {
			return f.replayBody(-time.Hour, -time.Hour, "")
		})),
		derive(rReplay, "rate zero", 400, "invalid_request", "rate", true, body(func(f *fixture) string {
			return f.replayBody(-3*time.Hour, -time.Hour, `,"rate":0`)
		})),
		derive(rReplay, "rate too high", 400, "invalid_request", "rate", true, body(func(f *fixture) string {
			return f.replayBody(-3*time.Hour, -time.Hour, `,"rate":50001`)
		})),
		derive(rReplay, "unknown member", 400, "invalid_request", "stream_id", true, body(func(f *fixture) string {
			return f.replayBody(-3*time.Hour, -time.Hour, `,"stream_id":"`+f.webhook.ID+`"`)
		})),
		derive(rReplay, "filter glob that is not one", 400, "invalid_request", "filter.include[0].match", false, body(func(f *fixture) string {
			return f.replayBody(-3*time.Hour, -time.Hour, `,"filter":{"include":[{"field":"type","match":"[a-"}]}`)
		})),
		derive(rReplay, "paused stream", 409, "stream_not_active", "", false, func(f *fixture, c *call) {
			c.params = f.streamParams(f.archive)
		}),
		derive(rReplay, "too large", 413, "payload_too_large", "", true, body(func(f *fixture) string {
			return f.replayBody(-3*time.Hour, -time.Hour, `,"note":"`+strings.Repeat("t", 70_000)+`"`)
		})),
		derive(rReplay, "not JSON", 415, "unsupported_media_type", "", true, func(_ *fixture, c *call) {
			c.headers["Content-Type"] = "text/plain"
		}),
		derive(rReplay, "the project's cap reached", 429, "too_many_replays", "", false, func(f *fixture, c *call) {
			for range replay.DefaultMaxActive {
				if r := f.do(rReplay, *c); r.status != 202 {
					f.t.Fatalf("replay: %d %s", r.status, r.body)
				}
			}
		}).checking(func(t *testing.T, f *fixture, r *result) {
			jobs := stored(t, f)
			if len(jobs) != replay.DefaultMaxActive {
				t.Fatalf("jobs %v", jobs)
			}
			// As the answer says: cancelling one makes room.
			if c := f.do(rCancelReplay, call{auth: f.writeKey, params: f.replayParams(jobs[0].ID)}); c.status != 200 {
				t.Fatalf("cancel: %d %s", c.status, c.body)
			}
			if again := f.do(rReplay, base[rReplay](f)); again.status != 202 {
				t.Errorf("after a cancel: %d %s", again.status, again.body)
			}
		}),
	)

	// GET …/replays
	out = append(out,
		succeeds(rReplays, "none", 200, func(t *testing.T, _ *fixture, r *result) {
			if string(r.body) != `{"data":[]}` {
				t.Errorf("jobs %s", r.body)
			}
		}),
		withSetup(succeeds(rReplays, "newest first, a backfill among them", 200, func(t *testing.T, f *fixture, r *result) {
			var l manage.ReplayList
			if err := json.Unmarshal(r.body, &l); err != nil || len(l.Data) != 2 ||
				l.Data[0].Origin != replay.OriginRequest || l.Data[1].Origin != replay.OriginStartFrom {
				t.Errorf("jobs %s (%v)", r.body, err)
			}
		}), func(f *fixture) {
			c := jsonCall(f.writeKey, project(projectA), createBodies["eventbridge"])
			withStartFrom(2*time.Hour)(f, &c)
			if r := f.do(rCreate, c); r.status != 201 {
				f.t.Fatalf("create: %d %s", r.status, r.body)
			}
			f.now = f.now.Add(time.Second) // the replay is the newer
			if r := f.do(rReplay, base[rReplay](f)); r.status != 202 {
				f.t.Fatalf("replay: %d %s", r.status, r.body)
			}
		}),
		derive(rReplays, "limit too large", 400, "invalid_request", "limit", true, func(_ *fixture, c *call) {
			c.query = url.Values{"limit": {"101"}}
		}),
	)

	// GET …/replays/{job_id}
	out = append(out,
		succeeds(rReplayJob, "queued", 200, func(t *testing.T, f *fixture, r *result) {
			if j := decodeJob(t, r.body); j.State != replay.StateQueued || j.StartedAt != nil {
				t.Errorf("job %s", r.body)
			}
		}),
		withSetup(succeeds(rReplayJob, "succeeded, masked as the stream is now", 200, func(t *testing.T, f *fixture, r *result) {
			j := decodeJob(t, r.body)
			p := j.Progress
			if j.State != replay.StateSucceeded || j.StartedAt == nil || j.EndedAt == nil || p.HoursDone != 2 || p.Objects != 3 ||
				p.Events != 6 || p.Sent != 5 || p.Filtered != 1 {
				t.Errorf("job %s", r.body)
			}
			evs := f.pub.queued(t)
			if len(evs) != 5 {
				t.Fatalf("queued %d events, want 5", len(evs))
			}
			for _, ev := range evs {
				if id, _ := ev["event_id"].(string); !strings.HasPrefix(id, "evt_replay_") || dig(ev, "actor.email") != "[REDACTED]" || ev["type"] == "user.logout" {
					t.Errorf("replayed %v", ev)
				}
			}
		}), func(f *fixture) {
			f.archiveSome()
			// Masking added after the events arrived applies to the replay.
			s := f.streams.m[projectA+"/"+f.webhook.ID]
			s.PII = &stream.PII{Fields: []stream.PIIField{{Field: "actor.email", Action: "redact"}}}
			f.streams.m[projectA+"/"+f.webhook.ID] = s
			f.runReplay()
		}),
		derive(rReplayJob, "unknown job", 404, "not_found", "", false, func(_ *fixture, c *call) {
			c.params["job_id"] = "rpl_00000000000000000000000000"
		}),
		derive(rReplayJob, "malformed job id", 404, "not_found", "", true, func(_ *fixture, c *call) { c.params["job_id"] = "job_0000000000000000000000000" }),
	)

	// POST …/replays/{job_id}/cancel
	out = append(out,
		succeeds(rCancelReplay, "a queued job", 200, func(t *testing.T, _ *fixture, r *result) {
			if j := decodeJob(t, r.body); j.State != replay.StateCancelled || !j.CancelRequested || j.EndedAt == nil {
				t.Errorf("job %s", r.body)
			}
		}),
		withSetup(succeeds(rCancelReplay, "a job a worker holds", 200, func(t *testing.T, _ *fixture, r *result) {
			if j := decodeJob(t, r.body); j.State != replay.StateRunning || !j.CancelRequested || j.EndedAt != nil {
				t.Errorf("job %s", r.body)
			}
		}), func(f *fixture) {
			// What a worker's RunJob stores when it takes the job.
			j, err := f.jobs.Get(context.Background(), projectA, f.someReplay())
			if err != nil {
				f.t.Fatal(err)
			}
			j.State, j.LeaseUntil, j.StartedAt = replay.StateRunning, f.now.Add(replay.DefaultLease), &f.now
			if _, err := f.jobs.Update(context.Background(), j); err != nil {
				f.t.Fatal(err)
			}
		}),
		withSetup(succeeds(rCancelReplay, "cancelled already", 200, func(t *testing.T, _ *fixture, r *result) {
			if j := decodeJob(t, r.body); j.State != replay.StateCancelled {
				t.Errorf("job %s", r.body)
			}
		}), func(f *fixture) {
			if _, err := f.replays.Cancel(context.Background(), projectA, f.someReplay()); err != nil {
				f.t.Fatal(err)
			}
		}),
		withSetup(derive(rCancelReplay, "succeeded", 409, "replay_ended", "", false, func(*fixture, *call) {}), func(f *fixture) {
			f.archiveSome()
			f.runReplay()
		}),
		derive(rCancelReplay, "unknown job", 404, "not_found", "", false, func(_ *fixture, c *call) {
			c.params["job_id"] = "rpl_00000000000000000000000000"
		}),
		derive(rCancelReplay, "malformed job id", 404, "not_found", "", true, func(_ *fixture, c *call) { c.params["job_id"] = "nope" }),
	)

	// start_from on the native create, and its refusal on changes
	backfill := func(t *testing.T, r *result) (stream.Stream, replay.Job) {
		var cr struct {
			stream.Stream
			Backfill *replay.Job `json:"backfill"`
		}
		if err := json.Unmarshal(r.body, &cr); err != nil || cr.Backfill == nil {
			t.Fatalf("no backfill: %v: %s", err, r.body)
		}
		return cr.Stream, *cr.Backfill
	}
	out = append(out,
		derive(rCreate, "with start_from", 201, "", "", false, withStartFrom(2*time.Hour)).checking(func(t *testing.T, f *fixture, r *result) {
			s, j := backfill(t, r)
			// Live delivery reaches it within the stream cache's TTL; its
			// first hours have settled, so it may start at once, and waits
			// only before its last (settle after live).
			live := f.now.Add(30 * time.Second)
			if j.Origin != replay.OriginStartFrom || j.StreamID != s.ID || j.State != replay.StateQueued || j.Rate != replay.DefaultRate ||
				!j.Since.Equal(f.now.Add(-2*time.Hour)) || !j.Until.Equal(live) || !j.NotBefore.Equal(f.now) {
				t.Errorf("backfill %s", r.body)
			}
			if r.headers.Get("Location") != "/v1/projects/proj_a/streams/"+s.ID || r.headers.Get("ETag") != `"1"` {
				t.Errorf("headers %v", r.headers)
			}
			if got, err := f.jobs.Get(context.Background(), projectA, j.ID); err != nil || got.StreamID != s.ID {
				t.Errorf("backfill not stored: %v", err)
			}
		}),
		derive(rCreate, "paused, with start_from: the backfill waits", 201, "", "", false, func(f *fixture, c *call) {
			c.body = []byte(createBodies["eventbridge"]) // paused
			withStartFrom(time.Hour)(f, c)
		}).checking(func(t *testing.T, f *fixture, r *result) {
			s, j := backfill(t, r)
			if !j.Until.IsZero() || !j.NotBefore.IsZero() || j.State != replay.StateQueued || j.Progress.Hours != 0 {
				t.Errorf("backfill of a paused stream %s", r.body)
			}
			// Enabling gives it its end: when live delivery reaches the stream.
			f.now = f.now.Add(time.Hour)
			if e := f.do(rEnable, call{auth: f.writeKey, params: f.streamParams(s)}); e.status != 200 {
				t.Fatalf("enable: %d %s", e.status, e.body)
			}
			got, err := f.jobs.Get(context.Background(), projectA, j.ID)
			live := f.now.Add(30 * time.Second)
			if err != nil || !got.Until.Equal(live) || !got.NotBefore.Equal(f.now) || got.Progress.Hours < 3 {
				t.Errorf("after enable: %+v (%v)", got, err)
			}
		}),
		derive(rCreate, "start_from older than the archive keeps", 400, "invalid_request", "start_from", false,
			withStartFrom(replay.DefaultRetention+time.Minute)),
		derive(rCreate, "start_from in the future", 400, "invalid_request", "start_from", false, withStartFrom(-time.Minute)),
		derive(rCreate, "start_from not RFC 3339", 400, "invalid_request", "start_from", true, func(_ *fixture, c *call) {
			c.body = []byte(`{"start_from":"last week",` + strings.TrimPrefix(createBodies["datadog"], "{"))
		}),
		derive(rCreate, "start_from without a replay service", 503, "replay_unavailable", "", false, func(f *fixture, c *call) {
			noService(f, c)
			withStartFrom(time.Hour)(f, c)
		}).checking(func(t *testing.T, f *fixture, _ *result) {
			if n := len(f.streams.m); n != 2 {
				t.Errorf("%d streams, want the fixture's 2: nothing created", n)
			}
		}),
		derive(rCreate, "backfill not stored", 503, "backfill_not_started", "", false, func(f *fixture, c *call) {
			f.replays.Jobs = failingCreate{f.jobs}
			withStartFrom(time.Hour)(f, c)
		}).checking(func(t *testing.T, f *fixture, _ *result) {
			// The backfill is stored first: nothing was created, and the
			// request can be retried as it is.
			if n := len(f.streams.m); n != 2 {
				t.Errorf("%d streams, want the fixture's 2", n)
			}
		}),
		derive(rPatch, "start_from", 400, "invalid_request", "start_from", true, withStartFrom(time.Hour)),
		derive(rPut, "start_from", 400, "invalid_request", "start_from", true, withStartFrom(time.Hour)),
	)

	// start_from on the Stytch-compatible creates
	for _, fam := range []stytchPaths{stytchV1, stytchV3} {
		out = append(out,
			derive(fam.create, "with start_from", 200, "", "", false, withStartFrom(time.Hour)).checking(func(t *testing.T, f *fixture, r *result) {
				if m := r.json(t); m["backfill"] != nil || dig(m, "event_log_streaming_config.streaming_status") != "DISABLED" {
					t.Errorf("the answer is not Stytch's: %s", r.body)
				}
				jobs, _ := f.jobs.List(context.Background(), fam.project, 10)
				if len(jobs) != 1 || jobs[0].Origin != replay.OriginStartFrom || !jobs[0].Until.IsZero() {
					t.Fatalf("backfill %+v, want one waiting for the config to be enabled", jobs)
				}
				if e := f.do(fam.enable, base[fam.enable](f)); e.status != 200 {
					t.Fatalf("enable: %d %s", e.status, e.body)
				}
				if got, _ := f.jobs.Get(context.Background(), fam.project, jobs[0].ID); !got.Until.Equal(f.now.Add(30 * time.Second)) {
					t.Errorf("enabled, the backfill ends %v", got.Until)
				}
			}),
			derive(fam.create, "start_from older than the archive keeps", 400, "invalid_request", "", false,
				withStartFrom(replay.DefaultRetention+time.Hour)),
			derive(fam.create, "start_from without a replay service", 503, "replay_unavailable", "", false, func(f *fixture, c *call) {
				noService(f, c)
				withStartFrom(time.Hour)(f, c)
			}),
			derive(fam.create, "backfill not stored", 503, "backfill_not_started", "", false, func(f *fixture, c *call) {
				f.replays.Jobs = failingCreate{f.jobs}
				withStartFrom(time.Hour)(f, c)
			}).checking(func(t *testing.T, f *fixture, _ *result) {
				// Nothing was created: the request can be retried as it is.
				if got := f.do(fam.get, base[fam.get](f)); got.status != 404 {
					t.Errorf("read after the 503: %d %s", got.status, got.body)
				}
			}),
			derive(fam.put, "start_from", 400, "invalid_request", "", true, withStartFrom(time.Hour)),
		)
	}
	return out
}
