package ingest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/metrics/emftest"
	"github.com/logstream/logstream/shared/topology"
)

// Each request writes its metrics once: {Function} with every count (zeros
// included), {Function, Reason} for a refusal, and with the opt-in detail
// {Function, Project}, never for a project the key may not write to.
func TestRequestMetrics(t *testing.T) {
	json := map[string]string{"content-type": "application/json"}
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	type counts struct{ requests, bytes, accepted, refused, serverErrors int }
	tests := []struct {
		name    string
		req     events.APIGatewayV2HTTPRequest
		detail  metrics.Detail
		publish func(string, []envelope.Message) error
		want    counts
		reason  string // the refusal's Reason line, if any
		project bool   // a Project line
	}{
		{name: "accepted", req: request([]byte(`[{"a":1},{"a":2},{"a":3}]`), json, false),
			want: counts{1, 25, 3, 0, 0}},
		{name: "gzip body counted as sent", req: request(gzipped("{\"a\":1}\n"), map[string]string{"content-type": "application/x-ndjson", "content-encoding": "gzip"}, true),
			want: counts{1, len(gzipped("{\"a\":1}\n")), 1, 0, 0}},
		{name: "bad json at the second event", req: request([]byte(`[{"a":1},{"a":}]`), json, false),
			want: counts{1, 16, 0, 2, 0}, reason: "invalid_json"},
		{name: "a bad second event", req: request([]byte("{\"a\":1}\n{\"a\":\"\xff\"}\n"), map[string]string{"content-type": "application/x-ndjson"}, false),
			want: counts{1, 18, 0, 2, 0}, reason: "invalid_event"},
		{name: "unsupported media type", req: request([]byte(`a,b`), map[string]string{"content-type": "text/csv"}, false),
			want: counts{1, 3, 0, 1, 0}, reason: "unsupported_media_type"},
		{name: "enqueue fails", req: request([]byte(`[{}]`), json, false),
			publish: func(string, []envelope.Message) error { return errors.New("SQS down") },
			want:    counts{1, 4, 0, 0, 1}},
		{name: "project detail", req: request([]byte(`[{},{}]`), json, false), detail: metrics.DetailProject,
			want: counts{1, 7, 2, 0, 0}, project: true},
		{name: "project detail, refused after authorization", req: request([]byte(`[`), json, false), detail: metrics.DetailStream,
			want: counts{1, 1, 0, 1, 0}, reason: "invalid_json", project: true},
		{name: "no project for an unauthorized request", req: func() events.APIGatewayV2HTTPRequest {
			r := request([]byte(`[{}]`), json, false)
			r.PathParameters["project_id"] = "someone_elses"
			return r
		}(), detail: metrics.DetailProject, want: counts{1, 4, 0, 1, 0}, reason: "not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := newService(&fakeStreams{active: twoStreams}, &fakePublisher{publish: tc.publish})
			s.Auth = authFunc(func(string) (apikey.Key, error) {
				return apikey.Key{Projects: []string{"proj_demo"}, Access: apikey.AccessWrite}, nil
			})
			s.Metrics = &metrics.Emitter{Out: &out, Function: topology.FunctionIngest, Detail: tc.detail, Now: func() time.Time { return at }}
			if _, err := s.Handle(context.Background(), tc.req); err != nil {
				t.Fatal(err)
			}
			lines := emftest.Lines(t, out.Bytes())
			want := map[string]bool{"Function=ingest": true}
			if tc.reason != "" {
				want["Function=ingest,Reason="+tc.reason] = true
			}
			if tc.project {
				want["Function=ingest,Project=proj_demo"] = true
			}
			if len(lines) != len(want) {
				t.Fatalf("lines %v, want %v", emftest.Keys(lines), emftest.Keys(want))
			}
			for k := range want {
				d, ok := lines[k]
				if !ok {
					t.Fatalf("no line %s among %v", k, emftest.Keys(lines))
				}
				if d.Timestamp != at.UnixMilli() {
					t.Errorf("%s: timestamp %d", k, d.Timestamp)
				}
				got := func(name string) int { return int(d.Metrics[name].Sum()) }
				if k == "Function=ingest,Reason="+tc.reason {
					if len(d.Metrics) != 1 || got(topology.MetricEventsRefused) != tc.want.refused {
						t.Errorf("%s: %+v, want %d refused", k, d.Metrics, tc.want.refused)
					}
					continue
				}
				if len(d.Metrics) != 5 || got(topology.MetricIngestRequests) != tc.want.requests || got(topology.MetricIngestBytes) != tc.want.bytes ||
					got(topology.MetricEventsAccepted) != tc.want.accepted || got(topology.MetricEventsRefused) != tc.want.refused ||
					got(topology.MetricIngestServerErrors) != tc.want.serverErrors {
					t.Errorf("%s: %+v, want %+v", k, d.Metrics, tc.want)
				}
			}
		})
	}
}

// A completed request sent again with its Idempotency-Key is answered as
// before, and accepts no event a second time.
func TestReplayAcceptsNothingAgain(t *testing.T) {
	var out bytes.Buffer
	s := newService(&fakeStreams{active: twoStreams}, &fakePublisher{})
	s.Attempts = &memAttempts{}
	s.Metrics = &metrics.Emitter{Out: &out, Function: topology.FunctionIngest}
	req := request([]byte(`[{"a":1},{"a":2}]`), map[string]string{"content-type": "application/json", IdempotencyHeader: "request-0001"}, false)
	for range 2 {
		if resp, _ := s.Handle(context.Background(), req); resp.StatusCode != 202 {
			t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
	}
	docs, err := emftest.Parse(out.Bytes())
	if err != nil || len(docs) != 2 {
		t.Fatalf("%d lines, err %v", len(docs), err)
	}
	for i, want := range []float64{2, 0} {
		if got := docs[i].Metrics[topology.MetricEventsAccepted].Sum(); got != want {
			t.Errorf("request %d: accepted %v, want %v", i+1, got, want)
		}
	}
}
