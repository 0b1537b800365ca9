package datadog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/stream"
)

// Datadog's limits per request (Send logs: "Maximum content size per payload
// (uncompressed): 5MB", "Maximum size for a single log: 1MB", "Maximum array
// size if sending multiple logs in an array: 1000 entries"), read as decimal
// megabytes, the smaller reading.
const (
	maxPayloadBytes = 5_000_000
	maxLogBytes     = 1_000_000
	maxEntries      = 1000
)

// envelopeHeadroom bounds what an entry adds to its event: the envelope's
// names and punctuation (~80 bytes), source and service (100 characters
// each, at most 6 bytes apiece once JSON-escaped), 50 tags of 200 characters
// (4 bytes apiece in UTF-8, no escaping) and a summary of maxSummaryBytes:
// under 42 KB.
const envelopeHeadroom = 64 << 10

// Limits of one Datadog request, with room for what encode adds.
var Limits = deliver.Limits{
	// 1000 entries per request (Send logs).
	MaxEvents: maxEntries,
	// 5 MB uncompressed per request (Send logs), less ~500 bytes of envelope
	// for each of 1000 entries: enough for the defaults and a few tags. A
	// stream with many long tags can still overflow; encode then answers
	// TooLarge before sending and the core sends halves.
	MaxBytes: maxPayloadBytes - maxEntries*500,
	// 1 MB per log (Send logs), which Datadog truncates rather than refuses,
	// so larger events are parked instead; less the largest envelope.
	MaxEventBytes: maxLogBytes - envelopeHeadroom,
}

// Sender posts batches to the stream's Datadog site. Its Client must enforce
// netguard's policy and a timeout.
type Sender struct {
	Client    *http.Client
	UserAgent string
	// Now is the clock (default time.Now), for Retry-After dates and for
	// Datadog's window of accepted log dates.
	Now func() time.Time
	// URL returns the intake URL for a site; nil means the site's real
	// intake (destination.DatadogConfig.IntakeURL). Tests point it at a
	// local receiver.
	URL func(site string) string
}

var _ deliver.Sender = (*Sender)(nil)

// payloads recycles the uncompressed payload buffers. Only those: the
// compressed body is handed to net/http, which may still read it after Do
// returns.
var payloads = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Send delivers the events as one gzip-compressed request and succeeds only
// when Datadog accepted it (202). Events dated outside Datadog's window are
// not sent but reported in a *deliver.PartialError, because Datadog would
// accept and then silently drop them.
func (s *Sender) Send(ctx context.Context, st stream.Stream, b deliver.Batch) error {
	if len(b.Events) == 0 {
		return nil
	}
	cfg, err := config(st)
	if err != nil {
		return err
	}
	now := s.now()

	raw := payloads.Get().(*bytes.Buffer)
	raw.Reset()
	defer payloads.Put(raw)
	dropped, err := encode(raw, b.Events, newEnvelope(cfg), now)
	if err != nil {
		return err
	}
	if len(dropped) == len(b.Events) {
		return &deliver.PartialError{Failed: dropped}
	}
	var body bytes.Buffer
	body.Grow(raw.Len()/4 + 512)
	sink.Gzip(&body, raw.Bytes())

	url := cfg.IntakeURL()
	if s.URL != nil {
		url = s.URL(cfg.Site)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body.Bytes()))
	if err != nil {
		return deliver.Classify(deliver.Permanent, fmt.Errorf("build Datadog request for stream %s: %w", st.ID, err))
	}
	// Send logs: the key in DD-API-KEY, a JSON array, gzip "recommended".
	req.Header.Set("DD-API-KEY", cfg.APIKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	if s.UserAgent != "" {
		req.Header.Set("User-Agent", s.UserAgent)
	}
	ans, err := sink.Do(s.Client, req, sink.SecretsOf(cfg))
	if err != nil {
		return err
	}
	if ans != nil {
		// Send logs answers: 400 payload → Rejected; 401 missing and 403
		// invalid key → Permanent; 408, 429, 500, 503 "should be retried
		// after some time" → Retryable after any Retry-After; 413 → TooLarge.
		// That is sink.ClassOfStatus. Datadog is not known to echo the key;
		// should it, the error text redacts it (sink.SecretsOf).
		return ans.Err("Datadog", now)
	}
	if dropped != nil {
		return &deliver.PartialError{Failed: dropped}
	}
	return nil
}

func config(st stream.Stream) (*destination.DatadogConfig, error) {
	c, err := st.Destination()
	if err != nil {
		return nil, deliver.Classify(deliver.Permanent, err)
	}
	cfg, ok := c.(*destination.DatadogConfig)
	if !ok {
		return nil, deliver.Classify(deliver.Permanent, fmt.Errorf("stream %s is a %s stream, not datadog", st.ID, st.DestinationType))
	}
	if cfg.Site == "" || cfg.APIKey == "" {
		return nil, deliver.Classify(deliver.Permanent, errors.New("datadog config has no site or no api_key"))
	}
	return cfg, nil
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
