package manage

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/logstream/logstream/shared/destination"
)

// fakeDepths answers each queue URL's counts from a table, or fails.
type fakeDepths struct {
	counts map[string][3]int64
	err    error
}

func (f *fakeDepths) Depth(_ context.Context, url string) (int64, int64, int64, error) {
	if f.err != nil {
		return 0, 0, 0, f.err
	}
	c := f.counts[url]
	return c[0], c[1], c[2], nil
}

// queuesAPI is an API whose every destination type has a queue and a DLQ,
// with distinct counts in each.
func queuesAPI(err error) *API {
	a := authAPI()
	f := &fakeDepths{counts: map[string][3]int64{}, err: err}
	a.Depths, a.Queues = f, map[string]Queues{}
	for i, d := range destination.Types() {
		q := Queues{URL: "https://sqs.local/q-" + d, DLQURL: "https://sqs.local/dlq-" + d}
		a.Queues[d] = q
		n := int64(i * 10)
		f.counts[q.URL] = [3]int64{n + 1, n + 2, n + 3}
		f.counts[q.DLQURL] = [3]int64{n + 4, n + 5, n + 6}
	}
	return a
}

func TestQueueDepths(t *testing.T) {
	a := queuesAPI(nil)
	r := as(t, a, adminSecret, RouteQueueDepths, "", "", "")
	if r.StatusCode != 200 {
		t.Fatalf("status %d: %s", r.StatusCode, r.Body)
	}
	var got QueuesResponse
	if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
		t.Fatal(err)
	}
	types := destination.Types()
	if len(got.Queues) != len(types) {
		t.Fatalf("%d queues, want one per destination type (%d): %s", len(got.Queues), len(types), r.Body)
	}
	for i, d := range types {
		n := int64(i * 10)
		want := TypeQueues{DestinationType: d, Queue: QueueDepth{n + 1, n + 2, n + 3}, DeadLetterQueue: QueueDepth{n + 4, n + 5, n + 6}}
		if got.Queues[i] != want {
			t.Errorf("queues[%d] = %+v, want %+v (destination-type order)", i, got.Queues[i], want)
		}
	}
	if !strings.Contains(r.Body, `"dead_letter_queue":{"messages":4,"in_flight":5,"delayed":6}`) {
		t.Errorf("body %s does not spell the documented names", r.Body)
	}
}

func TestQueueDepthsAdminOnly(t *testing.T) {
	a := queuesAPI(nil)
	writeA, _ := createKey(t, a, `["proj_a"]`, "write")
	all, _ := createKey(t, a, `["*"]`, "write")
	for name, secret := range map[string]string{"project key": writeA, "every-project key": all} {
		if r := as(t, a, secret, RouteQueueDepths, "", "", ""); r.StatusCode != 403 {
			t.Errorf("%s: status %d, want 403: %s", name, r.StatusCode, r.Body)
		}
	}
	if r := as(t, a, "", RouteQueueDepths, "", "", ""); r.StatusCode != 401 {
		t.Errorf("no key: status %d, want 401", r.StatusCode)
	}
}

func TestQueueDepthsSQSFailing(t *testing.T) {
	for name, a := range map[string]*API{
		"SQS fails":    queuesAPI(errors.New("GetQueueAttributes: AWS.SimpleQueueService.NonExistentQueue")),
		"no depths":    func() *API { a := queuesAPI(nil); a.Depths = nil; return a }(),
		"a type's URL": func() *API { a := queuesAPI(nil); delete(a.Queues, destination.S3); return a }(),
	} {
		r := as(t, a, adminSecret, RouteQueueDepths, "", "", "")
		var body struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal([]byte(r.Body), &body)
		if r.StatusCode != 503 || body.Error.Code != "queues_unavailable" || body.Error.Message == "" {
			t.Errorf("%s: %d %s, want 503 queues_unavailable", name, r.StatusCode, r.Body)
		}
		if strings.Contains(r.Body, "NonExistentQueue") {
			t.Errorf("%s: the cause is answered, not only logged: %s", name, r.Body)
		}
	}
}
