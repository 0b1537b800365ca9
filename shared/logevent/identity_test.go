package logevent

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func parseOne(t *testing.T, body string, now time.Time) (Event, *Error) {
	t.Helper()
	st := Stamper{Now: func() time.Time { return now }, NewID: func() string { return "fresh" }}
	evs, err := Parse([]byte(body), FormatSniff, DefaultLimits, st)
	if err != nil {
		var pe *Error
		if !errors.As(err, &pe) {
			t.Fatalf("err %T %v", err, err)
		}
		return Event{}, pe
	}
	return evs[0], nil
}

// Vendors' own ids and times stand in for absent event_id and timestamp.
func TestVendorIdentity(t *testing.T) {
	at := fixedNow.Add(-time.Hour).Format(time.RFC3339Nano)
	mine := fixedNow.Add(-2 * time.Hour).Format(time.RFC3339Nano)
	tests := []struct {
		name     string
		body     string
		wantID   string
		wantTime string
		wantRaw  string // "" skips the check
	}{
		{"okta", fmt.Sprintf(`{"uuid":"u-1","published":%q,"eventType":"user.session.start"}`, at), "u-1", at,
			fmt.Sprintf(`{"event_id":"u-1","timestamp":%q,"uuid":"u-1","published":%q,"eventType":"user.session.start"}`, at, at)},
		{"auth0", fmt.Sprintf(`{"date":%q,"type":"s","log_id":"900201"}`, at), "900201", at, ""},
		{"event_id wins over uuid", fmt.Sprintf(`{"event_id":"mine","uuid":"u-1","published":%q}`, at), "mine", at,
			fmt.Sprintf(`{"timestamp":%q,"event_id":"mine","uuid":"u-1","published":%q}`, at, at)},
		{"timestamp wins over published", fmt.Sprintf(`{"timestamp":%q,"uuid":"u-1","published":%q}`, mine, at), "u-1", mine, ""},
		{"stytch carries its own", fmt.Sprintf(`{"event_id":"evt","timestamp":%q,"action":"PasswordsAuthenticate"}`, at), "evt", at, ""},
		{"uuid without published is not okta's", `{"uuid":"u-1"}`, "fresh", fixedNow.Format(time.RFC3339Nano), ""},
		{"date without log_id is not auth0's", `{"date":"2026-11-24"}`, "fresh", fixedNow.Format(time.RFC3339Nano), ""},
		{"non-string members are not a vendor's", fmt.Sprintf(`{"uuid":7,"published":%q}`, at), "fresh", fixedNow.Format(time.RFC3339Nano), ""},
		{"nested members are not a vendor's", fmt.Sprintf(`{"target":{"uuid":"u","published":%q}}`, at), "fresh", fixedNow.Format(time.RFC3339Nano), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := parseOne(t, tc.body, fixedNow)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := time.Parse(time.RFC3339Nano, tc.wantTime)
			if ev.ID != tc.wantID || !ev.Time.Equal(want) {
				t.Fatalf("id %q time %v, want %q %v", ev.ID, ev.Time, tc.wantID, want)
			}
			var m map[string]any
			if json.Unmarshal(ev.Raw, &m) != nil || m[FieldID] != tc.wantID || m[FieldTimestamp] == nil {
				t.Fatalf("raw %s lacks the stamped fields", ev.Raw)
			}
			if tc.wantRaw != "" && string(ev.Raw) != tc.wantRaw {
				t.Fatalf("raw\n got %s\nwant %s", ev.Raw, tc.wantRaw)
			}
		})
	}
}

// A vendor's member that cannot serve is refused, named as the vendor's.
func TestVendorIdentityErrors(t *testing.T) {
	tests := []struct {
		name, body, code, mention string
	}{
		{"empty uuid", fmt.Sprintf(`{"uuid":"","published":%q}`, fixedNow.Format(time.RFC3339)), "invalid_event_id", "uuid (Okta's id"},
		{"published not RFC 3339", `{"uuid":"u","published":"Tue Nov 24"}`, "invalid_timestamp", "published (Okta's time"},
		{"date out of the window", `{"log_id":"9","date":"2020-01-01T00:00:00Z"}`, "timestamp_out_of_range", "date (Auth0's time"},
		{"uuid twice", fmt.Sprintf(`{"uuid":"a","uuid":"b","published":%q}`, fixedNow.Format(time.RFC3339)), "invalid_event_id", "more than once"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseOne(t, tc.body, fixedNow)
			if err == nil || err.Code != tc.code || !strings.Contains(err.Msg, tc.mention) {
				t.Fatalf("err %v, want %s mentioning %q", err, tc.code, tc.mention)
			}
		})
	}
}

// The window's bounds are included, a nanosecond past them is not.
func TestWindowBounds(t *testing.T) {
	w := DefaultLimits.Window
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"oldest accepted", fixedNow.Add(-w.MaxAge), true},
		{"just too old", fixedNow.Add(-w.MaxAge - 1), false},
		{"newest accepted", fixedNow.Add(w.MaxAhead), true},
		{"just too new", fixedNow.Add(w.MaxAhead + 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseOne(t, fmt.Sprintf(`{"timestamp":%q}`, tc.at.Format(time.RFC3339Nano)), fixedNow)
			if (err == nil) != tc.ok || (err != nil && err.Code != "timestamp_out_of_range") {
				t.Fatalf("err %v, want accepted %v", err, tc.ok)
			}
		})
	}
	if got := w.String(); got != "30 days before now to 2 hours after" {
		t.Fatalf("DefaultWindow says %q", got)
	}
}

// The window moves with the injected clock: "now" is accepted with the clock
// a year ahead and a year back, and today's time is not.
func TestWindowFollowsTheClock(t *testing.T) {
	today := time.Now().UTC()
	for _, tc := range []struct {
		name string
		now  time.Time
	}{
		{"a year ahead", today.AddDate(1, 0, 0)},
		{"a year back", today.AddDate(-1, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, body := range []string{`{}`, fmt.Sprintf(`{"timestamp":%q}`, tc.now.Format(time.RFC3339Nano)),
				fmt.Sprintf(`{"uuid":"u","published":%q}`, tc.now.Add(-time.Hour).Format(time.RFC3339Nano))} {
				if _, err := parseOne(t, body, tc.now); err != nil {
					t.Errorf("%s: %v", body, err)
				}
			}
			if _, err := parseOne(t, fmt.Sprintf(`{"timestamp":%q}`, today.Format(time.RFC3339Nano)), tc.now); err == nil || err.Code != "timestamp_out_of_range" {
				t.Errorf("today's time with the clock %s: err %v, want timestamp_out_of_range", tc.name, err)
			}
		})
	}
}

// A body of another type is refused with the types that are accepted; text
// is not guessed to be NDJSON.
func TestUnsupportedMediaTypeNamesTheAcceptedOnes(t *testing.T) {
	for _, ct := range []string{"text/plain", "text/plain; charset=utf-8", "text/csv", "application/xml", "multipart/form-data; boundary=x", "no/"} {
		t.Run(ct, func(t *testing.T) {
			_, err := FormatOf(ct)
			var pe *Error
			if !errors.As(err, &pe) || pe.Kind != KindUnsupported {
				t.Fatalf("FormatOf(%q) err = %v, want a 415", ct, err)
			}
			for _, mt := range MediaTypes {
				if !strings.Contains(pe.Msg, mt.Name) {
					t.Errorf("message %q does not name %s", pe.Msg, mt.Name)
				}
			}
		})
	}
	for _, mt := range MediaTypes {
		if _, err := FormatOf(mt.Name + "; charset=utf-8"); err != nil {
			t.Errorf("%s refused: %v", mt.Name, err)
		}
	}
}
