package jsonobj_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/shared/jsonobj"
)

// member is one top-level member: its name decoded, its value as written.
type member struct{ key, value string }

// decoded is the slow, obviously correct oracle for Members: the top-level
// members of data by encoding/json, or ok false when data is not one valid
// JSON object.
func decoded(data []byte) (ms []member, ok bool) {
	if !json.Valid(data) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			panic(err) // json.Valid has checked data
		}
		var v json.RawMessage // the value's bytes as written
		if err := dec.Decode(&v); err != nil {
			panic(err)
		}
		ms = append(ms, member{k.(string), string(v)})
	}
	return ms, true
}

// scanned is what Members reports, keys decoded the way encoding/json
// decodes them (invalid UTF-8 replaced), so that only the bounds of the key
// are under test here; Unescape is checked on its own.
func scanned(t *testing.T, data []byte) ([]member, error) {
	t.Helper()
	var ms []member
	err := jsonobj.Members(data, func(key, value []byte) bool {
		var k string
		if err := json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &k); err != nil {
			k = "\x00undecodable:" + string(key)
		}
		ms = append(ms, member{k, string(value)})
		return true
	})
	return ms, err
}

func TestMembers(t *testing.T) {
	tests := []struct {
		name, in string
		want     []member // nil with ok false: ErrNotObject
		ok       bool
	}{
		{"empty", `{}`, nil, true},
		{"empty with spaces", " \t{ \r\n} \n", nil, true},
		{"compact", `{"a":1,"b":"x","c":null}`, []member{{"a", "1"}, {"b", `"x"`}, {"c", "null"}}, true},
		{"spaces", " { \"a\" : [ 1, {\"c\":\"}\"} ] ,\n\"b\"\t:\ttrue } ", []member{{"a", `[ 1, {"c":"}"} ]`}, {"b", "true"}}, true},
		{"nested names", `{"a":{"event_id":"n"},"b":[1,{"timestamp":2}],"event_id":"x"}`,
			[]member{{"a", `{"event_id":"n"}`}, {"b", `[1,{"timestamp":2}]`}, {"event_id", `"x"`}}, true},
		{"quotes and brackets in strings", `{"s":"q\"uote,}]","k\"e}y":"\\","t":"\\\""}`,
			[]member{{"s", `"q\"uote,}]"`}, {`k"e}y`, `"\\"`}, {"t", `"\\\""`}}, true},
		{"escaped name", `{"ev\u0065nt_id":"e"}`, []member{{"event_id", `"e"`}}, true},
		{"repeated name", `{"a":1,"a":2}`, []member{{"a", "1"}, {"a", "2"}}, true},
		{"numbers", `{"n":-1.5e+3,"z":0}`, []member{{"n", "-1.5e+3"}, {"z", "0"}}, true},
		{"deep", `{"d":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
			[]member{{"d", strings.Repeat("[", 100) + strings.Repeat("]", 100)}}, true},

		{"nothing", ``, nil, false},
		{"spaces only", `  `, nil, false},
		{"array", `[{"a":1}]`, nil, false},
		{"string", `"a"`, nil, false},
		{"cut before the brace closes", `{"a":1`, nil, false},
		{"cut in a name", `{"a`, nil, false},
		{"cut in a string", `{"a":"cut`, nil, false},
		{"cut in a nested object", `{"a":{"b":1}`, nil, false},
		{"mismatched brackets", `{"a":[1}]}`, nil, false},
		{"closed too often", `{"a":[1]]}`, nil, false},
		{"trailing data", `{"a":1}{"b":2}`, nil, false},
		{"trailing comma", `{"a":1,}`, nil, false},
		{"leading comma", `{,"a":1}`, nil, false},
		{"double comma", `{"a":1,,"b":2}`, nil, false},
		{"missing colon", `{"a" 1}`, nil, false},
		{"double colon", `{"a"::1}`, nil, false},
		{"missing value", `{"a":}`, nil, false},
		{"missing comma", `{"a":1 "b":2}`, nil, false},
		{"two literals", `{"a":1 2}`, nil, false},
		{"literal runs into a string", `{"a":1"b"}`, nil, false},
		{"unquoted name", `{a:1}`, nil, false},
		{"single quotes", `{'a':1}`, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scanned(t, []byte(tc.in))
			if !tc.ok {
				if err == nil {
					t.Fatalf("%q accepted with %v", tc.in, got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("%q → %v, %v; want %v", tc.in, got, err, tc.want)
			}
			if want, _ := decoded([]byte(tc.in)); !slices.Equal(got, want) {
				t.Fatalf("%q → %v; encoding/json finds %v", tc.in, got, want)
			}
		})
	}
}

func TestMembersStops(t *testing.T) {
	var keys []string
	err := jsonobj.Members([]byte(`{"a":1,"b":2,"c":3} trailing data is not looked at`), func(key, _ []byte) bool {
		keys = append(keys, string(key))
		return string(key) != "b"
	})
	if err != nil || !slices.Equal(keys, []string{"a", "b"}) {
		t.Fatalf("saw %v, %v; want a and b, then stop", keys, err)
	}
}

func TestElements(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{`[]`, nil, true},
		{` [ ] `, nil, true},
		{`[{"a":1},{"b":[2,"]"]}]`, []string{`{"a":1}`, `{"b":[2,"]"]}`}, true},
		{`[1, "x" ,null,[]]`, []string{"1", `"x"`, "null", "[]"}, true},
		{`[`, nil, false},
		{`[1,]`, nil, false},
		{`[,1]`, nil, false},
		{`[1 2]`, nil, false},
		{`[{]`, nil, false},
		{`[1]]`, nil, false},
		{`{"a":1}`, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var got []string
			err := jsonobj.Elements([]byte(tc.in), func(v []byte) bool {
				got = append(got, string(v))
				return true
			})
			if (err == nil) != tc.ok || (tc.ok && !slices.Equal(got, tc.want)) {
				t.Fatalf("%s → %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestGetAndText(t *testing.T) {
	tests := []struct {
		name, obj, key string
		raw, text      string
		isString       bool
	}{
		{"plain", `{"event_id":"e1","x":1}`, "event_id", `"e1"`, "e1", true},
		{"escaped value", `{"event_id":"a\u0041\"b\/"}`, "event_id", `"a\u0041\"b\/"`, `aA"b/`, true},
		{"escaped name", `{"ev\u0065nt_id":"e2"}`, "event_id", `"e2"`, "e2", true},
		{"last of repeated names", `{"event_id":"a","event_id":"b"}`, "event_id", `"b"`, "b", true},
		{"not a string", `{"event_id":7}`, "event_id", "7", "", false},
		{"names match exactly", `{"EVENT_ID":"x"}`, "event_id", "", "", false},
		{"nested only", `{"a":{"event_id":"n"}}`, "event_id", "", "", false},
		{"absent", `{}`, "event_id", "", "", false},
		{"not an object", `["event_id","x"]`, "event_id", "", "", false},
		{"broken after the member", `{"event_id":"x",}`, "event_id", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := jsonobj.Get([]byte(tc.obj), tc.key)
			text, ok := jsonobj.Text(raw)
			if string(raw) != tc.raw || ok != tc.isString || string(text) != tc.text {
				t.Fatalf("Get → %q, Text → %q %v; want %q, %q %v", raw, text, ok, tc.raw, tc.text, tc.isString)
			}
		})
	}
}

func TestUnescape(t *testing.T) {
	for _, s := range []string{``, `plain`, `\"`, `\\`, `\/`, `\b\f\n\r\t`, `\u00e9\u20AC`, `\ud83d\ude00`, `\ud800`, `é`} {
		var want string
		if err := json.Unmarshal([]byte(`"`+s+`"`), &want); err != nil {
			t.Fatal(err)
		}
		if got, ok := jsonobj.Unescape([]byte(s)); !ok || string(got) != want {
			t.Errorf("Unescape(%q) = %q, %v; want %q", s, got, ok, want)
		}
	}
	for _, s := range []string{`\`, `\x41`, `\u12`, `\u12G4`, `a\`} {
		if got, ok := jsonobj.Unescape([]byte(s)); ok {
			t.Errorf("Unescape(%q) = %q, want an error", s, got)
		}
	}
}

// FuzzMembers checks Members, Get, Text and Elements against encoding/json:
// every valid object is accepted with the members encoding/json finds, and
// nothing makes them panic. The seed corpus in testdata/fuzz/FuzzMembers
// merges the seeds of the scanners this package replaced.
func FuzzMembers(f *testing.F) {
	for _, ev := range authEvents(f) {
		f.Add(ev)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := scanned(t, data)
		for _, m := range got {
			if !bytes.Contains(data, []byte(m.value)) {
				t.Fatalf("value %q is not part of %q", m.value, data)
			}
		}
		checkElements(t, data)
		want, ok := decoded(data)
		if !ok {
			return // anything but a panic: Members checks structure, not grammar
		}
		if err != nil {
			t.Fatalf("valid object %q refused: %v", data, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%q: Members finds %q, encoding/json %q", data, got, want)
		}
		if jsonobj.Open(data) < 0 || data[jsonobj.Open(data)] != '{' || !jsonobj.IsObject(data) {
			t.Fatalf("%q: Open %d, IsObject %v", data, jsonobj.Open(data), jsonobj.IsObject(data))
		}
		var last map[string]json.RawMessage // the last value of each name, as Get reads it
		if err := json.Unmarshal(data, &last); err != nil {
			t.Fatal(err)
		}
		for name, raw := range last {
			if !utf8.Valid(data) {
				break // encoding/json replaced bytes of a name; Get compares names as written
			}
			if got := jsonobj.Get(data, name); !bytes.Equal(got, raw) {
				t.Fatalf("%q: Get(%q) = %q, encoding/json %q", data, name, got, raw)
			}
			text, ok := jsonobj.Text(raw)
			if raw[0] != '"' {
				if ok {
					t.Fatalf("Text(%q) took a non-string", raw)
				}
				continue
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
			if !ok || string(text) != s {
				t.Fatalf("Text(%q) = %q, %v; encoding/json %q", raw, text, ok, s)
			}
		}
		i := 0 // Unescape decodes each name as encoding/json does
		_ = jsonobj.Members(data, func(key, _ []byte) bool {
			if k, ok := jsonobj.Unescape(key); utf8.Valid(key) && (!ok || string(k) != want[i].key) {
				t.Fatalf("Unescape(%q) = %q, %v; encoding/json %q", key, k, ok, want[i].key)
			}
			i++
			return true
		})
	})
}

// checkElements holds Elements to encoding/json on the array [data].
func checkElements(t *testing.T, data []byte) {
	t.Helper()
	arr := append(append([]byte{'['}, data...), ']')
	var got []string
	err := jsonobj.Elements(arr, func(v []byte) bool {
		got = append(got, string(v))
		return true
	})
	var want []json.RawMessage
	if !json.Valid(arr) || json.Unmarshal(arr, &want) != nil {
		return
	}
	if err != nil || len(got) != len(want) {
		t.Fatalf("%q: Elements finds %q (%v), encoding/json %q", arr, got, err, want)
	}
	for i := range want {
		if got[i] != string(want[i]) {
			t.Fatalf("%q: element %d is %q, encoding/json %q", arr, i, got[i], want[i])
		}
	}
}

// authEvents are the vendor-shaped auth events of events/auth, one per line.
func authEvents(tb testing.TB) [][]byte {
	tb.Helper()
	src, err := samples.FS.ReadFile("auth/mixed.ndjson")
	if err != nil {
		tb.Fatal(err)
	}
	var evs [][]byte
	for _, l := range bytes.Split(src, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			evs = append(evs, l)
		}
	}
	return evs
}

func TestNoAllocations(t *testing.T) {
	evs := authEvents(t)
	n := 0
	allocs := testing.AllocsPerRun(20, func() {
		for _, ev := range evs {
			_ = jsonobj.Members(ev, func(key, value []byte) bool {
				if k, _ := jsonobj.Unescape(key); string(k) == "timestamp" {
					n++
				}
				return true
			})
			id, _ := jsonobj.Text(jsonobj.Get(ev, "event_id"))
			n += len(id)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations walking %d events", allocs, len(evs))
	}
}

// BenchmarkMembers walks every member of the events of events/auth.
func BenchmarkMembers(b *testing.B) {
	evs := authEvents(b)
	size := 0
	for _, ev := range evs {
		size += len(ev)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, ev := range evs {
			if err := jsonobj.Members(ev, func(_, _ []byte) bool { n++; return true }); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func ExampleMembers() {
	ev := []byte(`{"event_id":"e1","actor":{"id":"u1"},"tags":["a","b"]}`)
	_ = jsonobj.Members(ev, func(key, value []byte) bool {
		fmt.Printf("%s = %s\n", key, value)
		return true
	})
	// Output:
	// event_id = "e1"
	// actor = {"id":"u1"}
	// tags = ["a","b"]
}

// AppendString writes what encoding/json reads back as s (invalid UTF-8 as
// U+FFFD, as encoding/json decodes it).
func FuzzAppendString(f *testing.F) {
	f.Add(`{"event_id":"e","x":"a\"b\\c"}`)
	f.Add("\x00\x1f\x7f\u2028</script>")
	f.Add("\xff\xc3\x28é🙂")
	f.Fuzz(func(t *testing.T, s string) {
		out := jsonobj.AppendString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q encoded as invalid JSON %q: %v", s, out, err)
		}
		// encoding/json's reading of s: each invalid byte is U+FFFD.
		var want strings.Builder
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			want.WriteRune(r)
			i += n
		}
		if got != want.String() {
			t.Fatalf("%q round-tripped as %q", s, got)
		}
	})
}
