package deliverfn

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/testevent"
)

// Invocation is what a delivery function is invoked with: the SQS batch its
// event source mapping hands it, or the API's test event. Exactly one is set.
type Invocation struct {
	SQS  *events.SQSEvent
	Test *testevent.Request
}

// sqsMember is the one top-level member of an SQS event.
const sqsMember = "Records"

// UnmarshalJSON tells the two apart by their top-level members, matched
// exactly: "Records" (an SQS event) or testevent.Member (a test). A payload
// with both or neither is refused, so neither is ever taken for the other.
func (in *Invocation) UnmarshalJSON(b []byte) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		return fmt.Errorf("invocation is not a JSON object: %w", err)
	}
	_, isSQS := members[sqsMember]
	test, isTest := members[testevent.Member]
	switch {
	case isSQS && !isTest:
		in.SQS = &events.SQSEvent{}
		return json.Unmarshal(b, in.SQS)
	case isTest && !isSQS:
		var req testevent.Request
		if err := json.Unmarshal(test, &req); err != nil {
			return fmt.Errorf("test invocation: %w", err)
		}
		if req.ProjectID == "" || req.StreamID == "" || len(req.Event) == 0 || req.Event[0] != '{' {
			return errors.New("test invocation: project_id, stream_id and an event object are required")
		}
		in.Test = &req
		return nil
	}
	return fmt.Errorf("invocation is neither an SQS event (%q) nor a test (%q)", sqsMember, testevent.Member)
}

// Handler is a delivery function's handler: the delivery core for SQS
// batches, the Tester for the API's test events.
type Handler struct {
	Core *deliver.Core
	Test *Tester
}

// Handle answers an SQS batch with events.SQSEventResponse and a test with
// testevent.Result.
func (h *Handler) Handle(ctx context.Context, in Invocation) (any, error) {
	switch {
	case in.Test != nil:
		return h.Test.Test(ctx, *in.Test)
	case in.SQS != nil:
		return h.Core.Handle(ctx, *in.SQS)
	}
	return nil, errors.New("empty invocation")
}

// Tester sends the test route's event through the function's own sender, as
// a delivery would, and reports the destination's verdict.
type Tester struct {
	// Type is the function's destination type: a stream of another is not
	// tested here.
	Type string
	// Streams reads the stream with its secrets opened, uncached and
	// consistently: the test often follows an update at once.
	Streams deliver.Streams
	Sender  deliver.Sender
	Now     func() time.Time
	// Log receives one line per test (default slog.Default()).
	Log *slog.Logger
}

// Test sends req's event to the stream's destination, whatever the stream's
// status. A destination that refuses or cannot be reached is a Result with
// OK false; an error means the stream could not be tested at all.
func (t *Tester) Test(ctx context.Context, req testevent.Request) (testevent.Result, error) {
	s, err := t.Streams.Get(ctx, req.ProjectID, req.StreamID)
	if err != nil {
		return testevent.Result{}, fmt.Errorf("test stream %s: %w", req.StreamID, err)
	}
	switch {
	case s.DestinationType != t.Type:
		return testevent.Result{}, fmt.Errorf("test stream %s: a %s stream, sent to the %s function", s.ID, s.DestinationType, t.Type)
	case s.Version < req.Version:
		return testevent.Result{}, fmt.Errorf("test stream %s: read version %d, older than the caller's %d", s.ID, s.Version, req.Version)
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	sendCtx, answered := sink.WithAnswerStatus(ctx)
	err = t.Sender.Send(sendCtx, s, deliver.Batch{Events: []json.RawMessage{req.Event}, Key: "test-" + logevent.NewID(), EnqueuedAt: now().UTC()})
	// The error's text is redacted where the answer became it (deliver.Sender):
	// a read-only key sees this message.
	res := testevent.Result{OK: err == nil, StatusCode: answered(), Message: "the destination accepted the test event"}
	var se *sink.StatusError
	switch {
	case errors.As(err, &se):
		res.StatusCode, res.Message = se.StatusCode, se.Error()
	case err != nil:
		res.Message = err.Error()
	}
	cmp.Or(t.Log, slog.Default()).InfoContext(ctx, "test event sent", "project_id", s.ProjectID, "stream_id", s.ID,
		"ok", res.OK, "status_code", res.StatusCode)
	return res, nil
}
