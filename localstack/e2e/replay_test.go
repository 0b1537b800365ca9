package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/localstack/chaos"
	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/replay"
	"github.com/logstream/logstream/shared/topology"
)

// TestReplayEndToEnd is issue 14's test, through the local stack and its
// HTTP API only (each project's own key):
//
//   - 50,000 events of project A (and 2,000 of B) are ingested with their
//     timestamps spread over the last 3 hours; the archive holds every one
//     (a dry run over the whole span counts them, from the listing alone);
//   - a dry run of one whole hour counts exactly that hour's events;
//   - a new stream, with a filter (no logouts) and masking (emails
//     redacted), replays that hour: it receives exactly the hour's events
//     its filter passes, each once, masked, with their event_ids, and
//     nothing of B;
//   - the replay is killed mid-way (the stack's DynamoDB connection cut,
//     then the stack closed: the worker can neither checkpoint nor let go)
//     and resumed by a new stack once its lease runs out: nothing lost, and
//     no more doubles than the one batch (replay.BatchEvents) the crash
//     window allows;
//   - B's key can neither replay to A's stream, nor read or cancel A's
//     replay (404);
//   - a stream created with start_from is backfilled with the events from
//     then on.
func TestReplayEndToEnd(t *testing.T) {
	const (
		perA, perB = 50_000, 2_000
		batch      = 500
		span       = 3 * time.Hour
		lease      = 6 * time.Second
		deadFor    = 4 * time.Second
		crashRate  = 1500
	)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	ddb := newCutProxy(t, os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb.url())
	spec := fastSpec(t)
	overrides := map[string]string{topology.EnvReplayLease: lease.String(), topology.EnvArchiveSettle: "2s"}
	st := startStack(t, ctx, spec, overrides)
	recv := newSwitchReceiver(t)
	admin := chaos.NewClient(st.URL(), adminKey, nil)

	type proj struct {
		name, key string
		at        map[string]time.Time // event id → its timestamp
		logout    map[string]bool
	}
	a, b := &proj{name: "rp-a"}, &proj{name: "rp-b"}
	as := func(p *proj) chaos.Client { return chaos.NewClient(st.URL(), p.key, nil) }
	now := time.Now().UTC()
	start := now.Add(-span)
	for _, p := range []*proj{a, b} {
		var key struct{ Secret string }
		if err := admin.JSON(ctx, http.MethodPost, "/v1/keys", map[string]any{"name": "replay " + p.name, "projects": []string{p.name}, "access": "write"}, &key); err != nil {
			t.Fatal(err)
		}
		p.key, p.at, p.logout = key.Secret, map[string]time.Time{}, map[string]bool{}
	}

	// Ingest, with no stream yet: the archive keeps every event all the
	// same. Timestamps spread evenly over the span, oldest first.
	ingestStart := time.Now()
	for _, p := range []*proj{a, b} {
		n := perA
		if p == b {
			n = perB
		}
		for first := 0; first < n; first += batch {
			var body strings.Builder
			for i := first; i < min(first+batch, n); i++ {
				id := fmt.Sprintf("%s-%05d", p.name, i)
				at := start.Add(time.Duration(i) * span / time.Duration(n))
				typ := "user.login"
				if i%3 == 0 {
					typ = "user.logout"
					p.logout[id] = true
				}
				p.at[id] = at
				fmt.Fprintf(&body, `{"event_id":%q,"timestamp":%q,"type":%q,"email":"user%d@example.com","seq":%d}`+"\n", id, at.Format(time.RFC3339Nano), typ, i%97, i)
			}
			var res struct{ Accepted, Streams int }
			if _, err := as(p).Call(ctx, http.MethodPost, "/v1/projects/"+p.name+"/events", "application/x-ndjson", []byte(body.String()), &res); err != nil {
				t.Fatal(err)
			}
			if res.Accepted != min(batch, n-first) || res.Streams != 0 {
				t.Fatalf("%s: accepted %d for %d streams", p.name, res.Accepted, res.Streams)
			}
		}
	}
	ingestTime := time.Since(ingestStart)

	// The replayed stream: logins only, emails redacted.
	const ep = "rp-a-replayed"
	var s struct{ ID string }
	if err := as(a).JSON(ctx, http.MethodPost, "/v1/projects/"+a.name+"/streams", map[string]any{
		"name": ep, "destination_type": "http", "destination_config": map[string]any{"endpoint": recv.url(ep)},
		"filters": map[string]any{"exclude": []any{map[string]any{"field": "type", "in": []string{"user.logout"}}}},
		"pii":     map[string]any{"fields": []any{map[string]any{"field": "email", "action": "redact"}}},
	}, &s); err != nil {
		t.Fatal(err)
	}
	replayPath := "/v1/projects/" + a.name + "/streams/" + s.ID + "/replay"
	dryRun := func(since, until time.Time) manage.DryRun {
		t.Helper()
		var d manage.DryRun
		if err := as(a).JSON(ctx, http.MethodPost, replayPath, map[string]any{"since": since, "until": until, "dry_run": true}, &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	// Every event is archived within seconds (the test's batching window
	// is a second): the whole span's dry run counts them all.
	for {
		d := dryRun(start.Add(-time.Hour), time.Now().UTC())
		if d.Size.Events == perA {
			t.Logf("archived %d events in %d objects, %d partitions: %d bytes as NDJSON, %d stored (%.1f×); ingested in %s",
				d.Size.Events, d.Size.Objects, d.Size.Partitions, d.Size.Bytes, d.Size.StoredBytes,
				float64(d.Size.Bytes)/float64(d.Size.StoredBytes), ingestTime.Round(time.Millisecond))
			break
		}
		if d.Size.Events > perA || ctx.Err() != nil {
			t.Fatalf("the archive holds %d of A's %d events", d.Size.Events, perA)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// One whole hour, inside the span: its dry run is exact.
	since := start.Truncate(time.Hour).Add(time.Hour)
	until := since.Add(time.Hour)
	inHour, want := 0, map[string]bool{}
	for id, at := range a.at {
		if !at.Before(since) && at.Before(until) {
			inHour++
			if !a.logout[id] {
				want[id] = true
			}
		}
	}
	if d := dryRun(since, until); d.Size.Events != inHour || !d.Size.Exact || d.Size.Partitions != 1 {
		t.Fatalf("dry run of the hour: %+v, want exactly %d events", d.Size, inHour)
	}

	// B cannot replay A's stream, and A's replay does not exist for B.
	if code, err := as(b).Call(ctx, http.MethodPost, replayPath, "application/json", []byte(`{"since":"`+since.Format(time.RFC3339)+`"}`), nil); code != http.StatusNotFound && code != http.StatusForbidden {
		t.Fatalf("B replaying A's stream: %d %v", code, err)
	}

	// The replay, paced, killed mid-way.
	var j replay.Job
	if err := as(a).JSON(ctx, http.MethodPost, replayPath, map[string]any{"since": since, "until": until, "rate": crashRate}, &j); err != nil {
		t.Fatal(err)
	}
	jobPath := "/v1/projects/" + a.name + "/replays/" + j.ID
	for _, path := range []string{jobPath, "/v1/projects/" + b.name + "/replays/" + j.ID} {
		if code, _ := as(b).Call(ctx, http.MethodGet, path, "", nil, nil); code != http.StatusNotFound && code != http.StatusForbidden {
			t.Fatalf("B reading A's replay at %s: %d", path, code)
		}
	}
	if code, _ := as(b).Call(ctx, http.MethodPost, "/v1/projects/"+b.name+"/replays/"+j.ID+"/cancel", "", nil, nil); code != http.StatusNotFound {
		t.Fatalf("B cancelling A's replay under its own project: %d", code)
	}
	replayStart := time.Now()
	for {
		if err := as(a).JSON(ctx, http.MethodGet, jobPath, nil, &j); err != nil {
			t.Fatal(err)
		}
		if j.State.Final() {
			t.Fatalf("the replay ended before the crash: %+v", j)
		}
		if j.State == replay.StateRunning && j.Progress.Sent >= 3*replay.BatchEvents/2 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the replay never made progress: %+v", j)
		}
		time.Sleep(100 * time.Millisecond)
	}
	atCrash := j.Progress
	ddb.cut(true)
	if err := st.Close(); err != nil {
		t.Logf("closing the crashed stack: %v", err)
	}
	time.Sleep(deadFor)
	ddb.cut(false)
	st = startStack(t, ctx, spec, overrides)
	admin = chaos.NewClient(st.URL(), adminKey, nil)
	for {
		if err := as(a).JSON(ctx, http.MethodGet, jobPath, nil, &j); err != nil {
			t.Fatal(err)
		}
		if j.State.Final() {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the replay was not resumed: %+v", j)
		}
		time.Sleep(200 * time.Millisecond)
	}
	replayTime := time.Since(replayStart)
	if j.State != replay.StateSucceeded || j.Progress.Events < inHour || j.Progress.Sent < len(want) {
		t.Fatalf("the resumed replay: %s %+v (%s), want %d events read and %d sent", j.State, j.Progress, j.Error, inHour, len(want))
	}
	waitDelivered(t, ctx, admin, recv, ep, want)
	got := recv.delivered(ep)
	var lost, unexpected, doubles []string
	for id := range want {
		if got[id] == 0 {
			lost = append(lost, id)
		}
	}
	for id, n := range got {
		if !want[id] && strings.HasPrefix(id, "rp-") {
			unexpected = append(unexpected, id)
		}
		for range n - 1 {
			doubles = append(doubles, id)
		}
	}
	slices.Sort(doubles)
	for _, line := range recv.received(ep) {
		if strings.Contains(line, "@example.com") || strings.Contains(line, `"user.logout"`) {
			t.Fatalf("the replayed stream received %s", line)
		}
	}
	t.Logf("replayed %d of the hour's %d events (the rest filtered) at %d/s in %s; killed at %d sent, resumed after the lease; %d doubles",
		len(want), inHour, crashRate, replayTime.Round(time.Millisecond), atCrash.Sent, len(doubles))
	fmt.Fprintf(os.Stderr, "e2e: replay: %d events archived; 1 h replayed (%d sent), killed at %d, resumed; %d lost, %d unexpected, %d doubles (bound %d)\n",
		perA, len(want), atCrash.Sent, len(lost), len(unexpected), len(doubles), replay.BatchEvents)
	if len(lost) > 0 || len(unexpected) > 0 || len(doubles) > replay.BatchEvents {
		t.Fatalf("the replay of %d events: %d lost %v, %d unexpected %v, %d doubles (at most %d)",
			len(want), len(lost), lost[:min(5, len(lost))], len(unexpected), unexpected[:min(5, len(unexpected))], len(doubles), replay.BatchEvents)
	}

	// start_from: a stream created now is backfilled from the last half
	// hour of the span, at the default rate, once the archive has settled
	// past the moment live delivery took over (the test's cache TTL is 0).
	const bep = "rp-a-backfilled"
	from := now.Add(-30 * time.Minute)
	var created manage.CreateResponse
	if err := as(a).JSON(ctx, http.MethodPost, "/v1/projects/"+a.name+"/streams", map[string]any{
		"name": bep, "destination_type": "http", "destination_config": map[string]any{"endpoint": recv.url(bep)}, "start_from": from,
	}, &created); err != nil {
		t.Fatal(err)
	}
	if created.Backfill == nil || created.Backfill.Origin != replay.OriginStartFrom {
		t.Fatalf("create with start_from answered no backfill: %+v", created)
	}
	wantBack := map[string]bool{}
	for id, at := range a.at {
		if !at.Before(from) {
			wantBack[id] = true
		}
	}
	waitDelivered(t, ctx, admin, recv, bep, wantBack)
	for id, n := range recv.delivered(bep) {
		if strings.HasPrefix(id, "rp-") && (!wantBack[id] || n != 1) {
			t.Fatalf("the backfilled stream got %s %d times", id, n)
		}
	}
	t.Logf("backfilled %d events from start_from", len(wantBack))
}
