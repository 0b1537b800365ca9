// Package sink holds what the destination senders (shared/sink/<type>) share:
// sending one HTTP request and classifying the answer for the delivery core,
// redacting the credentials an answer may echo from its error text (Secrets),
// Retry-After, and pooled gzip compression.
package sink

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/logstream/logstream/shared/deliver"
)

// Answer is a destination's non-2xx answer: its status, headers and the first
// bytes of its body. Body is as received, for classification only: what
// people read of it is the redacted text of Err and ErrAs.
type Answer struct {
	StatusCode int
	Header     http.Header
	Body       []byte

	secrets   Secrets // what the request carried, for the error text
	truncated bool    // Body is only the first maxAnswerRead bytes
}

// StatusError is a non-2xx answer, as shown in health and logs. Body is the
// answer's text redacted and cut (Secrets.Text).
type StatusError struct {
	Destination string // "Datadog", "Loki", …
	StatusCode  int
	Body        string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s answered %d %s: %q", e.Destination, e.StatusCode, http.StatusText(e.StatusCode), e.Body)
}

// maxAnswerRead is how much of an error answer is read: all of any real
// destination's error, and enough past maxAnswerText that a secret echoed
// near its start is read whole before the text is redacted and cut.
const maxAnswerRead = 64 << 10

// maxDrain is how much more of an answer is read and dropped so that the
// connection can be reused.
const maxDrain = 64 << 10

// Do sends req and returns nil for a 2xx answer, the answer for any other
// status, or a Retryable error when no answer came (connection refused, reset,
// timeout). The body is drained a little so the connection can be reused.
// secrets are what req carries (SecretsOf the stream's destination): the
// answer's error text never shows them.
func Do(client *http.Client, req *http.Request, secrets Secrets) (*Answer, error) {
	return DoExcept(client, req, secrets)
}

// DoExcept is Do for a destination that gives some 2xx codes another
// meaning (Loki's 260, ingestion blocked): those come back as answers.
func DoExcept(client *http.Client, req *http.Request, secrets Secrets, notSuccess ...int) (*Answer, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, deliver.Classify(deliver.Retryable, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err))
	}
	defer resp.Body.Close()
	recordStatus(req.Context(), resp.StatusCode)
	defer func() { _, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain)) }()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 && !slices.Contains(notSuccess, resp.StatusCode) {
		return nil, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerRead+1))
	a := &Answer{StatusCode: resp.StatusCode, Header: resp.Header, Body: body, secrets: secrets}
	if len(body) > maxAnswerRead {
		a.Body, a.truncated = body[:maxAnswerRead], true
	}
	return a, nil
}

// Err is the answer as a classified error, by its status alone (see
// ClassOfStatus), with the destination's Retry-After honoured.
func (a *Answer) Err(destination string, now time.Time) error {
	return a.ErrAs(destination, ClassOfStatus(a.StatusCode), now)
}

// ErrAs is the answer as an error of the given class, for senders whose
// destination says more in the body than in the status (Splunk HEC's codes).
func (a *Answer) ErrAs(destination string, class deliver.Class, now time.Time) error {
	err := &StatusError{Destination: destination, StatusCode: a.StatusCode, Body: a.secrets.text(string(a.Body), a.truncated)}
	if class == deliver.Retryable {
		return deliver.RetryAfter(err, ParseRetryAfter(a.Header.Get("Retry-After"), now))
	}
	return deliver.Classify(class, err)
}

// ClassOfStatus classifies an HTTP status the way every destination here
// documents it: 408, 425, 429 and 5xx are worth retrying; 410 means the
// destination is gone; 413 asks for smaller requests; 400 and 422 blame the
// payload; any other 4xx (401, 403, 404 …) is a configuration the customer
// must fix, so retrying it would only hammer the destination.
func ClassOfStatus(code int) deliver.Class {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests, code >= 500:
		return deliver.Retryable
	case code == http.StatusGone:
		return deliver.Gone
	case code == http.StatusRequestEntityTooLarge:
		return deliver.TooLarge
	case code == http.StatusBadRequest, code == http.StatusUnprocessableEntity:
		return deliver.Rejected
	case code >= 400:
		return deliver.Permanent
	}
	// 1xx and 3xx: redirects are not followed (netguard), so the request
	// did not arrive; a later attempt may fare better once fixed.
	return deliver.Retryable
}

// maxRetryAfter bounds a destination's Retry-After to what SQS can wait
// (a message's visibility timeout is at most 12 hours).
const maxRetryAfter = 12 * time.Hour

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). Anything else, or a date in the past, is zero.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return min(time.Duration(min(s, int64(maxRetryAfter/time.Second)))*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
	return w
}}

// Gzip appends the gzip compression of src to dst, with pooled writers.
func Gzip(dst *bytes.Buffer, src []byte) {
	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(dst)
	_, _ = w.Write(src) // writes to a bytes.Buffer do not fail
	_ = w.Close()
	gzipWriters.Put(w)
}
