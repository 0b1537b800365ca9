package ingest

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/trace"
)

// Every delivery message of a request carries its trace: the one its
// traceparent names, continued by ingestion's own span, else a new one;
// with the platform's request id. Ingestion logs its span.
func TestRequestTrace(t *testing.T) {
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct {
		name          string
		headers       map[string]string
		wantTrace     string // "" for a new trace
		wantRequestID string
	}{
		{"continues the caller's trace", map[string]string{"traceparent": parent, "X-Request-Id": "req-42"}, "4bf92f3577b34da6a3ce929d0e0e4736", "req-42"},
		{"a new trace, with API Gateway's request id", nil, "", "apigw-1"},
		{"a malformed traceparent starts a new trace", map[string]string{"traceparent": "00-xyz"}, "", "apigw-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub := &fakePublisher{}
			s := newService(&fakeStreams{active: twoStreams}, pub)
			var logs bytes.Buffer
			s.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			req := request([]byte(`[{"a":1},{"a":2}]`), tc.headers, false)
			req.RequestContext.RequestID = "apigw-1"
			resp, _ := s.Handle(t.Context(), req)
			if resp.StatusCode != 202 {
				t.Fatalf("status %d %s", resp.StatusCode, resp.Body)
			}
			msgs := pub.byQueue["q-http"]
			if len(msgs) != 2 {
				t.Fatalf("%d messages", len(msgs))
			}
			var span map[string]any
			for line := range strings.Lines(logs.String()) {
				var l map[string]any
				if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == "span" {
					span = l
				}
			}
			if span == nil || span["span"] != "ingest" || span["request_id"] != tc.wantRequestID || span["status"] != float64(202) {
				t.Fatalf("span line %v in\n%s", span, logs.String())
			}
			for _, m := range msgs {
				c, ok := trace.ParseCarrier(m.Attributes[envelope.AttrTrace])
				if !ok {
					t.Fatalf("message attributes %v", m.Attributes)
				}
				if c.TraceIDString() != span["trace_id"] || c.SpanIDString() != span["span_id"] || c.RequestID != tc.wantRequestID {
					t.Fatalf("carried %+v, span %v", c, span)
				}
				if tc.wantTrace != "" && (c.TraceIDString() != tc.wantTrace || span["parent_id"] != "00f067aa0ba902b7") {
					t.Fatalf("trace %s, parent %v: not the caller's", c.TraceIDString(), span["parent_id"])
				}
				if m.Size() > envelope.MaxMessageBytes {
					t.Fatalf("message of %d bytes", m.Size())
				}
			}
		})
	}
}
