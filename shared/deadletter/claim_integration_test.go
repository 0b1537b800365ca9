package deadletter_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/stream"
)

// Two redrives of one project whose filters overlap (one by reason, one by
// event ids), run at once by two workers over the DynamoDB store: no event
// is sent twice, what one job left to the other is counted as skipped, and
// nothing is lost (what no job sent is still stored).
func TestConcurrentRedrivesSendEachEventOnce(t *testing.T) {
	const letters, per = 50, 4
	h := newHarness(t)
	ctx := context.Background()
	var ids []string
	for i := range letters {
		h.park(parked(t, "proj-a", streamID(0), stream.ReasonRejected, fmt.Sprintf("m%d", i), i*10, per, h.now.Add(-time.Duration(letters-i)*time.Second)))
		if i%2 == 0 {
			ids = append(ids, fmt.Sprintf("0000-%d", i*10+1), fmt.Sprintf("0000-%d", i*10+2))
		}
	}
	if err := h.svc.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	byReason, _, err := h.svc.StartJob(ctx, "proj-a", deadletter.KindRedrive,
		deadletter.JobRequest{Filter: deadletter.Filter{Reasons: []stream.DeadLetterReason{stream.ReasonRejected}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	byID, _, err := h.svc.StartJob(ctx, "proj-a", deadletter.KindRedrive, deadletter.JobRequest{Filter: deadletter.Filter{EventIDs: ids}}, "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, id := range []string{byReason.ID, byID.ID} {
		wg.Go(func() {
			if err := h.svc.RunJob(ctx, "proj-a", id); err != nil {
				t.Errorf("job %s: %v", id, err)
			}
		})
	}
	wg.Wait()

	sent := h.rec.sent[streamID(0)]
	distinct := slices.Compact(slices.Sorted(slices.Values(sent)))
	if len(sent) != len(distinct) {
		t.Fatalf("sent %d events, %d distinct: some went twice", len(sent), len(distinct))
	}
	sum, err := h.svc.Summary(ctx, "proj-a", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(sent)+sum.Events != letters*per {
		t.Fatalf("sent %d, %d still stored: want %d in all", len(sent), sum.Events, letters*per)
	}
	done, skipped := 0, 0
	for _, id := range []string{byReason.ID, byID.ID} {
		j, err := h.store.GetJob(ctx, "proj-a", id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != deadletter.StateSucceeded {
			t.Fatalf("job %s: %s (%s)", id, j.State, j.Error)
		}
		n := 0
		for why, k := range j.Progress.Skipped {
			if why != "in_another_job" {
				t.Errorf("job %s skipped %d for %s", id, k, why)
			}
			n += k
		}
		if j.Progress.Done+n != j.Progress.Events {
			t.Errorf("job %s: %d done + %d skipped, but matched %d", id, j.Progress.Done, n, j.Progress.Events)
		}
		done += j.Progress.Done
		skipped += n
	}
	if done != len(sent) {
		t.Fatalf("the jobs count %d done, %d were sent", done, len(sent))
	}
	// What is still stored is what the reason job skipped because the id
	// job held it (the rest of a letter the id job took events from).
	if sum.Events > skipped {
		t.Fatalf("%d events left, but only %d skipped", sum.Events, skipped)
	}
	t.Logf("sent %d, skipped %d, left %d", len(sent), skipped, sum.Events)
}

// A letter's claim: another job's live claim refuses it; the holder takes
// it again; once it ran out (the holder died) another job takes it over;
// writes that act on the letter as a job read it are refused once it
// changed under them.
func TestLetterClaims(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.park(parked(t, "proj-a", streamID(0), stream.ReasonRejected, "m", 0, 3, h.now.Add(-time.Minute)))
	if err := h.svc.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	ls, _, err := h.store.List(ctx, "proj-a", "", "", 10)
	if err != nil || len(ls) != 1 {
		t.Fatal(err, len(ls))
	}
	l, now := ls[0], h.now
	a, err := h.store.Claim(ctx, l, "job-a", now, now.Add(time.Minute))
	if err != nil || a.Claim != "job-a" || !a.ClaimUntil.Equal(now.Add(time.Minute)) {
		t.Fatalf("first claim: %+v, %v", a, err)
	}
	if _, err := h.store.Claim(ctx, l, "job-b", now.Add(30*time.Second), now.Add(90*time.Second)); !errors.Is(err, deadletter.ErrLetterClaimed) {
		t.Fatalf("another job took a held letter: %v", err)
	}
	if a, err = h.store.Claim(ctx, l, "job-a", now.Add(30*time.Second), now.Add(90*time.Second)); err != nil {
		t.Fatalf("the holder could not take it again: %v", err)
	}
	b, err := h.store.Claim(ctx, l, "job-b", now.Add(2*time.Minute), now.Add(3*time.Minute))
	if err != nil || b.Claim != "job-b" {
		t.Fatalf("a claim that ran out was not taken over: %+v, %v", b, err)
	}
	if err := h.store.Delete(ctx, a); !errors.Is(err, deadletter.ErrLetterClaimed) {
		t.Fatalf("the old holder deleted the letter: %v", err)
	}
	evs, _ := h.store.Events(ctx, b)
	if _, err := h.store.Replace(ctx, a, evs[:1]); !errors.Is(err, deadletter.ErrLetterClaimed) {
		t.Fatalf("the old holder replaced the letter: %v", err)
	}
	r, err := h.store.Replace(ctx, b, evs[1:])
	if err != nil || r.Claim != "" || r.Events != 2 {
		t.Fatalf("the holder's replace: %+v, %v", r, err)
	}
	// Replaced, the letter is free: any job may claim it at once.
	c, err := h.store.Claim(ctx, l, "job-c", now.Add(2*time.Minute), now.Add(3*time.Minute))
	if err != nil || c.Revision != r.Revision {
		t.Fatalf("claim after replace: %+v, %v", c, err)
	}
	if err := h.store.Delete(ctx, b); !errors.Is(err, deadletter.ErrLetterClaimed) {
		t.Fatalf("a delete of an older revision went through: %v", err)
	}
	if err := h.store.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := h.store.Delete(ctx, c); err != nil {
		t.Fatalf("deleting a letter already gone: %v", err)
	}
	if _, err := h.store.Claim(ctx, l, "job-c", now, now.Add(time.Minute)); !errors.Is(err, deadletter.ErrLetterGone) {
		t.Fatalf("claim of a deleted letter: %v", err)
	}
}

// A resumed job takes back the letter it held when it stopped (the
// write-before-delete window) and skips one another job holds; a letter
// whose holder died is taken over once its claim ran out.
func TestJobClaimsOnResume(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	for i := range 3 {
		h.park(parked(t, "proj-a", streamID(0), stream.ReasonRejected, fmt.Sprintf("m%d", i), i*10, 2, h.now.Add(-time.Duration(3-i)*time.Minute)))
	}
	if err := h.svc.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	ls, _, _ := h.store.List(ctx, "proj-a", "", "", 10)
	j, _, err := h.svc.StartJob(ctx, "proj-a", deadletter.KindRedrive, deadletter.JobRequest{}, "")
	if err != nil {
		t.Fatal(err)
	}
	// The job died holding letter 0 (sent, not deleted); another live job
	// holds letter 1; a dead one held letter 2, its claim run out.
	for _, c := range []struct {
		l     deadletter.Letter
		job   string
		until time.Time
	}{{ls[0], j.ID, h.now.Add(time.Minute)}, {ls[1], "job-live", h.now.Add(time.Minute)}, {ls[2], "job-dead", h.now.Add(-time.Second)}} {
		if _, err := h.store.Claim(ctx, c.l, c.job, h.now.Add(-time.Minute), c.until); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.svc.RunJob(ctx, "proj-a", j.ID); err != nil {
		t.Fatal(err)
	}
	j, _ = h.store.GetJob(ctx, "proj-a", j.ID)
	if j.Progress.Done != 4 || j.Progress.Skipped["in_another_job"] != 2 || len(h.rec.sent[streamID(0)]) != 4 {
		t.Fatalf("job %+v sent %v; want letters 0 and 2 sent, 1 skipped", j.Progress, h.rec.sent)
	}
	left, _, _ := h.store.List(ctx, "proj-a", "", "", 10)
	if len(left) != 1 || left[0].ID != ls[1].ID {
		t.Fatalf("left %+v, want letter 1 only", left)
	}
}
