package deadletter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/deadletter/dltest"
	"github.com/logstream/logstream/shared/stream"
)

// hookRedriver records what it sent and calls during before it returns
// from its first call: a second worker runs while the first is between
// sending a letter and deleting it.
type hookRedriver struct {
	recorder
	called bool
	during func()
}

func (h *hookRedriver) Redrive(ctx context.Context, s stream.Stream, evs []json.RawMessage) error {
	if err := h.recorder.Redrive(ctx, s, evs); err != nil {
		return err
	}
	// Not a sync.Once: during sends too, and Once.Do would wait for itself.
	if !h.called {
		h.called = true
		h.during()
	}
	return nil
}

// Two jobs of one project whose filters overlap, the second run while the
// first has sent a letter and not yet deleted it: no event is acted on by
// both (sent twice, or sent and purged), and what the second left to the
// first is counted as skipped.
func TestConcurrentJobsNeverActOnOneLetterTwice(t *testing.T) {
	const letters, per = 5, 4
	rejected := []stream.DeadLetterReason{stream.ReasonRejected}
	for _, tc := range []struct {
		name   string
		kind   deadletter.Kind
		filter deadletter.Filter // the second job's; the first redrives every rejected letter
	}{
		{"redrive by event ids", deadletter.KindRedrive, deadletter.Filter{EventIDs: []string{"e0-1", "e0-2", "e1-0", "e3-3"}}},
		{"redrive by reason", deadletter.KindRedrive, deadletter.Filter{Reasons: rejected}},
		{"purge by event ids", deadletter.KindPurge, deadletter.Filter{EventIDs: []string{"e0-1", "e0-2", "e1-0", "e3-3"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // a fixed clock: nothing here expires
			st := dltest.New()
			sid := streamID(0)
			for i := range letters {
				evs := make([]json.RawMessage, per)
				for k := range evs {
					evs[k] = json.RawMessage(fmt.Sprintf(`{"event_id":"e%d-%d"}`, i, k))
				}
				l := deadletter.Letter{ID: fmt.Sprintf("dl_%026d", i), ProjectID: "proj-a", StreamID: sid, Reason: stream.ReasonRejected,
					Events: per, ParkedAt: now.Add(-time.Duration(letters-i) * time.Minute)}
				l.ExpiresAt = l.ParkedAt.Add(deadletter.DefaultRetention)
				if err := st.Put(ctx, l, evs); err != nil {
					t.Fatal(err)
				}
			}
			red := &hookRedriver{}
			svc := &deadletter.Service{Letters: st, Jobs: st, Redriver: red, Now: func() time.Time { return now },
				Streams: streamsFake{sid: {ID: sid, ProjectID: "proj-a", DestinationType: "http", Status: stream.StatusActive}},
				Sleep:   func(context.Context, time.Duration) {}}
			first, _, err := svc.StartJob(ctx, "proj-a", deadletter.KindRedrive, deadletter.JobRequest{Filter: deadletter.Filter{Reasons: rejected}}, "")
			if err != nil {
				t.Fatal(err)
			}
			second, _, err := svc.StartJob(ctx, "proj-a", tc.kind, deadletter.JobRequest{Filter: tc.filter}, "")
			if err != nil {
				t.Fatal(err)
			}
			red.during = func() {
				if err := svc.RunJob(ctx, "proj-a", second.ID); err != nil {
					t.Errorf("second job: %v", err)
				}
			}
			if err := svc.RunJob(ctx, "proj-a", first.ID); err != nil {
				t.Fatal(err)
			}

			var sent []string
			for _, ids := range red.sent {
				sent = append(sent, ids...)
			}
			distinct := slices.Compact(slices.Sorted(slices.Values(sent)))
			a, _ := st.GetJob(ctx, "proj-a", first.ID)
			b, _ := st.GetJob(ctx, "proj-a", second.ID)
			if a.State != deadletter.StateSucceeded || b.State != deadletter.StateSucceeded {
				t.Fatalf("jobs ended %s and %s", a.State, b.State)
			}
			if len(sent) != len(distinct) {
				t.Fatalf("sent %d events, %d distinct: an event went twice", len(sent), len(distinct))
			}
			// Every event was acted on exactly once, by one job or the
			// other, and each job counts what it matched as done or skipped.
			if a.Progress.Done+b.Progress.Done != letters*per {
				t.Fatalf("done %d + %d, want %d in all", a.Progress.Done, b.Progress.Done, letters*per)
			}
			for _, j := range []deadletter.Job{a, b} {
				skipped := 0
				for why, n := range j.Progress.Skipped {
					if why != "in_another_job" {
						t.Errorf("job %s skipped %d for %s", j.ID, n, why)
					}
					skipped += n
				}
				if j.Progress.Done+skipped != j.Progress.Events {
					t.Errorf("job %s: %d done + %d skipped, matched %d", j.ID, j.Progress.Done, skipped, j.Progress.Events)
				}
			}
			if b.Progress.Skipped["in_another_job"] == 0 {
				t.Errorf("the second job skipped nothing the first held: %+v", b.Progress)
			}
			if left, _, _ := st.List(ctx, "proj-a", "", "", 100); len(left) != 0 {
				t.Errorf("%d letters left", len(left))
			}
		})
	}
}

// An event-id job's total is the events it matched, not every event of the
// letters that hold them: the progress bar's denominator ends equal to
// what was done (a black-box probe saw a 1-event purge report total 3).
func TestEventIDJobTotal(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := dltest.New()
	sid := streamID(0)
	for i := range 3 {
		evs := []json.RawMessage{json.RawMessage(fmt.Sprintf(`{"event_id":"e%d-0"}`, i)), json.RawMessage(fmt.Sprintf(`{"event_id":"e%d-1"}`, i))}
		l := deadletter.Letter{ID: fmt.Sprintf("dl_%026d", i), ProjectID: "proj-a", StreamID: sid, Reason: stream.ReasonRejected,
			Events: len(evs), ParkedAt: now.Add(-time.Duration(3-i) * time.Minute)}
		l.ExpiresAt = l.ParkedAt.Add(deadletter.DefaultRetention)
		if err := st.Put(ctx, l, evs); err != nil {
			t.Fatal(err)
		}
	}
	svc := &deadletter.Service{Letters: st, Jobs: st, Now: func() time.Time { return now }, Sleep: func(context.Context, time.Duration) {}}
	for _, tc := range []struct {
		ids       []string
		dryRun    bool
		wantTotal int
	}{
		{ids: []string{"e1-0"}, dryRun: true, wantTotal: 1},
		{ids: []string{"e0-1", "e2-0", "nowhere"}, wantTotal: 2},
	} {
		j, _, err := svc.StartJob(ctx, "proj-a", deadletter.KindPurge, deadletter.JobRequest{Filter: deadletter.Filter{EventIDs: tc.ids}, DryRun: tc.dryRun}, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.RunJob(ctx, "proj-a", j.ID); err != nil {
			t.Fatal(err)
		}
		j, _ = st.GetJob(ctx, "proj-a", j.ID)
		if p := j.Progress; p.Total != tc.wantTotal || p.Events != tc.wantTotal {
			t.Errorf("purge of %v (dry run %v): progress %+v, want total and events %d", tc.ids, tc.dryRun, p, tc.wantTotal)
		}
	}
}
