package logevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/shared/jsonobj"
)

var fixedNow = time.Date(2026, 11, 24, 10, 0, 0, 123, time.UTC)

func testStamper() Stamper {
	n := 0
	return Stamper{
		Now:   func() time.Time { return fixedNow },
		NewID: func() string { n++; return fmt.Sprintf("id-%d", n) },
	}
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func parseBody(body []byte, contentType, encoding string, lim Limits) ([]Event, error) {
	format, err := FormatOf(contentType)
	if err != nil {
		return nil, err
	}
	decoded, err := Decode(body, encoding, lim)
	if err != nil {
		return nil, err
	}
	return Parse(decoded, format, lim, testStamper())
}

func TestParse(t *testing.T) {
	ndjson := "{\"type\":\"login\",\"user\":\"u1\"}\n\n{\"type\":\"logout\"}\r\n"
	tests := []struct {
		name        string
		body        []byte
		contentType string
		encoding    string
		wantRaw     []string
		wantIDs     []string
	}{
		{name: "json array", contentType: "application/json",
			body:    []byte(`[{"type":"login"}, {"type":"logout","n":1}]`),
			wantRaw: []string{`{"event_id":"id-1","timestamp":"2026-11-24T10:00:00.000000123Z","type":"login"}`, `{"event_id":"id-2","timestamp":"2026-11-24T10:00:00.000000123Z","type":"logout","n":1}`},
			wantIDs: []string{"id-1", "id-2"}},
		{name: "single object as application/json", contentType: "application/json; charset=utf-8",
			body:    []byte(`{"a":"b"}`),
			wantRaw: []string{`{"event_id":"id-1","timestamp":"2026-11-24T10:00:00.000000123Z","a":"b"}`}},
		{name: "ndjson with blank and CRLF lines", contentType: "application/x-ndjson", body: []byte(ndjson),
			wantRaw: []string{`{"event_id":"id-1","timestamp":"2026-11-24T10:00:00.000000123Z","type":"login","user":"u1"}`, `{"event_id":"id-2","timestamp":"2026-11-24T10:00:00.000000123Z","type":"logout"}`}},
		{name: "gzip ndjson", contentType: "application/x-ndjson", encoding: "gzip", body: gz(t, []byte(ndjson)),
			wantIDs: []string{"id-1", "id-2"}},
		{name: "gzip array, sniffed", encoding: "gzip", body: gz(t, []byte(`[{"x":1}]`)), wantIDs: []string{"id-1"}},
		{name: "given id and timestamp are kept", contentType: "application/json",
			body:    []byte(`[{"event_id":"evt_1","timestamp":"2026-11-24T03:04:05+01:00","x":true}]`),
			wantRaw: []string{`{"event_id":"evt_1","timestamp":"2026-11-24T03:04:05+01:00","x":true}`},
			wantIDs: []string{"evt_1"}},
		{name: "given id only", contentType: "application/json",
			body:    []byte(`[{"x":1,"event_id":"e"}]`),
			wantRaw: []string{`{"timestamp":"2026-11-24T10:00:00.000000123Z","x":1,"event_id":"e"}`}},
		{name: "empty object", contentType: "application/json", body: []byte(`[{}]`),
			wantRaw: []string{`{"event_id":"id-1","timestamp":"2026-11-24T10:00:00.000000123Z"}`}},
		{name: "multi-line pretty array is compacted to one line", contentType: "application/json",
			body:    []byte("[\n  {\n    \"a\": [1, 2],\n    \"b\": \"x y\"\n  }\n]"),
			wantRaw: []string{`{"event_id":"id-1","timestamp":"2026-11-24T10:00:00.000000123Z","a":[1,2],"b":"x y"}`}},
		{name: "case-different key is not event_id", contentType: "application/json", body: []byte(`[{"EVENT_ID":"nope"}]`),
			wantIDs: []string{"id-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := parseBody(tc.body, tc.contentType, tc.encoding, DefaultLimits)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			for i, want := range tc.wantRaw {
				if got := string(evs[i].Raw); got != want {
					t.Errorf("event %d raw\n got %s\nwant %s", i, got, want)
				}
			}
			for i, want := range tc.wantIDs {
				if evs[i].ID != want {
					t.Errorf("event %d id = %q, want %q", i, evs[i].ID, want)
				}
			}
			for i, ev := range evs {
				if !json.Valid(ev.Raw) || bytes.ContainsAny(ev.Raw, "\n\r") {
					t.Errorf("event %d is not one valid JSON line: %s", i, ev.Raw)
				}
				if ev.Time.IsZero() {
					t.Errorf("event %d has no time", i)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	small := Limits{MaxBodyBytes: 1 << 20, MaxDecodedBytes: 1 << 20, MaxEvents: 3, MaxEventBytes: 200}
	bomb := gz(t, bytes.Repeat([]byte(" "), 2<<20)) // 2 MiB of spaces inflates past 1 MiB
	tests := []struct {
		name        string
		body        []byte
		contentType string
		encoding    string
		lim         Limits
		kind        Kind
		code        string
		index       int
	}{
		{"not json", []byte(`[{"a":]`), "application/json", "", DefaultLimits, KindInvalid, "invalid_json", 0},
		{"array of non-objects", []byte(`[1,2]`), "application/json", "", DefaultLimits, KindInvalid, "invalid_event", 0},
		{"trailing data after array", []byte(`[{"a":1}] x`), "application/json", "", DefaultLimits, KindInvalid, "invalid_json", -1},
		{"bad ndjson line", []byte("{\"a\":1}\n{oops}\n"), "application/x-ndjson", "", DefaultLimits, KindInvalid, "invalid_json", 1},
		{"ndjson line that is an array", []byte("[1]\n"), "application/x-ndjson", "", DefaultLimits, KindInvalid, "invalid_event", 0},
		{"empty body", []byte("  \n"), "", "", DefaultLimits, KindInvalid, "no_events", -1},
		{"empty array", []byte("[]"), "application/json", "", DefaultLimits, KindInvalid, "no_events", -1},
		{"numeric event_id", []byte(`[{"event_id":7}]`), "application/json", "", DefaultLimits, KindInvalid, "invalid_event_id", 0},
		{"empty event_id", []byte(`[{"a":1},{"event_id":""}]`), "application/json", "", DefaultLimits, KindInvalid, "invalid_event_id", 1},
		{"duplicate event_id", []byte(`[{"event_id":"a","event_id":"b"}]`), "application/json", "", DefaultLimits, KindInvalid, "invalid_event_id", 0},
		{"bad timestamp", []byte(`[{"timestamp":"yesterday"}]`), "application/json", "", DefaultLimits, KindInvalid, "invalid_timestamp", 0},
		{"numeric timestamp", []byte(`[{"timestamp":1700000000}]`), "application/json", "", DefaultLimits, KindInvalid, "invalid_timestamp", 0},
		{"year 0001", []byte(`[{},{"timestamp":"0001-01-01T00:00:00Z"}]`), "application/json", "", DefaultLimits, KindInvalid, "timestamp_out_of_range", 1},
		{"year 9999", []byte(`[{"timestamp":"9999-12-31T23:59:59Z"}]`), "application/json", "", DefaultLimits, KindInvalid, "timestamp_out_of_range", 0},
		{"reserved type", []byte(`[{},{},{"type":"logstream.stream.deleted"}]`), "application/json", "", DefaultLimits, KindInvalid, "reserved_type", 2},
		{"reserved eventType in ndjson", []byte("{}\n{\"eventType\":\"LOGSTREAM.x\"}\n"), "", "", DefaultLimits, KindInvalid, "reserved_type", 1},
		{"invalid utf-8", []byte("[{\"a\":\"\xff\"}]"), "application/json", "", DefaultLimits, KindInvalid, "invalid_event", 0},
		{"unsupported content type", []byte(`[{}]`), "text/csv", "", DefaultLimits, KindUnsupported, "unsupported_media_type", -1},
		{"unsupported encoding", []byte(`[{}]`), "application/json", "br", DefaultLimits, KindUnsupported, "unsupported_media_type", -1},
		{"not gzip", []byte(`[{}]`), "application/json", "gzip", DefaultLimits, KindInvalid, "invalid_body", -1},
		{"too many events", []byte(`[{},{},{},{}]`), "application/json", "", small, KindTooLarge, "too_many_events", -1},
		{"too many ndjson events", []byte("{}\n{}\n{}\n{}\n"), "", "", small, KindTooLarge, "too_many_events", -1},
		{"event too large", []byte(`[{"a":"` + strings.Repeat("x", 300) + `"}]`), "", "", small, KindTooLarge, "event_too_large", 0},
		{"body too large", []byte(`[{}]`), "", "", Limits{MaxBodyBytes: 2, MaxDecodedBytes: 10, MaxEvents: 1, MaxEventBytes: 1}, KindTooLarge, "payload_too_large", -1},
		{"gzip bomb", bomb, "application/json", "gzip", small, KindTooLarge, "payload_too_large", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseBody(tc.body, tc.contentType, tc.encoding, tc.lim)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if pe.Kind != tc.kind || pe.Code != tc.code || pe.Index != tc.index {
				t.Fatalf("got kind %d code %q index %d (%v), want kind %d code %q index %d",
					pe.Kind, pe.Code, pe.Index, err, tc.kind, tc.code, tc.index)
			}
		})
	}
}

func TestNewIDIsUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
}

// FuzzParse checks that no input makes Parse panic, and that whatever it
// accepts is a list of single-line JSON objects carrying event_id and timestamp.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`[{"a":1}]`, "{\"a\":1}\n{\"b\":2}", `[{"event_id":"x","timestamp":"2026-01-01T00:00:00Z"}]`,
		`{}`, `[`, `[{"event_id":1}]`, "\ufeff[{}]", `[{"a":"\u2028"}]`} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	lim := Limits{MaxBodyBytes: 1 << 16, MaxDecodedBytes: 1 << 16, MaxEvents: 100, MaxEventBytes: 4096}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		format := FormatSniff
		if ndjson {
			format = FormatNDJSON
		}
		evs, err := Parse(body, format, lim, Stamper{})
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, ev := range evs {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(ev.Raw, &m); err != nil {
				t.Fatalf("accepted event is not an object: %s: %v", ev.Raw, err)
			}
			if bytes.ContainsAny(ev.Raw, "\n\r") {
				t.Fatalf("accepted event spans lines: %q", ev.Raw)
			}
			if _, ok := m[FieldID]; !ok || ev.ID == "" {
				t.Fatalf("accepted event without %s: %s", FieldID, ev.Raw)
			}
			if _, ok := m[FieldTimestamp]; !ok {
				t.Fatalf("accepted event without %s: %s", FieldTimestamp, ev.Raw)
			}
			checkIndex(t, ev)
		}
	})
}

// checkIndex holds the index Parse keeps to jsonobj.Members walking Raw.
func checkIndex(t *testing.T, ev Event) {
	t.Helper()
	if ev.index == nil {
		t.Fatalf("Parse kept no index for %s", ev.Raw)
	}
	type member struct{ k, v string }
	var want, got []member
	if err := jsonobj.Members(ev.Raw, func(k, v []byte) bool { want = append(want, member{string(k), string(v)}); return true }); err != nil {
		t.Fatal(err)
	}
	ev.Members(func(k, v []byte) bool { got = append(got, member{string(k), string(v)}); return true })
	if !slices.Equal(got, want) {
		t.Fatalf("index of %s gives members\n%q\nwant\n%q", ev.Raw, got, want)
	}
}

// The index Parse keeps finds every member of every event as a walk of Raw
// does: events stamped with both owned fields, one, or none, a vendor's,
// empty and escaped ones, in both body forms.
func TestIndex(t *testing.T) {
	ts := time.Now().UTC().Format(time.RFC3339)
	bodies := []string{
		`{}`, `{"a":1}`, `{"event_id":"x"}`, `{"timestamp":"` + ts + `"}`, `{"event_id":"x","timestamp":"` + ts + `","a":[1,{"b":"}"}]}`,
		`{"uuid":"u1","published":"` + ts + `","eventType":"user.session.start"}`, `{"log_id":"l1","date":"` + ts + `","type":"s"}`,
		`{"k\u0065y":"v\"q","n":null,"o":{"p":{}}}`, `{ "spaced" : [ 1 , 2 ] , "t" : true }`,
	}
	for _, b := range bodies {
		for _, format := range []Format{FormatArray, FormatNDJSON} {
			body := b
			if format == FormatArray {
				body = "[" + b + "," + b + "]"
			}
			evs, err := Parse([]byte(body), format, DefaultLimits, Stamper{})
			if err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			for _, ev := range evs {
				checkIndex(t, ev)
			}
		}
	}
	data, err := samples.FS.ReadFile("auth/mixed.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := Parse(samples.Fresh(data, time.Now()), FormatNDJSON, DefaultLimits, Stamper{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		checkIndex(t, ev)
	}
	// An event Parse did not make is walked.
	checkIndexless := Event{Raw: []byte(`{"a":1}`)}
	n := 0
	checkIndexless.Members(func(k, v []byte) bool { n++; return true })
	if n != 1 {
		t.Fatalf("an event without an index shows %d members", n)
	}
}

// Parse allocates a few times per event, not per field (issue 15: at most
// 3): every event's bytes go into one arena, its stamped fields too.
// Events stay independent: each is capped, so appending to one reallocates
// it rather than writing into the next.
func TestParseAllocatesLittlePerEvent(t *testing.T) {
	var b strings.Builder
	for i := range 1000 {
		if i%2 == 0 {
			fmt.Fprintf(&b, `{ "event_id" : "e%04d", "timestamp":"2026-11-24T10:00:00Z", "type" : "user.login" }`+"\n", i)
		} else {
			fmt.Fprintf(&b, `{"type":"user.logout","n":%d}`+"\n", i)
		}
	}
	body := []byte(b.String())
	lim := DefaultLimits
	lim.Window = Window{MaxAge: 100 * 365 * 24 * time.Hour, MaxAhead: time.Hour}
	per := testing.AllocsPerRun(5, func() {
		if _, err := Parse(body, FormatNDJSON, lim, Stamper{NewID: func() string { return "fixed-id" }}); err != nil {
			t.Fatal(err)
		}
	}) / 1000
	if per > 3 {
		t.Errorf("Parse allocates %.1f times per event, want at most 3", per)
	}
	evs, err := Parse(body, FormatNDJSON, lim, Stamper{})
	if err != nil {
		t.Fatal(err)
	}
	before := string(evs[1].Raw)
	_ = append(evs[0].Raw, `,"x":1}`...)
	if string(evs[1].Raw) != before || cap(evs[0].Raw) != len(evs[0].Raw) {
		t.Fatalf("appending to one event wrote into the next: %s", evs[1].Raw)
	}
}

// TestParseStampsInTheRoomBeforeEachEvent: the stamped fields are written in
// front of each compacted event, or into a copy when they do not fit (a long
// vendor id), in both formats, and every event is whole and indexed.
func TestParseStampsInTheRoomBeforeEachEvent(t *testing.T) {
	long := strings.Repeat("L", maxIDLength)
	events := []string{
		`{}`,
		`{ "a" : [1, {"b":2}] }`,
		`{"log_id":"` + long + `","date":"2026-11-24T10:00:00Z","x":1}`, // over stampRoom: copied
		`{"log_id":"` + long + `","date":"2026-11-24T10:00:00Z"}`,
		`{"uuid":"okta-1","published":"2026-11-24T10:00:00.123Z","eventType":"user.session.start"}`,
		`{"event_id":"own","timestamp":"2026-11-24T10:00:00Z"}`, // nothing stamped
		`{"event_id":"own2"}`,
	}
	now := time.Date(2026, 11, 24, 10, 0, 1, 0, time.UTC)
	st := Stamper{Now: func() time.Time { return now }, NewID: func() string { return "new-id" }}
	want := []string{
		`{"event_id":"new-id","timestamp":"2026-11-24T10:00:01Z"}`,
		`{"event_id":"new-id","timestamp":"2026-11-24T10:00:01Z","a":[1,{"b":2}]}`,
		`{"event_id":"` + long + `","timestamp":"2026-11-24T10:00:00Z","log_id":"` + long + `","date":"2026-11-24T10:00:00Z","x":1}`,
		`{"event_id":"` + long + `","timestamp":"2026-11-24T10:00:00Z","log_id":"` + long + `","date":"2026-11-24T10:00:00Z"}`,
		`{"event_id":"okta-1","timestamp":"2026-11-24T10:00:00.123Z","uuid":"okta-1","published":"2026-11-24T10:00:00.123Z","eventType":"user.session.start"}`,
		`{"event_id":"own","timestamp":"2026-11-24T10:00:00Z"}`,
		`{"timestamp":"2026-11-24T10:00:01Z","event_id":"own2"}`,
	}
	bodies := map[string][]byte{
		"ndjson": []byte(strings.Join(events, "\n")),
		"array":  []byte("[ " + strings.Join(events, " ,\n") + " ]"),
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			evs, err := Parse(body, FormatSniff, DefaultLimits, st)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != len(want) {
				t.Fatalf("%d events, want %d", len(evs), len(want))
			}
			for i, ev := range evs {
				if string(ev.Raw) != want[i] {
					t.Errorf("event %d:\n got %s\nwant %s", i, ev.Raw, want[i])
				}
				if cap(ev.Raw) != len(ev.Raw) {
					t.Errorf("event %d: Raw is not capped", i)
				}
				checkIndex(t, ev)
			}
		})
	}
}
