package datadog

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

var testEnvelope = newEnvelope(&destination.DatadogConfig{Service: "svc", Source: "src", Tags: []string{"env:prod", "team:sec"}})

func encodeOne(t testing.TB, ev string) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	dropped, err := encode(&buf, []json.RawMessage{json.RawMessage(ev)}, testEnvelope, now)
	if err != nil || dropped != nil {
		t.Fatalf("encode(%s) = %v, %v", ev, dropped, err)
	}
	var out []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil || len(out) != 1 {
		t.Fatalf("encode(%s) wrote %s: %v", ev, buf.Bytes(), err)
	}
	return out[0]
}

// The envelope fills in what the event leaves out, never repeating a name.
func TestEnvelope(t *testing.T) {
	env := map[string]any{"ddsource": "src", "service": "svc", "ddtags": "env:prod,team:sec", "hostname": "logstream"}
	with := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range env {
			out[k] = v
		}
		for k, v := range m {
			if v == nil {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	tests := []struct {
		name, event string
		want        map[string]any
	}{
		{"empty object", `{}`, with(map[string]any{"message": ""})},
		{"spaces", " { \"a\" : 1 ,\n\"b\":[ 1, {\"c\":\"}\"} ] } \n", with(map[string]any{"message": "", "a": 1.0, "b": []any{1.0, map[string]any{"c": "}"}}})},
		{"own reserved fields win", `{"ddsource":"okta","service":"idp","ddtags":"x:y","host":"h1","message":"hi"}`,
			map[string]any{"ddsource": "okta", "service": "idp", "ddtags": "x:y", "host": "h1", "message": "hi"}},
		{"own hostname", `{"hostname":"acme-prod.us.auth0.com"}`, with(map[string]any{"hostname": "acme-prod.us.auth0.com", "message": ""})},
		{"escaped name", `{"ho\u0073t":"h2"}`, with(map[string]any{"hostname": nil, "host": "h2", "message": ""})},
		{"summary: okta first", `{"action":"A","description":"D","displayMessage":"M"}`,
			with(map[string]any{"message": "M", "action": "A", "description": "D", "displayMessage": "M"})},
		{"summary: auth0 over stytch", `{"action":"A","description":"D"}`, with(map[string]any{"message": "D", "action": "A", "description": "D"})},
		{"summary: only strings", `{"description":{"x":1},"action":"A"}`,
			with(map[string]any{"message": "A", "action": "A", "description": map[string]any{"x": 1.0}})},
		{"summary: not too long", `{"description":"` + strings.Repeat("d", maxSummaryBytes) + `"}`,
			with(map[string]any{"message": "", "description": strings.Repeat("d", maxSummaryBytes)})},
		{"nested names are not reserved", `{"a":{"service":"x","message":"y"}}`,
			with(map[string]any{"message": "", "a": map[string]any{"service": "x", "message": "y"}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := encodeOne(t, tc.event); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

// topLevel is the obviously correct, slow oracle for scan: the event's
// top-level members by encoding/json, the first value of each name.
func topLevel(data []byte) (map[string]json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	m := map[string]json.RawMessage{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		if _, ok := m[k.(string)]; !ok {
			m[k.(string)] = v
		}
	}
	return m, true
}

func FuzzEncode(f *testing.F) {
	for _, ev := range sinktest.Corpus(f, 8) {
		f.Add([]byte(ev))
	}
	for _, s := range []string{`{}`, ` { } `, `{"a":1}`, `{"message":null,"host":1}`, `{"ho\u0073t":"x","de\"sc":"y"}`,
		`{"a":"\\","b":[{"c":"]"}],"description":"d"}`, `{"timestamp":"2020-01-01T00:00:00Z"}`, `{"a":`, `[]`, `"x"`,
		`{"a":1}{"b":2}`, `{"a" 1}`, `{"a":tru}`, `{"a":"\u00e9"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var buf bytes.Buffer
		dropped, err := encode(&buf, []json.RawMessage{data}, testEnvelope, now)
		if !json.Valid(data) {
			return // anything but a panic; Datadog's 400 isolates what scan let through
		}
		members, isObject := topLevel(data)
		if !isObject {
			if err == nil {
				t.Fatalf("encode accepted a non-object: %s", data)
			}
			return
		}
		if err != nil {
			t.Fatalf("encode(%s): %v", data, err)
		}
		if dropped != nil {
			return
		}
		var out []map[string]json.RawMessage
		if err := json.Unmarshal(buf.Bytes(), &out); err != nil || len(out) != 1 {
			t.Fatalf("encode(%s) wrote invalid JSON %s: %v", data, buf.Bytes(), err)
		}
		var event map[string]json.RawMessage // last value of each name, like out's
		if err := json.Unmarshal(data, &event); err != nil {
			t.Fatal(err)
		}
		got := out[0]
		for k, v := range event {
			if !bytes.Equal(compact(got[k]), compact(v)) {
				t.Fatalf("%s = %s, want the event's %s", k, got[k], v)
			}
		}
		_, host := members["host"]
		_, hostname := members["hostname"]
		added := map[string]bool{"ddsource": true, "service": true, "ddtags": true, "hostname": !host && !hostname, "message": true}
		for k, v := range got {
			if _, own := members[k]; own {
				continue
			}
			if !added[k] {
				t.Fatalf("unexpected member %s: %s", k, v)
			}
			var s string
			if json.Unmarshal(v, &s) != nil {
				t.Fatalf("%s is not a string: %s", k, v)
			}
		}
		if len(got) != len(event)+countMissing(members, added) {
			t.Fatalf("%d members, event has %d: %s", len(got), len(event), buf.Bytes())
		}
	})
}

func countMissing(members map[string]json.RawMessage, added map[string]bool) int {
	n := 0
	for k, add := range added {
		if _, own := members[k]; add && !own {
			n++
		}
	}
	return n
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

func BenchmarkEncode(b *testing.B) {
	evs := sinktest.Corpus(b, 1000)
	env := newEnvelope(&destination.DatadogConfig{Tags: []string{"env:prod", "team:security"}})
	b.Run("json", func(b *testing.B) {
		var raw bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			raw.Reset()
			if _, err := encode(&raw, evs, env, now); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(raw.Len()))
		sinktest.ReportPerEvent(b, len(evs), raw.Len())
	})
	b.Run("json+gzip", func(b *testing.B) {
		var raw, gz bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			raw.Reset()
			gz.Reset()
			if _, err := encode(&raw, evs, env, now); err != nil {
				b.Fatal(err)
			}
			sink.Gzip(&gz, raw.Bytes())
		}
		b.SetBytes(int64(raw.Len()))
		sinktest.ReportPerEvent(b, len(evs), gz.Len())
	})
	b.Run("gzip-floor", func(b *testing.B) { sinktest.BenchmarkGzipFloor(b, evs) })
}
