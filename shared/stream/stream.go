// Package stream is logstream's domain: a stream is one project's subscription
// of its events to one destination, with that destination's configuration.
package stream

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/jsonstrict"
	"github.com/logstream/logstream/shared/netguard"
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
	// StatusReason says why logstream suspended the stream; empty otherwise.
	StatusReason string   `json:"status_reason,omitempty"`
	Filters      *Filters `json:"filters,omitempty"`
	PII          *PII     `json:"pii,omitempty"`
	// Suspension is the stream's own suspension policy, nil for the
	// deployment's.
	Suspension *Suspension `json:"suspension,omitempty"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
	// Version increases by one with every change; it is the ETag.
	Version int64 `json:"version"`
	// Revealed holds secrets logstream generated in this request (a webhook
	// signing secret): shown in this one response, never stored in clear
	// or shown again.
	Revealed map[string]string `json:"-"`
}

// ErrNotFound is returned for a stream that does not exist in the project.
var ErrNotFound = errors.New("stream not found")

// ErrConflict is returned for an update made against a version that is no
// longer the stored one.
var ErrConflict = errors.New("stream was changed by another request")

// ErrLimitReached is returned for a new stream in a project that already has
// as many streams as it may have.
var ErrLimitReached = errors.New("the project has as many streams as it may have")

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

// NewID returns a new stream id: "str_" and a time-ordered UUIDv7 in hex.
func NewID() string {
	u := uuid.Must(uuid.NewV7())
	return "str_" + hex.EncodeToString(u[:])
}

// IDTime returns when NewID made id, to the millisecond a UUIDv7 carries, and
// false for an id NewID did not make.
func IDTime(id string) (time.Time, bool) {
	if !ValidStreamID(id) {
		return time.Time{}, false
	}
	u, err := uuid.Parse(strings.TrimPrefix(id, "str_"))
	if err != nil || u.Version() != 7 {
		return time.Time{}, false
	}
	return time.Unix(u.Time().UnixTime()), true
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
	Suspension        *Suspension     `json:"suspension,omitempty"`
	// StartFrom, on create only, backfills the new stream with the
	// project's archived events from then on (shared/replay).
	StartFrom *time.Time `json:"start_from,omitempty"`
}

// DecodeStrict decodes a request body, one JSON object, into v, refusing
// invalid UTF-8, unknown members and trailing data; the error names the
// member at fault by its path in the body (jsonstrict).
func DecodeStrict(body []byte, v any) error {
	if path, err := jsonstrict.Decode(body, v); err != nil {
		if path == "" {
			return invalid("", "body %v", err)
		}
		return invalid(path, "%v", err)
	}
	return nil
}

// Validator checks stream configuration on every write.
type Validator struct {
	Net netguard.Policy
	// Deliverable reports whether this deployment can deliver to a
	// destination type; nil means every declared type (destination.Types),
	// each of which topology gives a delivery pipeline. A deployment that
	// leaves a type out still stores and validates its configs, but its
	// streams cannot be active: nothing would carry their events.
	Deliverable func(destinationType string) bool
}

// CanActivate refuses to make a stream of an undeliverable type active.
func (v Validator) CanActivate(destinationType string) error {
	deliverable := v.Deliverable
	if deliverable == nil {
		deliverable = func(t string) bool { return slices.Contains(destination.Types(), t) }
	}
	if !deliverable(destinationType) {
		return invalid("status", "a %s stream cannot be active yet: this deployment has no delivery function for %s; "+
			"create it with \"status\": \"paused\" and enable it once that destination is delivered", destinationType, destinationType)
	}
	return nil
}

const (
	maxNameLength  = 128
	maxHeaders     = 20
	maxHeaderValue = 4096
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
	if next.Revealed == nil && next.Name == cur.Name && next.Status == cur.Status &&
		bytes.Equal(next.DestinationConfig, cur.DestinationConfig) &&
		reflect.DeepEqual(next.Filters, cur.Filters) && reflect.DeepEqual(next.PII, cur.PII) &&
		reflect.DeepEqual(next.Suspension, cur.Suspension) {
		return cur, nil // nothing changed: no new version, no event
	}
	next.Version = cur.Version + 1
	return next, nil
}

// Stored returns the stream as it may be stored: without the secrets shown
// once to the request that generated them.
func (s Stream) Stored() Stream {
	s.Revealed = nil
	return s
}

// SetStatus returns cur with a user-chosen status, one version later, or
// cur itself when nothing changes.
func SetStatus(cur Stream, status Status, now time.Time) Stream {
	if cur.Status == status {
		return cur
	}
	cur.Status = status
	cur.StatusReason = ""
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
	if req.Filters != nil && len(req.Filters.Include) == 0 && len(req.Filters.Exclude) == 0 {
		req.Filters = nil // {} and no filters mean the same: store one form
	}
	if req.PII != nil && len(req.PII.Fields) == 0 {
		req.PII = nil
	}
	if err := req.Filters.Validate(); err != nil {
		return err
	}
	if err := req.PII.Validate(); err != nil {
		return err
	}
	if req.Suspension.empty() {
		req.Suspension = nil // {} and none mean the same: the deployment's
	}
	if err := req.Suspension.Validate(); err != nil {
		return err
	}
	cfg, revealed, err := v.config(req.DestinationType, req.DestinationConfig, s.DestinationConfig)
	if err != nil {
		return err
	}
	if req.Status == StatusActive && s.Status != StatusActive {
		if err := v.CanActivate(req.DestinationType); err != nil {
			return err
		}
	}
	s.Revealed = revealed
	if req.Status != StatusSuspended {
		s.StatusReason = ""
	}
	s.Name, s.Status, s.Filters, s.PII, s.DestinationConfig, s.UpdatedAt = name, req.Status, req.Filters, req.PII, cfg, now
	s.Suspension = req.Suspension
	return nil
}

// Request returns the stream as the body of an update that changes nothing:
// the starting point for a JSON merge patch. Its destination config leaves
// the secrets out, as such an update may, so a patched config holds a secret
// only when the patch gives one: a patch that moves the destination without
// it is then refused instead of taking the stored secret along. A stored
// config that does not decode gives no config at all rather than its secrets.
func (s Stream) Request() CreateRequest {
	var cfg json.RawMessage
	if c, err := s.Destination(); err == nil {
		cfg, _, _ = destination.Split(c)
	}
	return CreateRequest{Name: s.Name, DestinationType: s.DestinationType, DestinationConfig: cfg,
		Status: s.Status, Filters: s.Filters, PII: s.PII, Suspension: s.Suspension}
}

// ETag is the stream's entity tag: its version, quoted (RFC 9110 §8.8.3).
func (s Stream) ETag() string { return `"` + strconv.FormatInt(s.Version, 10) + `"` }

// Destination returns the stream's destination config, typed.
func (s Stream) Destination() (destination.Config, error) {
	c, err := destination.Decode(s.DestinationType, s.DestinationConfig)
	if err != nil {
		return nil, fmt.Errorf("stream %s: decode %s config: %w", s.ID, s.DestinationType, err)
	}
	return c, nil
}

// Public returns the stream as API responses show it: every secret of its
// destination replaced by "<field>_last_four", except a secret generated by
// this very request, which is shown this once.
func (s Stream) Public() Stream {
	c, err := s.Destination()
	if err != nil {
		s.DestinationConfig = json.RawMessage(`{}`)
		return s
	}
	pub := destination.Public(c)
	for k, v := range s.Revealed {
		pub[k] = v
	}
	s.DestinationConfig, _ = json.Marshal(pub)
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
