// Package notice tells of the status changes logstream makes by itself (a
// stream suspended for a destination that is gone or keeps failing) and of
// their undoing (a suspended stream enabled again): into the project's own
// flow as a lifecycle event (logstream.stream.suspended, .resumed), and to
// the operator of the deployment on the account's EventBridge default bus,
// where a failing stream cannot: the platform routes it to email or a ticket.
package notice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/stream"
)

// Source is the EventBridge source of the operator's notices; a rule matches
// on it ({"source": ["logstream"]}).
const Source = "logstream"

// DetailType is the EventBridge detail-type of a notice: "Stream Suspended"
// or "Stream Resumed".
func DetailType(n stream.Notice) string {
	if n.Status == stream.StatusSuspended {
		return "Stream Suspended"
	}
	return "Stream Resumed"
}

// Detail is the operator's notice, the EventBridge event's detail.
type Detail struct {
	ProjectID       string        `json:"project_id"`
	StreamID        string        `json:"stream_id"`
	StreamName      string        `json:"stream_name,omitempty"`
	DestinationType string        `json:"destination_type"`
	Status          stream.Status `json:"status"`
	Reason          string        `json:"reason"`
	FirstFailureAt  *time.Time    `json:"first_failure_at"`
	At              time.Time     `json:"at"`
}

// PutEvents is the part of the EventBridge client the notices use.
type PutEvents interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Operator puts notices on the deploying account's default event bus. Its
// client's endpoint is the SDK's (AWS_ENDPOINT_URL_EVENTBRIDGE locally).
type Operator struct {
	Client PutEvents
}

// Notify puts one event on the default bus (no EventBusName: the default
// bus, which is what the functions are granted, and nothing else).
func (o *Operator) Notify(ctx context.Context, n stream.Notice) error {
	detail, err := json.Marshal(Detail{ProjectID: n.ProjectID, StreamID: n.StreamID, StreamName: n.StreamName,
		DestinationType: n.DestinationType, Status: n.Status, Reason: n.Reason, FirstFailureAt: n.FirstFailureAt, At: n.At})
	if err != nil {
		return err
	}
	out, err := o.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String(Source), DetailType: aws.String(DetailType(n)), Detail: aws.String(string(detail)),
		Time: aws.Time(n.At),
	}}})
	if err != nil {
		return fmt.Errorf("put %q of stream %s on the default bus: %w", DetailType(n), n.StreamID, err)
	}
	// PutEvents answers 200 with a per-entry error code when it refuses an
	// entry (FailedEntryCount).
	if out.FailedEntryCount > 0 && len(out.Entries) > 0 {
		e := out.Entries[0]
		return fmt.Errorf("put %q of stream %s on the default bus: %s: %s", DetailType(n), n.StreamID,
			aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
	}
	return nil
}

// Emitter publishes events logstream produces into a project's own flow
// (shared/ingest.Service.Emit): to every active stream of the project.
type Emitter interface {
	Emit(ctx context.Context, projectID string, evs []logevent.Event) error
}

// Lifecycle publishes a notice as the lifecycle event
// logstream.stream.<suspended|resumed>, shaped as the API's lifecycle events
// (shared/manage), with the reason and the run's first failure. A suspended
// stream is not active, so it does not receive its own notice; the project's
// other streams do.
type Lifecycle struct {
	Events Emitter
}

// Notify publishes one lifecycle event.
func (l *Lifecycle) Notify(ctx context.Context, n stream.Notice) error {
	id := logevent.NewID()
	actor := map[string]any{"type": "logstream"}
	if n.ActorKeyID != "" {
		actor = map[string]any{"type": "api_key", "id": n.ActorKeyID}
	}
	raw, err := json.Marshal(map[string]any{
		"event_id":   id,
		"timestamp":  n.At.UTC().Format(time.RFC3339Nano),
		"type":       "logstream.stream." + n.Action(),
		"project_id": n.ProjectID,
		"actor":      actor,
		"target": map[string]any{"type": "stream", "id": n.StreamID, "name": n.StreamName,
			"destination_type": n.DestinationType, "status": n.Status},
		"reason":           n.Reason,
		"first_failure_at": n.FirstFailureAt,
		"outcome":          "SUCCESS",
	})
	if err != nil {
		return err
	}
	if err := l.Events.Emit(ctx, n.ProjectID, []logevent.Event{{ID: id, Time: n.At, Raw: raw}}); err != nil {
		return fmt.Errorf("publish logstream.stream.%s of stream %s: %w", n.Action(), n.StreamID, err)
	}
	return nil
}

// All tells each notifier, every one even when an earlier one fails: the
// operator hears of it when the project's flow cannot take it, and the
// other way round.
type All []interface {
	Notify(ctx context.Context, n stream.Notice) error
}

// Notify tells each, and joins their errors.
func (a All) Notify(ctx context.Context, n stream.Notice) error {
	var errs []error
	for _, x := range a {
		if err := x.Notify(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
