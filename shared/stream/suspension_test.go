package stream

import (
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
