package splunk

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

func TestTimestamps(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" = no time
	}{
		{"2026-11-24T07:32:11.793Z", "1795505531.793"},
		{"2024-11-24T07:32:11.793Z", "1732433531.793"},
		{"2026-11-24T07:32:11Z", "1795505531.000"},
		{"2026-11-24T07:32:11.5Z", "1795505531.500"},
		{"2026-11-24T07:32:11.123456789Z", "1795505531.123"},
		{"2026-11-24T08:32:11.793+01:00", "1795505531.793"},
		{"2026-11-24t07:32:11.793z", ""}, // time.Parse wants the upper case
		{"1970-01-01T00:00:00Z", "0.000"},
		{"1969-12-31T23:59:59.999Z", ""},
		{"2026-02-30T00:00:00Z", ""},
		{"2026-13-01T00:00:00Z", ""},
		{"2026-11-24T24:00:00Z", ""},
		{"2026-11-24T07:32:11.Z", ""},
		{"2026-11-24T07:32:11.1234567890Z", "1795505531.123"}, // RFC 3339 sets no limit on digits
		{"2026-11-24 07:32:11Z", ""},
		{"yesterday", ""},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			ts, ok := parseTimestamp([]byte(tc.in))
			got := ""
			if ok {
				got = string(appendEpoch(nil, ts))
			}
			if got != tc.want {
				t.Fatalf("%q → %q, want %q", tc.in, got, tc.want)
			}
			if std, err := time.Parse(time.RFC3339Nano, tc.in); ok && !std.Equal(ts) {
				t.Fatalf("%q → %v, time.Parse says %v (%v)", tc.in, ts, std, err)
			}
		})
	}
}

func TestTopLevelString(t *testing.T) {
	tests := []struct {
		name, in, val string
		found, ok     bool
	}{
		{"plain", `{"event_id":"a","timestamp":"T"}`, "T", true, true},
		{"first member", `{"timestamp":"T","x":1}`, "T", true, true},
		{"spaces", " {\n \"a\" : [1, {\"timestamp\":\"no\"}] ,\t\"timestamp\" : \"T\" } ", "T", true, true},
		{"nested only", `{"a":{"timestamp":"no"},"b":["timestamp","no"]}`, "", false, true},
		{"in a string", `{"a":"\"timestamp\":\"no\"","b":"}{"}`, "", false, true},
		{"not a string", `{"timestamp":17}`, "", false, true},
		{"escaped key", `{"time\u0073tamp":"T"}`, "", false, true},
		{"escapes kept", `{"timestamp":"a\"b"}`, `a\"b`, true, true},
		{"empty object", `{}`, "", false, true},
		{"literals", `{"a":true,"b":null,"c":-1.5e3,"timestamp":"T"}`, "T", true, true},
		{"array", `[{"timestamp":"T"}]`, "", false, false},
		{"string", `"timestamp"`, "", false, false},
		{"empty", ``, "", false, false},
		{"cut in a string", `{"event_id":"cut`, "", false, false},
		{"cut in an object", `{"a":{"b":1}`, "", false, false},
		{"mismatched brackets", `{"a":[1}]}`, "", false, false},
		{"trailing data", `{"a":1}{"b":2}`, "", false, false},
		{"missing colon", `{"a" 1}`, "", false, false},
		{"missing value", `{"a":}`, "", false, false},
		{"trailing comma", `{"a":1,}`, "", false, false},
		{"unquoted key", `{a:1}`, "", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			val, ok := topLevelString([]byte(tc.in), "timestamp")
			if ok != tc.ok || (val != nil) != tc.found || string(val) != tc.val {
				t.Fatalf("%s → %q found=%v ok=%v, want %q found=%v ok=%v", tc.in, val, val != nil, ok, tc.val, tc.found, tc.ok)
			}
		})
	}
}

// FuzzTopLevelString checks the scanner against encoding/json: every valid
// object is accepted, and the top-level "timestamp" string it finds is the
// one encoding/json finds.
func FuzzTopLevelString(f *testing.F) {
	for _, ev := range sinktest.Corpus(f, 8) {
		f.Add([]byte(ev))
	}
	for _, s := range []string{`{}`, `{"timestamp":"a\"b","x":[{"timestamp":1}]}`, `{"a":"}"}`, `[1]`, `{"a":`, `{"a":1}x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		val, ok := topLevelString(in, "timestamp")
		var obj map[string]json.RawMessage
		if json.Unmarshal(in, &obj) != nil || bytes.TrimSpace(in)[0] != '{' {
			return // invalid JSON may pass the structural walk; HEC then refuses it (code 6)
		}
		if !ok {
			t.Fatalf("valid object %q refused", in)
		}
		raw, has := obj["timestamp"]
		if !has || raw[0] != '"' {
			if val != nil {
				t.Fatalf("%q: found %q, encoding/json finds no timestamp string", in, val)
			}
			return
		}
		if bytes.Count(in, []byte(`"timestamp"`)) == 1 && string(raw[1:len(raw)-1]) != string(val) {
			t.Fatalf("%q: found %q, encoding/json finds %s", in, val, raw)
		}
	})
}

func TestEncodeIsValidHEC(t *testing.T) {
	evs := sinktest.Corpus(t, 50)
	body, failed := Encode(nil, Metadata(&destination.SplunkHECConfig{Index: "main"}), evs)
	if failed != nil {
		t.Fatal(failed)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for i := range evs {
		var e struct {
			Time  float64         `json:"time"`
			Index string          `json:"index"`
			Event json.RawMessage `json:"event"`
		}
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("envelope %d: %v", i, err)
		}
		if e.Time <= 0 || e.Index != "main" || !bytes.Equal(e.Event, evs[i]) {
			t.Fatalf("envelope %d: %+v", i, e)
		}
	}
	if bytes.Count(body, []byte("\n")) != len(evs) {
		t.Fatal("envelopes are not newline-terminated")
	}
}

func TestEncodeAllocations(t *testing.T) {
	evs := sinktest.Corpus(t, 200)
	meta := Metadata(&destination.SplunkHECConfig{})
	buf := make([]byte, 0, 1<<20)
	allocs := testing.AllocsPerRun(20, func() { Encode(buf[:0], meta, evs) })
	if allocs != 0 {
		t.Fatalf("Encode made %v allocations for %d events into a big enough buffer", allocs, len(evs))
	}
}

func BenchmarkEncode(b *testing.B) {
	evs := sinktest.Corpus(b, 1000)
	n := 0
	for _, e := range evs {
		n += len(e)
	}
	meta := Metadata(&destination.SplunkHECConfig{Index: "auth"})
	b.Run("envelopes", func(b *testing.B) {
		var body []byte
		b.ReportAllocs()
		b.SetBytes(int64(n))
		for b.Loop() {
			body, _ = Encode(body[:0], meta, evs)
		}
		sinktest.ReportPerEvent(b, len(evs), len(body))
	})
	b.Run("envelopes+gzip", func(b *testing.B) {
		var body []byte
		var gz bytes.Buffer
		b.ReportAllocs()
		b.SetBytes(int64(n))
		for b.Loop() {
			body, _ = Encode(body[:0], meta, evs)
			gz.Reset()
			sink.Gzip(&gz, body)
		}
		sinktest.ReportPerEvent(b, len(evs), gz.Len())
	})
	b.Run("gzip-floor", func(b *testing.B) { sinktest.BenchmarkGzipFloor(b, evs) })
}
