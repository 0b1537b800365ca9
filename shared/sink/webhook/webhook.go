// Package webhook delivers events to an "http" stream: POSTs in the stream's
// content format (JSON lines, a JSON array, or one JSON object per request),
// with its authorization and custom headers, signed the Standard Webhooks way
// when the stream has a signing secret.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/jsonobj"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/stream"
)

// Limits of one webhook request: generic receivers (and the proxies in front
// of them) commonly cap bodies at 1 MiB or a little more.
//
// PerMessage sends each SQS message's events as their own request(s), never
// merged with another message's: a retried message then goes out as the
// request its first attempt was, under the same webhook-id (MessageID), so a
// receiver that drops duplicates by webhook-id drops the retry and nothing
// else. Merged with newer messages, a retry would go out under a new id and be
// taken twice (issue 12). The cost: a batch of many small messages takes one
// request per message instead of one for all of them (up to ten, the delivery
// mapping's batch size, where a message holds few events); a full message
// (256 KiB) still fits one request.
var Limits = deliver.Limits{MaxBytes: 1 << 20, MaxEvents: 1000, PerMessage: true}

// Content types of the request body, by content format.
const (
	ContentTypeLines = "application/x-ndjson"
	ContentTypeJSON  = "application/json"
)

// Sender posts batches to the stream's endpoint. Its Client must enforce
// netguard's policy and a timeout.
type Sender struct {
	Client    *http.Client
	UserAgent string
	Now       func() time.Time
}

var _ deliver.Sender = (*Sender)(nil)

// Send delivers the events and succeeds only when every request was answered
// with a 2xx. Answers are classified by sink.ClassOfStatus: notably 410 Gone
// suspends the stream, and 429/5xx are retried after any Retry-After.
func (s *Sender) Send(ctx context.Context, st stream.Stream, b deliver.Batch) error {
	evs := b.Events
	c, err := st.Destination()
	if err != nil {
		return deliver.Classify(deliver.Permanent, err)
	}
	cfg, ok := c.(*destination.HTTPConfig)
	if !ok {
		return deliver.Classify(deliver.Permanent, fmt.Errorf("stream %s is a %s stream, not http", st.ID, st.DestinationType))
	}
	switch cfg.ContentFormat {
	case destination.ContentFormatJSONObject:
		// One request per event, as Auth0's custom webhook streams do. A
		// failure after some were accepted reports just the rest.
		for i, ev := range evs {
			if err := s.post(ctx, st, cfg, ContentTypeJSON, ev, []json.RawMessage{ev}); err != nil {
				if i == 0 {
					return err
				}
				failed := make(map[int]error, len(evs)-i)
				for j := i; j < len(evs); j++ {
					failed[j] = err
				}
				return &deliver.PartialError{Failed: failed}
			}
		}
		return nil
	case destination.ContentFormatJSONArray:
		return s.post(ctx, st, cfg, ContentTypeJSON, joinArray(evs), evs)
	default:
		return s.post(ctx, st, cfg, ContentTypeLines, joinLines(evs), evs)
	}
}

func joinLines(evs []json.RawMessage) []byte {
	n := 0
	for _, e := range evs {
		n += len(e) + 1
	}
	b := make([]byte, 0, n)
	for _, e := range evs {
		b = append(append(b, e...), '\n')
	}
	return b
}

func joinArray(evs []json.RawMessage) []byte {
	n := 2
	for _, e := range evs {
		n += len(e) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, e := range evs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return append(b, ']')
}

// MessageID is the webhook-id of a request carrying evs: derived from their
// event ids, so a retry of the same batch carries the same id and a receiver
// can drop the duplicate (Standard Webhooks: "the same ID … across retries").
// An event without a string event_id counts as an empty id (ingestion gives
// every event one).
//
// It is not derived from deliver.Batch.Key, the SQS message id: the events a
// destination has not taken yet go back as a new message (the remainder of a
// partly delivered one), and the request that carries them again must keep
// the id its first attempt had.
func MessageID(evs []json.RawMessage) string {
	h := sha256.New()
	sep := []byte{0}
	for _, e := range evs {
		id, _ := jsonobj.Text(jsonobj.Get(e, "event_id"))
		h.Write(id)
		h.Write(sep)
	}
	return "msg_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Sign returns the webhook-signature value of a Standard Webhooks request:
// "v1," and the base64 HMAC-SHA256, keyed by the secret's base64 part, of
// "<webhook-id>.<webhook-timestamp>.<body>".
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("signing secret is not whsec_ and base64: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, timestamp)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

func (s *Sender) post(ctx context.Context, st stream.Stream, cfg *destination.HTTPConfig, contentType string, body []byte, evs []json.RawMessage) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.Endpoint, bytes.NewReader(body))
	if err != nil {
		return deliver.Classify(deliver.Permanent, fmt.Errorf("build request for stream %s: %w", st.ID, err))
	}
	for k, v := range cfg.CustomHeaders {
		req.Header.Set(k, v)
	}
	if cfg.Authorization != "" {
		req.Header.Set("Authorization", cfg.Authorization)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", s.UserAgent)
	if cfg.SigningSecret != "" {
		id, ts := MessageID(evs), s.now().Unix()
		sig, err := Sign(cfg.SigningSecret, id, ts, body)
		if err != nil {
			return deliver.Classify(deliver.Permanent, fmt.Errorf("stream %s: %w", st.ID, err))
		}
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("webhook-signature", sig)
	}
	ans, err := sink.Do(s.Client, req, sink.SecretsOf(cfg))
	if ans == nil {
		return err
	}
	return ans.Err("receiver", s.now())
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
