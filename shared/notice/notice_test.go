package notice

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/stream"
)

type putFunc func(*eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error)

func (f putFunc) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	return f(in)
}

type emitFunc func(projectID string, evs []logevent.Event) error

func (f emitFunc) Emit(_ context.Context, projectID string, evs []logevent.Event) error {
	return f(projectID, evs)
}

func sample() stream.Notice {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	since := at.Add(-72 * time.Hour)
	return stream.Notice{Status: stream.StatusSuspended, ProjectID: "proj_1", StreamID: "str_1", StreamName: "siem",
		DestinationType: "http", Reason: "the destination has failed since …", FirstFailureAt: &since, At: at}
}

func TestOperatorPutsOnTheDefaultBus(t *testing.T) {
	var got *eventbridge.PutEventsInput
	o := &Operator{Client: putFunc(func(in *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
		got = in
		return &eventbridge.PutEventsOutput{}, nil
	})}
	n := sample()
	if err := o.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if len(got.Entries) != 1 {
		t.Fatalf("entries %+v", got.Entries)
	}
	e := got.Entries[0]
	if e.EventBusName != nil || aws.ToString(e.Source) != "logstream" || aws.ToString(e.DetailType) != "Stream Suspended" {
		t.Fatalf("entry bus %v source %v detail-type %v", e.EventBusName, aws.ToString(e.Source), aws.ToString(e.DetailType))
	}
	var d Detail
	if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &d); err != nil {
		t.Fatal(err)
	}
	if d.ProjectID != "proj_1" || d.StreamID != "str_1" || d.DestinationType != "http" || d.Reason != n.Reason ||
		d.FirstFailureAt == nil || !d.FirstFailureAt.Equal(*n.FirstFailureAt) {
		t.Fatalf("detail %+v", d)
	}

	n.Status = stream.StatusActive
	if err := o.Notify(context.Background(), n); err != nil || aws.ToString(got.Entries[0].DetailType) != "Stream Resumed" {
		t.Fatalf("resumed: %v, %v", err, aws.ToString(got.Entries[0].DetailType))
	}
}

// PutEvents answers 200 with FailedEntryCount for an entry it refuses: that
// is a failure, not a notice sent.
func TestOperatorReportsARefusedEntry(t *testing.T) {
	o := &Operator{Client: putFunc(func(*eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
		return &eventbridge.PutEventsOutput{FailedEntryCount: 1, Entries: []types.PutEventsResultEntry{
			{ErrorCode: aws.String("AccessDeniedException"), ErrorMessage: aws.String("not authorized")}}}, nil
	})}
	if err := o.Notify(context.Background(), sample()); err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("err = %v", err)
	}
}

func TestLifecycleEvent(t *testing.T) {
	var raw json.RawMessage
	l := &Lifecycle{Events: emitFunc(func(projectID string, evs []logevent.Event) error {
		if projectID != "proj_1" || len(evs) != 1 {
			t.Fatalf("emit %s %d events", projectID, len(evs))
		}
		raw = evs[0].Raw
		return nil
	})}
	if err := l.Notify(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Type   string `json:"type"`
		Actor  struct{ Type string }
		Target struct {
			ID     string
			Status string
		}
		Reason         string
		FirstFailureAt *time.Time `json:"first_failure_at"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "logstream.stream.suspended" || ev.Actor.Type != "logstream" || ev.Target.ID != "str_1" ||
		ev.Target.Status != "suspended" || ev.Reason == "" || ev.FirstFailureAt == nil {
		t.Fatalf("event %s", raw)
	}
}

// Every notifier is told, even after one fails, and the failure is returned.
func TestAllTellsEach(t *testing.T) {
	told := 0
	fail := &Lifecycle{Events: emitFunc(func(string, []logevent.Event) error { return errors.New("sqs down") })}
	ok := &Lifecycle{Events: emitFunc(func(string, []logevent.Event) error { told++; return nil })}
	if err := (All{fail, ok}).Notify(context.Background(), sample()); err == nil || told != 1 {
		t.Fatalf("err %v, told %d", err, told)
	}
}
