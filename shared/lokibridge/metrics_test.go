package lokibridge

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/lokipush/pushtest"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/metrics/emftest"
	"github.com/logstream/logstream/shared/topology"
)

// Each push request writes its lines once: {Function} with every count,
// and {Function, Status} when it was refused; other paths write none.
func TestPushMetrics(t *testing.T) {
	small := pushtest.Body{ContentType: lokipush.ContentTypeJSON, Body: []byte(smallJSON)}
	// One entry an hour old (kept), one from 2001 (refused: outside the window).
	mixed := pushtest.Body{ContentType: lokipush.ContentTypeJSON,
		Body: []byte(`{"streams":[{"stream":{"app":"api"},"values":[["1795503600000000000","kept"],["1000000000000000000","old"]]}]}`)}
	tests := []struct {
		name    string
		req     events.APIGatewayV2HTTPRequest
		queue   error  // the queue's answer
		counts  [4]int // pushes, entries, bytes, refusals
		status  string // the refusal's Status line
		noLines bool
	}{
		{name: "queued", req: push(alice, small, nil), counts: [4]int{1, 2, len(smallJSON), 0}},
		{name: "empty", req: push(alice, pushtest.Body{ContentType: lokipush.ContentTypeJSON, Body: []byte(`{"streams":[]}`)}, nil),
			counts: [4]int{1, 0, 14, 0}},
		{name: "some entries refused", req: push(alice, mixed, nil), counts: [4]int{1, 1, len(mixed.Body), 1}, status: "400"},
		{name: "no credentials", req: push("", small, nil), counts: [4]int{0, 0, len(smallJSON), 1}, status: "401"},
		{name: "not a push", req: push(alice, pushtest.Body{ContentType: lokipush.ContentTypeJSON, Body: []byte(`{"streams":`)}, nil),
			counts: [4]int{0, 0, 11, 1}, status: "400"},
		{name: "queue down", req: push(alice, small, nil), queue: errors.New("SQS down"), counts: [4]int{0, 0, len(smallJSON), 1}, status: "5xx"},
		{name: "GET on the push path", req: request(http.MethodGet, PathPush, nil, nil, false), counts: [4]int{0, 0, 0, 1}, status: "405"},
		{name: "readiness probe", req: request(http.MethodGet, PathReady, nil, nil, false), noLines: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			h := newTestHandler(t, &fakeStore{}, lokipush.DefaultLimits(), nil)
			h.queue = &fakeQueue{send: func(string) error { return tc.queue }}
			h.metrics = &metrics.Emitter{Out: &out, Function: topology.FunctionLokiBridge, Now: func() time.Time { return testNow }}
			if _, err := h.Handle(context.Background(), tc.req); err != nil {
				t.Fatal(err)
			}
			lines := emftest.Lines(t, out.Bytes())
			want := []string{"Function=lokibridge"}
			if tc.status != "" {
				want = append(want, "Function=lokibridge,Status="+tc.status)
			}
			if tc.noLines {
				want = nil
			}
			if got := emftest.Keys(lines); !slices.Equal(got, want) {
				t.Fatalf("lines %v, want %v", got, want)
			}
			if tc.noLines {
				return
			}
			d := lines["Function=lokibridge"]
			got := [4]int{}
			for i, name := range []string{topology.MetricBridgePushes, topology.MetricBridgeEntries, topology.MetricBridgeBytes, topology.MetricBridgeRefusals} {
				got[i] = int(d.Metrics[name].Sum())
			}
			if got != tc.counts || d.Timestamp != testNow.UnixMilli() {
				t.Errorf("counts %v at %d, want %v", got, d.Timestamp, tc.counts)
			}
			if tc.status != "" {
				if r := lines["Function=lokibridge,Status="+tc.status].Metrics; len(r) != 1 || r[topology.MetricBridgeRefusals].Sum() != 1 {
					t.Errorf("status line %v", r)
				}
			}
		})
	}
}
