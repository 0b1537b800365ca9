package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logstream/logstream/localstack/chaos"
	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
)

// TestDeadLetterStoreEndToEnd is issue 12's store test: 10,000 parked
// events, through the local stack and its HTTP API only (each project's own
// key; the admin key creates the keys). Two projects with two http streams
// each: one whose receiver answers 401 (parked at once, permanent) and one
// whose receiver answers 500 (retried until the queue's receives run out,
// exhausted); 2,500 events per project reach both its streams. Then:
//
//   - the summaries count exactly what was parked, per project, stream and
//     reason, from the store (the DLQs are empty by then);
//   - peeking with the cursor sees every parked event once, and nothing of
//     the other project;
//   - project A's key can neither see nor touch B's dead letters (404);
//   - a dry run counts and changes nothing; purges remove exactly their
//     matches;
//   - filtered redrives (by event ids; by reason and parked time) deliver
//     exactly their matches, once each, to the fixed receiver;
//   - a paced redrive whose worker dies mid-way (the stack's DynamoDB
//     connection cut, then the stack closed: it can neither checkpoint nor
//     let go of the job) is resumed by a new stack on the same table and
//     queues once its lease runs out, and delivers everything it matched:
//     none lost, and no more doubles than the one letter the
//     write-before-delete window allows (docs/architecture.md).
func TestDeadLetterStoreEndToEnd(t *testing.T) {
	const (
		perProject = 2500 // each reaches both of the project's streams
		batch      = 250
		// lease is the job lease of the dead-letter function: short, so
		// the job a dead worker held resumes in seconds.
		lease = 6 * time.Second
		// deadFor is how long the crashed stack's DynamoDB stays cut after
		// it closed: longer than the SDK's retries (three attempts, a
		// second or two apart) of the dead worker's last write, the one
		// that would let go of the job.
		deadFor = 4 * time.Second
		// crashRate paces the redrive that is killed mid-way: about 13 s
		// for a stream's 2,500 events, so the crash finds it running.
		crashRate = 200
	)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	// Every function reaches DynamoDB through a proxy the test can cut: a
	// process that dies stops writing, so a cut connection, then the
	// stack closed, is a worker that died holding its job.
	ddb := newCutProxy(t, os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb.url())

	spec := fastSpec(t)
	// Four receives, one second apart: the 500 stream's events are
	// exhausted in seconds, and a redriven message that failed a receive
	// or two while the stack was dying still has one left.
	spec.SetMaxReceiveCount(4)
	spec.SetSchedule(topology.FunctionDeadLetters, time.Second)
	overrides := map[string]string{
		topology.EnvRetryBase:       "1s",
		topology.EnvRetryMax:        "1s",
		topology.EnvDeadLetterLease: lease.String(),
	}
	st := startStack(t, ctx, spec, overrides)

	recv := newSwitchReceiver(t)
	admin := chaos.NewClient(st.URL(), adminKey, nil)
	type proj struct {
		name             string
		key              string
		authID, errID    string // the 401 stream's and the 500 stream's ids
		authEP, errEP    string // their receiver endpoints
		ids              []string
		reasonOf         map[string]deadletter.Reason // stream id → its reason
		endpointOfStream map[string]string
	}
	projects := []*proj{{name: "dls-a"}, {name: "dls-b"}}
	as := func(p *proj) chaos.Client { return chaos.NewClient(st.URL(), p.key, nil) }
	for _, p := range projects {
		var key struct{ Secret string }
		if err := admin.JSON(ctx, http.MethodPost, "/v1/keys", map[string]any{"name": "store " + p.name, "projects": []string{p.name}, "access": "write"}, &key); err != nil {
			t.Fatal(err)
		}
		p.key = key.Secret
		p.authEP, p.errEP = p.name+"-auth", p.name+"-err"
		recv.set(p.authEP, http.StatusUnauthorized)
		recv.set(p.errEP, http.StatusInternalServerError)
		p.reasonOf, p.endpointOfStream = map[string]deadletter.Reason{}, map[string]string{}
		for _, s := range []struct {
			ep     string
			id     *string
			reason deadletter.Reason
		}{{p.authEP, &p.authID, stream.ReasonPermanent}, {p.errEP, &p.errID, stream.ReasonExhausted}} {
			var created struct{ ID string }
			err := as(p).JSON(ctx, http.MethodPost, "/v1/projects/"+p.name+"/streams",
				map[string]any{"name": s.ep, "destination_type": "http", "destination_config": map[string]any{"endpoint": recv.url(s.ep)}}, &created)
			if err != nil {
				t.Fatal(err)
			}
			*s.id = created.ID
			p.reasonOf[created.ID], p.endpointOfStream[created.ID] = s.reason, s.ep
		}
	}

	// Ingest: NDJSON, batch events a request, the projects interleaved.
	start := time.Now()
	for b := range perProject / batch {
		for _, p := range projects {
			var body strings.Builder
			for i := b * batch; i < (b+1)*batch; i++ {
				id := fmt.Sprintf("%s-%05d", p.name, i)
				p.ids = append(p.ids, id)
				fmt.Fprintf(&body, `{"event_id":%q,"seq":%d,"type":"store.user.login","actor":"user%d@example.com"}`+"\n", id, i, i%41)
			}
			var res struct{ Accepted, Streams int }
			if _, err := as(p).Call(ctx, http.MethodPost, "/v1/projects/"+p.name+"/events", "application/x-ndjson", []byte(body.String()), &res); err != nil {
				t.Fatal(err)
			}
			if res.Accepted != batch || res.Streams != 2 {
				t.Fatalf("%s batch %d: accepted %d, routed to %d streams", p.name, b, res.Accepted, res.Streams)
			}
		}
	}

	// Wait until every event of the run is parked in the store and every
	// queue and DLQ is empty: nothing more is on its way to the store.
	summary := func(p *proj, query string) deadletter.Summary {
		t.Helper()
		var s deadletter.Summary
		if err := as(p).JSON(ctx, http.MethodGet, "/v1/projects/"+p.name+"/dead-letters"+query, nil, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for {
		parked := true
		for _, p := range projects {
			s := summary(p, "")
			for _, id := range []string{p.authID, p.errID} {
				if streamEvents(s, id, "") < perProject {
					parked = false
				}
			}
		}
		empty, why, err := admin.QueuesEmpty(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if parked && empty {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("not every event was parked in time: %s; summaries %+v %+v", why, summary(projects[0], ""), summary(projects[1], ""))
		}
		time.Sleep(500 * time.Millisecond)
	}
	parkTime := time.Since(start)

	// Peek: every project's dead events, 100 a page, each exactly once.
	// logstream's own lifecycle events (stream.created) were parked with
	// the run's, and are counted apart.
	type peeked struct {
		events  map[string]deadletter.PeekedEvent // stream id + "/" + event id → it
		letters map[string]int                    // letter id → its events
	}
	peek := func(p *proj, query url.Values) peeked {
		t.Helper()
		out := peeked{events: map[string]deadletter.PeekedEvent{}, letters: map[string]int{}}
		err := as(p).DeadEvents(ctx, p.name, query, func(e deadletter.PeekedEvent) {
			k := e.StreamID + "/" + deadletter.EventID(e.Event)
			if _, dup := out.events[k]; dup {
				t.Errorf("%s: peek showed %s twice", p.name, k)
			}
			out.events[k] = e
			out.letters[e.LetterID]++
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// tally counts peeked events by stream and reason, and the run's own
	// (by event id) apart from logstream's.
	type tallyKey struct {
		stream string
		reason deadletter.Reason
	}
	tally := func(pk peeked) (all map[tallyKey]int, ours map[string][]string) {
		all, ours = map[tallyKey]int{}, map[string][]string{}
		for _, e := range pk.events {
			all[tallyKey{e.StreamID, e.Reason}]++
			if id := deadletter.EventID(e.Event); strings.HasPrefix(id, "dls-") {
				ours[e.StreamID] = append(ours[e.StreamID], id)
			}
		}
		for _, ids := range ours {
			slices.Sort(ids)
		}
		return all, ours
	}
	// checkSummary holds a project's summary equal to what peeking it
	// counted: events and letters, per stream and per reason.
	checkSummary := func(p *proj, pk peeked) deadletter.Summary {
		t.Helper()
		s := summary(p, "")
		all, _ := tally(pk)
		got := map[tallyKey]int{}
		n := 0
		for _, ss := range s.Streams {
			for _, r := range ss.Reasons {
				got[tallyKey{ss.StreamID, r.Reason}] = r.Events
				n += r.Events
			}
		}
		for k := range got {
			if got[k] == 0 {
				delete(got, k)
			}
		}
		if !maps.Equal(got, all) || s.Events != len(pk.events) || n != s.Events || s.Letters != len(pk.letters) {
			t.Errorf("%s: summary (%d events, %d letters) %v; peeked %d events in %d letters %v", p.name, s.Events, s.Letters, got, len(pk.events), len(pk.letters), all)
		}
		return s
	}

	peeks := map[string]peeked{}
	peekStart := time.Now()
	totalOurs, maxLetter := 0, 0
	for _, p := range projects {
		pk := peek(p, url.Values{"limit": {"100"}})
		peeks[p.name] = pk
		all, ours := tally(pk)
		for _, e := range pk.events {
			if e.StreamID != p.authID && e.StreamID != p.errID {
				t.Errorf("%s: peek showed a dead event of stream %s, not the project's", p.name, e.StreamID)
			}
			if id := deadletter.EventID(e.Event); !strings.HasPrefix(id, p.name+"-") {
				var ev struct{ Type string }
				if json.Unmarshal(e.Event, &ev); !strings.HasPrefix(ev.Type, "logstream.") {
					t.Errorf("%s: peek showed event %s (%s), neither the project's nor logstream's", p.name, id, ev.Type)
				}
			}
		}
		for _, id := range []string{p.authID, p.errID} {
			// Every event sent to the stream, once, with the stream's reason.
			if !slices.Equal(ours[id], p.ids) {
				t.Errorf("%s stream %s: %d of the run's events parked, want all %d once", p.name, p.endpointOfStream[id], len(ours[id]), perProject)
			}
			if all[tallyKey{id, p.reasonOf[id]}] < perProject {
				t.Errorf("%s stream %s: %v, want %d %s", p.name, p.endpointOfStream[id], all, perProject, p.reasonOf[id])
			}
			totalOurs += len(ours[id])
		}
		for _, n := range pk.letters {
			maxLetter = max(maxLetter, n)
		}
		s := checkSummary(p, pk)
		t.Logf("%s: %d dead events (%d of logstream's own) in %d letters; reasons %v", p.name, s.Events, s.Events-2*perProject, s.Letters, all)
	}
	if totalOurs != 2*2*perProject {
		t.Fatalf("%d of the run's events parked, want %d", totalOurs, 2*2*perProject)
	}
	t.Logf("%d events parked in %.1fs; peeked both projects 100 a page in %.1fs; the largest letter holds %d events",
		totalOurs, parkTime.Seconds(), time.Since(peekStart).Seconds(), maxLetter)
	fmt.Fprintf(os.Stderr, "e2e: dead-letter store: %d events parked in %.1fs, summaries and peeks exact\n", totalOurs, parkTime.Seconds())
	if t.Failed() {
		t.FailNow()
	}

	// job starts a redrive or purge as p and waits for it to succeed.
	job := func(p *proj, kind deadletter.Kind, req deadletter.JobRequest) deadletter.Job {
		t.Helper()
		var j deadletter.Job
		if err := as(p).JSON(ctx, http.MethodPost, "/v1/projects/"+p.name+"/dead-letters/"+string(kind), req, &j); err != nil {
			t.Fatal(err)
		}
		done, err := as(p).WaitJob(ctx, p.name, j.ID, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if done.State != deadletter.StateSucceeded || len(done.Progress.Skipped) > 0 {
			t.Fatalf("%s %s job %s: %s, skipped %v: %s", p.name, kind, done.ID, done.State, done.Progress.Skipped, done.Error)
		}
		return done
	}

	// A cannot see or touch B's dead letters: every route of B's answers
	// A's key 404, as for a project that does not exist; B's are as before.
	a, b := projects[0], projects[1]
	bBefore := summary(b, "")
	dry := job(b, deadletter.KindPurge, deadletter.JobRequest{Filter: deadletter.Filter{StreamID: b.errID}, DryRun: true})
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/v1/projects/" + b.name + "/dead-letters?stream_id=" + b.authID, nil},
		{http.MethodGet, "/v1/projects/" + b.name + "/dead-letters/events?stream_id=" + b.authID, nil},
		{http.MethodPost, "/v1/projects/" + b.name + "/dead-letters/redrive", deadletter.JobRequest{Filter: deadletter.Filter{StreamID: b.authID}}},
		{http.MethodPost, "/v1/projects/" + b.name + "/dead-letters/purge", deadletter.JobRequest{Filter: deadletter.Filter{StreamID: b.authID}}},
		{http.MethodGet, "/v1/projects/" + b.name + "/dead-letters/jobs", nil},
		{http.MethodGet, "/v1/projects/" + b.name + "/dead-letters/jobs/" + dry.ID, nil},
		// B's job under A's own path is no job of A's.
		{http.MethodGet, "/v1/projects/" + a.name + "/dead-letters/jobs/" + dry.ID, nil},
	} {
		if err := as(a).JSON(ctx, c.method, c.path, c.body, nil); chaos.Status(err) != http.StatusNotFound {
			t.Errorf("A's key: %s %s: %v, want 404", c.method, c.path, err)
		}
	}
	// B's stream under A's own path matches none of A's letters.
	if s := summary(a, "?stream_id="+b.authID); s.Events != 0 || len(s.Streams) != 0 {
		t.Errorf("A's summary of B's stream: %+v", s)
	}

	// The dry run counted B's 500 stream's events and changed nothing.
	bErr := streamEvents(bBefore, b.errID, "")
	if dry.Progress.Events != bErr || dry.Progress.Total != bErr || dry.Progress.Done != 0 {
		t.Errorf("dry-run purge of %d events: %+v", bErr, dry.Progress)
	}
	bPeek := peek(b, nil)
	if s := checkSummary(b, bPeek); s.Events != bBefore.Events || s.Letters != bBefore.Letters || !maps.Equal(tallyOf(s), tallyOf(bBefore)) {
		t.Errorf("B's dead letters changed by a dry run or A's requests: %+v, before %+v", s, bBefore)
	}

	// Purge removes exactly its matches: 300 events of B's 401 stream by
	// id (their letters rewritten without them), then B's exhausted ones.
	purged := pick(b.ids, 300)
	pj := job(b, deadletter.KindPurge, deadletter.JobRequest{Filter: deadletter.Filter{StreamID: b.authID, EventIDs: purged}})
	if pj.Progress.Done != len(purged) {
		t.Errorf("purge by event id: %+v, want %d done", pj.Progress, len(purged))
	}
	pj = job(b, deadletter.KindPurge, deadletter.JobRequest{Filter: deadletter.Filter{Reasons: []deadletter.Reason{stream.ReasonExhausted}}})
	if pj.Progress.Done != bErr {
		t.Errorf("purge of the exhausted: %+v, want %d done", pj.Progress, bErr)
	}
	bPeek = peek(b, nil)
	s := checkSummary(b, bPeek)
	_, ours := tally(bPeek)
	if want := without(b.ids, purged); !slices.Equal(ours[b.authID], want) || len(ours[b.errID]) != 0 ||
		s.Events != bBefore.Events-len(purged)-bErr {
		t.Errorf("after the purges B holds %d events (%d of the 401 stream's, %d of the 500 stream's), want %d (%d, 0)",
			s.Events, len(ours[b.authID]), len(ours[b.errID]), bBefore.Events-len(purged)-bErr, len(want))
	}

	// A filtered redrive delivers exactly its matches, once each: fix A's
	// 500 receiver, redrive 100 of its events by id…
	recv.set(a.errEP, http.StatusOK)
	aBefore := summary(a, "")
	ids := pick(a.ids, 100)
	rj := job(a, deadletter.KindRedrive, deadletter.JobRequest{Filter: deadletter.Filter{StreamID: a.errID, EventIDs: ids}, Rate: new(int(deadletter.MaxRate))})
	if rj.Progress.Done != len(ids) {
		t.Errorf("redrive by event id: %+v, want %d done", rj.Progress, len(ids))
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	waitDelivered(t, ctx, admin, recv, a.errEP, want)
	if got := recv.delivered(a.errEP); !onceEach(got, want) {
		t.Errorf("redrive of %d events by id: the receiver got %d distinct, %d in all", len(want), len(got), sumOf(got))
	}
	if s := summary(a, ""); s.Events != aBefore.Events-len(ids) || streamEvents(s, a.errID, "") != streamEvents(aBefore, a.errID, "")-len(ids) {
		t.Errorf("after redriving %d events A holds %d, before %d", len(ids), s.Events, aBefore.Events)
	}

	// …then by reason and parked time: the exhausted events parked before
	// the middle letter of the stream's (by parked time).
	aPeek := peek(a, url.Values{"stream_id": {a.errID}})
	var parkedAt []time.Time
	seenLetter := map[string]bool{}
	for _, e := range aPeek.events {
		if !seenLetter[e.LetterID] {
			seenLetter[e.LetterID] = true
			parkedAt = append(parkedAt, e.ParkedAt)
		}
	}
	slices.SortFunc(parkedAt, func(x, y time.Time) int { return x.Compare(y) })
	before := parkedAt[len(parkedAt)/2]
	want = map[string]bool{}
	for _, e := range aPeek.events {
		if e.Reason == stream.ReasonExhausted && e.ParkedAt.Before(before) {
			want[deadletter.EventID(e.Event)] = true
		}
	}
	recv.reset(a.errEP)
	aBefore = summary(a, "")
	rj = job(a, deadletter.KindRedrive, deadletter.JobRequest{Filter: deadletter.Filter{StreamID: a.errID,
		Reasons: []deadletter.Reason{stream.ReasonExhausted}, ParkedBefore: &before}, Rate: new(int(deadletter.MaxRate))})
	if len(want) == 0 || rj.Progress.Done != len(want) {
		t.Errorf("redrive by reason and parked time: %+v, want %d done", rj.Progress, len(want))
	}
	waitDelivered(t, ctx, admin, recv, a.errEP, want)
	if got := recv.delivered(a.errEP); !onceEach(got, want) {
		t.Errorf("redrive of %d events by reason and parked time: the receiver got %d distinct, %d in all", len(want), len(got), sumOf(got))
	}
	if s := summary(a, ""); s.Events != aBefore.Events-len(want) {
		t.Errorf("after redriving %d events A holds %d, before %d", len(want), s.Events, aBefore.Events)
	}
	t.Logf("redriven by id: %d; by reason and parked time: %d of the 500 stream's %d letters' events", len(ids), len(want), len(parkedAt))
	if t.Failed() {
		t.FailNow()
	}

	// A paced redrive of A's 401 stream dies mid-way: its worker loses
	// DynamoDB (it can neither checkpoint nor let go of the job), then the
	// stack closes. A new stack on the same table and queues resumes it
	// once its lease has run out.
	recv.set(a.authEP, http.StatusOK)
	aPeek = peek(a, url.Values{"stream_id": {a.authID}})
	want = map[string]bool{}
	largest := 0
	for _, e := range aPeek.events {
		want[deadletter.EventID(e.Event)] = true
	}
	for _, n := range aPeek.letters {
		largest = max(largest, n)
	}
	var cj deadletter.Job
	if err := as(a).JSON(ctx, http.MethodPost, "/v1/projects/"+a.name+"/dead-letters/redrive",
		deadletter.JobRequest{Filter: deadletter.Filter{StreamID: a.authID}, Rate: new(int(crashRate))}, &cj); err != nil {
		t.Fatal(err)
	}
	for {
		if err := as(a).JSON(ctx, http.MethodGet, "/v1/projects/"+a.name+"/dead-letters/jobs/"+cj.ID, nil, &cj); err != nil {
			t.Fatal(err)
		}
		if cj.State.Final() {
			t.Fatalf("the paced redrive ended before the crash: %+v", cj)
		}
		// Past a letter of the run's own (batch events), not only a
		// lifecycle event's: what was delivered before the crash must not
		// come again after it.
		if cj.State == deadletter.StateRunning && cj.Progress.Done >= batch {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the paced redrive never made progress: %+v", cj)
		}
		time.Sleep(100 * time.Millisecond)
	}
	atCrash := cj.Progress
	ddb.cut(true)
	if err := st.Close(); err != nil {
		t.Logf("closing the crashed stack: %v", err)
	}
	// The dead worker's last writes fail, as a dead process's would.
	time.Sleep(deadFor)
	ddb.cut(false)
	restarted := time.Now()
	st = startStack(t, ctx, spec, overrides)
	admin = chaos.NewClient(st.URL(), adminKey, nil)
	// Nobody let go of the job: a worker that did would have recorded its
	// error, which only success clears, and moved its checkpoint no
	// further. So the new stack can only take it once the lease is out.
	var held deadletter.Job
	if err := as(a).JSON(ctx, http.MethodGet, "/v1/projects/"+a.name+"/dead-letters/jobs/"+cj.ID, nil, &held); err != nil {
		t.Fatal(err)
	}
	if !held.State.Final() && (held.Error != "" || held.State != deadletter.StateRunning) {
		t.Fatalf("the crashed worker let go of its job: %s, %q", held.State, held.Error)
	}
	if held.State.Final() {
		t.Logf("the job was done before the restarted stack was first asked (%+v)", held.Progress)
	}
	done, err := as(a).WaitJob(ctx, a.name, cj.ID, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	resumeTime := time.Since(restarted)
	if done.State != deadletter.StateSucceeded || done.Progress.Done < len(want) || len(done.Progress.Skipped) > 0 {
		t.Fatalf("the resumed redrive: %s, %+v, want %d done: %s", done.State, done.Progress, len(want), done.Error)
	}
	waitDelivered(t, ctx, admin, recv, a.authEP, want)
	got := recv.delivered(a.authEP)
	var lost, unexpected, doubles []string
	for id := range want {
		if got[id] == 0 {
			lost = append(lost, id)
		}
	}
	for id, n := range got {
		if !want[id] {
			unexpected = append(unexpected, id)
		}
		for range n - 1 {
			doubles = append(doubles, id)
		}
	}
	slices.Sort(doubles)
	t.Logf("crashed at %d of %d events done; resumed and done %.1fs after the restart (lease %s); %d delivered twice (at most %d, one letter): %v",
		atCrash.Done, atCrash.Total, resumeTime.Seconds(), lease, len(doubles), largest, doubles[:min(10, len(doubles))])
	fmt.Fprintf(os.Stderr, "e2e: dead-letter store: redrive killed at %d/%d, resumed after the lease; %d lost, %d doubles (bound %d)\n",
		atCrash.Done, atCrash.Total, len(lost), len(doubles), largest)
	if len(lost) > 0 || len(unexpected) > 0 || len(doubles) > largest {
		t.Errorf("the resumed redrive of %d events: %d lost %v, %d unexpected %v, %d doubles (at most %d)",
			len(want), len(lost), lost[:min(5, len(lost))], len(unexpected), unexpected[:min(5, len(unexpected))], len(doubles), largest)
	}
	if s := summary(a, ""); streamEvents(s, a.authID, "") != 0 || streamEvents(s, a.errID, "") != streamEvents(aBefore, a.errID, "")-rj.Progress.Done {
		t.Errorf("after the redrives A holds %+v", s)
	}
}

// streamEvents is a summary's count of a stream's events of reason r ("": all).
func streamEvents(s deadletter.Summary, streamID string, r deadletter.Reason) int {
	for _, ss := range s.Streams {
		if ss.StreamID != streamID {
			continue
		}
		if r == "" {
			return ss.Events
		}
		for _, rs := range ss.Reasons {
			if rs.Reason == r {
				return rs.Events
			}
		}
	}
	return 0
}

// tallyOf is a summary's events by stream and reason.
func tallyOf(s deadletter.Summary) map[string]int {
	out := map[string]int{}
	for _, ss := range s.Streams {
		for _, r := range ss.Reasons {
			out[ss.StreamID+"/"+string(r.Reason)] = r.Events
		}
	}
	return out
}

// pick takes n ids spread over ids.
func pick(ids []string, n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, ids[i*len(ids)/n])
	}
	return out
}

// without is ids (sorted) less drop.
func without(ids, drop []string) []string {
	var out []string
	for _, id := range ids {
		if !slices.Contains(drop, id) {
			out = append(out, id)
		}
	}
	return out
}

func onceEach(got map[string]int, want map[string]bool) bool {
	if len(got) != len(want) {
		return false
	}
	for id, n := range got {
		if !want[id] || n != 1 {
			return false
		}
	}
	return true
}

func sumOf(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// waitDelivered waits until the receiver's endpoint has every wanted event
// and every queue is empty, so nothing more is on its way; a lost event
// fails the test when ctx ends.
func waitDelivered(t *testing.T, ctx context.Context, admin chaos.Client, r *switchReceiver, ep string, want map[string]bool) {
	t.Helper()
	for {
		got := r.delivered(ep)
		missing := 0
		for id := range want {
			if got[id] == 0 {
				missing++
			}
		}
		empty, why, err := admin.QueuesEmpty(ctx)
		if err != nil && ctx.Err() == nil {
			t.Fatal(err)
		}
		if missing == 0 && empty {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: %d of %d redriven events never delivered (%s)", ep, missing, len(want), why)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// switchReceiver is a webhook receiver whose endpoints answer with a
// status the test sets (200 until told otherwise), and that counts, per
// endpoint, every event id it answered 200.
type switchReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	status map[string]int
	got    map[string]map[string]int
	// lines keeps, per endpoint, every event line answered 200, for tests
	// of what the events held (masking).
	lines map[string][]string
}

func newSwitchReceiver(t *testing.T) *switchReceiver {
	r := &switchReceiver{status: map[string]int{}, got: map[string]map[string]int{}, lines: map[string][]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ep := strings.TrimPrefix(req.URL.Path, "/r/")
		var ids, lines []string
		sc := bufio.NewScanner(req.Body)
		sc.Buffer(make([]byte, 1<<20), 2<<20)
		for sc.Scan() {
			var ev struct {
				EventID string `json:"event_id"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.EventID != "" {
				ids = append(ids, ev.EventID)
				lines = append(lines, sc.Text())
			}
		}
		r.mu.Lock()
		status, ok := r.status[ep]
		if !ok {
			status = http.StatusOK
		}
		if status == http.StatusOK {
			if r.got[ep] == nil {
				r.got[ep] = map[string]int{}
			}
			for _, id := range ids {
				r.got[ep][id]++
			}
			r.lines[ep] = append(r.lines[ep], lines...)
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *switchReceiver) url(ep string) string { return r.srv.URL + "/r/" + ep }

func (r *switchReceiver) set(ep string, status int) {
	r.mu.Lock()
	r.status[ep] = status
	r.mu.Unlock()
}

// delivered is a copy of the endpoint's event ids and times answered 200.
func (r *switchReceiver) delivered(ep string) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.got[ep])
}

// received is a copy of the event lines the endpoint answered 200.
func (r *switchReceiver) received(ep string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines[ep])
}

// reset forgets what the endpoint has received.
func (r *switchReceiver) reset(ep string) {
	r.mu.Lock()
	delete(r.got, ep)
	delete(r.lines, ep)
	r.mu.Unlock()
}

// cutProxy forwards TCP connections to a stand-in until cut: then it drops
// every open connection and refuses new ones, as the network does for a
// process that died, until it is healed.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	isCut  bool
	conns  map[net.Conn]bool
}

func newCutProxy(t *testing.T, endpoint string) *cutProxy {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		t.Fatalf("proxy for %q: not an endpoint URL", endpoint)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: u.Host, conns: map[net.Conn]bool{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.cut(true)
	})
	return p
}

func (p *cutProxy) url() string { return "http://" + p.ln.Addr().String() }

// track adds conns to the open ones, or closes them when cut.
func (p *cutProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isCut {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = true
	}
	return true
}

func (p *cutProxy) pipe(c net.Conn) {
	if !p.track(c) {
		return
	}
	b, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(b) {
		c.Close()
		return
	}
	go func() {
		io.Copy(b, c)
		b.Close()
	}()
	io.Copy(c, b)
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, b)
	p.mu.Unlock()
}

// cut drops every connection and refuses new ones (on), or heals (off).
func (p *cutProxy) cut(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isCut = on
	if on {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}
