// Package ingest accepts batches of a project's events and enqueues them for
// every active stream of the project.
package ingest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/httpapi"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/pii"
	"github.com/logstream/logstream/shared/selection"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
	"github.com/logstream/logstream/shared/trace"
	"github.com/logstream/logstream/shared/ttlcache"
)

// RouteIngest is the route served, as API Gateway names it (spelled once,
// in topology).
const RouteIngest = topology.RouteIngest

// Streams finds a project's active streams.
type Streams interface {
	Active(ctx context.Context, projectID string) ([]stream.Stream, error)
}

// Publisher sends packed messages to a queue, returning nil only when every
// message was accepted.
type Publisher interface {
	Publish(ctx context.Context, queueURL string, msgs []envelope.Message) error
}

// PublishError is what a Publisher's error may add (queue.PublishError
// does): how many messages it sent before it gave up, for the log line.
type PublishError interface {
	error
	MessagesSent() int
}

// Service is the ingestion function.
type Service struct {
	// Auth checks every request's API key (write access to the project);
	// nil refuses every request.
	Auth      httpapi.Authenticator
	Streams   Streams
	Publisher Publisher
	// QueueURLs maps a destination type to its delivery queue.
	QueueURLs map[string]string
	// ArchiveURL is the archive queue (shared/eventarchive): every event a
	// client sends is enqueued there too, as received, before the 202.
	// Empty archives nothing.
	ArchiveURL string
	Limits     logevent.Limits
	Stamper    logevent.Stamper
	// CacheTTL is how long a project's stream list is reused. A stream
	// created, paused or deleted takes up to this long to be seen here.
	CacheTTL time.Duration
	// Attempts remembers requests sent with an Idempotency-Key; nil ignores
	// the header (logstream's own events never carry one).
	Attempts Attempts
	// Now is the clock keys expire by (default time.Now).
	Now func() time.Time
	// Log receives the handler's log lines (default slog.Default()).
	Log *slog.Logger
	// Keys derives each stream's PII hash key; nil when no stream may
	// hash (a stream that does then fails its project's requests, rather
	// than queue plaintext).
	Keys pii.Keys
	// Metrics receives one set of lines per request Handle answers (nil:
	// none). Only the ingestion function sets it: the API and delivery
	// use a Service for lifecycle events, which are no client's requests.
	Metrics *metrics.Emitter

	once  sync.Once
	cache ttlcache.Cache[string, []target]
}

// target is an active stream with its filters and masking rules compiled:
// compiled once per cache fill, not per request.
type target = selection.Stream

// log is s.Log, or slog.Default() when nil: the nil-logger rule of every
// logstream handler.
func (s *Service) log() *slog.Logger { return cmp.Or(s.Log, slog.Default()) }

// Result is the 202 answer: what was accepted and where it went.
type Result struct {
	// Accepted counts the request's events, all of which were accepted,
	// whether or not a stream's filters then leave them out.
	Accepted int `json:"accepted"`
	// Streams counts the active streams the events were offered to,
	// including one whose filters passed none of them.
	Streams  int `json:"streams"`
	Messages int `json:"messages"`
	// Filtered counts the events the streams' filters left out, once per
	// stream that left it out; absent when none did, so answers without
	// filters read as they always have.
	Filtered int `json:"filtered,omitempty"`
}

// Handle is the Lambda handler.
//
// Each request is a span of a trace: the one its traceparent header names,
// else a new one, with the platform's request id (its X-Request-Id, else
// API Gateway's). Every delivery message it enqueues carries the span's
// context (envelope.AttrTrace), so the delivery functions' spans join it.
func (s *Service) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	span := trace.NewSpan("ingest", requestTrace(req), s.now())
	ctx = trace.With(ctx, span.Ctx)
	var m requestMetrics
	res, err := s.handle(ctx, req, &m)
	s.emit(req, err, m)
	resp := httpapi.JSON(http.StatusAccepted, res)
	if err != nil {
		resp = httpapi.Fail(ctx, s.Log, req, err)
	}
	span.Log(ctx, s.log(), s.now(), "project_id", req.PathParameters["project_id"], "status", resp.StatusCode,
		"events", res.Accepted, "messages", res.Messages)
	return resp, nil
}

// requestTrace is the trace context a request brings: its traceparent
// (none when absent or malformed), and the platform's request id.
func requestTrace(req events.APIGatewayV2HTTPRequest) trace.Context {
	c, _ := trace.ParseTraceparent(httpapi.Header(req, trace.Header))
	c.RequestID = trace.CleanRequestID(cmp.Or(httpapi.Header(req, trace.RequestIDHeader), req.RequestContext.RequestID))
	return c
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) handle(ctx context.Context, req events.APIGatewayV2HTTPRequest, m *requestMetrics) (Result, error) {
	if req.RouteKey != RouteIngest {
		return Result{}, httpapi.Errorf(http.StatusNotFound, "route_not_found", "no route %s", req.RouteKey)
	}
	projectID := req.PathParameters["project_id"]
	if !stream.ValidProjectID(projectID) {
		return Result{}, &stream.ValidationError{Field: "project_id", Msg: "is not a valid project id"}
	}
	if _, err := httpapi.Authorize(ctx, s.Auth, req, projectID, apikey.AccessWrite); err != nil {
		return Result{}, err
	}
	// Only now a dimension: a project named by an unauthenticated request
	// would let anyone add custom metrics to the bill.
	m.project = projectID
	key, err := idempotencyKey(httpapi.Header(req, IdempotencyHeader))
	if err != nil {
		return Result{}, err
	}
	format, err := logevent.FormatOf(httpapi.Header(req, "content-type"))
	if err != nil {
		return Result{}, err
	}
	body, err := httpapi.Body(req)
	if err != nil {
		return Result{}, err
	}
	if key != "" && s.Attempts != nil {
		return s.keyed(ctx, req, projectID, key, format, body, m)
	}
	evs, err := s.parse(req, format, body, s.Stamper)
	if err != nil {
		return Result{}, err
	}
	res, err := s.Ingest(ctx, projectID, evs)
	if err == nil {
		m.accepted = res.Accepted
	}
	return res, err
}

func (s *Service) parse(req events.APIGatewayV2HTTPRequest, format logevent.Format, body []byte, st logevent.Stamper) ([]logevent.Event, error) {
	decoded, err := logevent.Decode(body, httpapi.Header(req, "content-encoding"), s.Limits)
	if err != nil {
		return nil, err
	}
	return logevent.Parse(decoded, format, s.Limits, st)
}

// keyed ingests a request with an Idempotency-Key: one read of what earlier
// attempts did, the messages they did not enqueue, and one write of what is
// enqueued now. A completed request is answered as it was the first time.
func (s *Service) keyed(ctx context.Context, req events.APIGatewayV2HTTPRequest, projectID, key string, format logevent.Format, body []byte,
	m *requestMetrics) (Result, error) {
	hash := bodyHash(httpapi.Header(req, "content-type"), httpapi.Header(req, "content-encoding"), body)
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	a, found, err := s.Attempts.Get(ctx, projectID, key)
	if err != nil {
		return Result{}, fmt.Errorf("read idempotency key of %s: %w", projectID, err)
	}
	// The table's TTL deletes expired keys only eventually (and the local
	// stand-in never), so expiry is checked here.
	if found && !now.Before(a.ExpiresAt) {
		found = false
	}
	switch {
	case found && a.BodyHash != hash:
		return Result{}, errKeyReused()
	case found && a.Done:
		s.log().InfoContext(ctx, "idempotent replay", "project_id", projectID, "messages", a.Result.Messages)
		return a.Result, nil
	case !found:
		a = Attempt{BodyHash: hash, StartedAt: now, ExpiresAt: now.Add(KeepAttempts)}
	}
	evs, err := s.parse(req, format, body, keyedStamper(projectID, key, a.StartedAt))
	if err != nil {
		return Result{}, err
	}
	l := ledger(a.Sent)
	if l == nil {
		l = ledger{}
	}
	before := l.count()
	res, ierr := s.ingest(ctx, projectID, evs, true, l)
	a.Sent = l
	if ierr == nil {
		a.Done, a.Result = true, res
		// Accepted now, by this attempt; a replay of a completed request
		// (above) accepts nothing again.
		m.accepted = res.Accepted
	}
	// One write, and only when something changed: a request that enqueued
	// nothing new and did not complete leaves the key as it was.
	if a.Done || l.count() > before {
		if err := s.Attempts.Put(ctx, projectID, key, a); err != nil {
			// The events are queued (or some are); without the record a retry
			// sends them again, which is what happens without a key.
			s.log().ErrorContext(ctx, "idempotency key not recorded; a retry would enqueue these events again",
				"project_id", projectID, "err", err)
		}
	}
	if before > 0 {
		s.log().InfoContext(ctx, "idempotent retry", "project_id", projectID, "messages_skipped", before)
	}
	return res, ierr
}

// Emit enqueues events logstream itself produces (lifecycle events) for
// every active stream of the project, past the streams' filters: a
// stream's filters choose among the project's events, and a notice that a
// stream was created, changed or disabled must not vanish because its
// type matches no include rule (README, "Filters"). They are masked as a
// client's events are: a rule on a field they carry applies to them too.
func (s *Service) Emit(ctx context.Context, projectID string, evs []logevent.Event) error {
	_, err := s.ingest(ctx, projectID, evs, false, nil)
	return err
}

// Ingest enqueues evs for every active stream of the project, each event
// only for the streams whose filters pass it. It returns an error unless
// SQS accepted every message.
func (s *Service) Ingest(ctx context.Context, projectID string, evs []logevent.Event) (Result, error) {
	return s.ingest(ctx, projectID, evs, true, nil)
}

// ingest enqueues evs, past the streams' filters when filtered. With a
// ledger (an Idempotency-Key) it skips the messages l names as enqueued and
// records in l those it enqueues; Messages counts them all.
func (s *Service) ingest(ctx context.Context, projectID string, evs []logevent.Event, filtered bool, l ledger) (Result, error) {
	s.once.Do(func() { s.cache.TTL = s.CacheTTL })
	streams, err := s.cache.Get(ctx, projectID, func(ctx context.Context) ([]target, error) {
		sts, err := s.Streams.Active(ctx, projectID)
		if err != nil {
			return nil, err
		}
		return s.compile(ctx, sts)
	})
	if err != nil {
		return Result{}, fmt.Errorf("find streams of %s: %w", projectID, err)
	}
	res := Result{Accepted: len(evs), Streams: len(streams)}
	all := make([]json.RawMessage, len(evs))
	for i, ev := range evs {
		all[i] = ev.Raw
	}
	// Every client event goes to the archive, streams or none: a stream
	// created later may ask for them (start_from, replay). Its SQS call
	// runs beside the streams', and the answer waits for both: a 202 means
	// the archive queue holds the events too. logstream's own lifecycle
	// events (Emit) concern the streams they were sent to, and are not
	// archived. Messages counts delivery messages only, as it always has.
	archived := func() error { return nil }
	if filtered && s.ArchiveURL != "" {
		if archived, err = s.archive(ctx, projectID, all, l); err != nil {
			return Result{}, err
		}
	}
	res, err = s.fanOut(ctx, projectID, evs, all, streams, filtered, l, res)
	if aerr := archived(); err == nil && aerr != nil {
		return Result{}, aerr
	}
	if err != nil {
		return Result{}, err
	}
	s.log().InfoContext(ctx, "events enqueued", "project_id", projectID, "events", res.Accepted, "streams", res.Streams,
		"messages", res.Messages, "filtered", res.Filtered)
	return res, nil
}

// archive starts enqueueing a request's events to the archive queue, and
// returns how to wait for it: the wait records the outcome in the ledger
// (which only this goroutine touches) and answers the client's error.
func (s *Service) archive(ctx context.Context, projectID string, all []json.RawMessage, l ledger) (func() error, error) {
	msgs, err := envelope.Pack(projectID, envelope.ArchiveStreamID, all, envelope.MaxMessageBytes)
	if err != nil {
		return nil, fmt.Errorf("pack events for the archive: %w", err)
	}
	// Compressed, as delivery messages are (enqueue): a project's events
	// shrink ~10–50× (docs/performance.md, "Event archive").
	if err := envelope.CompressAll(msgs); err != nil {
		return nil, fmt.Errorf("compress events for the archive: %w", err)
	}
	todo, marks := l.unsent(envelope.ArchiveStreamID, msgs)
	done := make(chan error, 1)
	go func() { done <- s.Publisher.Publish(ctx, s.ArchiveURL, todo) }()
	return func() error {
		err := <-done
		l.sent(envelope.ArchiveStreamID, marks, err)
		if err != nil {
			return s.enqueueFailed(ctx, projectID, envelope.ArchiveStreamID, len(msgs)-len(todo), err)
		}
		return nil
	}, nil
}

// fanOut enqueues the events each active stream's filters pass, masked,
// to its delivery queue.
func (s *Service) fanOut(ctx context.Context, projectID string, evs []logevent.Event, all []json.RawMessage, streams []target,
	filtered bool, l ledger, res Result) (Result, error) {
	var err error
	var passed []json.RawMessage // reused across streams: Pack copies what it packs
	for _, st := range streams {
		url, ok := s.QueueURLs[st.DestinationType]
		if !ok {
			// The API refuses to activate such a stream; one that is active
			// anyway must not stop the project's other streams.
			s.log().ErrorContext(ctx, "active stream has no delivery queue; its events are not enqueued",
				"project_id", projectID, "stream_id", st.ID, "destination_type", st.DestinationType)
			res.Streams--
			continue
		}
		raws := all
		if st.Selects(filtered) {
			var left int
			if passed, left, err = st.Select(passed[:0], evs, filtered); err != nil {
				return Result{}, err
			}
			if filtered {
				res.Filtered += left
			}
			raws = passed
		}
		if len(raws) == 0 {
			continue
		}
		n, err := s.enqueue(ctx, projectID, st.ID, url, raws, l, res.Messages)
		if err != nil {
			return Result{}, err
		}
		res.Messages += n
	}
	return res, nil
}

// enqueue packs one stream's events (or the archive's: streamID
// envelope.ArchiveStreamID) and publishes them to url, all or an error for
// the client; with a ledger, only what it does not name as sent. before is
// how many messages the request enqueued so far, for the error's count. It
// returns how many messages the events took.
func (s *Service) enqueue(ctx context.Context, projectID, streamID, url string, raws []json.RawMessage, l ledger, before int) (int, error) {
	budget := envelope.MaxMessageBytes
	tc, traced := trace.From(ctx)
	if traced {
		budget -= envelope.TraceReserve
	}
	msgs, err := envelope.Pack(projectID, streamID, raws, budget)
	if err != nil {
		return 0, fmt.Errorf("pack events for stream %s: %w", streamID, err)
	}
	if traced {
		attrs := map[string]string{envelope.AttrTrace: tc.Carrier()}
		for i := range msgs {
			msgs[i].Attributes = attrs
		}
	}
	// Marked by their plain bodies, as before delivery messages were
	// compressed: a keyed retry straddling a deploy skips what was sent.
	todo, marks := l.unsent(streamID, msgs)
	// Compressed when that makes a message smaller: SQS bills every 64 KiB
	// of it, sent and received (docs/cost.md). Packed by its plain size
	// above, a message only shrinks, trace attribute and its reserve
	// included, and inflates within what Pack was given.
	if err := envelope.CompressAll(todo); err != nil {
		return 0, fmt.Errorf("compress events for stream %s: %w", streamID, err)
	}
	err = s.Publisher.Publish(ctx, url, todo)
	l.sent(streamID, marks, err)
	if err != nil {
		return 0, s.enqueueFailed(ctx, projectID, streamID, before+len(msgs)-len(todo), err)
	}
	return len(msgs), nil
}

// enqueueFailed logs a publish that failed and answers the client: 503,
// with how many messages were enqueued (enqueued before it, and what the
// publish sent before it gave up).
func (s *Service) enqueueFailed(ctx context.Context, projectID, streamID string, enqueued int, err error) error {
	var pe PublishError
	if errors.As(err, &pe) {
		enqueued += pe.MessagesSent()
	}
	s.log().ErrorContext(ctx, "enqueue failed", "project_id", projectID, "stream_id", streamID, "messages_enqueued", enqueued, "err", err)
	return &httpapi.Error{Status: http.StatusServiceUnavailable, Code: "enqueue_failed",
		Message: fmt.Sprintf("the events could not all be queued for delivery (%d messages were); retry the request. "+
			"With the same Idempotency-Key only the rest is queued; without one, events that carry an event_id keep it, "+
			"so receivers can drop the duplicates a retry may cause", enqueued)}
}

// compile pairs each stream with its compiled filters and masking rules
// (selection.Compile says how each fails).
func (s *Service) compile(ctx context.Context, sts []stream.Stream) ([]target, error) {
	out := make([]target, len(sts))
	for i, st := range sts {
		t, err := selection.Compile(ctx, s.Keys, st, s.log())
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}
