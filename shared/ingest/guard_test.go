package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/logevent"
)

// handleAt posts body as JSON to a service whose clock reads now, and
// returns the status, the error body and the events enqueued.
func handleAt(t *testing.T, now time.Time, body string) (int, errorBody, int) {
	t.Helper()
	pub := &fakePublisher{}
	s := newService(&fakeStreams{active: twoStreams}, pub)
	s.Stamper.Now = func() time.Time { return now }
	resp, err := s.Handle(context.Background(), request([]byte(body), map[string]string{"content-type": "application/json"}, false))
	if err != nil {
		t.Fatal(err)
	}
	var eb errorBody
	if resp.StatusCode != 202 {
		if err := json.Unmarshal([]byte(resp.Body), &eb); err != nil {
			t.Fatalf("error body %s: %v", resp.Body, err)
		}
	}
	enqueued := 0
	for _, m := range pub.byQueue["q-http"] {
		enqueued += m.Events
	}
	return resp.StatusCode, eb, enqueued
}

// A client may not post an event that passes for one of logstream's own
// lifecycle events (the probe posted logstream.stream.deleted for another
// project and it was delivered like a real one).
func TestClientEventsCannotUseTheReservedTypePrefix(t *testing.T) {
	now := time.Now().UTC()
	tests := []struct {
		name  string
		event string
	}{
		{"type", `{"type":"logstream.stream.deleted","project_id":"other-project"}`},
		{"eventType", `{"eventType":"logstream.stream.created"}`},
		{"event_type", `{"event_type":"logstream.test"}`},
		{"action", `{"action":"logstream.stream.updated"}`},
		{"upper case", `{"type":"LogStream.Stream.Deleted"}`},
		{"leading space", `{"type":"  logstream.stream.deleted"}`},
		{"escaped", `{"type":"logstream\u002estream.deleted"}`},
		{"escaped key", `{"typ\u0065":"logstream.stream.deleted"}`},
		{"repeated key", `{"type":"user.login","type":"logstream.stream.deleted"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, eb, enqueued := handleAt(t, now, `[{"type":"user.login"},`+tc.event+`]`)
			if status != 400 || eb.Error.Code != "reserved_type" || !strings.Contains(eb.Error.Message, "event 1") ||
				!strings.Contains(eb.Error.Message, "logstream.") || enqueued != 0 {
				t.Fatalf("status %d, error %+v, %d events enqueued; want 400 reserved_type naming event 1", status, eb.Error, enqueued)
			}
		})
	}
	// Names that merely contain the word, and nested members, are the
	// client's own business.
	for _, ok := range []string{
		`{"type":"user.logstream.x"}`, `{"type":"logstreams.x"}`, `{"target":{"type":"logstream.stream"}}`,
		`{"message":"logstream.stream.deleted"}`, `{"type":["logstream.x"]}`, `{"type":"logstream"}`,
	} {
		t.Run("accepted "+ok, func(t *testing.T) {
			if status, eb, _ := handleAt(t, now, `[`+ok+`]`); status != 202 {
				t.Fatalf("status %d %+v, want 202", status, eb.Error)
			}
		})
	}
}

// Timestamps outside the plausible window are refused with a 400 naming the
// event; the window is relative to the service's clock.
func TestImplausibleTimestampsAreRefused(t *testing.T) {
	now := time.Date(2031, 3, 9, 12, 0, 0, 0, time.UTC)
	at := func(t time.Time) string { return t.Format(time.RFC3339Nano) }
	tests := []struct {
		name string
		ts   string
	}{
		{"year 0001", "0001-01-01T00:00:00Z"},
		{"year 9999", "9999-12-31T23:59:59Z"},
		{"the epoch", "1970-01-01T00:00:00Z"},
		{"a year ago", at(now.AddDate(-1, 0, 0))},
		{"a day ahead", at(now.Add(24 * time.Hour))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := fmt.Sprintf(`[{"timestamp":%q},{"timestamp":%q}]`, at(now), tc.ts)
			status, eb, enqueued := handleAt(t, now, body)
			if status != 400 || eb.Error.Code != "timestamp_out_of_range" || !strings.Contains(eb.Error.Message, "event 1") || enqueued != 0 {
				t.Fatalf("status %d, error %+v, %d enqueued; want 400 timestamp_out_of_range naming event 1", status, eb.Error, enqueued)
			}
		})
	}
	for _, ts := range []string{at(now), at(now.Add(-24 * time.Hour)), at(now.Add(-29 * 24 * time.Hour)), at(now.Add(time.Hour))} {
		t.Run("accepted "+ts, func(t *testing.T) {
			if status, eb, _ := handleAt(t, now, fmt.Sprintf(`[{"timestamp":%q}]`, ts)); status != 202 {
				t.Fatalf("status %d %+v, want 202", status, eb.Error)
			}
		})
	}
}

// delivered returns the events enqueued for stream str_a, in order.
func delivered(t *testing.T, pub *fakePublisher) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range pub.byQueue["q-http"] {
		env, err := envelope.Open(string(m.Body), m.Attributes[envelope.AttrEncoding])
		if err != nil {
			t.Fatal(err)
		}
		if env.StreamID != "str_a" {
			continue
		}
		for _, raw := range env.Events {
			var ev map[string]any
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			out = append(out, ev)
		}
	}
	return out
}

// An Okta batch sent twice keeps its ids: events without event_id take
// Okta's uuid, and without timestamp Okta's published, so receivers can drop
// the duplicates of a resend.
func TestResentOktaBatchKeepsItsIDs(t *testing.T) {
	now := time.Now().UTC()
	raw, err := samples.FS.ReadFile("auth/okta.json")
	if err != nil {
		t.Fatal(err)
	}
	body := samples.Fresh(raw, now)
	var sent []map[string]any
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	var rounds [2][]map[string]any
	for i := range rounds {
		pub := &fakePublisher{}
		s := newService(&fakeStreams{active: twoStreams}, pub)
		s.Stamper.Now = func() time.Time { return now.Add(time.Duration(i) * time.Hour) } // a resend, an hour later
		resp, err := s.Handle(context.Background(), request(body, map[string]string{"content-type": "application/json"}, false))
		if err != nil || resp.StatusCode != 202 {
			t.Fatalf("send %d: %d %s %v", i, resp.StatusCode, resp.Body, err)
		}
		rounds[i] = delivered(t, pub)
	}
	if len(rounds[0]) != len(sent) || len(rounds[1]) != len(sent) {
		t.Fatalf("delivered %d and %d events, want %d each", len(rounds[0]), len(rounds[1]), len(sent))
	}
	ids := map[any]bool{}
	for i, ev := range sent {
		first, again := rounds[0][i], rounds[1][i]
		wantID, wantTS := ev["event_id"], ev["timestamp"]
		if wantID == nil {
			wantID, wantTS = ev["uuid"], ev["published"]
		}
		if first["event_id"] != wantID || again["event_id"] != wantID {
			t.Errorf("event %d: event_id %v, then %v; want %v both times", i, first["event_id"], again["event_id"], wantID)
		}
		if first["timestamp"] != wantTS || again["timestamp"] != wantTS {
			t.Errorf("event %d: timestamp %v, then %v; want %v both times", i, first["timestamp"], again["timestamp"], wantTS)
		}
		if ids[wantID] {
			t.Errorf("event %d: event_id %v is not unique", i, wantID)
		}
		ids[wantID] = true
	}
}

// logstream's own lifecycle events take the internal path (Emit, from the
// management API), which the reserved prefix does not close.
func TestLifecycleEventsStillFlow(t *testing.T) {
	pub := &fakePublisher{}
	s := newService(&fakeStreams{active: twoStreams}, pub)
	raw := json.RawMessage(`{"event_id":"evt_1","timestamp":"2026-11-24T10:00:00Z","type":"logstream.stream.deleted","project_id":"proj_demo"}`)
	if err := s.Emit(context.Background(), "proj_demo", []logevent.Event{{ID: "evt_1", Raw: raw}}); err != nil {
		t.Fatal(err)
	}
	if got := delivered(t, pub); len(got) != 1 || got[0]["type"] != "logstream.stream.deleted" {
		t.Fatalf("delivered %v", got)
	}
}
