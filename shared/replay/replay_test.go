package replay_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/eventarchive"
	"github.com/logstream/logstream/shared/eventarchive/archivetest"
	"github.com/logstream/logstream/shared/pii"
	"github.com/logstream/logstream/shared/replay"
	"github.com/logstream/logstream/shared/replay/replaytest"
	"github.com/logstream/logstream/shared/stream"
)

const (
	project  = "acme"
	other    = "globex"
	streamID = "str_0123456789abcdef0123456789abcdef"
	queueURL = "http://sqs/deliver-http"
)

// clock is a test clock that sleeping advances.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Sleep(_ context.Context, d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type streams map[string]stream.Stream

func (s streams) Get(_ context.Context, projectID, id string) (stream.Stream, error) {
	st, ok := s[projectID+"/"+id]
	if !ok {
		return stream.Stream{}, stream.ErrNotFound
	}
	return st, nil
}

// publisher records what a replay enqueued; fail, when set, refuses a
// publish.
type publisher struct {
	mu     sync.Mutex
	events []json.RawMessage
	envs   []envelope.Envelope
	urls   map[string]int
	fail   func(n int) error // n: publishes so far
	calls  int
}

func (p *publisher) Publish(_ context.Context, url string, msgs []envelope.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.fail != nil {
		if err := p.fail(p.calls); err != nil {
			return err
		}
	}
	if p.urls == nil {
		p.urls = map[string]int{}
	}
	p.urls[url]++
	for _, m := range msgs {
		env, err := envelope.Open(string(m.Body), m.Attributes[envelope.AttrEncoding])
		if err != nil {
			return err
		}
		p.envs = append(p.envs, env)
		p.events = append(p.events, env.Events...)
	}
	return nil
}

func (p *publisher) ids(t *testing.T) map[string]int {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for _, ev := range p.events {
		var e struct {
			ID string `json:"event_id"`
		}
		if err := json.Unmarshal(ev, &e); err != nil {
			t.Fatal(err)
		}
		out[e.ID]++
	}
	return out
}

// quiet discards the services' log lines.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	svc     *replay.Service
	clock   *clock
	archive *archivetest.Archive
	jobs    *replaytest.Jobs
	slots   *replaytest.Slots
	pub     *publisher
	streams streams
	// start is the first hour archived; each hour holds perHour events of
	// project, spread over it, and as many of other.
	start   time.Time
	perHour int
}

// newFixture archives hours × perHour events of each of two projects, the
// clock an hour past the last.
func newFixture(t *testing.T, hours, perHour int) *fixture {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Hour)
	f := &fixture{clock: &clock{now: now}, archive: &archivetest.Archive{}, jobs: &replaytest.Jobs{}, pub: &publisher{},
		start: now.Add(-time.Duration(hours+1) * time.Hour), perHour: perHour,
		streams: streams{project + "/" + streamID: {ID: streamID, ProjectID: project, DestinationType: "http", Status: stream.StatusActive}}}
	w := &eventarchive.Writer{Store: f.archive, Log: quiet}
	for _, p := range []string{project, other} {
		for h := range hours {
			var recs []events.SQSMessage
			for half := range 2 { // two objects an hour
				var evs []json.RawMessage
				for i := range perHour / 2 {
					n := h*perHour + half*(perHour/2) + i
					at := f.start.Add(time.Duration(h)*time.Hour + time.Duration(n%perHour)*time.Hour/time.Duration(perHour))
					evs = append(evs, json.RawMessage(fmt.Sprintf(`{"event_id":"%s-%d","timestamp":%q,"type":%q,"email":"u%d@example.com"}`,
						p, n, at.Format(time.RFC3339Nano), []string{"login", "logout"}[n%2], n)))
				}
				msgs, err := envelope.Pack(p, envelope.ArchiveStreamID, evs, envelope.MaxMessageBytes)
				if err != nil {
					t.Fatal(err)
				}
				for j, m := range msgs {
					recs = append(recs, events.SQSMessage{MessageId: fmt.Sprint(p, h, half, j), Body: string(m.Body)})
				}
				if _, err := w.Handle(context.Background(), events.SQSEvent{Records: recs}); err != nil {
					t.Fatal(err)
				}
				recs = nil
			}
		}
	}
	keys, _ := pii.NewLocalKeys("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	f.slots = &replaytest.Slots{Now: f.clock.Now}
	f.svc = &replay.Service{Jobs: f.jobs, Slots: f.slots, Archive: f.archive, Reader: f.archive, Streams: f.streams, Publisher: f.pub,
		QueueURLs: map[string]string{"http": queueURL}, Keys: keys, Now: f.clock.Now, Sleep: f.clock.Sleep, Log: quiet}
	return f
}

func (f *fixture) hour(h int) time.Time { return f.start.Add(time.Duration(h) * time.Hour) }

func ptr[T any](v T) *T { return &v }

// start creates a replay of [since, until) and runs it to the end.
func (f *fixture) run(t *testing.T, req replay.Request) replay.Job {
	t.Helper()
	j, created, err := f.svc.Start(context.Background(), project, streamID, req, "")
	if err != nil || !created {
		t.Fatalf("Start = %+v, %v, %v", j, created, err)
	}
	if err := f.svc.RunJob(context.Background(), project, j.ID); err != nil {
		t.Fatal(err)
	}
	j, _ = f.svc.Job(context.Background(), project, j.ID)
	return j
}

// A replay of one hour sends exactly that hour's events, once each, with
// their event_ids, to the stream's queue, and reads only that hour's
// partition of its own project.
func TestReplaySendsTheWindowOnce(t *testing.T) {
	f := newFixture(t, 3, 40)
	j := f.run(t, replay.Request{Since: ptr(f.hour(1)), Until: ptr(f.hour(2))})
	if j.State != replay.StateSucceeded || j.Progress.Sent != 40 || j.Progress.Events != 40 || j.Progress.Total != 40 || j.Progress.HoursDone != 1 {
		t.Fatalf("job %+v", j)
	}
	ids := f.pub.ids(t)
	for n := 40; n < 80; n++ {
		if ids[fmt.Sprintf("%s-%d", project, n)] != 1 {
			t.Fatalf("event %d sent %d times", n, ids[fmt.Sprintf("%s-%d", project, n)])
		}
	}
	if len(ids) != 40 || f.pub.urls[queueURL] == 0 || len(f.pub.urls) != 1 {
		t.Fatalf("sent %d distinct events to %v", len(ids), f.pub.urls)
	}
	for _, env := range f.pub.envs {
		if env.ProjectID != project || env.StreamID != streamID {
			t.Fatalf("envelope for %s/%s", env.ProjectID, env.StreamID)
		}
	}
}

// A window inside hours reads their partitions but sends only the events
// whose timestamps are in it.
func TestReplayCutsTheWindowByTimestamp(t *testing.T) {
	f := newFixture(t, 3, 40)
	since, until := f.hour(0).Add(30*time.Minute), f.hour(2).Add(15*time.Minute)
	j := f.run(t, replay.Request{Since: &since, Until: &until})
	// hour 0: events 20..39 (minutes 30..58.5); hour 1: 40; hour 2: minutes 0..14.9 = 10
	if j.Progress.Sent != 20+40+10 || j.Progress.Total != 120 || j.Size.Exact {
		t.Fatalf("job progress %+v size %+v", j.Progress, j.Size)
	}
}

// The stream's current filters and masking apply, and the replay's own
// filter narrows further.
func TestReplayFiltersAndMasks(t *testing.T) {
	f := newFixture(t, 2, 20)
	st := f.streams[project+"/"+streamID]
	st.Filters = &stream.Filters{Include: []stream.Rule{{Field: "type", In: []string{"login"}}}}
	st.PII = &stream.PII{Fields: []stream.PIIField{{Field: "email", Action: "redact"}}}
	f.streams[project+"/"+streamID] = st
	j := f.run(t, replay.Request{Since: ptr(f.hour(0)), Until: ptr(f.hour(2)),
		Filter: &stream.Filters{Exclude: []stream.Rule{{Field: "event_id", In: []string{project + "-0"}}}}})
	if j.Progress.Sent != 19 || j.Progress.Filtered != 21 || j.Progress.Events != 40 {
		t.Fatalf("progress %+v, want 19 logins sent (event 0 excluded by the replay's filter)", j.Progress)
	}
	for _, ev := range f.pub.events {
		if strings.Contains(string(ev), "@example.com") || !strings.Contains(string(ev), `"type":"login"`) {
			t.Fatalf("sent %s", ev)
		}
	}
}

// Events the archive holds twice (an archiver retry) are sent once.
func TestReplayDropsArchiveDuplicates(t *testing.T) {
	f := newFixture(t, 1, 10)
	// The archiver writes the same events again, as after a failed batch.
	keys := f.archive.Keys(eventarchive.HourPrefix(project, f.hour(0)))
	body, _ := f.archive.Get(context.Background(), keys[0])
	o, _ := eventarchive.ParseKey(keys[0])
	dup := eventarchive.Key(project, o.Hour, f.clock.Now(), "again", o.Events, o.Bytes)
	_ = f.archive.Put(context.Background(), dup, body)
	j := f.run(t, replay.Request{Since: ptr(f.hour(0)), Until: ptr(f.hour(1))})
	if j.Progress.Sent != 10 || j.Progress.Duplicates != 5 {
		t.Fatalf("progress %+v", j.Progress)
	}
}

// A worker that dies after enqueueing a batch and before checkpointing it
// leaves the job to the next, which resumes from the checkpoint: nothing is
// lost and at most that one batch is sent twice.
func TestReplayResumesAfterACrash(t *testing.T) {
	f := newFixture(t, 3, 2*replay.BatchEvents)
	crash := errors.New("killed")
	jobs := &crashingJobs{Jobs: f.jobs, failAfter: 5, err: crash}
	f.svc.Jobs = jobs
	j, _, err := f.svc.Start(context.Background(), project, streamID, replay.Request{Since: ptr(f.hour(0)), Until: ptr(f.hour(3))}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RunJob(context.Background(), project, j.ID); !errors.Is(err, crash) {
		t.Fatalf("first run: %v", err)
	}
	mid, _ := f.jobs.Get(context.Background(), project, j.ID)
	t.Logf("after the crash: %+v %+v, published %d", mid.Progress, mid.Cursor, len(f.pub.events))
	if mid.State.Final() || mid.Progress.Sent == 0 {
		t.Fatalf("after the crash: %+v", mid)
	}
	// The dead worker's lease runs out; the tick resumes the job.
	jobs.revived = true
	f.clock.Sleep(context.Background(), 2*time.Minute)
	if err := f.svc.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	end, _ := f.jobs.Get(context.Background(), project, j.ID)
	ids := f.pub.ids(t)
	sent, twice := 0, 0
	for _, n := range ids {
		sent += n
		if n > 1 {
			twice++
		}
	}
	if end.State != replay.StateSucceeded || len(ids) != 3*2*replay.BatchEvents || twice == 0 || twice > replay.BatchEvents {
		t.Fatalf("job %s: %d distinct events (want %d), %d sent twice", end.State, len(ids), 3*2*replay.BatchEvents, twice)
	}
	t.Logf("crash resent %d events (window: at most %d)", twice, replay.BatchEvents)
}

// crashingJobs fails every update from the failAfter-th on, until revived:
// a worker killed between enqueueing a batch and recording it writes
// nothing more (not even the release of its lease).
type crashingJobs struct {
	replay.Jobs
	failAfter, updates int
	revived            bool
	err                error
}

func (c *crashingJobs) Update(ctx context.Context, j replay.Job) (replay.Job, error) {
	c.updates++
	if c.updates >= c.failAfter && !c.revived {
		return j, c.err
	}
	return c.Jobs.Update(ctx, j)
}

// A replay is paced: n events at rate r take n/r seconds.
func TestReplayIsPaced(t *testing.T) {
	f := newFixture(t, 2, 1000)
	t0 := f.clock.Now()
	j := f.run(t, replay.Request{Since: ptr(f.hour(0)), Until: ptr(f.hour(2)), Rate: ptr(100)})
	if took := f.clock.Now().Sub(t0); j.Progress.Sent != 2000 || took < 19*time.Second || took > 21*time.Second {
		t.Fatalf("sent %d in %s, want 2000 in about 20 s at 100/s", j.Progress.Sent, took)
	}
}

// A cancel stops a running replay at its next checkpoint; one no worker
// holds ends at once.
func TestCancel(t *testing.T) {
	f := newFixture(t, 3, 2*replay.BatchEvents)
	var id string
	f.pub.fail = func(n int) error {
		if n == 2 {
			if _, err := f.svc.Cancel(context.Background(), project, id); err != nil {
				t.Errorf("cancel: %v", err)
			}
		}
		return nil
	}
	j, _, err := f.svc.Start(context.Background(), project, streamID, replay.Request{Since: ptr(f.hour(0)), Until: ptr(f.hour(3))}, "")
	if err != nil {
		t.Fatal(err)
	}
	id = j.ID
	if err := f.svc.RunJob(context.Background(), project, id); err != nil {
		t.Fatal(err)
	}
	j, _ = f.svc.Job(context.Background(), project, id)
	if j.State != replay.StateCancelled || j.Progress.Sent != 2*replay.BatchEvents || j.EndedAt == nil {
		t.Fatalf("job %s sent %d", j.State, j.Progress.Sent)
	}
	if _, err := f.svc.Cancel(context.Background(), project, id); err != nil {
		t.Fatalf("cancelling a cancelled job: %v", err)
	}
	f.pub.fail = nil
	queued, _, _ := f.svc.Start(context.Background(), project, streamID, replay.Request{Since: ptr(f.hour(0)), Until: ptr(f.hour(1))}, "")
	if c, err := f.svc.Cancel(context.Background(), project, queued.ID); err != nil || c.State != replay.StateCancelled {
		t.Fatalf("cancel a queued job: %+v, %v", c, err)
	}
	done := f.run(t, replay.Request{Since: ptr(f.hour(0)), Until: ptr(f.hour(1))})
	if _, err := f.svc.Cancel(context.Background(), project, done.ID); !errors.Is(err, replay.ErrFinal) {
		t.Fatalf("cancel a finished job: %v", err)
	}
}

// What Start and Plan refuse, and the project's cap.
func TestStartRefuses(t *testing.T) {
	f := newFixture(t, 1, 2)
	now := f.clock.Now()
	cases := []struct {
		name  string
		req   replay.Request
		field string
	}{
		{"no since", replay.Request{}, "since"},
		{"empty window", replay.Request{Since: ptr(now.Add(-time.Hour)), Until: ptr(now.Add(-time.Hour))}, "since"},
		{"future until", replay.Request{Since: ptr(now.Add(-time.Hour)), Until: ptr(now.Add(time.Minute))}, "until"},
		{"beyond retention", replay.Request{Since: ptr(now.Add(-8 * 24 * time.Hour))}, "since"},
		{"rate 0", replay.Request{Since: ptr(now.Add(-time.Hour)), Rate: ptr(0)}, "rate"},
		{"rate too high", replay.Request{Since: ptr(now.Add(-time.Hour)), Rate: ptr(replay.MaxRate + 1)}, "rate"},
		{"bad filter", replay.Request{Since: ptr(now.Add(-time.Hour)), Filter: &stream.Filters{Include: []stream.Rule{{Field: ""}}}}, "filter.include[0].field"},
	}
	for _, tc := range cases {
		_, _, err := f.svc.Start(context.Background(), project, streamID, tc.req, "")
		var inv *replay.ErrInvalid
		if !errors.As(err, &inv) || inv.Field != tc.field {
			t.Errorf("%s: %v, want invalid %s", tc.name, err, tc.field)
		}
	}
	if _, _, err := f.svc.Start(context.Background(), project, "str_ffffffffffffffffffffffffffffffff", replay.Request{Since: ptr(now.Add(-time.Hour))}, ""); !errors.Is(err, stream.ErrNotFound) {
		t.Errorf("unknown stream: %v", err)
	}
	if _, _, err := f.svc.Start(context.Background(), other, streamID, replay.Request{Since: ptr(now.Add(-time.Hour))}, ""); !errors.Is(err, stream.ErrNotFound) {
		t.Errorf("another project's stream: %v", err)
	}
	st := f.streams[project+"/"+streamID]
	st.Status = stream.StatusPaused
	f.streams[project+"/"+streamID] = st
	if _, _, err := f.svc.Start(context.Background(), project, streamID, replay.Request{Since: ptr(now.Add(-time.Hour))}, ""); !errors.Is(err, replay.ErrStreamNotActive) {
		t.Errorf("paused stream: %v", err)
	}
	st.Status = stream.StatusActive
	f.streams[project+"/"+streamID] = st
	f.svc.MaxActive = 2
	for i := range 3 {
		_, _, err := f.svc.Start(context.Background(), project, streamID, replay.Request{Since: ptr(now.Add(-time.Hour))}, "")
		if (i < 2) != (err == nil) || (i == 2 && !errors.Is(err, replay.ErrTooMany)) {
			t.Errorf("replay %d: %v", i+1, err)
		}
	}
}

// Backfills do not count against the project's cap: waiting ones (their
// streams paused) must not block every replay.
func TestBackfillsAreNotCounted(t *testing.T) {
	f := newFixture(t, 1, 2)
	f.svc.MaxActive = 1
	st := f.streams[project+"/"+streamID]
	for range 3 {
		if _, err := f.svc.Backfill(context.Background(), st, f.hour(0), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.svc.Start(context.Background(), project, streamID, replay.Request{Since: ptr(f.hour(0))}, ""); err != nil {
		t.Fatalf("a replay beside three waiting backfills: %v", err)
	}
}

// A backfill whose stream is paused waits for it; one whose stream is gone
// ends failed, saying so.
func TestBackfillOfAPausedOrDeletedStream(t *testing.T) {
	f := newFixture(t, 2, 10)
	st := f.streams[project+"/"+streamID]
	j, err := f.svc.Backfill(context.Background(), st, f.hour(0), f.hour(2))
	if err != nil {
		t.Fatal(err)
	}
	st.Status = stream.StatusPaused
	f.streams[project+"/"+streamID] = st
	if err := f.svc.RunJob(context.Background(), project, j.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.Job(context.Background(), project, j.ID); got.State != replay.StateQueued || !got.NotBefore.After(f.clock.Now()) {
		t.Fatalf("backfill of a paused stream: %+v", got)
	}
	st.Status = stream.StatusActive
	f.streams[project+"/"+streamID] = st
	f.clock.Sleep(context.Background(), 2*time.Minute)
	if err := f.svc.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.Job(context.Background(), project, j.ID); got.State != replay.StateSucceeded || got.Progress.Sent != 20 {
		t.Fatalf("backfill once enabled again: %+v", got)
	}
	waiting, _ := f.svc.Backfill(context.Background(), st, f.hour(0), time.Time{})
	delete(f.streams, project+"/"+streamID)
	if err := f.svc.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.Job(context.Background(), project, waiting.ID); got.State != replay.StateFailed || !strings.Contains(got.Error, "does not exist") {
		t.Fatalf("a waiting backfill of a deleted stream: %+v", got)
	}
}

// The cap holds however many requests race: each replay holds one of the
// project's slots, taken with one conditional write, and gives it back
// when it ends (a cancel too).
func TestCapHoldsUnderARace(t *testing.T) {
	f := newFixture(t, 1, 2)
	f.svc.MaxActive = 2
	var wg sync.WaitGroup
	var mu sync.Mutex
	var started []replay.Job
	tooMany := 0
	for range 8 {
		wg.Go(func() {
			j, _, err := f.svc.Start(context.Background(), project, streamID, replay.Request{Since: ptr(f.hour(0)), Until: ptr(f.hour(1))}, "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				started = append(started, j)
			case errors.Is(err, replay.ErrTooMany):
				tooMany++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(started) != 2 || tooMany != 6 || f.slots.Held(project) != 2 {
		t.Fatalf("%d started, %d refused, %d slots held; want 2, 6, 2", len(started), tooMany, f.slots.Held(project))
	}
	if _, err := f.svc.Cancel(context.Background(), project, started[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RunJob(context.Background(), project, started[1].ID); err != nil {
		t.Fatal(err)
	}
	if f.slots.Held(project) != 0 {
		t.Fatalf("%d slots held after both ended", f.slots.Held(project))
	}
	if _, _, err := f.svc.Start(context.Background(), project, streamID, replay.Request{Since: ptr(f.hour(0))}, ""); err != nil {
		t.Fatalf("after both ended: %v", err)
	}
}

// A replay whose stream is paused or deleted while it runs ends failed at
// its next batch, saying why, rather than succeed having sent nothing.
func TestReplayStopsWhenItsStreamGoes(t *testing.T) {
	for _, change := range []string{"paused", "deleted"} {
		f := newFixture(t, 1, 3*replay.BatchEvents)
		f.pub.fail = func(n int) error {
			if n == 1 {
				if change == "deleted" {
					delete(f.streams, project+"/"+streamID)
				} else {
					st := f.streams[project+"/"+streamID]
					st.Status = stream.StatusPaused
					f.streams[project+"/"+streamID] = st
				}
			}
			return nil
		}
		j := f.run(t, replay.Request{Since: ptr(f.hour(0)), Until: ptr(f.hour(1))})
		if j.State != replay.StateFailed || j.Progress.Sent != replay.BatchEvents || j.Error == "" {
			t.Fatalf("%s: %s, sent %d, %q", change, j.State, j.Progress.Sent, j.Error)
		}
	}
}

// The same Idempotency-Key names the same job; with another body it is
// refused.
func TestStartIdempotency(t *testing.T) {
	f := newFixture(t, 1, 2)
	req := replay.Request{Since: ptr(f.hour(0)), Until: ptr(f.hour(1))}
	a, created, err := f.svc.Start(context.Background(), project, streamID, req, "k1")
	if err != nil || !created {
		t.Fatal(err)
	}
	b, created, err := f.svc.Start(context.Background(), project, streamID, req, "k1")
	if err != nil || created || b.ID != a.ID {
		t.Fatalf("again: %+v, %v, %v", b, created, err)
	}
	// Asked again once the stream is paused: still the job it started.
	st := f.streams[project+"/"+streamID]
	st.Status = stream.StatusPaused
	f.streams[project+"/"+streamID] = st
	if c, created, err := f.svc.Start(context.Background(), project, streamID, req, "k1"); err != nil || created || c.ID != a.ID {
		t.Fatalf("again, the stream paused: %+v, %v, %v", c, created, err)
	}
	req.Rate = ptr(5)
	if _, _, err := f.svc.Start(context.Background(), project, streamID, req, "k1"); !errors.Is(err, replay.ErrKeyReused) {
		t.Fatalf("another body: %v", err)
	}
}

// A backfill of a stream created paused waits for it to be enabled, then
// runs from start_from until live delivery took over; a window ending
// less than the settle time ago waits for the archive to settle.
func TestBackfill(t *testing.T) {
	f := newFixture(t, 3, 10)
	st := f.streams[project+"/"+streamID]
	j, err := f.svc.Backfill(context.Background(), st, f.hour(1), time.Time{})
	if err != nil || j.Origin != replay.OriginStartFrom || !j.Until.IsZero() {
		t.Fatalf("Backfill = %+v, %v", j, err)
	}
	if err := f.svc.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.Job(context.Background(), project, j.ID); got.State != replay.StateQueued || len(f.pub.events) != 0 {
		t.Fatalf("a backfill ran before its stream was enabled: %+v", got)
	}
	live := f.clock.Now().Add(30 * time.Second)
	if err := f.svc.StreamEnabled(context.Background(), st, live); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.Job(context.Background(), project, j.ID); got.State != replay.StateQueued {
		t.Fatalf("ran before the archive settled: %+v", got)
	}
	f.clock.Sleep(context.Background(), replay.DefaultSettle+time.Minute)
	if err := f.svc.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ := f.svc.Job(context.Background(), project, j.ID)
	if got.State != replay.StateSucceeded || got.Progress.Sent != 20 {
		t.Fatalf("backfill %+v", got)
	}
	for _, bad := range []time.Time{f.clock.Now().Add(-8 * 24 * time.Hour), f.clock.Now().Add(time.Minute)} {
		var inv *replay.ErrInvalid
		if err := f.svc.ValidStartFrom(bad); !errors.As(err, &inv) || inv.Field != "start_from" {
			t.Fatalf("start_from %s: %v", bad, err)
		}
	}
}

// A replay lists and reads only its own project's partitions.
func TestReplayReadsOnlyItsProject(t *testing.T) {
	f := newFixture(t, 2, 10)
	lister := &recordingLister{Reader: f.archive}
	f.svc.Archive, f.svc.Reader = lister, lister
	f.run(t, replay.Request{Since: ptr(f.hour(0)), Until: ptr(f.hour(2))})
	if len(lister.prefixes) == 0 || len(lister.keys) == 0 {
		t.Fatal("nothing read")
	}
	for _, p := range append(lister.prefixes, lister.keys...) {
		if !strings.HasPrefix(p, eventarchive.ProjectPrefix(project)) {
			t.Fatalf("read %s", p)
		}
	}
	for id := range f.pub.ids(t) {
		if !strings.HasPrefix(id, project+"-") {
			t.Fatalf("sent %s", id)
		}
	}
}

type recordingLister struct {
	eventarchive.Reader
	prefixes, keys []string
}

func (r *recordingLister) List(ctx context.Context, prefix, after string) ([]eventarchive.Object, bool, error) {
	r.prefixes = append(r.prefixes, prefix)
	return r.Reader.List(ctx, prefix, after)
}

func (r *recordingLister) Get(ctx context.Context, key string) ([]byte, error) {
	r.keys = append(r.keys, key)
	return r.Reader.Get(ctx, key)
}

// A job whose stream was deleted fails at once, saying why.
func TestReplayOfADeletedStreamFails(t *testing.T) {
	f := newFixture(t, 1, 2)
	j, _, err := f.svc.Start(context.Background(), project, streamID, replay.Request{Since: ptr(f.hour(0)), Until: ptr(f.hour(1))}, "")
	if err != nil {
		t.Fatal(err)
	}
	delete(f.streams, project+"/"+streamID)
	if err := f.svc.RunJob(context.Background(), project, j.ID); err != nil {
		t.Fatal(err)
	}
	j, _ = f.svc.Job(context.Background(), project, j.ID)
	if j.State != replay.StateFailed || !strings.Contains(j.Error, "deleted") {
		t.Fatalf("job %+v", j)
	}
}
