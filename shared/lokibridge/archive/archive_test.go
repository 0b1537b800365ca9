package archive

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/lokipush/pushtest"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

var t0 = time.Date(2026, 11, 24, 7, 59, 59, 123456789, time.UTC)

// goldenRequest has what the format must get right: labels and metadata in
// no particular order, JSON object and array lines (one spread over several
// lines), lines that only look like JSON, escapes, invalid UTF-8, an entry
// without metadata, and the earliest entry in the second stream.
func goldenRequest() *lokipush.Request {
	return &lokipush.Request{Streams: []lokipush.Stream{
		{Labels: map[string]string{"service_name": "api", "env": "prod", "app": "auth"}, Entries: []lokipush.Entry{
			{Time: t0.Add(2 * time.Hour), Line: `{"level":"info","msg":"login","user":{"id":42,"big":12345678901234567890}}`,
				Metadata: []lokipush.Label{{Name: "trace_id", Value: "4bf92f3577b34da6a3ce929d0e0e4736"}, {Name: "span_id", Value: "00f067aa0ba902b7"}}},
			{Time: t0.Add(2*time.Hour + time.Nanosecond), Line: "{\n  \"pretty\": true,\n  \"list\": [1, 2]\n}\n"},
			{Time: t0.Add(2 * time.Hour), Line: `[1,"two",{"three":3}]`},
			{Time: t0.Add(3 * time.Hour), Line: `plain text with "quotes", a tab	and <html> & ünïcödé`},
		}},
		{Labels: map[string]string{"job": "promtail", "filename": "/var/log/app.log"}, Entries: []lokipush.Entry{
			{Time: t0, Line: `{"not": json}`, Metadata: []lokipush.Label{}},
			{Time: t0.Add(time.Second), Line: "dup", Metadata: []lokipush.Label{{Name: "k", Value: "first"}, {Name: "a", Value: "1"}, {Name: "k", Value: "last"}}},
			{Time: t0.Add(time.Second), Line: "{\"bad\":\"\xff\"}"},
			{Time: t0.In(time.FixedZone("CET", 3600)).Add(time.Millisecond), Line: "42"},
			{Time: t0.Add(time.Minute), Line: ""},
			{Time: t0.Add(time.Minute), Line: "multi\nline\r\n\x00end"},
		}},
	}}
}

func TestEncodeGolden(t *testing.T) {
	obj, err := Encode("acme", goldenRequest())
	if err != nil {
		t.Fatal(err)
	}
	records := gunzip(t, obj.Body)
	sinktest.Golden(t, "records", records)
	if obj.Records != 10 || obj.RawBytes != len(records) {
		t.Errorf("Records, RawBytes = %d, %d; want 10, %d", obj.Records, obj.RawBytes, len(records))
	}
	// The earliest entry is at 07:59:59.123 on the 24th, in the second stream.
	if want := regexp.MustCompile(`^tenant=acme/dt=2026-11-24/hour=07/[0-9a-f]{32}\.ndjson\.gz$`); !want.MatchString(obj.Key) {
		t.Errorf("key %q does not match %s", obj.Key, want)
	}
	for i, line := range bytes.Split(bytes.TrimSuffix(records, []byte("\n")), []byte("\n")) {
		if !json.Valid(line) {
			t.Errorf("record %d is not valid JSON: %s", i, line)
		}
	}
}

// TestEncodeDeterministic: the same push gives the same key and bytes,
// whatever order its maps iterate in, and any change in content a new key.
func TestEncodeDeterministic(t *testing.T) {
	first, err := Encode("acme", goldenRequest())
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, _ := Encode("acme", goldenRequest())
		if again.Key != first.Key || !bytes.Equal(again.Body, first.Body) {
			t.Fatalf("same push, different object: %s vs %s", again.Key, first.Key)
		}
	}
	changes := map[string]func(r *lokipush.Request){
		"line":     func(r *lokipush.Request) { r.Streams[0].Entries[3].Line += "!" },
		"time":     func(r *lokipush.Request) { r.Streams[0].Entries[3].Time = r.Streams[0].Entries[3].Time.Add(1) },
		"label":    func(r *lokipush.Request) { r.Streams[1].Labels["job"] = "alloy" },
		"metadata": func(r *lokipush.Request) { r.Streams[0].Entries[0].Metadata[1].Value = "x" },
		"order": func(r *lokipush.Request) {
			e := r.Streams[1].Entries
			e[3], e[4] = e[4], e[3]
		},
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			r := goldenRequest()
			change(r)
			obj, err := Encode("acme", r)
			if err != nil {
				t.Fatal(err)
			}
			if obj.Key == first.Key {
				t.Errorf("a different push has the same key %s", obj.Key)
			}
		})
	}
	other, _ := Encode("other-tenant", goldenRequest())
	if strings.TrimPrefix(other.Key, "tenant=other-tenant/") != strings.TrimPrefix(first.Key, "tenant=acme/") {
		t.Errorf("the tenant changes more than the key's partition: %s vs %s", other.Key, first.Key)
	}
}

// TestEncodeSameKeyAcrossEncodings: a client that retries a push in another
// encoding overwrites the first object. The bodies are what the repository's
// own Loki sender writes, parsed as the bridge parses them.
func TestEncodeSameKeyAcrossEncodings(t *testing.T) {
	bodies := pushBodies(t, sinktest.Corpus(t, 500))
	var want Object
	for _, b := range bodies {
		req, err := lokipush.Parse(bytes.NewReader(b.Body), b.ContentType, b.ContentEncoding, lokipush.Limits{})
		if err != nil {
			t.Fatalf("%s: %v", b.Name, err)
		}
		obj, err := Encode("acme", req)
		if err != nil {
			t.Fatal(err)
		}
		if obj.Records != 500 {
			t.Fatalf("%s: %d records", b.Name, obj.Records)
		}
		if want.Key == "" {
			want = obj
			continue
		}
		if obj.Key != want.Key {
			t.Errorf("%s: key %s, %s gave %s", b.Name, obj.Key, bodies[0].Name, want.Key)
		}
		if !bytes.Equal(gunzip(t, obj.Body), gunzip(t, want.Body)) {
			t.Errorf("%s: records differ from %s's", b.Name, bodies[0].Name)
		}
	}
}

func TestEncodeEmpty(t *testing.T) {
	for name, req := range map[string]*lokipush.Request{
		"no streams":       {},
		"no entries":       {Streams: []lokipush.Stream{{Labels: map[string]string{"a": "b"}}}},
		"streams no lines": {Streams: []lokipush.Stream{{Labels: map[string]string{"a": "b"}}, {}}},
	} {
		obj, err := Encode("acme", req)
		if err != nil || obj.Records != 0 || obj.Key != "" || obj.Body != nil {
			t.Errorf("%s: %+v, %v; want nothing to store", name, obj, err)
		}
	}
}

func TestEncodeRefusesInvalidTenant(t *testing.T) {
	_, err := Encode("../other", goldenRequest())
	if !errors.Is(err, ErrInvalidTenant) {
		t.Fatalf("err = %v, want ErrInvalidTenant", err)
	}
}

func TestValidateTenant(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"acme", true},
		{"a", true},
		{"Tenant_1-prod.eu", true},
		{"!-_.*'()", true},
		{"...", true},
		{".a", true},
		{strings.Repeat("x", 150), true},
		{"", false},
		{".", false},
		{"..", false},
		{strings.Repeat("x", 151), false},
		{"a/b", false},
		{"../b", false},
		{"a b", false},
		{"a|b", false}, // Loki's separator of several tenants, for queries
		{"a=b", false},
		{"tenant\n", false},
		{"ünï", false},
		{"a%2Fb", false},
	}
	for _, tc := range tests {
		err := ValidateTenant(tc.id)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateTenant(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidTenant) {
			t.Errorf("ValidateTenant(%q) = %v, not ErrInvalidTenant", tc.id, err)
		}
	}
}

// FuzzEncode: whatever a push carries, every record is one valid JSON line
// that gives the entry back: the line itself (or, for a JSON line, the same
// JSON value), its labels and its metadata.
func FuzzEncode(f *testing.F) {
	f.Add(`{"a":1}`, "job", "x", "k", "v", int64(0))
	f.Add("[1,\n2]", "a\"b", "\n", "", "", int64(-1))
	f.Add("plain\x00\x1f", "", "", "meta", "\u2028", int64(1<<62))
	f.Add("{\"a\":\"\xff\"}", "l", "\xfe", "m", "\xc3", int64(1e18))
	f.Fuzz(func(t *testing.T, line, label, value, metaKey, metaValue string, ns int64) {
		entry := lokipush.Entry{Time: time.Unix(0, ns), Line: line}
		if metaKey != "" {
			entry.Metadata = []lokipush.Label{{Name: metaKey, Value: metaValue}}
		}
		req := &lokipush.Request{Streams: []lokipush.Stream{{Labels: map[string]string{label: value}, Entries: []lokipush.Entry{entry}}}}
		obj, err := Encode("t", req)
		if err != nil {
			t.Fatal(err)
		}
		records := gunzip(t, obj.Body)
		if bytes.Count(records, []byte("\n")) != 1 || records[len(records)-1] != '\n' {
			t.Fatalf("not one NDJSON line: %q", records)
		}
		var rec struct {
			Timestamp time.Time         `json:"timestamp"`
			Labels    map[string]string `json:"labels"`
			Line      json.RawMessage   `json:"line"`
			Metadata  map[string]string `json:"metadata"`
		}
		if err := json.Unmarshal(records, &rec); err != nil {
			t.Fatalf("record %q: %v", records, err)
		}
		if !rec.Timestamp.Equal(entry.Time) {
			t.Errorf("timestamp %v, want %v", rec.Timestamp, entry.Time)
		}
		if !utf8Clean(line, label, value, metaKey, metaValue) {
			return // replaced with U+FFFD, as encoding/json does
		}
		if rec.Labels[label] != value || len(rec.Labels) != 1 {
			t.Errorf("labels %v", rec.Labels)
		}
		if metaKey != "" && (rec.Metadata[metaKey] != metaValue || len(rec.Metadata) != 1) {
			t.Errorf("metadata %v", rec.Metadata)
		}
		if rec.Line[0] == '"' {
			var s string
			if err := json.Unmarshal(rec.Line, &s); err != nil || s != line {
				t.Errorf("line %q, want %q", s, line)
			}
			return
		}
		var got, want any
		if json.Unmarshal(rec.Line, &got) != nil || json.Unmarshal([]byte(line), &want) != nil {
			t.Fatalf("line %s embedded as JSON from %q", rec.Line, line)
		}
	})
}

func utf8Clean(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// pushBodies is the same push of evs in every form Loki accepts.
func pushBodies(tb testing.TB, evs []json.RawMessage) []pushtest.Body {
	return pushtest.Bodies(tb, evs, t0)
}

var gunzip = pushtest.Gunzip
