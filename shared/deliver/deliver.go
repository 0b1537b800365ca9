// Package deliver is the delivery core shared by every destination's Lambda:
// decode an SQS batch, group its events by stream, load each stream's config,
// hand the events to the destination's Sender in batches within its limits,
// and report the messages that were not delivered so SQS retries only those.
//
// A message is acknowledged (left out of BatchItemFailures, so the event
// source mapping deletes it) only after its destination accepted every event
// in it, or when its stream no longer wants events (deleted or paused).
package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/queue"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/ttlcache"
)

// Streams loads one stream's configuration.
type Streams interface {
	Get(ctx context.Context, projectID, streamID string) (stream.Stream, error)
}

// Sender delivers one batch of events to a stream's destination. It returns
// nil only when the destination acknowledged all of them.
type Sender interface {
	Send(ctx context.Context, s stream.Stream, events []json.RawMessage) error
}

// Health keeps per-stream delivery counters for the health view. Recording
// is best effort: a failed write is logged, never a reason to redeliver.
type Health interface {
	RecordDelivery(ctx context.Context, projectID, streamID string, events int, at time.Time) error
	RecordFailure(ctx context.Context, projectID, streamID string, events int, reason string, at time.Time) error
}

// Limits bound one Send.
type Limits struct {
	MaxBytes  int // sum of the events' sizes
	MaxEvents int
}

// Core is the delivery handler.
type Core struct {
	Streams Streams
	Sender  Sender
	Limits  Limits
	// Health receives the counters (optional).
	Health Health
	// CacheTTL is how long a stream's config is reused between invocations.
	CacheTTL time.Duration
	// Margin is kept free before the invocation deadline so the partial batch
	// response is returned before Lambda stops the function (default 2 s, at
	// most a quarter of the time left).
	Margin time.Duration
	// Concurrency is how many streams are delivered at once (default 4).
	Concurrency int
	Log         *slog.Logger

	once  sync.Once
	cache ttlcache.Cache[[2]string, stream.Stream]
}

type message struct {
	id     string
	events []json.RawMessage
}

type group struct {
	projectID, streamID string
	msgs                []message
}

// Handle is the Lambda handler for an SQS event source mapping with
// ReportBatchItemFailures.
func (c *Core) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	c.once.Do(func() { c.cache.TTL = c.CacheTTL })
	ctx, cancel := c.withMargin(ctx)
	defer cancel()

	var (
		mu     sync.Mutex
		failed []string
	)
	fail := func(ids ...string) {
		mu.Lock()
		failed = append(failed, ids...)
		mu.Unlock()
	}

	var groups []*group
	index := map[[2]string]*group{}
	for _, rec := range ev.Records {
		env, err := queue.DecodeEnvelope([]byte(rec.Body))
		if err != nil {
			// Undecodable now means undecodable on every retry; failing it lets
			// redrive park it in the DLQ where it can be inspected.
			c.Log.ErrorContext(ctx, "undecodable message", "message_id", rec.MessageId, "err", err)
			fail(rec.MessageId)
			continue
		}
		k := [2]string{env.ProjectID, env.StreamID}
		g := index[k]
		if g == nil {
			g = &group{projectID: env.ProjectID, streamID: env.StreamID}
			index[k] = g
			groups = append(groups, g)
		}
		g.msgs = append(g.msgs, message{id: rec.MessageId, events: env.Events})
	}

	sem := make(chan struct{}, max(1, c.concurrency()))
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fail(c.deliverGroup(ctx, g)...)
		}()
	}
	wg.Wait()

	resp := events.SQSEventResponse{}
	for _, id := range failed {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	return resp, nil
}

func (c *Core) concurrency() int {
	if c.Concurrency > 0 {
		return c.Concurrency
	}
	return 4
}

func (c *Core) withMargin(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := c.Margin
	if margin <= 0 {
		margin = 2 * time.Second
	}
	margin = min(margin, time.Until(dl)/4)
	return context.WithDeadline(ctx, dl.Add(-margin))
}

// deliverGroup sends one stream's messages and returns the ids of those that
// were not delivered.
func (c *Core) deliverGroup(ctx context.Context, g *group) []string {
	log := c.Log.With("project_id", g.projectID, "stream_id", g.streamID)
	st, err := c.cache.Get(ctx, [2]string{g.projectID, g.streamID}, func(ctx context.Context) (stream.Stream, error) {
		return c.Streams.Get(ctx, g.projectID, g.streamID)
	})
	if errors.Is(err, stream.ErrNotFound) {
		log.WarnContext(ctx, "stream deleted; dropping its queued events", "messages", len(g.msgs), "events", countEvents(g.msgs))
		return nil
	}
	if err != nil {
		log.ErrorContext(ctx, "load stream", "err", err)
		return ids(g.msgs)
	}
	if st.Status != stream.StatusActive {
		// Pausing stops delivery; resuming does not backfill what arrived meanwhile.
		log.InfoContext(ctx, "stream not active; dropping its queued events", "status", st.Status, "events", countEvents(g.msgs))
		return nil
	}
	batches := c.split(g.msgs)
	delivered := 0
	for i, b := range batches {
		if err := c.Sender.Send(ctx, st, b.events); err != nil {
			// Later batches would most likely meet the same fate; leave them,
			// and the messages this one touched, for SQS to retry.
			var undelivered []string
			seen := map[string]bool{}
			for _, rest := range batches[i:] {
				for _, id := range rest.ids {
					if !seen[id] {
						seen[id] = true
						undelivered = append(undelivered, id)
					}
				}
			}
			reason := st.Redact(err.Error())
			log.WarnContext(ctx, "delivery failed", "events_delivered", delivered,
				"messages_failed", len(undelivered), "err", reason)
			failed := 0
			for _, rest := range batches[i:] {
				failed += len(rest.events)
			}
			c.record(ctx, g, delivered, failed, reason)
			return undelivered
		}
		delivered += len(b.events)
	}
	log.InfoContext(ctx, "delivered", "events", delivered, "requests", len(batches))
	c.record(ctx, g, delivered, 0, "")
	return nil
}

// record updates the stream's counters, on a context of its own so a
// deadline that cut delivery short still lets the failure be counted.
func (c *Core) record(ctx context.Context, g *group, delivered, failed int, reason string) {
	if c.Health == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	now := time.Now()
	var errs []error
	if delivered > 0 {
		errs = append(errs, c.Health.RecordDelivery(ctx, g.projectID, g.streamID, delivered, now))
	}
	if failed > 0 {
		errs = append(errs, c.Health.RecordFailure(ctx, g.projectID, g.streamID, failed, reason, now))
	}
	if err := errors.Join(errs...); err != nil {
		c.Log.WarnContext(ctx, "record delivery counters", "project_id", g.projectID, "stream_id", g.streamID, "err", err)
	}
}

type batch struct {
	events []json.RawMessage
	ids    []string // messages with events in this batch
	bytes  int
}

// split packs the group's events into batches within Limits. A message whose
// events span two batches is listed in both, so it is acknowledged only if
// both succeed.
func (c *Core) split(msgs []message) []batch {
	var out []batch
	cur := batch{}
	for _, m := range msgs {
		inCur := false
		for _, e := range m.events {
			if len(cur.events) > 0 && (len(cur.events)+1 > c.Limits.MaxEvents || cur.bytes+len(e) > c.Limits.MaxBytes) {
				out = append(out, cur)
				cur, inCur = batch{}, false
			}
			if !inCur {
				cur.ids = append(cur.ids, m.id)
				inCur = true
			}
			cur.events = append(cur.events, e)
			cur.bytes += len(e)
		}
	}
	if len(cur.events) > 0 {
		out = append(out, cur)
	}
	return out
}

func ids(msgs []message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.id
	}
	return out
}

func countEvents(msgs []message) int {
	n := 0
	for _, m := range msgs {
		n += len(m.events)
	}
	return n
}
