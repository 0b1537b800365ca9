// Package deliver is the delivery core shared by every destination's Lambda:
// decode an SQS batch, group its events by stream, load each stream's config,
// hand the events to the destination's Sender in batches within its limits,
// and report the messages that were not delivered so SQS retries only those.
//
// A message is acknowledged (left out of BatchItemFailures, so the event
// source mapping deletes it) only when each of its events was accepted by the
// destination, parked in the DLQ with the reason, or put back on the queue in
// a new message (Requeue), or when its stream no longer wants events (deleted
// or paused). A message with an event that may yet succeed comes back after a
// delay that grows with its receive count: whole when none of it was
// delivered, otherwise as a new message with only the events the destination
// has not accepted. On its last receive (MaxReceives) the core parks what is
// left with the last error instead, so SQS redrive, which records no reason,
// only moves what a crash left behind.
package deliver

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/trace"
	"github.com/logstream/logstream/shared/ttlcache"
)

// Streams loads one stream's configuration.
type Streams interface {
	Get(ctx context.Context, projectID, streamID string) (stream.Stream, error)
}

// Sender delivers one batch of events to a stream's destination. It returns
// nil only when the destination acknowledged all of them; otherwise an error
// classified with this package's constructors (unclassified errors are
// Retryable), or a *PartialError naming the events that were not accepted.
//
// An error's text is shown as it is: in health's last_error, the DLQ's
// reason, the logs and the test route. A sender redacts from it whatever the
// destination echoed of the credentials it sent (shared/sink.Secrets), at
// the place where the answer becomes the text.
type Sender interface {
	Send(ctx context.Context, s stream.Stream, b Batch) error
}

// Batch is what one Send delivers.
type Batch struct {
	Events []json.RawMessage
	// Key names the batch the same way on every retry, for destinations
	// that write objects (S3) and must overwrite rather than duplicate. It
	// is set only under Limits.PerMessage: the SQS message id, with a
	// "-<n>" suffix for the parts of a message that had to be split.
	Key string
	// EnqueuedAt is when ingestion queued the events (the SQS message's
	// SentTimestamp): stable across retries, unlike the time of sending.
	EnqueuedAt time.Time
}

// Health keeps per-stream delivery counters for the health view: one Record
// per stream and invocation, with what became of each of its events.
// Recording is best effort: a failed write is logged, never a reason to
// redeliver. Record returns the stream's failure run as the same write left
// it, for the suspension policy.
type Health interface {
	Record(ctx context.Context, projectID, streamID string, t Tally, at time.Time) (stream.FailureRun, error)
}

// Tally is Health's request; it lives in package stream so the store
// implements Health without importing this package.
type Tally = stream.Tally

// Queue is the delivery function's own queue and its dead-letter queue.
type Queue interface {
	// Delay makes failed messages visible again only after their delays.
	Delay(ctx context.Context, delays []Delay) error
	// Ack deletes delivered messages before the invocation returns.
	Ack(ctx context.Context, receipts []Receipt) error
	// Park sends events (or an undecodable body) to the DLQ with the reason.
	Park(ctx context.Context, p Parked) error
}

// Delay and Parked are the Queue's requests; they live in package queue so
// its SQS adapter does not import this package.
type (
	Delay   = envelope.Delay
	Parked  = envelope.Parked
	Receipt = envelope.Receipt
)

// Requeuer puts the undelivered rest of a partly delivered message back on
// the delivery queue as a new message; the core deletes the original only
// once it is there.
type Requeuer interface {
	Requeue(ctx context.Context, r Requeued) error
}

// Requeued is the Requeuer's request; it lives in package envelope, like
// Delay and Parked.
type Requeued = envelope.Requeued

// Suspender suspends an active stream whose destination is gone or keeps
// failing, and reports whether this call did (only that caller notifies).
type Suspender interface {
	Suspend(ctx context.Context, projectID, streamID, reason string) (bool, error)
}

// Notifier tells of a stream logstream suspended: into the project's own
// flow (a lifecycle event) and to the operator. Best effort: the stream is
// suspended whether or not the notice goes out.
type Notifier interface {
	Notify(ctx context.Context, n stream.Notice) error
}

// Limits bound one Send, as the destination documents them.
type Limits struct {
	MaxBytes  int // sum of the events' sizes
	MaxEvents int
	// MaxEventBytes is the largest single event the destination takes;
	// a larger one is parked in the DLQ with the reason, never truncated.
	// Zero means MaxBytes.
	MaxEventBytes int
	// PerMessage keeps each batch within one SQS message, so Batch.Key
	// can name it, and a retried message goes out as the same request(s)
	// rather than merged with newer messages (a webhook's webhook-id).
	PerMessage bool
}

func (l Limits) maxEventBytes() int {
	if l.MaxEventBytes > 0 {
		return min(l.MaxEventBytes, l.MaxBytes)
	}
	return l.MaxBytes
}

// Backoff is the delay before a failed message is retried: Base doubled for
// every earlier receive, at most Max, with jitter so a recovering destination
// is not hit by every stream at once, and never sooner than the
// destination's Retry-After.
type Backoff struct {
	Base, Max time.Duration
}

// maxVisibility is the longest SQS lets a message stay invisible.
const maxVisibility = 12 * time.Hour

// After is the delay before the receiveCount+1-th receive.
func (b Backoff) After(receiveCount int, retryAfter time.Duration) time.Duration {
	d := b.Base
	for i := 1; i < receiveCount && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if d > 0 {
		d = d/2 + rand.N(d/2+1) // "equal jitter"
	}
	return min(max(d, retryAfter), maxVisibility)
}

// Core is the delivery handler.
type Core struct {
	Streams Streams
	Sender  Sender
	Limits  Limits
	// Queue delays retries and parks what cannot be delivered. Without it,
	// every failure is left to the queue's visibility timeout and redrive.
	Queue Queue
	// Requeue puts back only the events a destination has not accepted
	// when it accepted others of the same message (optional: without it,
	// such a message is retried whole and its delivered events sent again).
	Requeue Requeuer
	// MaxReceives is the delivery queue's maxReceiveCount. On a message's
	// last receive (its ApproximateReceiveCount plus the attempts it
	// carries from the message it is the rest of, at least MaxReceives),
	// what would be retried is parked with its last error instead. Zero
	// leaves exhaustion to SQS redrive, which records no reason.
	MaxReceives int
	Backoff     Backoff
	// Suspend, when set, suspends a stream whose destination answered that
	// it is gone (410, a deleted bucket), or has kept failing as Suspension
	// says.
	Suspend Suspender
	// Suspension is when a failing stream is suspended (zero: never for
	// failing; a 410 still suspends). It is judged on the run Health.Record
	// returns, so it needs Health.
	Suspension stream.SuspensionPolicy
	// Notify tells of each suspension (optional).
	Notify Notifier
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Health receives the counters (optional).
	Health Health
	// CacheTTL is how long a stream's config is reused between invocations.
	CacheTTL time.Duration
	// Margin is kept free before the invocation deadline so the partial batch
	// response is returned before Lambda stops the function (default 2 s, at
	// most a quarter of the time left).
	Margin time.Duration
	// Breaker defers the messages of a stream whose destination keeps
	// failing, without a request, until a probe succeeds (optional).
	Breaker *Breaker
	// Concurrency is how many streams are delivered at once (default: all
	// of the batch's streams, so none waits for another's turn).
	Concurrency int
	// StreamTimeout is the most one stream's sends may take in an
	// invocation (default: the invocation's time). What is not sent by then
	// is retried; the other streams are not kept waiting meanwhile.
	StreamTimeout time.Duration
	// AckAfter is how long a stream's delivered messages may wait for the
	// invocation's other streams before they are deleted from the queue
	// (Queue.Ack) instead of in the partial batch response (default 1 s).
	// A short invocation makes no extra call; in a long one, a slow stream
	// never holds another's delivered messages.
	AckAfter time.Duration
	// Log receives the core's log lines (default slog.Default()).
	Log *slog.Logger
	// Metrics receives each invocation's metric lines (nil: none), with
	// DestinationType, the function's type, as their dimension.
	Metrics         *metrics.Emitter
	DestinationType string

	once  sync.Once
	cache ttlcache.Cache[[2]string, stream.Stream]
}

// log is c.Log, or slog.Default() when nil: the nil-logger rule of every
// logstream handler.
func (c *Core) log() *slog.Logger { return cmp.Or(c.Log, slog.Default()) }

func (c *Core) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

type message struct {
	rec    *events.SQSMessage
	events []json.RawMessage
	// attempts is how many times its events have been received: this
	// message's receive count plus those of the messages it is the rest of.
	attempts int
	// enqueued is when ingestion queued its events (enqueuedAt), read once
	// for the lag of each.
	enqueued time.Time
}

// traceOf is the trace a message carries (envelope.AttrTrace), as it came:
// parked and requeued messages keep it.
func traceOf(rec *events.SQSMessage) string {
	return stringAttr(rec, envelope.AttrTrace)
}

// encodingOf is how rec's body is encoded (envelope.AttrEncoding): ingestion
// compresses delivery messages when that makes them smaller; "" is a plain
// body (parked, requeued, or from an older deployment).
func encodingOf(rec *events.SQSMessage) string {
	return stringAttr(rec, envelope.AttrEncoding)
}

func stringAttr(rec *events.SQSMessage, name string) string {
	if a, ok := rec.MessageAttributes[name]; ok && a.StringValue != nil {
		return *a.StringValue
	}
	return ""
}

// logSpans logs a "deliver" span for each message that carries a trace,
// a child of ingestion's span: what became of its events. outs are the
// messages' outcomes, by index (nil: none was sent); note says why not.
func (c *Core) logSpans(ctx context.Context, g *group, msgs []message, outs []outcome, start time.Time, note string) {
	end := c.now()
	for i, m := range msgs {
		parent, ok := trace.ParseCarrier(traceOf(m.rec))
		if !ok {
			continue
		}
		delivered, reason := 0, ""
		if outs != nil {
			delivered, reason = outs[i].delivered, outs[i].reason
			if len(outs[i].reasons) > 0 {
				reason = outs[i].reasons[0]
			}
		}
		result := "delivered"
		switch {
		case delivered == 0 && len(m.events) > 0:
			result = "not delivered"
		case delivered < len(m.events):
			result = "partly delivered"
		}
		attrs := []any{"project_id", g.projectID, "stream_id", g.streamID, "message_id", m.rec.MessageId,
			"events", len(m.events), "delivered", delivered, "receives", m.attempts, "result", result}
		if note != "" {
			attrs = append(attrs, "note", note)
		}
		if delivered < len(m.events) && reason != "" {
			attrs = append(attrs, "reason", reason)
		}
		trace.NewSpan("deliver", parent, start).Log(ctx, c.log(), end, attrs...)
	}
}

type group struct {
	projectID, streamID string
	msgs                []message
}

// outcome is what became of one message of a group.
type outcome struct {
	delivered  int                       // how many of its events the destination accepted
	accepted   []bool                    // which, by index (nil: none)
	retry      bool                      // at least one event may yet be delivered
	retryAfter time.Duration             // the longest Retry-After among them
	parked     []int                     // indices of its events to park
	reasons    []string                  // why, by parked event
	whys       []stream.DeadLetterReason // their reason's category, by parked event
	reason     string                    // why it is retried
}

// undelivered are the indices of the events of a message of n events that
// the destination did not accept.
func (o *outcome) undelivered(n int) []int {
	out := make([]int, 0, n-o.delivered)
	for i := range n {
		if o.accepted == nil || !o.accepted[i] {
			out = append(out, i)
		}
	}
	return out
}

// Handle is the Lambda handler for an SQS event source mapping with
// ReportBatchItemFailures.
func (c *Core) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	c.once.Do(func() { c.cache.TTL = c.CacheTTL })
	ctx, cancel := c.withMargin(ctx)
	defer cancel()

	var (
		mu     sync.Mutex
		failed []Delay
	)
	retry := func(d ...Delay) {
		mu.Lock()
		failed = append(failed, d...)
		mu.Unlock()
	}

	var groups []*group
	index := map[[2]string]*group{}
	var inv *invocationMetrics
	if c.Metrics != nil {
		inv = &invocationMetrics{}
		defer c.emitMetrics(inv)
	}
	for i := range ev.Records {
		rec := &ev.Records[i]
		env, err := envelope.Open(rec.Body, encodingOf(rec))
		if err != nil {
			// Undecodable now means undecodable on every retry: park it
			// where it can be inspected rather than retry it.
			c.log().ErrorContext(ctx, "undecodable message", "message_id", rec.MessageId, "err", err)
			m := message{rec: rec, attempts: attempts(rec)}
			if !c.park(ctx, Parked{SourceMessageID: rec.MessageId, Body: rec.Body, Encoding: encodingOf(rec), ReceiveCount: m.attempts,
				Reason: "undecodable message: " + err.Error(), Code: string(stream.ReasonUndecodable), Trace: traceOf(rec)}) {
				retry(c.delay(m, 0))
			} else if inv != nil {
				// Its events are unknown: the message counts as one.
				inv.all.parked++
				inv.all.park(stream.ReasonUndecodable, 1)
			}
			continue
		}
		k := [2]string{env.ProjectID, env.StreamID}
		g := index[k]
		if g == nil {
			g = &group{projectID: env.ProjectID, streamID: env.StreamID}
			index[k] = g
			groups = append(groups, g)
		}
		g.msgs = append(g.msgs, message{rec: rec, events: env.Events, attempts: attempts(rec), enqueued: enqueuedAt(rec)})
	}

	keys := make([][2]string, len(groups))
	for i, g := range groups {
		keys[i] = [2]string{g.projectID, g.streamID}
	}
	if err := c.Breaker.Prepare(ctx, keys); err != nil {
		c.log().WarnContext(ctx, "load shared circuits; deciding on this container's copies", "err", err)
	}

	acks := c.startAcks(ctx)
	sem := make(chan struct{}, c.concurrency(len(groups)))
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			gctx, cancel := c.withStreamTimeout(ctx)
			defer cancel()
			var gm *groupMetrics
			if inv != nil {
				gm = &groupMetrics{}
			}
			again := c.deliverGroup(gctx, g, gm)
			if inv != nil {
				inv.add(c.Metrics.Detail, g.projectID, g.streamID, gm)
			}
			retry(again...)
			acks.done(g.msgs, again)
		}()
	}
	wg.Wait()
	acks.stop()

	resp := events.SQSEventResponse{}
	for _, d := range failed {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: d.MessageID})
	}
	if c.Queue != nil && len(failed) > 0 {
		// On a context of its own: the margin exists for exactly this.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		if err := c.Queue.Delay(dctx, failed); err != nil {
			// The messages still come back, after the queue's own
			// visibility timeout: later, but not lost.
			c.log().WarnContext(ctx, "delay retries", "messages", len(failed), "err", err)
		}
	}
	return resp, nil
}

func (c *Core) concurrency(groups int) int {
	if c.Concurrency > 0 {
		return c.Concurrency
	}
	return max(1, groups)
}

func (c *Core) withStreamTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.StreamTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.StreamTimeout)
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

func receiveCount(rec *events.SQSMessage) int {
	n, err := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// attempts is how many times a message's events have been received: its own
// receive count, plus what it carries from the message whose rest it is.
func attempts(rec *events.SQSMessage) int {
	n := receiveCount(rec)
	if a, ok := rec.MessageAttributes[envelope.AttrAttempts]; ok && a.StringValue != nil {
		if k, err := strconv.Atoi(*a.StringValue); err == nil && k > 0 {
			n += k
		}
	}
	return n
}

// lastReceive reports whether m's events have had every receive the queue
// allows them (MaxReceives), counting those of the messages m is the rest of:
// an original retried once more would be moved to the DLQ by redrive, without
// a reason.
func (c *Core) lastReceive(m message) bool {
	return c.MaxReceives > 0 && m.attempts >= c.MaxReceives
}

// enqueuedAt is when ingestion queued rec's events: its SentTimestamp, or,
// for the rest of a partly delivered message, the original's.
func enqueuedAt(rec *events.SQSMessage) time.Time {
	ms, err := strconv.ParseInt(rec.Attributes["SentTimestamp"], 10, 64)
	if a, ok := rec.MessageAttributes[envelope.AttrEnqueuedAt]; ok && a.StringValue != nil {
		ms, err = strconv.ParseInt(*a.StringValue, 10, 64)
	}
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func (c *Core) delay(m message, retryAfter time.Duration) Delay {
	return Delay{MessageID: m.rec.MessageId, ReceiptHandle: m.rec.ReceiptHandle, After: c.Backoff.After(m.attempts, retryAfter)}
}

// park sends p to the DLQ and reports whether it is there.
func (c *Core) park(ctx context.Context, p Parked) bool {
	if c.Queue == nil {
		return false
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := c.Queue.Park(pctx, p); err != nil {
		c.log().ErrorContext(ctx, "park in the DLQ", "message_id", p.SourceMessageID, "err", err)
		return false
	}
	return true
}

// deliverGroup sends one stream's messages and returns those to retry,
// counting what became of them in gm (nil: not counted).
func (c *Core) deliverGroup(ctx context.Context, g *group, gm *groupMetrics) []Delay {
	start := c.now()
	log := c.log().With("project_id", g.projectID, "stream_id", g.streamID)
	st, err := c.cache.Get(ctx, [2]string{g.projectID, g.streamID}, func(ctx context.Context) (stream.Stream, error) {
		return c.Streams.Get(ctx, g.projectID, g.streamID)
	})
	if errors.Is(err, stream.ErrNotFound) {
		log.WarnContext(ctx, "stream deleted; dropping its queued events", "messages", len(g.msgs), "events", countEvents(g.msgs))
		c.logSpans(ctx, g, g.msgs, nil, start, "stream deleted")
		gm.dropped(g.msgs)
		return nil
	}
	if err != nil {
		log.ErrorContext(ctx, "load stream", "err", err)
		// Retried, but parked with the reason on the last receive.
		outs := retryOutcomes(len(g.msgs), 0, "load stream: "+err.Error())
		s := c.settle(ctx, g, g.msgs, outs)
		c.record(ctx, g, s.tally(0))
		c.logSpans(ctx, g, g.msgs, outs, start, "stream not loaded")
		gm.settled(s)
		return s.again
	}
	var held []Delay // messages a probe does not carry
	heldEvents := 0  // their events
	key := [2]string{g.projectID, g.streamID}
	d := &delivery{core: c, ctx: ctx, st: st, metrics: gm}
	if st.Status == stream.StatusActive {
		dec, err := c.Breaker.Allow(ctx, key)
		if err != nil {
			log.WarnContext(ctx, "shared circuit", "err", err)
		}
		if !dec.Send {
			n := countEvents(g.msgs)
			log.InfoContext(ctx, "circuit open: deferring without a request", "messages", len(g.msgs), "events", n, "retry_in", dec.Wait)
			// Deferred like any retry, and so parked on their last
			// receive, with the destination's own last answer: it is
			// what the owner has to fix.
			outs := retryOutcomes(len(g.msgs), dec.Wait, dec.Reason+" (circuit open)")
			s := c.settle(ctx, g, g.msgs, outs)
			t := s.tally(0)
			t.LastError = dec.Reason + " (not sent again until a probe succeeds)"
			c.record(ctx, g, t)
			c.logSpans(ctx, g, g.msgs, outs, start, "circuit open")
			gm.settled(s)
			return s.again
		}
		if dec.Probe && len(g.msgs) > 1 {
			// One message probes; the rest wait their turn on the
			// schedule. Those on their last receive probe instead, so
			// none goes to the DLQ untried while its destination may be
			// back: a failure stops the stream's other requests, so
			// this still costs one request when it fails.
			var probe, wait []message
			for _, m := range g.msgs {
				if c.lastReceive(m) {
					probe = append(probe, m)
				} else {
					wait = append(wait, m)
				}
			}
			if len(probe) == 0 {
				probe, wait = wait[:1], wait[1:]
			}
			held = c.retryAll(wait, 0)
			heldEvents = countEvents(wait)
			c.logSpans(ctx, g, wait, nil, start, "waiting for the circuit's probe")
			g = &group{projectID: g.projectID, streamID: g.streamID, msgs: probe}
		}
		d.sendTimeout = dec.Timeout
	}
	d.out = make([]outcome, len(g.msgs))
	switch st.Status {
	case stream.StatusActive:
		d.run(g.msgs)
		if err := c.Breaker.Done(ctx, key, d.result()); err != nil {
			log.WarnContext(ctx, "shared circuit", "err", err)
		}
	case stream.StatusSuspended:
		// Suspended by logstream itself: these were queued before it
		// happened, and are kept for a redrive once the customer fixes it.
		d.parkAll(g.msgs, stream.ReasonSuspended, suspendedReason(st))
	default:
		// Pausing stops delivery; resuming does not backfill what arrived meanwhile.
		log.InfoContext(ctx, "stream not active; dropping its queued events", "status", st.Status, "events", countEvents(g.msgs))
		c.logSpans(ctx, g, g.msgs, nil, start, "stream "+string(st.Status))
		gm.dropped(g.msgs)
		return nil
	}

	s := c.settle(ctx, g, g.msgs, d.out)
	note := ""
	if st.Status == stream.StatusSuspended {
		note = "stream suspended"
	}
	c.logSpans(ctx, g, g.msgs, d.out, start, note)
	delivered := 0
	for _, o := range d.out {
		delivered += o.delivered
	}
	// The messages a probe did not carry were deferred by the circuit: they
	// come back like any retry, and are counted so.
	s.retried += heldEvents
	gm.settled(s)
	if delivered > 0 || s.parked > 0 || s.retried > 0 {
		log.InfoContext(ctx, "delivery", "events_delivered", delivered, "events_parked", s.parked,
			"events_to_retry", s.retried, "events_requeued", s.requeued, "requests", d.requests, "reason", s.reason)
	}
	t := s.tally(delivered)
	t.Permanent = d.permanent
	t.LagMillis, t.LagEvents = d.lagMillis, d.lagEvents
	run := c.record(ctx, g, t)
	if st.Status == stream.StatusActive && t.Failed() {
		if reason, due := c.Suspension.For(st).Due(run, c.now()); due {
			d.suspend(reason, run)
		}
	}
	return append(s.again, held...)
}

// suspendedReason is the reason the events of a suspended stream are parked
// with: why it was suspended, so a dead letter says what its owner has to fix.
func suspendedReason(st stream.Stream) string {
	if st.StatusReason == "" {
		return "stream is suspended"
	}
	return "stream is suspended: " + st.StatusReason
}

// retryOutcomes are the outcomes of n messages none of whose events was sent,
// all to be retried after at least after, for reason.
func retryOutcomes(n int, after time.Duration, reason string) []outcome {
	out := make([]outcome, n)
	for i := range out {
		out[i] = outcome{retry: true, retryAfter: after, reason: reason}
	}
	return out
}

// settled is what became of a group's messages once their outcomes were
// acted on.
type settled struct {
	again           []Delay // messages to retry whole
	parked, retried int     // events parked; events that come back (whole or requeued)
	requeued        int     // of those, events requeued without their delivered neighbours
	reason          string  // the last failure, for the health view and the log
	// deadLetters counts the parked events by their reason's category.
	deadLetters map[stream.DeadLetterReason]int
}

// tally is the health record of a group whose destination accepted
// delivered events and whose other events were settled as s says.
func (s settled) tally(delivered int) Tally {
	return Tally{Delivered: delivered, Retried: s.retried, DeadLetters: s.deadLetters, LastError: s.reason}
}

// settle acts on each message's outcome, so that nothing a destination
// accepted is sent to it again or parked, and nothing is dropped:
//   - every event delivered: the message is acknowledged;
//   - events that can never be delivered as they are, or that may yet be but
//     the message is on its last receive: parked with the reason, then
//     acknowledged;
//   - events that may yet be delivered (or could not be parked), beside
//     others that were delivered or parked: put back as a new message with
//     the retry delay (Requeue), then the original acknowledged;
//   - otherwise the message is retried whole, after the delay, as when
//     putting back its rest fails.
//
// Events that failed for good in a message that goes back (whole or its rest)
// go back with it, and are parked once nothing else of it may succeed: so
// none is parked twice if putting the rest back fails.
//
// The order (park, then requeue, then acknowledge) means a failure at any
// step leaves the original in the queue: sent or parked again, never lost.
// A message whose events were parked or put back is deleted at once, not at
// the end of the invocation: were the invocation to die meanwhile, its events
// would be parked or put back a second time (issue 12 §2: delete promptly).
func (c *Core) settle(ctx context.Context, g *group, msgs []message, outs []outcome) settled {
	var s settled
	var moved []Receipt // settled by parking or putting back: delete now
	defer func() { c.ackNow(ctx, moved) }()
	for i, m := range msgs {
		o := &outs[i]
		rest := o.undelivered(len(m.events))
		if len(rest) == 0 {
			continue
		}
		if o.retry {
			s.reason = o.reason
		}
		if !o.retry || c.lastReceive(m) {
			var parked int
			rest, parked = c.parkRest(ctx, g, m, o, rest, &s.deadLetters)
			s.parked += parked
			if len(o.reasons) > 0 && !o.retry {
				s.reason = o.reasons[0]
			}
			if len(rest) == 0 {
				moved = append(moved, receipt(m))
				continue
			}
		}
		s.retried += len(rest)
		if len(rest) < len(m.events) && c.requeue(ctx, g, m, rest, o.retryAfter) {
			s.requeued += len(rest)
			moved = append(moved, receipt(m))
			continue
		}
		s.again = append(s.again, c.delay(m, o.retryAfter))
	}
	return s
}

func receipt(m message) Receipt {
	return Receipt{MessageID: m.rec.MessageId, ReceiptHandle: m.rec.ReceiptHandle}
}

// ackNow deletes settled messages at once. A failure is only logged: they are
// still left out of the batch response, so the mapping deletes them when the
// invocation returns.
func (c *Core) ackNow(ctx context.Context, receipts []Receipt) {
	if c.Queue == nil || len(receipts) == 0 {
		return
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := c.Queue.Ack(actx, receipts); err != nil {
		c.log().WarnContext(ctx, "delete parked or requeued messages", "messages", len(receipts), "err", err)
	}
}

// parkRest parks m's undelivered events: those that failed for good with the
// first of their reasons in each category (one DLQ message per category, so
// a message's reason is the reason of each of its events), and, on the last
// receive, the others with the last error. It returns the events left to
// retry (those it could not park, and before the last receive those that may
// yet succeed) and how many it parked, counted by category in *dl.
func (c *Core) parkRest(ctx context.Context, g *group, m message, o *outcome, undelivered []int, dl *map[stream.DeadLetterReason]int) ([]int, int) {
	type part struct {
		events []int
		reason string
	}
	permanent := make(map[int]int, len(o.parked)) // event → its index in o.parked
	for i, k := range o.parked {
		if _, ok := permanent[k]; !ok {
			permanent[k] = i
		}
	}
	parts := map[stream.DeadLetterReason]*part{}
	var exhausted, rest []int
	for _, k := range undelivered {
		i, failedForGood := permanent[k]
		switch {
		case failedForGood:
			why := o.whys[i]
			p := parts[why]
			if p == nil {
				p = &part{reason: o.reasons[i]}
				parts[why] = p
			}
			p.events = append(p.events, k)
		case c.lastReceive(m):
			exhausted = append(exhausted, k)
		default:
			rest = append(rest, k)
		}
	}
	if len(exhausted) > 0 {
		parts[stream.ReasonExhausted] = &part{events: exhausted,
			reason: fmt.Sprintf("%s; gave up after %d receives", cmp.Or(o.reason, "not delivered"), m.attempts)}
	}
	parked := 0
	for _, why := range stream.DeadLetterReasons {
		p := parts[why]
		if p == nil {
			continue
		}
		if !c.park(ctx, Parked{SourceMessageID: m.rec.MessageId, ProjectID: g.projectID, StreamID: g.streamID,
			Events: pick(m.events, p.events), Reason: p.reason, Code: string(why), ReceiveCount: m.attempts, Trace: traceOf(m.rec)}) {
			rest = append(rest, p.events...)
			continue
		}
		parked += len(p.events)
		if *dl == nil {
			*dl = map[stream.DeadLetterReason]int{}
		}
		(*dl)[why] += len(p.events)
	}
	slices.Sort(rest) // in the order they arrived
	return rest, parked
}

// requeue puts the events rest of m back on the queue in a new message,
// retried after the delay m's next receive would have had, and reports
// whether they are there.
func (c *Core) requeue(ctx context.Context, g *group, m message, rest []int, retryAfter time.Duration) bool {
	if c.Requeue == nil {
		return false
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := c.Requeue.Requeue(rctx, Requeued{SourceMessageID: m.rec.MessageId, ProjectID: g.projectID, StreamID: g.streamID,
		Events: pick(m.events, rest), Attempts: m.attempts, After: c.Backoff.After(m.attempts, retryAfter), EnqueuedAt: enqueuedAt(m.rec),
		Trace: traceOf(m.rec)})
	if err != nil {
		c.log().ErrorContext(ctx, "requeue the undelivered rest of a message; retrying it whole", "message_id", m.rec.MessageId, "err", err)
		return false
	}
	return true
}

func pick(evs []json.RawMessage, idx []int) []json.RawMessage {
	out := make([]json.RawMessage, len(idx))
	for i, k := range idx {
		out[i] = evs[k]
	}
	return out
}

func (c *Core) retryAll(msgs []message, after time.Duration) []Delay {
	out := make([]Delay, len(msgs))
	for i, m := range msgs {
		out[i] = c.delay(m, after)
	}
	return out
}

// record writes the stream's tally for this invocation, on a context of its
// own so a deadline that cut delivery short still lets the failure be
// counted.
func (c *Core) record(ctx context.Context, g *group, t Tally) stream.FailureRun {
	if c.Health == nil || t.Zero() {
		return stream.FailureRun{}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	run, err := c.Health.Record(ctx, g.projectID, g.streamID, t, c.now())
	if err != nil {
		// No run: no suspension decided on a guess; the next record decides.
		c.log().WarnContext(ctx, "record delivery counters", "project_id", g.projectID, "stream_id", g.streamID, "err", err)
	}
	return run
}

// ref is one event of a group: its message and its index in the message.
type ref struct{ msg, ev int }

// maxBisectRequests bounds the extra requests spent isolating the events a
// destination rejects: enough to find a few bad lines in a large batch; past
// it, what is still rejected is parked as a whole.
const maxBisectRequests = 24

// delivery is the state of one stream's messages in one invocation.
type delivery struct {
	core      *Core
	ctx       context.Context
	st        stream.Stream
	msgs      []message
	out       []outcome
	delivered int
	requests  int
	bisects   int
	// stop, once set, is the failure every remaining batch takes without
	// being sent (the destination refuses the stream, or time is up).
	stop    error
	stopped bool
	// sendTimeout, when positive, bounds each request (a probe's).
	sendTimeout time.Duration
	// retryableErr is the last request's failure that may pass, and
	// timedOut whether it was a timeout: what the Breaker counts.
	retryableErr error
	timedOut     bool
	// permanent is set when the destination refused the stream for good
	// (Permanent, Gone): what the suspension policy's count rule counts.
	permanent bool
	// suspended is set once this invocation suspended the stream.
	suspended bool
	// metrics counts the sends and delivered events (nil: not counted);
	// sentAt is when the last send returned, the delivery time of what
	// it delivered.
	metrics *groupMetrics
	sentAt  time.Time
	// lagMillis sums the enqueue-to-acknowledgement time of the lagEvents
	// delivered events whose message said when it was enqueued: the health
	// view's hourly lag (Tally.LagMillis).
	lagMillis int64
	lagEvents int
}

func (d *delivery) run(msgs []message) {
	d.msgs = msgs
	limit := d.core.Limits.maxEventBytes()
	var refs []ref
	for i, m := range msgs {
		for j, e := range m.events {
			if len(e) > limit {
				d.parkEvent(ref{i, j}, stream.ReasonTooLarge, fmt.Sprintf("event is %d bytes; the destination takes at most %d", len(e), limit))
				continue
			}
			refs = append(refs, ref{i, j})
		}
	}
	for _, b := range d.split(refs) {
		d.send(b)
	}
}

func (d *delivery) parkAll(msgs []message, why stream.DeadLetterReason, reason string) {
	d.msgs = msgs
	for i, m := range msgs {
		for j := range m.events {
			d.parkEvent(ref{i, j}, why, reason)
		}
	}
}

// split packs events into batches within Limits, in order.
func (d *delivery) split(refs []ref) [][]ref {
	l := d.core.Limits
	var out [][]ref
	var cur []ref
	bytes := 0
	for _, r := range refs {
		size := len(d.msgs[r.msg].events[r.ev])
		if len(cur) > 0 && (len(cur)+1 > l.MaxEvents || bytes+size > l.MaxBytes || (l.PerMessage && cur[0].msg != r.msg)) {
			out = append(out, cur)
			cur, bytes = nil, 0
		}
		cur = append(cur, r)
		bytes += size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func (d *delivery) batch(refs []ref) Batch {
	b := Batch{Events: make([]json.RawMessage, len(refs))}
	for i, r := range refs {
		b.Events[i] = d.msgs[r.msg].events[r.ev]
	}
	first := d.msgs[refs[0].msg].rec
	b.EnqueuedAt = enqueuedAt(first)
	if d.core.Limits.PerMessage {
		b.Key = first.MessageId
		if len(refs) < len(d.msgs[refs[0].msg].events) {
			// A part of the message: named by the events it holds, so the
			// same part gets the same name on a retry.
			b.Key += "-" + strconv.Itoa(refs[0].ev) + "-" + strconv.Itoa(refs[len(refs)-1].ev)
		}
	}
	return b
}

// send delivers one batch and records each event's outcome.
func (d *delivery) send(refs []ref) {
	if d.stopped {
		d.failAll(refs, d.stop)
		return
	}
	if err := d.ctx.Err(); err != nil {
		d.stopAll(refs, fmt.Errorf("invocation time ran out before sending: %w", err))
		return
	}
	d.requests++
	err := d.sendOne(refs)
	if err == nil {
		for _, r := range refs {
			d.accepted(r)
		}
		return
	}
	var pe *PartialError
	if errors.As(err, &pe) {
		for i, r := range refs {
			if ferr, ok := pe.Failed[i]; ok {
				d.fail(r, ferr)
			} else {
				d.accepted(r)
			}
		}
		return
	}
	class, _ := ClassOf(err)
	if isTimeout(d.ctx, err) {
		class = Retryable
	}
	if class == Retryable {
		d.retryableErr, d.timedOut = err, timedOut(err)
	}
	switch class {
	case TooLarge:
		if len(refs) > 1 {
			d.send(refs[:len(refs)/2])
			d.send(refs[len(refs)/2:])
			return
		}
	case Rejected:
		if len(refs) > 1 && d.bisects < maxBisectRequests {
			d.bisects += 2
			d.send(refs[:len(refs)/2])
			d.send(refs[len(refs)/2:])
			return
		}
	case Retryable, Permanent:
		// The next batches would meet the same fate: a destination that
		// is down or refuses the stream's credentials refuses them all.
		d.permanent = d.permanent || class == Permanent
		d.stopAll(refs, err)
		return
	case Gone:
		d.permanent = true
		d.suspend(err.Error(), stream.FailureRun{FailingSince: d.core.now()})
		d.stopAll(refs, err)
		return
	}
	d.failAll(refs, err)
}

// sendOne is one request, within the probe's timeout if it is one.
func (d *delivery) sendOne(refs []ref) error {
	ctx := d.ctx
	if d.sendTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.sendTimeout)
		defer cancel()
	}
	b := d.batch(refs)
	start := d.core.now()
	err := d.core.Sender.Send(ctx, d.st, b)
	d.sentAt = d.core.now()
	d.metrics.sent(len(refs), d.sentAt.Sub(start))
	return err
}

// accepted records an event the destination took.
func (d *delivery) accepted(r ref) {
	d.delivered++
	o := &d.out[r.msg]
	if o.accepted == nil {
		o.accepted = make([]bool, len(d.msgs[r.msg].events))
	}
	if !o.accepted[r.ev] {
		o.accepted[r.ev] = true
		o.delivered++
		m := &d.msgs[r.msg]
		d.metrics.lag(m.events[r.ev], m.enqueued, d.sentAt)
		if !m.enqueued.IsZero() {
			d.lagMillis += max(d.sentAt.Sub(m.enqueued), 0).Milliseconds()
			d.lagEvents++
		}
	}
}

func (d *delivery) stopAll(refs []ref, err error) {
	d.stop, d.stopped = err, true
	d.failAll(refs, err)
}

func (d *delivery) failAll(refs []ref, err error) {
	for _, r := range refs {
		d.fail(r, err)
	}
}

// fail records one event's failure: retried if it may yet succeed, parked
// otherwise.
func (d *delivery) fail(r ref, err error) {
	class, after := ClassOf(err)
	if isTimeout(d.ctx, err) {
		class = Retryable
	}
	reason := err.Error()
	if class == Retryable {
		o := &d.out[r.msg]
		o.retry = true
		o.retryAfter = max(o.retryAfter, after)
		o.reason = reason
		return
	}
	d.parkEvent(r, class.deadLetterReason(), class.String()+": "+reason)
}

func (d *delivery) parkEvent(r ref, why stream.DeadLetterReason, reason string) {
	o := &d.out[r.msg]
	o.parked = append(o.parked, r.ev)
	o.reasons = append(o.reasons, reason)
	o.whys = append(o.whys, why)
}

// suspend suspends the stream with reason, and, when this call is the one
// that did, tells of it: run is the failure run that led to it.
func (d *delivery) suspend(reason string, run stream.FailureRun) {
	c := d.core
	c.cache.Forget([2]string{d.st.ProjectID, d.st.ID})
	if c.Suspend == nil || d.suspended {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 2*time.Second)
	defer cancel()
	did, err := c.Suspend.Suspend(sctx, d.st.ProjectID, d.st.ID, reason)
	if err != nil {
		c.log().ErrorContext(d.ctx, "suspend stream", "project_id", d.st.ProjectID, "stream_id", d.st.ID, "err", err)
		return
	}
	d.suspended = true
	if !did {
		return // another invocation did, and tells; or the owner paused or deleted it meanwhile
	}
	c.log().WarnContext(d.ctx, "stream suspended", "project_id", d.st.ProjectID, "stream_id", d.st.ID, "reason", reason)
	if c.Notify == nil {
		return
	}
	n := stream.Notice{Status: stream.StatusSuspended, ProjectID: d.st.ProjectID, StreamID: d.st.ID, StreamName: d.st.Name,
		DestinationType: d.st.DestinationType, Reason: reason, At: c.now().UTC()}
	if !run.FailingSince.IsZero() {
		since := run.FailingSince.UTC()
		n.FirstFailureAt = &since
	}
	if err := c.Notify.Notify(sctx, n); err != nil {
		c.log().ErrorContext(d.ctx, "suspension notice not sent", "project_id", d.st.ProjectID, "stream_id", d.st.ID, "err", err)
	}
}

func countEvents(msgs []message) int {
	n := 0
	for _, m := range msgs {
		n += len(m.events)
	}
	return n
}
