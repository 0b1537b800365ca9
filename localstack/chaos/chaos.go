// Package chaos runs issue 12's fault scenario against a running local stack:
// http streams whose webhook receiver fails at random (500s, 429s with
// Retry-After, hangs past the delivery timeout, connection resets), one
// stream whose receiver refuses its credentials (401) and one whose receiver
// answers 410 once, which suspends it. Events are ingested until every
// accepted (stream, event) pair is either delivered or a dead letter; then
// the receiver heals, the two streams are fixed through the API, every dead
// letter is redriven, and the run waits until everything is delivered.
//
// It counts what went where twice, once settled and once redriven: lost
// pairs, and duplicates (a pair delivered twice, delivered and also parked,
// or parked twice). The end-to-end test (localstack/e2e) asserts on it with a
// few thousand events; localstack/cmd/chaos prints the figures for 100,000,
// with and without a crash of the stack.
package chaos

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/stream"
)

// Scenario is one run. Base, AdminKey and Events are required.
type Scenario struct {
	// Base is the stack's gateway URL; AdminKey creates the projects'
	// keys and reads the queues. Everything else a project does, it does
	// with its own key.
	Base, AdminKey string
	// Prefix names the run: its projects are Prefix-a, Prefix-b … and its
	// events' ids start with Prefix. Runs on one stack need different ones.
	Prefix string
	// Projects is how many projects ingest (default 2); each has
	// Streams chaotic http streams (default 2). The first project also
	// has the 401 stream, the second (or the only one) the 410 stream.
	Projects, Streams int
	// Events are ingested in total, spread evenly over the projects, Batch
	// per request (default 100) from Clients concurrent clients (default 4).
	Events, Batch, Clients int
	// Pace is each client's pause between requests (0: none), so that
	// ingestion lasts long enough for AtHalf to fall mid-delivery.
	Pace time.Duration
	// Faults is the chaotic endpoints' mix.
	Faults Faults
	// Seed makes the receiver's faults repeatable.
	Seed uint64
	// RedriveRate bounds each redrive job, in events per second (0: the
	// service's default).
	RedriveRate int
	// Settle bounds each wait for the stack to settle (default 2 min).
	Settle time.Duration
	// AtHalf, if set, runs once when half of the requests have been
	// accepted, while ingestion goes on (the command's crash): ingestion
	// retries what fails meanwhile.
	AtHalf func(ctx context.Context) error
	// Logf, if set, is told what the run does.
	Logf func(format string, args ...any)
}

// Result is what a run measured.
type Result struct {
	// Events is how many events ingestion accepted; IngestRetries how
	// many requests were sent again after failing (a crash's).
	Events, IngestRetries int
	// Settled is the count once the stack settled after ingestion;
	// Redriven once the fixed streams' dead letters were redriven.
	Settled, Redriven Tally
	// Answers counts the receiver's answers by kind.
	Answers map[string]int
	// GoneStatus is the 410 stream's status before it was fixed.
	GoneStatus string
	// Waiting is what enabling the 410 stream said of its dead letters.
	Waiting *deadletter.Waiting
	// Jobs are the redrive jobs, as they ended.
	Jobs []deadletter.Job
	// Times of each phase.
	IngestTime, SettleTime, RedriveTime time.Duration
}

// Tally counts accepted (stream, event) pairs by what became of them.
type Tally struct {
	// Accepted pairs: an event and a stream ingestion routed it to.
	Accepted int
	// Delivered pairs (answered 200 at least once), and the rest: Dead
	// (in the dead-letter store) and Lost (neither).
	Delivered, Dead, Lost int
	// Duplicates: deliveries beyond a pair's first (DeliveredTwice), pairs
	// both delivered and in the store (DeliveredAndDead), and dead
	// letters beyond a pair's first (DeadTwice).
	DeliveredTwice, DeliveredAndDead, DeadTwice int
	// DeadEvents is every dead event of the run's projects, DeadByReason
	// by reason.
	DeadEvents   int
	DeadByReason map[stream.DeadLetterReason]int
	// RetriedRequest counts the duplicates (as Duplicates does) of pairs
	// whose ingest request was sent more than once; AcrossHalf those of
	// pairs delivered or parked both before and after AtHalf was called.
	RetriedRequest, AcrossHalf int
	// Unexpected counts deliveries or dead letters of events that were
	// never accepted for that stream.
	Unexpected int
	// Examples tell the first few duplicates, lost or unexpected pairs:
	// stream, event, and what happened to it when.
	Examples []string
	// Settled is whether the wait ended because the condition held
	// rather than because its time ran out; Waiting says what it last
	// waited for.
	Settled bool
	Waiting string
}

// Duplicates is every duplicate the tally counts.
func (t Tally) Duplicates() int { return t.DeliveredTwice + t.DeliveredAndDead + t.DeadTwice }

// PerHundredK scales n per 100,000 events.
func PerHundredK(n, events int) float64 {
	if events == 0 {
		return 0
	}
	return float64(n) * 100_000 / float64(events)
}

func (t Tally) String() string {
	return fmt.Sprintf("%d pairs: %d delivered, %d dead, %d lost; duplicates %d (delivered twice %d, delivered and dead %d, dead twice %d); dead letters by reason %v",
		t.Accepted, t.Delivered, t.Dead, t.Lost, t.Duplicates(), t.DeliveredTwice, t.DeliveredAndDead, t.DeadTwice, t.DeadByReason)
}

// endpoint is one stream of the run.
type endpoint struct {
	name, project, id string
	mode              Mode
}

// batch is one ingest request and the streams it was routed to.
type batch struct {
	project    string
	first, n   int
	routedTo   []string // endpoint names
	acceptedAt time.Time
	attempts   int // requests sent until one was accepted
}

type run struct {
	sc      Scenario
	recv    *Receiver
	admin   Client
	keys    map[string]Client // project → its own key
	streams []*endpoint
	token   string
	// nonce makes the run's Idempotency-Keys its own: a key names one
	// request for 24 h, and runs may share a table.
	nonce string

	mu       sync.Mutex
	accepted []batch
	routing  []string  // batches whose routing was not what the streams explain
	halfAt   time.Time // when AtHalf was called
}

// Run sets the scenario up, ingests, waits for it to settle, fixes and
// redrives, and waits again. It returns an error when it cannot do one of
// these (the API refused, a job failed); what it counted is the Result,
// whether or not a wait ended settled.
func Run(ctx context.Context, sc Scenario) (Result, error) {
	var res Result
	if sc.Base == "" || sc.AdminKey == "" || sc.Events <= 0 {
		return res, errors.New("chaos: scenario incomplete")
	}
	sc.Prefix = cmp.Or(sc.Prefix, "chaos")
	sc.Projects, sc.Streams = cmp.Or(sc.Projects, 2), cmp.Or(sc.Streams, 2)
	sc.Batch, sc.Clients = cmp.Or(sc.Batch, 100), cmp.Or(sc.Clients, 4)
	sc.Settle = cmp.Or(sc.Settle, 2*time.Minute)
	if sc.Logf == nil {
		sc.Logf = func(string, ...any) {}
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	r := &run{sc: sc, admin: NewClient(sc.Base, sc.AdminKey, hc), keys: map[string]Client{}, nonce: strconv.FormatInt(time.Now().UnixNano(), 36),
		token: "chaos-receiver-token-" + sc.Prefix}
	recv, err := NewReceiver(sc.Faults, r.token, sc.Prefix+"-", sc.Seed)
	if err != nil {
		return res, err
	}
	defer recv.Close()
	r.recv = recv

	if err := r.setup(ctx, hc); err != nil {
		return res, err
	}
	start := time.Now()
	if res.IngestRetries, err = r.ingest(ctx); err != nil {
		return res, err
	}
	res.IngestTime = time.Since(start)
	for _, b := range r.accepted {
		res.Events += b.n
	}
	sc.Logf("chaos: %d events accepted in %.1fs (%d requests retried); waiting for the stack to settle", res.Events, res.IngestTime.Seconds(), res.IngestRetries)

	// Settled: every accepted pair is delivered or a dead letter.
	res.Settled = r.settle(ctx, func(t Tally) bool { return t.Lost == 0 && t.Unexpected == 0 })
	res.SettleTime = time.Since(start) - res.IngestTime
	sc.Logf("chaos: settled (%v) after %.1fs: %v", res.Settled.Settled, res.SettleTime.Seconds(), res.Settled)
	if !res.Settled.Settled {
		res.Answers = recv.Answers()
		return res, fmt.Errorf("chaos: not settled within %v: %s", sc.Settle, res.Settled.Waiting)
	}

	// Fix everything, and redrive.
	start = time.Now()
	if err := r.fix(ctx, &res); err != nil {
		return res, err
	}
	res.Redriven = r.settle(ctx, func(t Tally) bool { return t.Delivered == t.Accepted && t.DeadEvents == 0 && t.Unexpected == 0 })
	res.RedriveTime = time.Since(start)
	res.Answers = recv.Answers()
	sc.Logf("chaos: redriven (%v) after %.1fs: %v", res.Redriven.Settled, res.RedriveTime.Seconds(), res.Redriven)
	if len(r.routing) > 0 {
		return res, fmt.Errorf("chaos: %d ingest answers routed to streams the run cannot explain, e.g. %s", len(r.routing), r.routing[0])
	}
	return res, nil
}

// setup creates each project's key and streams.
func (r *run) setup(ctx context.Context, hc *http.Client) error {
	for p := range r.sc.Projects {
		project := fmt.Sprintf("%s-%c", r.sc.Prefix, 'a'+p)
		var key struct{ Secret string }
		err := r.admin.JSON(ctx, http.MethodPost, "/v1/keys",
			map[string]any{"name": "chaos " + project, "projects": []string{project}, "access": "write"}, &key)
		if err != nil {
			return fmt.Errorf("chaos: key for %s: %w", project, err)
		}
		r.keys[project] = NewClient(r.sc.Base, key.Secret, hc)
		var eps []*endpoint
		for s := range r.sc.Streams {
			eps = append(eps, &endpoint{name: fmt.Sprintf("%s-%d", project, s+1), project: project, mode: Chaotic})
		}
		if p == 0 {
			eps = append(eps, &endpoint{name: project + "-401", project: project, mode: Unauthorized})
		}
		if p == min(1, r.sc.Projects-1) {
			eps = append(eps, &endpoint{name: project + "-410", project: project, mode: GoneOnce})
		}
		// Every stream exists before the project's first event, so
		// ingestion never caches the project with fewer.
		for _, ep := range eps {
			cfg := map[string]any{"endpoint": r.recv.URL(ep.name, ep.mode)}
			if ep.mode == Unauthorized {
				cfg["authorization"] = "Bearer wrong-" + r.token
			}
			var s struct{ ID string }
			err := r.keys[project].JSON(ctx, http.MethodPost, "/v1/projects/"+project+"/streams",
				map[string]any{"name": ep.name, "destination_type": "http", "destination_config": cfg}, &s)
			if err != nil {
				return fmt.Errorf("chaos: create stream %s: %w", ep.name, err)
			}
			ep.id = s.ID
			r.streams = append(r.streams, ep)
		}
	}
	return nil
}

func (r *run) projectStreams(project string) []*endpoint {
	var out []*endpoint
	for _, ep := range r.streams {
		if ep.project == project {
			out = append(out, ep)
		}
	}
	return out
}

// ingest sends every event, Batch per request, the projects' requests
// interleaved; a request that fails is sent again, the same, until it is
// accepted (a crashed stack refuses connections until it is back).
func (r *run) ingest(ctx context.Context) (int, error) {
	var todo []batch
	perProject := r.sc.Events / r.sc.Projects
	for first := 0; first < perProject; first += r.sc.Batch {
		for p := range r.sc.Projects {
			todo = append(todo, batch{project: fmt.Sprintf("%s-%c", r.sc.Prefix, 'a'+p), first: first, n: min(r.sc.Batch, perProject-first)})
		}
	}
	work := make(chan batch)
	var retries, done atomic.Int64
	half := sync.OnceValue(func() error {
		r.mu.Lock()
		r.halfAt = time.Now()
		r.mu.Unlock()
		return r.sc.AtHalf(ctx)
	})
	var halfErr error
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range r.sc.Clients {
		wg.Go(func() {
			for b := range work {
				for attempt := 0; ; attempt++ {
					if attempt > 0 {
						retries.Add(1)
						if !sleep(ctx, 500*time.Millisecond) {
							return
						}
					}
					b.attempts = attempt + 1
					if r.ingestOne(ctx, b) == nil {
						break
					}
				}
				if r.sc.Pace > 0 && !sleep(ctx, r.sc.Pace) {
					return
				}
				if int(done.Add(1)) == len(todo)/2 && r.sc.AtHalf != nil {
					if err := half(); err != nil {
						halfErr = err
						cancel()
					}
				}
			}
		})
	}
	for _, b := range todo {
		select {
		case work <- b:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	if halfErr != nil {
		return int(retries.Load()), halfErr
	}
	return int(retries.Load()), ctx.Err()
}

func (r *run) eventID(project string, seq int) string { return fmt.Sprintf("%s-%07d", project, seq) }

func (r *run) ingestOne(ctx context.Context, b batch) error {
	var body strings.Builder
	for seq := b.first; seq < b.first+b.n; seq++ {
		fmt.Fprintf(&body, `{"event_id":%q,"seq":%d,"type":"chaos.user.login","actor":"user%d@example.com","ip":"203.0.113.%d"}`+"\n",
			r.eventID(b.project, seq), seq, seq%97, seq%250)
	}
	var res struct{ Accepted, Streams int }
	// Each batch has its Idempotency-Key, sent again when it is retried,
	// as a client should: a retry queues only what an attempt cut off
	// part-way did not (docs/architecture.md, crash window 8).
	key := fmt.Sprintf("chaos-%s-%s-%07d", r.nonce, b.project, b.first)
	_, err := r.keys[b.project].CallKeyed(ctx, http.MethodPost, "/v1/projects/"+b.project+"/events", "application/x-ndjson", key, []byte(body.String()), &res)
	if err != nil {
		return err
	}
	b.acceptedAt = time.Now()
	// Ingestion routes to every active stream of the project: all of
	// them, or all but the 410 stream once it is suspended.
	eps := r.projectStreams(b.project)
	for _, ep := range eps {
		if res.Streams == len(eps) || ep.mode != GoneOnce {
			b.routedTo = append(b.routedTo, ep.name)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if res.Accepted != b.n || len(b.routedTo) != res.Streams {
		r.routing = append(r.routing, fmt.Sprintf("%s events %d-%d: accepted %d, routed to %d streams of %d",
			b.project, b.first, b.first+b.n-1, res.Accepted, res.Streams, len(eps)))
	}
	r.accepted = append(r.accepted, b)
	return nil
}

// pair is one (stream, event).
type pair struct{ stream, event string }

// settle waits until every queue is empty and done holds for the tally of
// deliveries and dead letters, or Settle runs out; it returns the last
// tally.
func (r *run) settle(ctx context.Context, done func(Tally) bool) Tally {
	deadline := time.Now().Add(r.sc.Settle)
	var last Tally
	for {
		empty, why, err := r.admin.QueuesEmpty(ctx)
		switch {
		case err != nil:
			last.Waiting = err.Error()
		case !empty:
			last.Waiting = why
		default:
			t, err := r.tally(ctx)
			if err != nil {
				last.Waiting = err.Error()
				break
			}
			last = t
			if done(t) {
				last.Settled = true
				return last
			}
			last.Waiting = fmt.Sprintf("queues empty, but %s", t)
		}
		if time.Now().After(deadline) || !sleep(ctx, time.Second) {
			return last
		}
	}
}

// tally counts the accepted pairs by what became of them, from the
// receiver and the projects' dead letters as the API shows them.
func (r *run) tally(ctx context.Context) (Tally, error) {
	t := Tally{DeadByReason: map[stream.DeadLetterReason]int{}}
	byID := map[string]*endpoint{}
	for _, ep := range r.streams {
		byID[ep.id] = ep
	}
	dead := map[pair][]deadletter.PeekedEvent{}
	for project, c := range r.keys {
		err := c.DeadEvents(ctx, project, nil, func(e deadletter.PeekedEvent) {
			id := deadletter.EventID(e.Event)
			if !strings.HasPrefix(id, r.sc.Prefix+"-") {
				return // logstream's own events
			}
			name := e.StreamID
			if ep := byID[e.StreamID]; ep != nil {
				name = ep.name
			}
			t.DeadEvents++
			t.DeadByReason[e.Reason]++
			p := pair{name, id}
			dead[p] = append(dead[p], e)
		})
		if err != nil {
			return t, fmt.Errorf("dead letters of %s: %w", project, err)
		}
	}
	delivered := r.recv.Delivered()

	r.mu.Lock()
	accepted := map[pair]time.Time{}
	retried := map[pair]bool{}
	for _, b := range r.accepted {
		for _, name := range b.routedTo {
			for seq := b.first; seq < b.first+b.n; seq++ {
				p := pair{name, r.eventID(b.project, seq)}
				accepted[p] = b.acceptedAt
				retried[p] = b.attempts > 1
			}
		}
	}
	halfAt := r.halfAt
	r.mu.Unlock()

	var examples []string
	note := func(format string, args ...any) {
		if len(examples) < 20 {
			examples = append(examples, fmt.Sprintf(format, args...))
		}
	}
	ts := func(at time.Time) string { return at.Format("15:04:05.000") }
	for p, at := range accepted {
		t.Accepted++
		d, isDelivered := delivered[p.stream][p.event]
		dl := dead[p]
		switch {
		case isDelivered:
			t.Delivered++
		case len(dl) > 0:
			t.Dead++
		default:
			t.Lost++
			note("lost: %s %s (accepted %s)", p.stream, p.event, ts(at))
		}
		if d.Times > 1 {
			t.DeliveredTwice += d.Times - 1
			note("delivered %d times: %s %s (accepted %s, first %s, last %s)", d.Times, p.stream, p.event, ts(at), ts(d.First), ts(d.Last))
		}
		if isDelivered && len(dl) > 0 {
			t.DeliveredAndDead++
			note("delivered and dead: %s %s (accepted %s, delivered %s, parked %s as %s after %d receives: %s)",
				p.stream, p.event, ts(at), ts(d.First), ts(dl[0].ParkedAt), dl[0].Reason, dl[0].ReceiveCount, dl[0].Error)
		}
		dups := max(d.Times-1, 0) + max(len(dl)-1, 0)
		if isDelivered && len(dl) > 0 {
			dups++
		}
		if retried[p] {
			t.RetriedRequest += dups
		}
		if dups > 0 && !halfAt.IsZero() {
			first, last := d.First, d.Last
			for _, e := range dl {
				if first.IsZero() || e.ParkedAt.Before(first) {
					first = e.ParkedAt
				}
				if e.ParkedAt.After(last) {
					last = e.ParkedAt
				}
			}
			if first.Before(halfAt) && last.After(halfAt) {
				t.AcrossHalf += dups
			}
		}
		if len(dl) > 1 {
			t.DeadTwice += len(dl) - 1
			var how []string
			for _, e := range dl {
				how = append(how, fmt.Sprintf("%s as %s in letter %s", ts(e.ParkedAt), e.Reason, e.LetterID))
			}
			note("dead %d times: %s %s: %s", len(dl), p.stream, p.event, strings.Join(how, "; "))
		}
	}
	for name, evs := range delivered {
		for id := range evs {
			if _, ok := accepted[pair{name, id}]; !ok {
				t.Unexpected++
				note("delivered but never accepted for the stream: %s %s", name, id)
			}
		}
	}
	for p := range dead {
		if _, ok := accepted[p]; !ok {
			t.Unexpected++
			note("dead but never accepted for the stream: %s %s", p.stream, p.event)
		}
	}
	sort.Strings(examples)
	t.Examples = examples
	return t, nil
}

// fix heals the receiver, gives the 401 stream its credential, moves the
// 410 stream to a healthy endpoint and enables it with a redrive of its dead
// letters, and redrives every other stream's; it waits for the jobs.
func (r *run) fix(ctx context.Context, res *Result) error {
	r.recv.Heal()
	var jobs []deadletter.Job
	for _, ep := range r.streams {
		c := r.keys[ep.project]
		path := "/v1/projects/" + ep.project + "/streams/" + ep.id
		switch ep.mode {
		case Unauthorized:
			if err := c.JSON(ctx, http.MethodPatch, path, map[string]any{"destination_config": map[string]any{"authorization": "Bearer " + r.token}}, nil); err != nil {
				return fmt.Errorf("chaos: fix the 401 stream: %w", err)
			}
		case GoneOnce:
			var s stream.Stream
			if err := c.JSON(ctx, http.MethodGet, path, nil, &s); err != nil {
				return err
			}
			res.GoneStatus = string(s.Status)
			if err := c.JSON(ctx, http.MethodPatch, path, map[string]any{"destination_config": map[string]any{"endpoint": r.recv.URL(ep.name, Healthy)}}, nil); err != nil {
				return fmt.Errorf("chaos: move the 410 stream: %w", err)
			}
			var en manage.EnableResponse
			if err := c.JSON(ctx, http.MethodPost, path+"/enable", map[string]any{"redrive_dead_letters": true}, &en); err != nil {
				return fmt.Errorf("chaos: enable the 410 stream: %w", err)
			}
			res.Waiting = en.DeadLetters
			if en.DeadLetters != nil && en.DeadLetters.Redrive != nil {
				jobs = append(jobs, *en.DeadLetters.Redrive)
			}
		}
	}
	// One redrive per stream: the 410 stream's is the one enable started.
	for _, ep := range r.streams {
		if ep.mode == GoneOnce || !r.hasDead(ep) {
			continue
		}
		var j deadletter.Job
		req := deadletter.JobRequest{Filter: deadletter.Filter{StreamID: ep.id}}
		if r.sc.RedriveRate > 0 {
			req.Rate = &r.sc.RedriveRate
		}
		if err := r.keys[ep.project].JSON(ctx, http.MethodPost, "/v1/projects/"+ep.project+"/dead-letters/redrive", req, &j); err != nil {
			return fmt.Errorf("chaos: redrive %s: %w", ep.name, err)
		}
		jobs = append(jobs, j)
	}
	for _, j := range jobs {
		done, err := r.keys[j.ProjectID].WaitJob(ctx, j.ProjectID, j.ID, 500*time.Millisecond)
		res.Jobs = append(res.Jobs, done)
		if err != nil {
			return fmt.Errorf("chaos: redrive job: %w", err)
		}
		r.sc.Logf("chaos: redrive job %s of %s: %s, %d of %d events done, skipped %v", done.ID, done.ProjectID, done.State,
			done.Progress.Done, done.Progress.Total, done.Progress.Skipped)
		if done.State != deadletter.StateSucceeded {
			return fmt.Errorf("chaos: redrive job %s of %s %s: %s", done.ID, done.ProjectID, done.State, done.Error)
		}
	}
	slices.SortFunc(res.Jobs, func(a, b deadletter.Job) int { return strings.Compare(a.Filter.StreamID, b.Filter.StreamID) })
	return nil
}

// hasDead reports whether the stream has dead letters, by its project's
// summary.
func (r *run) hasDead(ep *endpoint) bool {
	var sum deadletter.Summary
	if err := r.keys[ep.project].JSON(context.Background(), http.MethodGet, "/v1/projects/"+ep.project+"/dead-letters?stream_id="+ep.id, nil, &sum); err != nil {
		return true // let the redrive say what is wrong
	}
	return sum.Events > 0
}
