package deadletter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/logstream/logstream/localstack/standin/table"
	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/dlstore"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/stream"
)

// fakeDLQ is an in-memory DLQ: what Drain receives, and what it deletes.
type fakeDLQ struct {
	mu       sync.Mutex
	messages map[string][]deadletter.Received // by queue URL
	deleted  int
	// failDeletes makes Delete fail that many times (a drain that dies
	// after storing, before deleting).
	failDeletes int
}

func (q *fakeDLQ) Receive(_ context.Context, url string) ([]deadletter.Received, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	msgs := q.messages[url]
	return msgs[:min(10, len(msgs))], nil
}

func (q *fakeDLQ) Delete(_ context.Context, url string, handles []string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failDeletes > 0 {
		q.failDeletes--
		return errors.New("injected: delete failed")
	}
	q.messages[url] = slices.DeleteFunc(q.messages[url], func(m deadletter.Received) bool { return slices.Contains(handles, m.ReceiptHandle) })
	q.deleted += len(handles)
	return nil
}

// recorder is a Redriver recording what it sent, failing after failAfter
// calls when set (a worker killed before its send).
type recorder struct {
	mu        sync.Mutex
	sent      map[string][]string // stream → event ids
	calls     int
	failAfter int
}

func (r *recorder) Redrive(_ context.Context, s stream.Stream, evs []json.RawMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failAfter > 0 && r.calls >= r.failAfter {
		return errors.New("injected: worker killed")
	}
	r.calls++
	if r.sent == nil {
		r.sent = map[string][]string{}
	}
	for _, e := range evs {
		r.sent[s.ID] = append(r.sent[s.ID], deadletter.EventID(e))
	}
	return nil
}

type streamsFake map[string]stream.Stream

func (f streamsFake) Get(_ context.Context, projectID, streamID string) (stream.Stream, error) {
	s, ok := f[streamID]
	if !ok || s.ProjectID != projectID {
		return stream.Stream{}, stream.ErrNotFound
	}
	return s, nil
}

func streamID(n int) string { return fmt.Sprintf("str_%032x", n) }

// parked builds the DLQ messages of n events parked for one stream, as the
// delivery core writes them.
func parked(t *testing.T, project, streamID string, why stream.DeadLetterReason, source string, first, n int, at time.Time) []deadletter.Received {
	t.Helper()
	evs := make([]json.RawMessage, n)
	for i := range evs {
		evs[i] = json.RawMessage(fmt.Sprintf(`{"event_id":"%s-%d","type":"user.login","n":%d}`, streamID[len(streamID)-4:], first+i, first+i))
	}
	msgs, err := envelope.Parked{SourceMessageID: source, ProjectID: project, StreamID: streamID, Events: evs,
		Reason: "destination said no", Code: string(why), ReceiveCount: 3}.Messages(at)
	if err != nil {
		t.Fatal(err)
	}
	var out []deadletter.Received
	for i, m := range msgs {
		out = append(out, deadletter.Received{Message: deadletter.Message{MessageID: fmt.Sprintf("%s-dlq-%d", source, i), Body: string(m.Body), Attributes: m.Attributes},
			ReceiptHandle: fmt.Sprintf("rh-%s-%d", source, i)})
	}
	return out
}

type harness struct {
	svc   *deadletter.Service
	store *dlstore.DeadLetters
	dlq   *fakeDLQ
	rec   *recorder
	now   time.Time
}

func newHarness(t *testing.T) *harness {
	cfg, tableName := table.New(t)
	h := &harness{dlq: &fakeDLQ{messages: map[string][]deadletter.Received{}}, rec: &recorder{}, now: time.Now().UTC().Truncate(time.Millisecond)}
	h.store = &dlstore.DeadLetters{Client: dynamodb.NewFromConfig(cfg), Table: tableName, TTLAttribute: "expires_at"}
	streams := streamsFake{}
	for i := range 4 {
		project := "proj-a"
		if i >= 2 {
			project = "proj-b"
		}
		streams[streamID(i)] = stream.Stream{ID: streamID(i), ProjectID: project, DestinationType: "http", Status: stream.StatusActive}
	}
	h.svc = &deadletter.Service{Letters: h.store, Jobs: h.store, Counters: h.store, Streams: streams, Redriver: h.rec,
		DLQ: h.dlq, DLQURLs: map[string]string{"http": "dlq-http"}, Now: func() time.Time { return h.now },
		Sleep: func(context.Context, time.Duration) {}}
	return h
}

func (h *harness) park(msgs ...[]deadletter.Received) {
	for _, m := range msgs {
		h.dlq.messages["dlq-http"] = append(h.dlq.messages["dlq-http"], m...)
	}
}

func TestDrainStoresEachLetterOnce(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	a := parked(t, "proj-a", streamID(0), stream.ReasonPermanent, "m1", 0, 40, h.now.Add(-time.Hour))
	h.park(a, a) // parked twice: a delivery function died between parking and deleting
	h.dlq.failDeletes = 1
	if err := h.svc.Drain(ctx); err == nil {
		t.Fatal("Drain hid a failed delete")
	}
	h.now = h.now.Add(time.Minute)
	if err := h.svc.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(h.dlq.messages["dlq-http"]); n != 0 {
		t.Fatalf("%d messages left in the DLQ", n)
	}
	sum, err := h.svc.Summary(ctx, "proj-a", "")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != 40 || sum.Letters != 1 || sum.Reasons[0].Reason != stream.ReasonPermanent {
		t.Fatalf("summary %+v, want 40 events in 1 permanent letter", sum)
	}
	if !sum.Reasons[0].OldestAt.Equal(h.now.Add(-time.Hour - time.Minute)) {
		t.Fatalf("parked at %v, want the delivery function's time %v", sum.Reasons[0].OldestAt, h.now.Add(-time.Hour-time.Minute))
	}

	// SQS moved the same source message after the crash: only what was
	// not parked from it before is new, as "unrecorded".
	whole := parked(t, "proj-a", streamID(0), "", "m1", 0, 50, h.now)[0]
	whole.Attributes = map[string]string{envelope.AttrProjectID: "proj-a", envelope.AttrStreamID: streamID(0)}
	whole.MessageID = "m1"
	h.park([]deadletter.Received{whole})
	if err := h.svc.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	sum, _ = h.svc.Summary(ctx, "proj-a", "")
	if sum.Events != 50 || len(sum.Reasons) != 2 || sum.Reasons[1].Reason != stream.ReasonUnrecorded || sum.Reasons[1].Events != 10 {
		t.Fatalf("after the backstop copy: %+v, want 40 permanent + 10 unrecorded", sum.Reasons)
	}

	// A letter redriven and then drained again from a late copy is not
	// stored a second time.
	job, _, err := h.svc.StartJob(ctx, "proj-a", deadletter.KindRedrive, deadletter.JobRequest{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.svc.RunJob(ctx, "proj-a", job.ID); err != nil {
		t.Fatal(err)
	}
	h.park(a)
	if err := h.svc.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if sum, _ = h.svc.Summary(ctx, "proj-a", ""); sum.Events != 0 {
		t.Fatalf("a redriven letter came back: %+v", sum)
	}
	if got := len(h.rec.sent[streamID(0)]); got != 50 {
		t.Fatalf("redrove %d events, want 50", got)
	}
}

// fill parks letters across reasons, streams and two projects.
func (h *harness) fill(t *testing.T) map[string]int {
	t.Helper()
	want := map[string]int{}
	reasons := []stream.DeadLetterReason{stream.ReasonPermanent, stream.ReasonRejected, stream.ReasonExhausted}
	for s := range 4 {
		project := "proj-a"
		if s >= 2 {
			project = "proj-b"
		}
		for k := range 6 {
			n := 7 + k*3
			h.park(parked(t, project, streamID(s), reasons[k%3], fmt.Sprintf("s%d-m%d", s, k), k*100, n, h.now.Add(-time.Duration(k)*time.Hour)))
			want[project] += n
		}
	}
	if err := h.svc.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	return want
}

func TestSummaryPeekAndIsolation(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	want := h.fill(t)
	for _, p := range []string{"proj-a", "proj-b"} {
		sum, err := h.svc.Summary(ctx, p, "")
		if err != nil {
			t.Fatal(err)
		}
		if sum.Events != want[p] || sum.Letters != 12 || len(sum.Streams) != 2 {
			t.Fatalf("%s summary: %d events in %d letters, %d streams; want %d in 12, 2", p, sum.Events, sum.Letters, len(sum.Streams), want[p])
		}
		// Peek pages through every event exactly once, in small pages.
		seen := map[string]bool{}
		cursor := ""
		for pages := 0; ; pages++ {
			page, err := h.svc.Peek(ctx, p, deadletter.Filter{}, cursor, 7)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Data {
				id := deadletter.EventID(e.Event)
				if seen[id] {
					t.Fatalf("%s: event %s seen twice", p, id)
				}
				seen[id] = true
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		if len(seen) != want[p] {
			t.Fatalf("%s: peek saw %d events, want %d", p, len(seen), want[p])
		}
	}
	// Operators see both projects, and the type's total.
	o, err := h.svc.Overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Projects) != 2 || o.Events != want["proj-a"]+want["proj-b"] || len(o.Types) != 1 || o.Types[0].Projects != 2 || o.Types[0].Events != o.Events {
		t.Fatalf("overview %+v", o)
	}

	// Project A's view names none of B's streams.
	page, _ := h.svc.Peek(ctx, "proj-a", deadletter.Filter{StreamID: streamID(2)}, "", 500)
	if len(page.Data) != 0 {
		t.Fatalf("project A sees %d events of project B's stream", len(page.Data))
	}
	if _, err := h.svc.Peek(ctx, "proj-a", deadletter.Filter{}, "not-a-cursor", 5); !errors.Is(err, deadletter.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestJobsFilterResumeAndPurge(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	want := h.fill(t)

	// A dry run counts and changes nothing.
	dry, _, err := h.svc.StartJob(ctx, "proj-a", deadletter.KindRedrive, deadletter.JobRequest{DryRun: true,
		Filter: deadletter.Filter{Reasons: []stream.DeadLetterReason{stream.ReasonRejected}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.svc.RunJob(ctx, "proj-a", dry.ID); err != nil {
		t.Fatal(err)
	}
	dry, _ = h.store.GetJob(ctx, "proj-a", dry.ID)
	rejected := 2 * (10 + 19) // streams 0 and 1, k = 1 and 4
	if dry.State != deadletter.StateSucceeded || dry.Progress.Events != rejected || dry.Progress.Done != 0 || h.rec.calls != 0 {
		t.Fatalf("dry run: %+v, %d sends; want %d matched, nothing sent", dry, h.rec.calls, rejected)
	}

	// A redrive killed mid-way resumes from its checkpoint: nothing lost
	// or sent twice.
	h.rec.failAfter = 2
	job, created, err := h.svc.StartJob(ctx, "proj-a", deadletter.KindRedrive,
		deadletter.JobRequest{Filter: deadletter.Filter{Reasons: []stream.DeadLetterReason{stream.ReasonRejected}}}, "key-1")
	if err != nil || !created {
		t.Fatal(err, created)
	}
	if err := h.svc.RunJob(ctx, "proj-a", job.ID); err == nil {
		t.Fatal("a killed run reported success")
	}
	mid, _ := h.store.GetJob(ctx, "proj-a", job.ID)
	if mid.State != deadletter.StateRunning || mid.Progress.Done == 0 || mid.Progress.Done >= rejected {
		t.Fatalf("after the kill: %+v", mid)
	}
	again, created, _ := h.svc.StartJob(ctx, "proj-a", deadletter.KindRedrive,
		deadletter.JobRequest{Filter: deadletter.Filter{Reasons: []stream.DeadLetterReason{stream.ReasonRejected}}}, "key-1")
	if created || again.ID != job.ID {
		t.Fatalf("the same Idempotency-Key made a new job %s (created %v)", again.ID, created)
	}
	// The key with another request starts nothing.
	if _, _, err := h.svc.StartJob(ctx, "proj-a", deadletter.KindRedrive, deadletter.JobRequest{}, "key-1"); !errors.Is(err, deadletter.ErrKeyReused) {
		t.Fatalf("the key with another filter: %v, want ErrKeyReused", err)
	}
	h.rec.failAfter = 0
	if err := h.svc.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	done, _ := h.store.GetJob(ctx, "proj-a", job.ID)
	if done.State != deadletter.StateSucceeded || done.Progress.Done != rejected {
		t.Fatalf("resumed job: %+v; want succeeded with %d done", done, rejected)
	}
	var sent []string
	for _, ids := range h.rec.sent {
		sent = append(sent, ids...)
	}
	if len(sent) != rejected || len(slices.Compact(slices.Sorted(slices.Values(sent)))) != rejected {
		t.Fatalf("redrove %d events (%d distinct), want %d once each", len(sent), len(slices.Compact(slices.Sorted(slices.Values(sent)))), rejected)
	}

	// Event ids pick single events out of a letter; the rest stay.
	pick := []string{"0000-500", "0000-505", "0001-0"}
	job, _, _ = h.svc.StartJob(ctx, "proj-a", deadletter.KindPurge, deadletter.JobRequest{Filter: deadletter.Filter{EventIDs: pick}}, "")
	if err := h.svc.RunJob(ctx, "proj-a", job.ID); err != nil {
		t.Fatal(err)
	}
	sum, _ := h.svc.Summary(ctx, "proj-a", "")
	if sum.Events != want["proj-a"]-rejected-3 {
		t.Fatalf("after purging 3 events: %d, want %d", sum.Events, want["proj-a"]-rejected-3)
	}
	page, _ := h.svc.Peek(ctx, "proj-a", deadletter.Filter{EventIDs: pick}, "", 50)
	if len(page.Data) != 0 {
		t.Fatalf("purged events still peeked: %d", len(page.Data))
	}

	// Project B is untouched by all of it.
	if sum, _ := h.svc.Summary(ctx, "proj-b", ""); sum.Events != want["proj-b"] {
		t.Fatalf("project B: %d events, want %d", sum.Events, want["proj-b"])
	}
	if _, err := h.store.GetJob(ctx, "proj-b", job.ID); !errors.Is(err, deadletter.ErrJobNotFound) {
		t.Fatalf("project B reads project A's job: %v", err)
	}
}

func TestSweepCountsExpiry(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.svc.Retention = 3 * time.Hour
	want := h.fill(t) // parked 0–5 h ago: those parked 3 h ago or more expire
	sum, _ := h.svc.Summary(ctx, "proj-a", "")
	expiring := sum.Events
	if err := h.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := h.svc.Summary(ctx, "proj-a", "")
	if after.ExpiredEvents == 0 || int(after.ExpiredEvents)+after.Events != want["proj-a"] || expiring != after.Events {
		t.Fatalf("before sweep %d live, after %d live + %d expired; want %d in all", expiring, after.Events, after.ExpiredEvents, want["proj-a"])
	}
	if err := h.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := h.svc.Summary(ctx, "proj-a", ""); again.ExpiredEvents != after.ExpiredEvents {
		t.Fatalf("a second sweep counted again: %d, then %d", after.ExpiredEvents, again.ExpiredEvents)
	}
}

// A worker that died holding a job keeps it until its lease runs out; then
// the tick resumes it, and every event goes once.
func TestJobLeaseExpiry(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	want := h.fill(t)
	j, _, err := h.svc.StartJob(ctx, "proj-b", deadletter.KindRedrive, deadletter.JobRequest{}, "")
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := h.store.GetJob(ctx, "proj-b", j.ID)
	stored.State, stored.LeaseUntil = deadletter.StateRunning, h.now.Add(time.Minute)
	if _, err := h.store.UpdateJob(ctx, stored); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Resume(ctx); err != nil || h.rec.calls != 0 {
		t.Fatalf("a held job was run: %v, %d sends", err, h.rec.calls)
	}
	h.now = h.now.Add(2 * time.Minute)
	if err := h.svc.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	done, _ := h.store.GetJob(ctx, "proj-b", j.ID)
	sent := len(h.rec.sent[streamID(2)]) + len(h.rec.sent[streamID(3)])
	if done.State != deadletter.StateSucceeded || done.Progress.Done != want["proj-b"] || sent != want["proj-b"] {
		t.Fatalf("resumed job %+v sent %d, want %d", done, sent, want["proj-b"])
	}
	if active, _ := h.store.ActiveJobs(ctx); len(active) != 0 {
		t.Fatalf("%d jobs still active", len(active))
	}
}

// A redrive skips the letters of a stream that is paused or gone, and says
// so in its progress; the letters stay.
func TestRedriveSkipsInactiveStreams(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	want := h.fill(t)
	streams := h.svc.Streams.(streamsFake)
	paused := streams[streamID(0)]
	paused.Status = stream.StatusPaused
	streams[streamID(0)] = paused
	delete(streams, streamID(1))
	j, _, _ := h.svc.StartJob(ctx, "proj-a", deadletter.KindRedrive, deadletter.JobRequest{}, "")
	if err := h.svc.RunJob(ctx, "proj-a", j.ID); err != nil {
		t.Fatal(err)
	}
	j, _ = h.store.GetJob(ctx, "proj-a", j.ID)
	half := want["proj-a"] / 2
	if j.State != deadletter.StateSucceeded || j.Progress.Done != 0 || j.Progress.Skipped["stream_not_active"] != half || j.Progress.Skipped["stream_deleted"] != half {
		t.Fatalf("job %+v", j)
	}
	if sum, _ := h.svc.Summary(ctx, "proj-a", ""); sum.Events != want["proj-a"] {
		t.Fatalf("skipped letters went: %d left of %d", sum.Events, want["proj-a"])
	}
}
