package lokibridge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	httpreq "github.com/logstream/logstream/shared/httpapi/request"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/lokibridge/archive"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/metrics"
)

// Paths served. PathPush is Loki's (Loki HTTP API, "Ingest logs"); PathReady
// is Loki's readiness probe.
const (
	PathPush   = "/loki/api/v1/push"
	PathReady  = "/ready"
	PathHealth = "/health"
)

// Store keeps archive objects under keys of the archive format.
type Store interface {
	// Put stores body under key, replacing any object there; it returns
	// nil only once the object is durably stored.
	Put(ctx context.Context, key string, body []byte) error
	// Check returns nil when objects can be stored (the bucket answers).
	Check(ctx context.Context) error
}

// Queue holds small pushes until the archiver writes many of them as one
// object (package coalesce).
type Queue interface {
	// Enqueue sends one push, body as archive.EncodeMessage makes it; it
	// returns nil only once the queue holds it durably.
	Enqueue(ctx context.Context, body string) error
}

// Config is what the bridge needs.
type Config struct {
	// Store keeps the objects; required.
	Store Store
	// Queue, when set, takes every push whose compressed records fit one
	// SQS billing chunk (archive.MaxSpooledBody); the rest go to Store.
	// Without it every push is its own object.
	Queue Queue
	// Credentials are the basic-auth pairs accepted; at least one.
	Credentials Credentials
	// Limits bound the push body, compressed and decompressed.
	Limits lokipush.Limits
	// Log receives one line per request that fails or stores something
	// (default slog.Default()).
	Log *slog.Logger
	// Window bounds the entries' times around Now, as Loki's
	// reject_old_samples_max_age and creation_grace_period do: ingestion's
	// window (event.DefaultWindow) when zero.
	Window logevent.Window
	// Now is the clock the window is applied with (default time.Now).
	Now func() time.Time
	// Metrics receives one set of lines per push request (nil: none).
	Metrics *metrics.Emitter
}

// Validate reports what is missing.
func (c Config) Validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("bridge: no store"))
	}
	if c.Credentials.Len() == 0 {
		errs = append(errs, errors.New("bridge: no credentials; every push would be refused"))
	}
	return errors.Join(errs...)
}

// Handler is the bridge's Lambda handler. It is safe for concurrent use.
type Handler struct {
	store   Store
	queue   Queue
	creds   Credentials
	limits  lokipush.Limits
	log     *slog.Logger
	window  logevent.Window
	now     func() time.Time
	metrics *metrics.Emitter
}

// New returns the handler for a valid cfg.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Handler{store: cfg.Store, queue: cfg.Queue, creds: cfg.Credentials, limits: cfg.Limits, log: cmp.Or(cfg.Log, slog.Default()),
		window: cfg.Window, now: cfg.Now, metrics: cfg.Metrics}
	if h.window == (logevent.Window{}) {
		h.window = logevent.DefaultWindow
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// healthTimeout bounds the bucket check, so a probe gets an answer well
// within any load balancer's or monitor's timeout.
const healthTimeout = 5 * time.Second

// Handle answers one request. Its error is always nil: every failure is an
// HTTP answer, since a Lambda error would reach the client as a bare 502.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	method := req.RequestContext.HTTP.Method
	// Function URLs and HTTP API $default routes both fill RawPath; it has
	// the stage name in front on a named HTTP API stage, so the bridge
	// expects the $default stage.
	path := req.RawPath
	if path == "" {
		path = req.RequestContext.HTTP.Path
	}
	switch path {
	case PathPush:
		var m pushMetrics
		resp := methodNotAllowed(http.MethodPost)
		if method == http.MethodPost {
			resp = h.push(ctx, req, &m)
		}
		h.emit(req, resp.StatusCode, m)
		return resp, nil
	case PathReady:
		if method != http.MethodGet && method != http.MethodHead {
			return methodNotAllowed(http.MethodGet, http.MethodHead), nil
		}
		return text(http.StatusOK, "ready"), nil
	case PathHealth:
		if method != http.MethodGet && method != http.MethodHead {
			return methodNotAllowed(http.MethodGet, http.MethodHead), nil
		}
		return h.health(ctx), nil
	}
	// Go's http.NotFound, which Loki answers for unknown paths.
	return text(http.StatusNotFound, "404 page not found"), nil
}

// push archives one push request: authenticate, parse, encode, store.
func (h *Handler) push(ctx context.Context, req events.APIGatewayV2HTTPRequest, m *pushMetrics) events.APIGatewayV2HTTPResponse {
	user, why := h.creds.authenticate(httpreq.Header(req, "authorization"))
	if user == "" {
		// Who tried is worth knowing when someone guesses; what they sent is not.
		h.log.InfoContext(ctx, "push refused", "status", http.StatusUnauthorized, "reason", "credentials "+why,
			"source_ip", req.RequestContext.HTTP.SourceIP, "user_agent", req.RequestContext.HTTP.UserAgent)
		resp := text(http.StatusUnauthorized, "unauthorized: missing or invalid HTTP basic credentials")
		resp.Headers["www-authenticate"] = `Basic realm="loki"` // RFC 7617 §2
		return resp
	}
	tenant := user
	if id := httpreq.Header(req, "x-scope-orgid"); id != "" {
		if err := archive.ValidateTenant(id); err != nil {
			return h.refuse(ctx, req, user, http.StatusBadRequest, "X-Scope-OrgID: "+err.Error())
		}
		tenant = id
	}
	log := h.log.With("tenant", tenant, "user", user)

	body, size, err := httpreq.BodyReader(req)
	if err != nil {
		return h.refuse(ctx, req, user, http.StatusBadRequest, err.Error())
	}
	pr, err := lokipush.Parse(body, httpreq.Header(req, "content-type"), httpreq.Header(req, "content-encoding"), h.limits)
	if err != nil {
		return h.refuse(ctx, req, user, lokipush.StatusOf(err), err.Error())
	}
	// As Loki does, entries outside the window are refused with a 400 and
	// the push's other entries are kept: a client does not retry a 400, so
	// refusing the whole push would lose them.
	refused, kept, why := dropImplausible(pr, h.window, h.now().UTC())
	if refused > 0 && kept == 0 {
		return h.refuse(ctx, req, user, http.StatusBadRequest, why)
	}
	obj, msg, err := h.encode(tenant, pr)
	if err != nil { // only a tenant error, which was checked above
		return h.refuse(ctx, req, user, http.StatusBadRequest, err.Error())
	}
	// The parsed request is not used past this point, so the garbage
	// collector may take it while the object is being written.
	streams := len(pr.Streams)
	if obj.Records == 0 {
		// Loki answers an empty push with 204 too.
		log.InfoContext(ctx, "empty push", "streams", streams)
		m.kept = true
		return noContent()
	}
	putCtx, cancel := httpreq.BeforeDeadline(ctx, deadlineMargin)
	defer cancel()
	if msg != "" {
		// A small push waits in the queue for the archiver, which writes
		// the pushes of a tenant's hour as one object: one S3 PUT for many
		// pushes (docs/cost.md). 204 still means durably kept: SQS holds
		// the message until an object holding it is stored.
		if err := h.queue.Enqueue(putCtx, msg); err != nil {
			log.ErrorContext(ctx, "push not queued; answered 503 so the client retries",
				"key", obj.Key, "streams", streams, "entries", obj.Records, "bytes", len(msg), "err", err)
			return text(http.StatusServiceUnavailable, "failed to queue the push for the archive; retry the request")
		}
		log.InfoContext(ctx, "push queued", "key", obj.Key, "streams", streams, "entries", obj.Records,
			"request_bytes", size, "records_bytes", obj.RawBytes, "message_bytes", len(msg), "entries_refused", refused)
	} else {
		if err := h.store.Put(putCtx, obj.Key, obj.Body); err != nil {
			log.ErrorContext(ctx, "push not stored; answered 503 so the client retries",
				"key", obj.Key, "streams", streams, "entries", obj.Records, "bytes", len(obj.Body), "err", err)
			// A retry writes the same key, so it replaces anything this
			// attempt may have left.
			return text(http.StatusServiceUnavailable, "failed to store the push in the archive; retry the request")
		}
		log.InfoContext(ctx, "push archived", "key", obj.Key, "streams", streams, "entries", obj.Records,
			"request_bytes", size, "records_bytes", obj.RawBytes, "object_bytes", len(obj.Body), "entries_refused", refused)
	}
	m.kept, m.entries = true, obj.Records
	if refused > 0 {
		return text(http.StatusBadRequest, fmt.Sprintf("%s; the push's other %d entries were archived", why, kept))
	}
	return noContent()
}

// queueLineBytes is the most log-line bytes a push may carry to be tried
// for the queue: its records are held uncompressed (a few times the lines)
// until they are compressed, and Snappy shrinks log records about three
// times, so a push with more lines than this would not fit one
// archive.MaxMessageBytes message anyway.
const queueLineBytes = 4 * archive.MaxMessageBytes

// encode returns the push as an object for the store, or as a message
// for the queue (msg not empty; obj then holds the uncompressed records,
// for the log). With a queue, a push with few enough lines is encoded as
// records, and sent as a message when it fits one billing chunk; when it
// does not, its records are compressed into the object Encode would have
// made: the same key, so a retry names the same object.
func (h *Handler) encode(tenant string, pr *lokipush.Request) (obj archive.Object, msg string, err error) {
	if h.queue == nil {
		obj, err = archive.Encode(tenant, pr)
		return obj, "", err
	}
	lines := 0
	for _, st := range pr.Streams {
		for _, e := range st.Entries {
			lines += len(e.Line)
		}
	}
	if lines > queueLineBytes {
		obj, err = archive.Encode(tenant, pr)
		return obj, "", err
	}
	if obj, err = archive.Records(tenant, pr); err != nil || obj.Records == 0 {
		return obj, "", err
	}
	if msg = archive.EncodeMessage(obj); len(msg) <= archive.MaxMessageBytes {
		return obj, msg, nil
	}
	return archive.Compress(obj), "", nil
}

// maxLoggedMessage bounds an error message in the log: the parser's
// messages may quote a stream's labels, never more.
const maxLoggedMessage = 512

// refuse answers a client error and logs it briefly at info level. A
// status of 500 (an error the parser did not classify) is logged as an
// error and answered without its text.
func (h *Handler) refuse(ctx context.Context, req events.APIGatewayV2HTTPRequest, user string, status int, msg string) events.APIGatewayV2HTTPResponse {
	logged := msg
	if len(logged) > maxLoggedMessage {
		logged = logged[:maxLoggedMessage] + "…"
	}
	attrs := []any{"status", status, "user", user, "reason", logged,
		"content_type", httpreq.Header(req, "content-type"), "content_encoding", httpreq.Header(req, "content-encoding")}
	if status >= 500 {
		h.log.ErrorContext(ctx, "push failed", attrs...)
		return text(status, "internal error; retry the request")
	}
	h.log.InfoContext(ctx, "push refused", attrs...)
	return text(status, msg)
}

func (h *Handler) health(ctx context.Context) events.APIGatewayV2HTTPResponse {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	if err := h.store.Check(ctx); err != nil {
		// Unauthenticated: the answer says unavailable and nothing more;
		// the reason is in the log.
		h.log.ErrorContext(ctx, "health check failed", "err", err)
		return text(http.StatusServiceUnavailable, "unavailable")
	}
	return text(http.StatusOK, "ok")
}

// deadlineMargin is kept between the store's write and the invocation's
// deadline, so a write that runs late is answered 503 and logged here
// instead of the function being killed with no answer and no log line.
const deadlineMargin = time.Second

// text answers msg as Loki does, with http.Error: plain text, one line.
func text(status int, msg string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"content-type":           "text/plain; charset=utf-8",
			"x-content-type-options": "nosniff",
			"cache-control":          "no-store",
		},
		Body: msg + "\n",
	}
}

func noContent() events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent, Headers: map[string]string{"cache-control": "no-store"}}
}

func methodNotAllowed(allow ...string) events.APIGatewayV2HTTPResponse {
	resp := text(http.StatusMethodNotAllowed, "method not allowed")
	resp.Headers["allow"] = strings.Join(allow, ", ") // RFC 9110 §15.5.6
	return resp
}
