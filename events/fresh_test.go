package events

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestFresh(t *testing.T) {
	now := time.Date(2031, 7, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in, want string
	}{
		{"latest lands on now, spacing kept",
			`[{"published":"2026-11-23T08:01:04.013Z"},{"date":"2026-11-23T09:01:04.013Z"}]`,
			`[{"published":"2031-07-01T11:00:00.000Z"},{"date":"2031-07-01T12:00:00.000Z"}]`},
		{"zones become UTC, fraction digits kept",
			`{"a":"2026-11-23T10:00:00+01:00","b":"2026-11-23T08:59:59.5Z"}`,
			`{"a":"2031-07-01T12:00:00Z","b":"2031-07-01T11:59:59.5Z"}`},
		{"nothing else changes", `{"d":"2026-11-23","n":20261123}`, `{"d":"2026-11-23","n":20261123}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(Fresh([]byte(tc.in), now)); got != tc.want {
				t.Fatalf("Fresh\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// Every auth sample comes out as valid as it went in, with its latest time
// at now.
func TestFreshSamples(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, name := range []string{"auth/okta.json", "auth/auth0.json", "auth/stytch.json", "auth/mixed.ndjson"} {
		t.Run(name, func(t *testing.T) {
			in := mustRead(t, name)
			out := Fresh(in, now)
			if name != "auth/mixed.ndjson" && !json.Valid(out) {
				t.Fatal("not valid JSON any more")
			}
			if latest, ok := Latest(out); !ok || !latest.Equal(now) {
				t.Fatalf("latest time %v, want %v", latest, now)
			}
			if len(bytes.Split(out, []byte("\n"))) != len(bytes.Split(in, []byte("\n"))) {
				t.Fatal("line count changed")
			}
		})
	}
}
