// Package stream is logstream's domain: a stream is one project's subscription
// of its events to one destination, with that destination's configuration.
package stream

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/topology"
)

// Status is a stream's delivery state.
type Status string

// Stream statuses: only active streams receive events. Pausing keeps the
// configuration; events that arrive while paused are not delivered later.
// Suspended is set only by logstream itself (a destination that is gone, or
// persistent failure); users resume a suspended stream like a paused one.
const (
	StatusActive    Status = "active"
	StatusPaused    Status = "paused"
	StatusSuspended Status = "suspended"
)

// Stream is one destination subscription of a project.
type Stream struct {
	ID                string          `json:"id"`
	ProjectID         string          `json:"project_id"`
	Name              string          `json:"name"`
	DestinationType   string          `json:"destination_type"`
	DestinationConfig json.RawMessage `json:"destination_config"`
	Status            Status          `json:"status"`
	Filters           *Filters        `json:"filters,omitempty"`
	PII               *PII            `json:"pii,omitempty"`
	CreatedAt         time.Time       `json:"created_at"`
	UpdatedAt         time.Time       `json:"updated_at"`
	// Version increases by one with every change; it is the ETag.
	Version int64 `json:"version"`
}

// HTTPConfig is the destination config of an "http" stream.
type HTTPConfig struct {
	Endpoint string            `json:"endpoint"`
	Headers  map[string]string `json:"headers,omitempty"`
}

// ErrNotFound is returned for a stream that does not exist in the project.
var ErrNotFound = errors.New("stream not found")

// ErrConflict is returned for an update made against a version that is no
// longer the stored one.
var ErrConflict = errors.New("stream was changed by another request")

// ValidationError is a field-level validation failure.
type ValidationError struct {
	Field string
	Msg   string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

var (
	projectIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	streamIDPattern  = regexp.MustCompile(`^str_[0-9a-f]{32}$`)
)

// ValidProjectID reports whether id can name a project.
func ValidProjectID(id string) bool { return projectIDPattern.MatchString(id) }

// ValidStreamID reports whether id has the form NewID produces.
func ValidStreamID(id string) bool { return streamIDPattern.MatchString(id) }

// NewID returns a new stream id: "str_" and a time-ordered UUIDv7 in hex.
func NewID() string {
	u := uuid.Must(uuid.NewV7())
	return "str_" + hex.EncodeToString(u[:])
}

// CreateRequest is the body of a create call, and of a full replacement (PUT),
// where destination_type must name the stream's current type.
type CreateRequest struct {
	Name              string          `json:"name"`
	DestinationType   string          `json:"destination_type"`
	DestinationConfig json.RawMessage `json:"destination_config"`
	Status            Status          `json:"status,omitempty"`
	Filters           *Filters        `json:"filters,omitempty"`
	PII               *PII            `json:"pii,omitempty"`
}

// DecodeStrict decodes one JSON object into v, refusing unknown fields and
// trailing data.
func DecodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return invalid(ute.Field, "must be %s", ute.Type.String())
		}
		if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
			return invalid(strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`), "unknown field")
		}
		return invalid("", "body is not valid JSON: %v", err)
	}
	if dec.More() {
		return invalid("", "body must hold exactly one JSON object")
	}
	return nil
}

// Validator checks stream configuration on every write.
type Validator struct {
	Net netguard.Policy
}

const (
	maxNameLength   = 128
	maxHeaders      = 20
	maxHeaderValue  = 4096
	maxConfigLength = 16 << 10
)

// New validates a create request and returns the stream it describes.
func (v Validator) New(projectID string, req CreateRequest, now time.Time) (Stream, error) {
	now = now.UTC()
	s := Stream{ID: NewID(), ProjectID: projectID, DestinationType: req.DestinationType, CreatedAt: now, Version: 1}
	if req.Status == "" {
		req.Status = StatusActive
	}
	if err := v.apply(&s, req, now); err != nil {
		return Stream{}, err
	}
	return s, nil
}

// Update returns cur changed as req describes (a full replacement of the
// fields a user controls), one version later. The destination type cannot
// change: a stream to another kind of destination is a new stream.
func (v Validator) Update(cur Stream, req CreateRequest, now time.Time) (Stream, error) {
	if req.DestinationType != cur.DestinationType {
		return Stream{}, invalid("destination_type", "cannot change (%s); create a new stream instead", cur.DestinationType)
	}
	if req.Status == "" {
		req.Status = cur.Status
	}
	if req.Status == StatusSuspended && cur.Status != StatusSuspended {
		return Stream{}, invalid("status", "%q is set only by logstream", StatusSuspended)
	}
	next := cur
	if err := v.apply(&next, req, now.UTC()); err != nil {
		return Stream{}, err
	}
	next.Version = cur.Version + 1
	return next, nil
}

// SetStatus returns cur with a user-chosen status, one version later, or
// cur itself when nothing changes.
func SetStatus(cur Stream, status Status, now time.Time) Stream {
	if cur.Status == status {
		return cur
	}
	cur.Status = status
	cur.UpdatedAt = now.UTC()
	cur.Version++
	return cur
}

func (v Validator) apply(s *Stream, req CreateRequest, now time.Time) error {
	name := strings.TrimSpace(req.Name)
	if name == "" || utf8.RuneCountInString(name) > maxNameLength {
		return invalid("name", "is required and at most %d characters", maxNameLength)
	}
	switch req.Status {
	case StatusActive, StatusPaused:
	case StatusSuspended:
		if s.Status != StatusSuspended {
			return invalid("status", "%q is set only by logstream", StatusSuspended)
		}
	default:
		return invalid("status", "must be %q or %q", StatusActive, StatusPaused)
	}
	if err := req.Filters.Validate(); err != nil {
		return err
	}
	if err := req.PII.Validate(); err != nil {
		return err
	}
	cfg, err := v.Config(req.DestinationType, req.DestinationConfig)
	if err != nil {
		return err
	}
	s.Name, s.Status, s.Filters, s.PII, s.DestinationConfig, s.UpdatedAt = name, req.Status, req.Filters, req.PII, cfg, now
	return nil
}

// Request returns the stream as the body that would create it: the starting
// point for a JSON merge patch.
func (s Stream) Request() CreateRequest {
	return CreateRequest{Name: s.Name, DestinationType: s.DestinationType, DestinationConfig: s.DestinationConfig,
		Status: s.Status, Filters: s.Filters, PII: s.PII}
}

// ETag is the stream's entity tag: its version, quoted (RFC 9110 §8.8.3).
func (s Stream) ETag() string { return `"` + strconv.FormatInt(s.Version, 10) + `"` }

// Config validates a destination config for its type and returns it in
// canonical form.
func (v Validator) Config(destinationType string, raw json.RawMessage) (json.RawMessage, error) {
	known := false
	for _, d := range topology.Destinations() {
		known = known || d == destinationType
	}
	if !known {
		return nil, invalid("destination_type", "must be one of %s", strings.Join(topology.Destinations(), ", "))
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, invalid("destination_config", "is required")
	}
	if len(raw) > maxConfigLength {
		return nil, invalid("destination_config", "is larger than %d bytes", maxConfigLength)
	}
	switch destinationType {
	case topology.DestinationHTTP:
		var c HTTPConfig
		if err := DecodeStrict(raw, &c); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				ve.Field = joinField("destination_config", ve.Field)
			}
			return nil, err
		}
		if err := v.checkHTTP(&c); err != nil {
			return nil, err
		}
		return json.Marshal(c)
	}
	return nil, invalid("destination_type", "unsupported")
}

func joinField(parent, child string) string {
	if child == "" {
		return parent
	}
	return parent + "." + child
}

// Headers a destination config may not set: they belong to the transport or
// to logstream's own encoding of the body.
var reservedHeaders = map[string]bool{
	"host": true, "content-length": true, "content-type": true, "content-encoding": true,
	"transfer-encoding": true, "connection": true, "keep-alive": true, "upgrade": true,
	"te": true, "trailer": true, "proxy-authorization": true, "proxy-connection": true,
}

func (v Validator) checkHTTP(c *HTTPConfig) error {
	u, err := v.Net.CheckURL(strings.TrimSpace(c.Endpoint))
	if err != nil {
		return invalid("destination_config.endpoint", "%v", err)
	}
	c.Endpoint = u.String()
	if len(c.Headers) > maxHeaders {
		return invalid("destination_config.headers", "at most %d headers", maxHeaders)
	}
	for name, value := range c.Headers {
		field := "destination_config.headers." + name
		if !validHeaderName(name) {
			return invalid(field, "is not a valid HTTP header name")
		}
		if reservedHeaders[strings.ToLower(name)] {
			return invalid(field, "is set by logstream and cannot be configured")
		}
		if len(value) > maxHeaderValue || strings.ContainsAny(value, "\r\n\x00") {
			return invalid(field, "value must be a single line of at most %d bytes", maxHeaderValue)
		}
	}
	return nil
}

// validHeaderName implements RFC 9110's token rule.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return http.CanonicalHeaderKey(s) != ""
}

// HTTP returns the stream's config as an HTTPConfig.
func (s Stream) HTTP() (HTTPConfig, error) {
	var c HTTPConfig
	if s.DestinationType != topology.DestinationHTTP {
		return c, fmt.Errorf("stream %s is a %s stream, not http", s.ID, s.DestinationType)
	}
	if err := json.Unmarshal(s.DestinationConfig, &c); err != nil {
		return c, fmt.Errorf("stream %s: decode http config: %w", s.ID, err)
	}
	return c, nil
}

// Public returns the stream as API responses show it: header values, which
// often carry credentials, are masked to their last four characters.
func (s Stream) Public() Stream {
	if s.DestinationType != topology.DestinationHTTP {
		return s
	}
	c, err := s.HTTP()
	if err != nil {
		s.DestinationConfig = json.RawMessage(`{}`)
		return s
	}
	for k, v := range c.Headers {
		c.Headers[k] = Mask(v)
	}
	s.DestinationConfig, _ = json.Marshal(c)
	return s
}

// Mask hides a secret, keeping its last four characters when it is long
// enough for that to reveal little.
func Mask(secret string) string {
	if len(secret) < 12 {
		return "****"
	}
	return "****" + secret[len(secret)-4:]
}

func itoa(n int) string { return strconv.Itoa(n) }
