package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/trace"
)

// traced gives m the trace ingestion's span put on it.
func traced(m events.SQSMessage, c trace.Context) events.SQSMessage {
	v := c.Carrier()
	if m.MessageAttributes == nil {
		m.MessageAttributes = map[string]events.SQSMessageAttribute{}
	}
	m.MessageAttributes[envelope.AttrTrace] = events.SQSMessageAttribute{DataType: "String", StringValue: &v}
	return m
}

// Each traced message is a "deliver" span, a child of ingestion's, saying
// what became of its events; a message without a trace logs none; the
// events parked or put back keep the trace, so a redrive or retry joins it.
func TestDeliverSpans(t *testing.T) {
	ingest := trace.Start(trace.Context{RequestID: "req-5"})
	other := trace.Start(trace.Context{})
	q := &fakeQueue{}
	send := sendFunc(func(evs []string) error {
		if len(evs) == 1 && evs[0] == evn(9) {
			return nil
		}
		var pe PartialError
		pe.Failed = map[int]error{}
		for i, e := range evs {
			switch e {
			case evn(2):
				pe.Failed[i] = Classify(Rejected, errors.New("400 bad event"))
			case evn(3):
				pe.Failed[i] = RetryAfter(errors.New("429"), 0)
			}
		}
		return &pe
	})
	c := newCore(send, q, Limits{MaxBytes: 1 << 20, MaxEvents: 3})
	var logs bytes.Buffer
	c.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	resp, err := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		traced(withAttrs(record(t, "m1", "p", "s", evn(1), evn(3)), 1), ingest),
		traced(withAttrs(record(t, "m4", "p", "s", evn(2)), 1), ingest),
		traced(withAttrs(record(t, "m2", "p", "s", evn(9)), 1), other),
		withAttrs(record(t, "m3", "p", "s", evn(9)), 1),
	}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%v %v", err, resp.BatchItemFailures)
	}
	spans := map[string]map[string]any{}
	for line := range strings.Lines(logs.String()) {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == "span" {
			spans[l["message_id"].(string)] = l
		}
	}
	if len(spans) != 3 || spans["m3"] != nil {
		t.Fatalf("spans %v", spans)
	}
	m1, m2 := spans["m1"], spans["m2"]
	if m1["span"] != "deliver" || m1["trace_id"] != ingest.TraceIDString() || m1["parent_id"] != ingest.SpanIDString() || m1["request_id"] != "req-5" ||
		m1["span_id"] == ingest.SpanIDString() || m1["delivered"] != float64(1) || m1["events"] != float64(2) || m1["result"] != "partly delivered" ||
		!strings.Contains(m1["reason"].(string), "429") {
		t.Errorf("m1's span %v", m1)
	}
	if m4 := spans["m4"]; m4["result"] != "not delivered" || !strings.Contains(m4["reason"].(string), "400 bad event") {
		t.Errorf("m4's span %v", m4)
	}
	if m2["trace_id"] != other.TraceIDString() || m2["result"] != "delivered" || m2["reason"] != nil {
		t.Errorf("m2's span %v", m2)
	}
	if len(q.parked) != 1 || q.parked[0].Trace != ingest.Carrier() {
		t.Errorf("parked %+v", q.parked)
	}
	if len(q.requeued) != 1 || q.requeued[0].Trace != ingest.Carrier() {
		t.Errorf("requeued %+v", q.requeued)
	}
}
