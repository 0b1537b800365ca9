package stream

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSuspensionPolicyDue(t *testing.T) {
	// Fixtures relative to an arbitrary instant: the policy never reads the clock.
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	p := SuspensionPolicy{After: time.Hour, AfterPermanent: 3}
	tests := []struct {
		name   string
		p      SuspensionPolicy
		run    FailureRun
		due    bool
		reason string
	}{
		{name: "no failure", p: p, run: FailureRun{}},
		{name: "failing, not long enough", p: p, run: FailureRun{FailingSince: now.Add(-time.Hour + time.Second)}},
		{name: "failing exactly the window", p: p, run: FailureRun{FailingSince: now.Add(-time.Hour)}, due: true, reason: "no success"},
		{name: "failing longer", p: p, run: FailureRun{FailingSince: now.Add(-5 * time.Hour)}, due: true, reason: "no success"},
		{name: "permanent, below count", p: SuspensionPolicy{AfterPermanent: 3}, run: FailureRun{FailingSince: now.Add(-2 * time.Hour), PermanentFailures: 2}},
		{name: "permanent, at count", p: SuspensionPolicy{AfterPermanent: 3}, run: FailureRun{FailingSince: now.Add(-MinPermanentRun), PermanentFailures: 3},
			due: true, reason: "3 times in a row"},
		{name: "permanent, at count but a young run", p: SuspensionPolicy{AfterPermanent: 3},
			run: FailureRun{FailingSince: now.Add(-MinPermanentRun + time.Second), PermanentFailures: 300}},
		{name: "time rule off", p: SuspensionPolicy{AfterPermanent: 3}, run: FailureRun{FailingSince: now.Add(-1000 * time.Hour)}},
		{name: "count rule off", p: SuspensionPolicy{After: time.Hour}, run: FailureRun{FailingSince: now, PermanentFailures: 1000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reason, due := tc.p.Due(tc.run, now)
			if due != tc.due {
				t.Fatalf("Due = %v, want %v (reason %q)", due, tc.due, reason)
			}
			if !strings.Contains(reason, tc.reason) {
				t.Errorf("reason %q does not say %q", reason, tc.reason)
			}
		})
	}
}

func TestSuspendsAt(t *testing.T) {
	since := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	p := SuspensionPolicy{After: 72 * time.Hour, AfterPermanent: 50}
	if got := p.SuspendsAt(FailureRun{FailingSince: since}); !got.Equal(since.Add(72 * time.Hour)) {
		t.Errorf("SuspendsAt = %v, want 72 h after %v", got, since)
	}
	if got := p.SuspendsAt(FailureRun{}); !got.IsZero() {
		t.Errorf("SuspendsAt without a failure = %v, want zero", got)
	}
	if got := (SuspensionPolicy{}).SuspendsAt(FailureRun{FailingSince: since}); !got.IsZero() {
		t.Errorf("SuspendsAt with the rule off = %v, want zero", got)
	}
}

// A stream's own policy replaces the deployment's rule by rule, is checked
// against its bounds, and is a change of the stream like any other.
func TestStreamSuspensionPolicy(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	deployment := SuspensionPolicy{After: 72 * time.Hour, AfterPermanent: 50}
	create := func(suspension string) (Stream, error) {
		var req CreateRequest
		body := `{"name":"x","destination_type":"http","destination_config":{"endpoint":"https://h.example.com"}` + suspension + `}`
		if err := DecodeStrict([]byte(body), &req); err != nil {
			return Stream{}, err
		}
		return Validator{}.New("p", req, now)
	}
	for _, tc := range []struct {
		body string
		want SuspensionPolicy
		err  string // the field the error names; "" for none
	}{
		{body: ``, want: deployment},
		{body: `,"suspension":{}`, want: deployment},
		{body: `,"suspension":{"after":"24h"}`, want: SuspensionPolicy{After: 24 * time.Hour, AfterPermanent: 50}},
		{body: `,"suspension":{"after_permanent_failures":0}`, want: SuspensionPolicy{After: 72 * time.Hour}},
		{body: `,"suspension":{"after":"0s","after_permanent_failures":5}`, want: SuspensionPolicy{AfterPermanent: 5}},
		{body: `,"suspension":{"after":"30s"}`, err: "suspension.after"},
		{body: `,"suspension":{"after":"721h"}`, err: "suspension.after"},
		{body: `,"suspension":{"after":"a week"}`, err: "suspension.after"},
		{body: `,"suspension":{"after_permanent_failures":-1}`, err: "suspension.after_permanent_failures"},
		{body: `,"suspension":{"after_permanent_failures":10001}`, err: "suspension.after_permanent_failures"},
		{body: `,"suspension":{"after":"24h","other":1}`, err: "suspension.other"},
	} {
		s, err := create(tc.body)
		if tc.err != "" {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.err {
				t.Errorf("%s: error %v, want one naming %s", tc.body, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		if got := deployment.For(s); got != tc.want {
			t.Errorf("%s: policy %+v, want %+v", tc.body, got, tc.want)
		}
		if tc.body == `,"suspension":{}` && s.Suspension != nil {
			t.Errorf("{} stored as %+v, want none", s.Suspension)
		}
	}

	// Changing only the policy is a change; the same policy again is not.
	s, err := create(`,"suspension":{"after":"24h"}`)
	if err != nil {
		t.Fatal(err)
	}
	req := s.Request()
	if same, err := (Validator{}).Update(s, req, now); err != nil || same.Version != s.Version {
		t.Fatalf("the same policy again: version %d, %v", same.Version, err)
	}
	req.Suspension = &Suspension{After: "48h"}
	next, err := Validator{}.Update(s, req, now)
	if err != nil || next.Version != s.Version+1 || deployment.For(next).After != 48*time.Hour {
		t.Fatalf("a new policy: version %d, policy %+v, %v", next.Version, deployment.For(next), err)
	}
	// The time rule follows the stream's policy, not the deployment's.
	run := FailureRun{FailingSince: now.Add(-49 * time.Hour)}
	if _, due := deployment.Due(run, now); due {
		t.Fatal("the deployment's 72h rule is due after 49h")
	}
	if _, due := deployment.For(next).Due(run, now); !due {
		t.Fatal("the stream's own 48h rule is not due after 49h")
	}
}
