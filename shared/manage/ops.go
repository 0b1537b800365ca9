package manage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/httpapi"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/testevent"
)

// HealthReader reads the counters the delivery functions keep.
type HealthReader interface {
	Health(ctx context.Context, projectID, streamID string) (stream.Health, error)
}

// Notifier tells of a suspended stream enabled again (shared/notice).
type Notifier interface {
	Notify(ctx context.Context, n stream.Notice) error
}

// FailureResetter ends a stream's failure run (store.Streams.ResetFailures).
type FailureResetter interface {
	ResetFailures(ctx context.Context, projectID, streamID string) error
}

// Masker applies a stream's masking rules (stream.PII) to one event.
type Masker interface {
	MaskFor(ctx context.Context, s stream.Stream, event []byte) ([]byte, error)
}

// Emitter publishes events into a project's own event flow, as ingestion does.
type Emitter interface {
	Emit(ctx context.Context, projectID string, evs []logevent.Event) error
}

// HealthResponse is the answer of the health route.
type HealthResponse struct {
	StreamID string        `json:"stream_id"`
	Status   stream.Status `json:"status"`
	stream.Health
	// DeadLettersExpired counts the stream's dead events that reached the
	// end of their retention unredriven.
	DeadLettersExpired int64 `json:"dead_letters_expired"`
}

// TestResult is the answer of the test route: the destination's verdict on
// one synthetic event. It is the delivery function's answer as it is
// (testevent.Result), so the two cannot drift apart.
type TestResult = testevent.Result

// Tester sends the test route's event to a stream's destination, through
// that destination type's real sender, and reports the destination's
// verdict. A destination's refusal is a TestResult with OK false; an error
// means the event could not be sent at all.
type Tester interface {
	Test(ctx context.Context, s stream.Stream, event json.RawMessage) (TestResult, error)
}

// ErrNotTestable is a Tester's error for a destination type it cannot send
// to: the route answers 501.
var ErrNotTestable = errors.New("no tester for the destination type")

func (a *API) health(ctx context.Context, s stream.Stream) (events.APIGatewayV2HTTPResponse, error) {
	h, err := a.HealthReader.Health(ctx, s.ProjectID, s.ID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	// The last week hour by hour, as the console charts it: a dense window
	// ending at this hour, whatever hours the store kept.
	h.Hourly = stream.HourlyWindow(h.Hourly, a.now())
	resp := HealthResponse{StreamID: s.ID, Status: s.Status, Health: h}
	// When the time rule will suspend it: only an active stream can be.
	if h.FailingSince != nil && s.Status == stream.StatusActive {
		if at := a.Suspension.For(s).SuspendsAt(stream.FailureRun{FailingSince: *h.FailingSince}); !at.IsZero() {
			resp.SuspendsAt = &at
		}
	}
	// Dead letters as they are now in the dead-letter store: redriven,
	// purged and expired ones are gone from it.
	resp.DeadLetters = map[stream.DeadLetterReason]stream.DeadLetterCount{} // an object, as documented
	if a.DeadLetters != nil {
		sum, err := a.DeadLetters.Summary(ctx, s.ProjectID, s.ID)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		for _, r := range sum.Reasons {
			resp.DeadLetters[r.Reason] = stream.DeadLetterCount{Count: int64(r.Events), OldestAt: r.OldestAt, NewestAt: r.NewestAt}
		}
		resp.DeadLettersExpired = sum.ExpiredEvents
	}
	return httpapi.JSON(http.StatusOK, resp), nil
}

// test sends one synthetic event through the stream's real sender, whatever
// the stream's status, and reports what the destination answered.
func (a *API) test(ctx context.Context, s stream.Stream) (events.APIGatewayV2HTTPResponse, error) {
	notTestable := httpapi.Errorf(http.StatusNotImplemented, "not_implemented",
		"test events cannot be sent to %s destinations yet", s.DestinationType)
	if a.Tester == nil {
		return events.APIGatewayV2HTTPResponse{}, notTestable
	}
	ev, _ := json.Marshal(map[string]any{
		"event_id": "test_" + logevent.NewID(), "timestamp": a.now().UTC().Format(time.RFC3339Nano),
		"type": "logstream.test", "project_id": s.ProjectID, "stream_id": s.ID,
		"message": "A test event from logstream: if you can read this, the stream works.",
	})
	// Masked as ingestion masks the stream's events, so the test shows what
	// the destination will get and a rule on project_id or message holds
	// here too.
	if s.PII != nil && len(s.PII.Fields) > 0 {
		if a.Masker == nil {
			return events.APIGatewayV2HTTPResponse{}, notTestable
		}
		m, err := a.Masker.MaskFor(ctx, s, ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("mask the test event of stream %s: %w", s.ID, err)
		}
		ev = m
	}
	// The message is redacted where the destination's answer became it (the
	// sender): a read-only key sees it.
	res, err := a.Tester.Test(ctx, s, ev)
	switch {
	case errors.Is(err, ErrNotTestable):
		return events.APIGatewayV2HTTPResponse{}, notTestable
	case err != nil:
		// Not the destination's verdict: the sender could not be reached
		// (throttled, missing, failed). The cause is logged, not answered.
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("%w: %w", httpapi.Errorf(http.StatusBadGateway, "test_unavailable",
			"the test event could not be handed to the %s delivery function; try again", s.DestinationType), err)
	}
	a.log().InfoContext(ctx, "test event sent", "project_id", s.ProjectID, "stream_id", s.ID, "ok", res.OK, "status_code", res.StatusCode)
	return httpapi.JSON(http.StatusOK, res), nil
}

// emit publishes a lifecycle event for a configuration change into the
// project's own event flow, as Okta's system.log_stream.lifecycle.* events.
// The change has already happened, so a failure to publish is logged, not
// answered: the caller's request succeeded.
func (a *API) emit(ctx context.Context, key apikey.Key, action string, s stream.Stream) {
	if a.Events == nil {
		return
	}
	now := a.now().UTC()
	id := logevent.NewID()
	raw, _ := json.Marshal(map[string]any{
		"event_id":   id,
		"timestamp":  now.Format(time.RFC3339Nano),
		"type":       "logstream.stream." + action,
		"project_id": s.ProjectID,
		"actor":      map[string]any{"type": "api_key", "id": key.ID},
		"target": map[string]any{"type": "stream", "id": s.ID, "name": s.Name,
			"destination_type": s.DestinationType, "status": s.Status, "version": s.Version},
		"outcome": "SUCCESS",
	})
	ev := logevent.Event{ID: id, Time: now, Raw: raw}
	if err := a.Events.Emit(ctx, s.ProjectID, []logevent.Event{ev}); err != nil {
		a.log().ErrorContext(ctx, "lifecycle event not published", "project_id", s.ProjectID, "stream_id", s.ID, "type", "logstream.stream."+action, "err", err)
	}
}
