package events

import (
	"regexp"
	"strings"
	"time"
)

// rfc3339 matches the times the samples carry (timestamp, Okta's published,
// Auth0's date): RFC 3339 with an optional fraction and a Z or numeric zone.
var rfc3339 = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})`)

// Latest returns the latest RFC 3339 time in data, and false when it has none.
func Latest(data []byte) (time.Time, bool) {
	var latest time.Time
	found := false
	for _, m := range rfc3339.FindAll(data, -1) {
		t, err := time.Parse(time.RFC3339Nano, string(m))
		if err == nil && (!found || t.After(latest)) {
			latest, found = t, true
		}
	}
	return latest, found
}

// Fresh returns data with every RFC 3339 time in it moved by the same amount,
// so that the latest is now: the events keep their order and spacing, and
// fall inside ingestion's window of plausible times (shared/event) on any
// date. Each time keeps its number of fractional digits and is written in
// UTC; nothing else in data changes. Tests that send a sample through a
// stack with a real clock use it, and so does `go run ./events/fresh`.
func Fresh(data []byte, now time.Time) []byte {
	latest, ok := Latest(data)
	if !ok {
		return data
	}
	shift := now.Sub(latest)
	return rfc3339.ReplaceAllFunc(data, func(m []byte) []byte {
		t, err := time.Parse(time.RFC3339Nano, string(m))
		if err != nil {
			return m
		}
		layout := "2006-01-02T15:04:05Z07:00"
		if i := strings.IndexByte(string(m), '.'); i >= 0 {
			digits := strings.IndexAny(string(m[i+1:]), "Z+-") // the regexp put a zone after them
			layout = "2006-01-02T15:04:05." + strings.Repeat("0", digits) + "Z07:00"
		}
		return []byte(t.Add(shift).UTC().Format(layout))
	})
}
