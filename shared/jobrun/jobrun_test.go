package jobrun

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// A job payload runs the job; the schedule's event (or anything else) ticks.
func TestHandle(t *testing.T) {
	var ran, ticked string
	run := func(_ context.Context, p, id string) error { ran = p + "/" + id; return nil }
	tick := func(context.Context) error { ticked = "tick"; return nil }
	payload, _ := json.Marshal(Invocation{Job: &JobRef{ProjectID: "p", ID: "job_1"}})
	if err := Handle(context.Background(), payload, run, tick); err != nil || ran != "p/job_1" || ticked != "" {
		t.Fatalf("job payload: ran %q, ticked %q, %v", ran, ticked, err)
	}
	ran = ""
	for _, p := range []string{`{"version":"0","detail-type":"Scheduled Event","detail":{}}`, `{}`, `not json`} {
		ticked = ""
		if err := Handle(context.Background(), json.RawMessage(p), run, tick); err != nil || ran != "" || ticked != "tick" {
			t.Fatalf("%s: ran %q, ticked %q, %v", p, ran, ticked, err)
		}
	}
}

func TestNearDeadline(t *testing.T) {
	if NearDeadline(context.Background()) {
		t.Fatal("no deadline is near")
	}
	ctx, cancel := context.WithTimeout(context.Background(), Margin/2)
	defer cancel()
	if !NearDeadline(ctx) {
		t.Fatal("a deadline within the margin is near")
	}
	far, cancel2 := context.WithTimeout(context.Background(), time.Hour)
	defer cancel2()
	if NearDeadline(far) {
		t.Fatal("an hour away is not near")
	}
}
