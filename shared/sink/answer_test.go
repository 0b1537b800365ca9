package sink

import (
	"strings"
	"testing"
)

// An answer is redacted before it is cut, so no cut leaves part of a
// secret: not the 512-byte cap, and not the read limit that may have cut
// the answer itself.
func TestAnswerText(t *testing.T) {
	const secret = `tok"\é-9Fq2Lx7Vm4Rz8Kp3`
	s := NewSecrets(secret)
	tests := []struct {
		name      string
		answer    string
		truncated bool
		want      string
		none      bool // no secrets at all
	}{
		{"short, trimmed", "  denied " + secret + "\n", false, "denied [REDACTED]", false},
		{"cut on a rune boundary", strings.Repeat("é", 300), false, strings.Repeat("é", 256) + "…", false},
		{"secret across the cap", strings.Repeat("x", 500) + secret + " tail", false, strings.Repeat("x", 500) + "[REDACTED]" + " t…", false},
		{"never half a mark", strings.Repeat("x", 505) + secret, false, strings.Repeat("x", 505) + "…", false},
		{"escaped secret across the cap", strings.Repeat("x", 490) + `tok\"\\\u00e9-9Fq2Lx7Vm4Rz8Kp3`, false, strings.Repeat("x", 490) + "[REDACTED]", false},
		{"read cut inside a secret", "denied " + secret[:9], true, "…", false},
		{"read cut inside an escaped secret", strings.Repeat("y", 2000) + `tok\"\\\u00`, true, strings.Repeat("y", 512) + "…", false},
		{"read cut with no secrets to fear", "partial answer", true, "partial answer…", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ss := s
			if tc.none {
				ss = Secrets{}
			}
			got := ss.text(tc.answer, tc.truncated)
			if got != tc.want {
				t.Fatalf("text = %q, want %q", got, tc.want)
			}
			if len(got) > maxAnswerText+len("…") {
				t.Fatalf("text of %d bytes", len(got))
			}
		})
	}
}
