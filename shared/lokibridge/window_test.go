package lokibridge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/lokipush/pushtest"
)

// jsonPush is a JSON push of one stream whose entries are at the given Unix
// nanoseconds, written as strings as Loki's JSON format has them.
func jsonPush(ns ...string) pushtest.Body {
	values := make([]string, len(ns))
	for i, n := range ns {
		values[i] = fmt.Sprintf(`[%q,"line %d"]`, n, i)
	}
	body := `{"streams":[{"stream":{"job":"probe"},"values":[` + strings.Join(values, ",") + `]}]}`
	return pushtest.Body{Name: "json", ContentType: lokipush.ContentTypeJSON, Body: []byte(body)}
}

func nanos(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// Implausible entry times are refused with a 400 that says why, as Loki's
// distributor refuses them (reject_old_samples_max_age,
// creation_grace_period); nothing implausible reaches the archive (the probe's
// "-5" was archived under dt=1969-12-31).
func TestImplausibleEntryTimesAreRefused(t *testing.T) {
	w := logevent.DefaultWindow
	tests := []struct {
		name string
		ns   string
		want string
	}{
		{"before the epoch", "-5", "timestamp too old: 1969-12-31T23:59:59Z"},
		{"the epoch", "0", "timestamp too old"},
		{"a year ago", nanos(testNow.AddDate(-1, 0, 0)), "timestamp too old"},
		{"just too old", nanos(testNow.Add(-w.MaxAge - 1)), "oldest acceptable timestamp is: 2026-10-25T08:00:00Z"},
		{"just too new", nanos(testNow.Add(w.MaxAhead + 1)), "timestamp too new"},
		{"a year ahead", nanos(testNow.AddDate(1, 0, 0)), "timestamp too new"},
		{"as far ahead as int64 goes", "9223372036854775807", "timestamp too new: 2262-04-11T23:47:16Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := &fakeStore{}
			resp, err := newTestHandler(t, store, lokipush.Limits{}, nil).Handle(context.Background(), push(alice, jsonPush(tc.ns), nil))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 400 || !strings.Contains(resp.Body, tc.want) || !strings.Contains(resp.Body, `{job="probe"}`) {
				t.Fatalf("status %d %q, want 400 saying %q for the stream", resp.StatusCode, resp.Body, tc.want)
			}
			if len(store.puts) != 0 {
				t.Fatalf("stored %d objects, want none", len(store.puts))
			}
		})
	}
	for _, at := range []time.Time{testNow, testNow.Add(-w.MaxAge), testNow.Add(w.MaxAhead)} {
		t.Run("accepted "+at.String(), func(t *testing.T) {
			resp, _ := newTestHandler(t, &fakeStore{}, lokipush.Limits{}, nil).Handle(context.Background(), push(alice, jsonPush(nanos(at)), nil))
			if resp.StatusCode != 204 {
				t.Fatalf("status %d %q, want 204", resp.StatusCode, resp.Body)
			}
		})
	}
}

// As Loki does, a push with some entries outside the window keeps the others
// and answers 400 for the rest: the client will not retry a 400, so refusing
// it whole would lose the good entries.
func TestPushWithSomeImplausibleEntriesKeepsTheOthers(t *testing.T) {
	store := &fakeStore{}
	body := `{"streams":[` +
		`{"stream":{"job":"old"},"values":[["-5","ancient"],["0","epoch"]]},` +
		`{"stream":{"job":"mixed"},"values":[["` + nanos(testNow) + `","good 1"],["` + nanos(testNow.AddDate(1, 0, 0)) + `","future"],["` + nanos(testNow.Add(-time.Hour)) + `","good 2"]]}]}`
	resp, _ := newTestHandler(t, store, lokipush.Limits{}, nil).Handle(context.Background(),
		push(alice, pushtest.Body{Name: "json", ContentType: lokipush.ContentTypeJSON, Body: []byte(body)}, nil))
	if resp.StatusCode != 400 || !strings.Contains(resp.Body, `entry for stream '{job="old"}' has timestamp too old`) ||
		!strings.Contains(resp.Body, "and 2 more entries") || !strings.Contains(resp.Body, "other 2 entries were archived") {
		t.Fatalf("status %d %q", resp.StatusCode, resp.Body)
	}
	if len(store.puts) != 1 {
		t.Fatalf("stored %d objects, want 1", len(store.puts))
	}
	for key, obj := range store.puts {
		records := string(gunzip(t, obj))
		if !strings.HasPrefix(key, "tenant=alice/dt=2026-11-24/hour=07/") || strings.Count(records, "\n") != 2 ||
			!strings.Contains(records, "good 1") || !strings.Contains(records, "good 2") || strings.Contains(records, "epoch") {
			t.Fatalf("stored %s:\n%s", key, records)
		}
	}
}

// The window moves with the injected clock: an entry at "now" is accepted
// with the clock a year ahead and a year back.
func TestEntryWindowFollowsTheClock(t *testing.T) {
	creds, err := NewCredentials(testCredentials...)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC()
	for _, now := range []time.Time{today.AddDate(1, 0, 0), today.AddDate(-1, 0, 0)} {
		t.Run(now.Format(time.DateOnly), func(t *testing.T) {
			store := &fakeStore{}
			var log bytes.Buffer
			h, err := New(Config{Store: store, Credentials: creds, Log: slog.New(slog.NewJSONHandler(&log, nil)), Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			resp, _ := h.Handle(context.Background(), push(alice, jsonPush(nanos(now), nanos(now.Add(-time.Hour))), nil))
			if resp.StatusCode != 204 || len(store.puts) != 1 {
				t.Fatalf("status %d %q, %d objects stored", resp.StatusCode, resp.Body, len(store.puts))
			}
			if resp, _ := h.Handle(context.Background(), push(alice, jsonPush(nanos(today)), nil)); resp.StatusCode != 400 {
				t.Fatalf("today's entry with the clock at %s: status %d, want 400", now, resp.StatusCode)
			}
		})
	}
}

// The window applies to every format: the same implausible entries as
// protobuf+snappy, gzip and deflate JSON are refused alike.
func TestImplausibleEntryTimesInEveryFormat(t *testing.T) {
	old := testNow.AddDate(-1, 0, 0)
	evs := []json.RawMessage{json.RawMessage(`{"event_id":"e1","timestamp":"` + old.Format(time.RFC3339) + `"}`)}
	for _, b := range pushtest.Bodies(t, evs, testNow) {
		t.Run(b.Name, func(t *testing.T) {
			store := &fakeStore{}
			resp, _ := newTestHandler(t, store, lokipush.Limits{}, nil).Handle(context.Background(), push(alice, b, nil))
			if resp.StatusCode != 400 || !strings.Contains(resp.Body, "timestamp too old: "+old.Format(time.RFC3339)) || len(store.puts) != 0 {
				t.Fatalf("status %d %q, %d objects stored; want 400 and none", resp.StatusCode, resp.Body, len(store.puts))
			}
		})
	}
}
