package loki

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/stream"
)

// Limits of one push. Loki itself caps neither a request's bytes nor its
// entries (ParseLokiRequest reads up to math.MaxInt32); its clients and
// defaults set the bounds that are safe everywhere.
var Limits = deliver.Limits{
	// Promtail's and Alloy's default batch size is 1 MiB (clients.batchsize
	// 1048576, grafana/loki#2710), the request size every Loki and the
	// proxies in front of it are run to take; it stays well under the
	// default ingestion_burst_size_mb of 6, which "should be set at least to
	// the maximum logs size expected in a single push request"
	// (limits_config).
	MaxBytes: 1 << 20,
	// Loki counts bytes, not entries; this only bounds the work of one
	// request when events are tiny.
	MaxEvents: 10_000,
	// limits_config.max_line_size defaults to 256KB, parsed as 256 × 1024
	// (flagext.ByteSize); a longer line is refused with "Max entry size
	// … exceeded" (pkg/validation/validate.go, LineTooLongErrorMsg).
	MaxEventBytes: 256 << 10,
}

// Sender pushes batches to the stream's Loki. Its Client must enforce
// netguard's policy and a timeout.
type Sender struct {
	Client    *http.Client
	UserAgent string
	// Now stamps events that carry no timestamp and reads HTTP-date
	// Retry-After values (default time.Now).
	Now func() time.Time
}

var _ deliver.Sender = (*Sender)(nil)

// destinationName names Loki in error texts.
const destinationName = "Loki"

// statusIngestionBlocked is what Loki answers, with the reason, when the
// tenant's ingestion is blocked (limits_config.block_ingestion_until):
// limits.block-ingestion-status-code, 260 by default. It is a 2xx only so
// that agents stop retrying; nothing was stored.
const statusIngestionBlocked = 260

var encoders = sync.Pool{New: func() any { return new(encoder) }}

// Send pushes the events as one request and succeeds only when Loki stored
// all of them.
func (s *Sender) Send(ctx context.Context, st stream.Stream, b deliver.Batch) error {
	if len(b.Events) == 0 {
		return nil
	}
	c, err := st.Destination()
	if err != nil {
		return deliver.Classify(deliver.Permanent, err)
	}
	cfg, ok := c.(*destination.GrafanaLokiConfig)
	if !ok {
		return deliver.Classify(deliver.Permanent, fmt.Errorf("stream %s is a %s stream, not %s", st.ID, st.DestinationType, destination.GrafanaLoki))
	}
	// The core splits batches within Limits; should one still be too big,
	// say so rather than send what Loki would refuse, so the core halves it
	// (or parks a single oversized event).
	total := 0
	for i, ev := range b.Events {
		if len(ev) > Limits.MaxEventBytes {
			return deliver.Classify(deliver.TooLarge, fmt.Errorf("stream %s: event %d is %d bytes, more than Loki's max_line_size of %d", st.ID, i, len(ev), Limits.MaxEventBytes))
		}
		total += len(ev)
	}
	if total > Limits.MaxBytes {
		return deliver.Classify(deliver.TooLarge, fmt.Errorf("stream %s: batch of %d bytes is more than %d", st.ID, total, Limits.MaxBytes))
	}

	// Stamp events without a timestamp with a time stable across retries
	// when the core knows one, so Loki can drop the duplicate of a retry.
	stamp := b.EnqueuedAt
	if stamp.IsZero() {
		stamp = s.now()
	}
	enc := encoders.Get().(*encoder)
	defer func() { enc.reset(); encoders.Put(enc) }()

	// A Loki before 3.0, or one with allow_structured_metadata off, refuses
	// every entry that has metadata; the metadata only repeats what the line
	// holds, so the batch goes once more without it.
	for meta := true; ; meta = false {
		body, contentType, contentEncoding, err := enc.encode(st, cfg, b.Events, stamp, meta)
		if err != nil {
			return fmt.Errorf("stream %s: %w", st.ID, err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.PushURL(), bytes.NewReader(body))
		if err != nil {
			return deliver.Classify(deliver.Permanent, fmt.Errorf("stream %s: build push request: %w", st.ID, err))
		}
		req.Header.Set("Content-Type", contentType)
		if contentEncoding != "" {
			req.Header.Set("Content-Encoding", contentEncoding)
		}
		req.Header.Set("User-Agent", s.UserAgent)
		if cfg.Username != "" || cfg.Password != "" {
			req.SetBasicAuth(cfg.Username, cfg.Password)
		}
		if cfg.TenantID != "" {
			req.Header.Set("X-Scope-OrgID", cfg.TenantID)
		}
		// A 260 (ingestion blocked) is a 2xx that stored nothing.
		ans, err := sink.DoExcept(s.Client, req, sink.SecretsOf(cfg), statusIngestionBlocked)
		if err != nil || ans == nil {
			return err
		}
		if meta && ans.StatusCode == http.StatusBadRequest && bytes.Contains(ans.Body, metadataDisallowed) {
			continue
		}
		return classify(ans, s.now())
	}
}

// Loki's answer texts (pkg/validation/validate.go, pkg/loghttp/push) that
// refuse the stream, not one entry: each request holds one stream, so every
// entry shares the fault and isolating "bad" entries would only park them
// one by one.
var (
	metadataDisallowed = []byte("includes structured metadata, but this feature is disallowed")
	streamFaults       = [][]byte{
		[]byte("couldn't parse labels"),               // ParseLokiRequest
		[]byte("Error parsing labels"),                // InvalidLabelsErrorMsg
		[]byte("at least one label pair is required"), // MissingLabelsErrorMsg
		[]byte("label names; limit"),                  // MaxLabelNamesPerSeriesErrorMsg
		[]byte("has label name too long"),             // LabelNameTooLongErrorMsg
		[]byte("has label value too long"),            // LabelValueTooLongErrorMsg
		[]byte("has duplicate label name"),            // DuplicateLabelNamesErrorMsg
		[]byte("missing required labels"),             // MissingEnforcedLabelsErrorMsg
	}
)

// classify turns Loki's answer into the core's class: 429 (ingestion rate
// limit) and 5xx retry, honouring Retry-After; 400 rejects entries (the core
// isolates them) unless it refuses the stream's labels, which only the
// customer can fix; 401/403 are credentials; 413 comes from a proxy's body
// limit; 260 is a blocked tenant.
func classify(a *sink.Answer, now time.Time) error {
	switch {
	case a.StatusCode == statusIngestionBlocked:
		return a.ErrAs(destinationName, deliver.Permanent, now)
	case a.StatusCode == http.StatusBadRequest:
		for _, f := range streamFaults {
			if bytes.Contains(a.Body, f) {
				return a.ErrAs(destinationName, deliver.Permanent, now)
			}
		}
	}
	return a.Err(destinationName, now)
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
