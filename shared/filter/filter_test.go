package filter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/stream"
)

func mustCompile(t testing.TB, f *stream.Filters) *Matcher {
	t.Helper()
	if err := f.Validate(); err != nil {
		t.Fatalf("filters invalid: %v", err)
	}
	m, err := Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPass(t *testing.T) {
	inc := func(rs ...stream.Rule) *stream.Filters { return &stream.Filters{Include: rs} }
	exc := func(rs ...stream.Rule) *stream.Filters { return &stream.Filters{Exclude: rs} }
	glob := func(field, m string) stream.Rule { return stream.Rule{Field: field, Match: m} }
	in := func(field string, vs ...string) stream.Rule { return stream.Rule{Field: field, In: vs} }
	tests := []struct {
		name    string
		filters *stream.Filters
		event   string
		want    bool
	}{
		{"no filters", nil, `{"a":1}`, true},
		{"empty filters", &stream.Filters{}, `{"a":1}`, true},
		{"glob prefix", inc(glob("eventType", "user.session.*")), `{"eventType":"user.session.start"}`, true},
		{"glob prefix miss", inc(glob("eventType", "user.session.*")), `{"eventType":"user.account.lock"}`, false},
		{"glob star stops at slash", inc(glob("p", "a/*")), `{"p":"a/b/c"}`, false},
		{"glob suffix", inc(glob("action", "*Authenticate")), `{"action":"OTPsAuthenticate"}`, true},
		{"glob class", inc(glob("code", "f[ps]")), `{"code":"fs"}`, true},
		{"exact glob", inc(glob("type", "s")), `{"type":"ss"}`, false},
		{"in", inc(in("type", "s", "ss")), `{"type":"ss"}`, true},
		{"in miss", inc(in("type", "s", "ss")), `{"type":"f"}`, false},
		{"missing field never matches include", inc(in("type", "s")), `{"kind":"s"}`, false},
		{"missing field never excludes", exc(in("type", "s")), `{"kind":"s"}`, true},
		{"exclude", exc(in("status", "start")), `{"status":"start"}`, false},
		{"include and exclude", &stream.Filters{Include: []stream.Rule{glob("action", "Passwords*")}, Exclude: []stream.Rule{in("status", "start")}},
			`{"action":"PasswordsAuthenticate","status":"start"}`, false},
		{"any include", inc(in("a", "x"), in("b", "y")), `{"a":"no","b":"y"}`, true},
		{"dotted path", inc(in("actor.alternateId", "alice@example.com")), `{"actor":{"id":"1","alternateId":"alice@example.com"}}`, true},
		{"dotted path through a string", inc(in("actor.id", "1")), `{"actor":"1"}`, false},
		{"deep path", inc(in("a.b.c", "1")), `{"a":{"x":{"c":"1"},"b":{"c":1}}}`, true},
		{"path and its parent", inc(glob("a", "*"), in("a.b", "1")), `{"a":{"b":1}}`, true},
		{"number as written", inc(in("http_status_code", "200")), `{"http_status_code":200}`, true},
		{"number spelled otherwise", inc(in("n", "200")), `{"n":2e2}`, false},
		{"float", inc(in("n", "1.5")), `{"n":1.5}`, true},
		{"bool", inc(in("isMobile", "false")), `{"isMobile":false}`, true},
		{"null never matches", inc(glob("x", "*")), `{"x":null}`, false},
		{"null does not match its name", inc(in("x", "null")), `{"x":null}`, false},
		{"object never matches", inc(glob("x", "*")), `{"x":{}}`, false},
		{"string null", inc(in("x", "null")), `{"x":"null"}`, true},
		{"array element", inc(in("tags", "b")), `{"tags":["a","b"]}`, true},
		{"array number", inc(in("codes", "2")), `{"codes":[1,2]}`, true},
		{"array miss", inc(in("tags", "c")), `{"tags":["a","b"]}`, false},
		{"nested array not searched", inc(in("tags", "b")), `{"tags":[["b"]]}`, false},
		{"array not walked into", inc(in("target.type", "User")), `{"target":[{"type":"User"}]}`, false},
		{"escaped value", inc(in("s", "a\"b")), `{"s":"a\"b"}`, true},
		{"escaped key", inc(in("ab", "1")), `{"a\u0062":"1"}`, true},
		{"first of repeated names counts", inc(in("t", "x")), `{"t":"y","t":"x"}`, false},
		{"repeated parent not looked into", inc(in("a.y", "2")), `{"a":{"x":1},"a":{"y":2}}`, false},
		{"value after an unwanted nested object", inc(in("t", "x")), `{"o":{"t":"y"},"t":"x"}`, true},
		{"malformed event", inc(in("t", "x")), `{"t":`, false},
		{"not an object", inc(in("t", "x")), `["t","x"]`, false},
		{"empty exclude-only passes malformed", exc(in("t", "x")), `nope`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustCompile(t, tc.filters)
			if got := m.Pass([]byte(tc.event)); got != tc.want {
				t.Fatalf("Pass(%s) = %v, want %v", tc.event, got, tc.want)
			}
			if json.Valid([]byte(tc.event)) && bytes.HasPrefix([]byte(tc.event), []byte("{")) {
				if want := oraclePass(t, tc.filters, []byte(tc.event)); want != tc.want {
					t.Fatalf("oracle disagrees with the table: %v", want)
				}
				// As ingestion calls it, on the event Parse stamped and indexed.
				evs, err := logevent.Parse([]byte(tc.event), logevent.FormatNDJSON, logevent.DefaultLimits, logevent.Stamper{})
				if err != nil {
					t.Fatal(err)
				}
				if got := m.PassEvent(&evs[0]); got != tc.want {
					t.Fatalf("PassEvent(%s) = %v, want %v", evs[0].Raw, got, tc.want)
				}
			}
		})
	}
}

// Compile refuses what it cannot build, even from filters that skipped
// validation, rather than panic.
func TestCompileRefuses(t *testing.T) {
	for _, f := range []stream.Filters{
		{Include: []stream.Rule{{Field: "", In: []string{"x"}}}},
		{Include: []stream.Rule{{Field: "a..b", In: []string{"x"}}}},
		{Exclude: []stream.Rule{{Field: "a.", Match: "x"}}},
		{Include: []stream.Rule{{Field: "a", Match: "[x"}}},
	} {
		if m, err := Compile(&f); err == nil {
			t.Errorf("Compile(%+v) = %v, want an error", f, m)
		}
	}
	var many stream.Filters
	for i := range maxPaths + 1 {
		many.Include = append(many.Include, stream.Rule{Field: fmt.Sprintf("f%d", i), In: []string{"x"}})
	}
	if _, err := Compile(&many); err == nil {
		t.Error("Compile of more fields than maxPaths succeeded")
	}
}

func TestPassDoesNotAllocate(t *testing.T) {
	m := mustCompile(t, &stream.Filters{
		Include: []stream.Rule{{Field: "eventType", Match: "user.*"}, {Field: "type", In: []string{"s", "f"}}, {Field: "actor.type", Match: "U?er"}},
		Exclude: []stream.Rule{{Field: "status", In: []string{"start"}}},
	})
	ev := []byte(`{"event_id":"1","actor":{"type":"User","id":"x"},"eventType":"user.session.start","list":[1,2,{"a":"b"}]}`)
	if n := testing.AllocsPerRun(100, func() { m.Pass(ev) }); n != 0 {
		t.Fatalf("Pass allocates %v times per event", n)
	}
	evs, err := logevent.Parse(ev, logevent.FormatNDJSON, logevent.DefaultLimits, logevent.Stamper{})
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { m.PassEvent(&evs[0]) }); n != 0 {
		t.Fatalf("PassEvent allocates %v times per event", n)
	}
}

// oraclePass is the slow, obviously right reading of the rules in doc.go:
// decode the event (first of repeated names wins, as Pass reads), walk the
// path through objects, compare text.
func oraclePass(t testing.TB, f *stream.Filters, event []byte) bool {
	t.Helper()
	if f == nil {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber()
	v, err := decodeFirstWins(dec)
	if err != nil {
		t.Fatalf("oracle cannot decode %q: %v", event, err)
	}
	obj, _ := v.(map[string]any)
	matches := func(r stream.Rule) bool {
		var cur any = obj
		for _, name := range strings.Split(r.Field, ".") {
			o, ok := cur.(map[string]any)
			if !ok {
				return false
			}
			if cur, ok = o[name]; !ok {
				return false
			}
		}
		scalar := func(v any) bool {
			var text string
			switch v := v.(type) {
			case string:
				text = v
			case json.Number:
				text = string(v)
			case bool:
				text = map[bool]string{true: "true", false: "false"}[v]
			default:
				return false
			}
			if r.Match != "" {
				ok, _ := path.Match(r.Match, text)
				return ok
			}
			for _, in := range r.In {
				if in == text {
					return true
				}
			}
			return false
		}
		if arr, ok := cur.([]any); ok {
			for _, e := range arr {
				if scalar(e) {
					return true
				}
			}
			return false
		}
		return scalar(cur)
	}
	pass := len(f.Include) == 0
	for _, r := range f.Include {
		pass = pass || matches(r)
	}
	for _, r := range f.Exclude {
		if matches(r) {
			return false
		}
	}
	return pass
}

// decodeFirstWins decodes one JSON value like encoding/json into any, except
// that the first of an object's repeated names wins.
func decodeFirstWins(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := map[string]any{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeFirstWins(dec)
			if err != nil {
				return nil, err
			}
			if _, dup := obj[k.(string)]; !dup {
				obj[k.(string)] = v
			}
		}
		_, err = dec.Token()
		return obj, err
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			v, err := decodeFirstWins(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err = dec.Token()
		return arr, err
	}
	return tok, nil
}

// FuzzPass checks Pass against oraclePass on every valid object, with one
// fuzzed glob rule, one fuzzed in rule and fixed ones around them; on any
// other input it only must not panic.
func FuzzPass(f *testing.F) {
	f.Add([]byte(`{"eventType":"user.session.start","actor":{"id":"x"}}`), "eventType", "user.*", "x", false)
	f.Add([]byte(`{"a":{"b":[1,"2",true]},"a":{"b":"3"}}`), "a.b", "*", "2", true)
	f.Add([]byte(`{"t\u0061g":"s","status":"start"}`), "tag", "[a-z]", "s", false)
	f.Add([]byte(`{"n":null,"o":{},"x":1e3}`), "x", "1?3", "1e3", true)
	f.Fuzz(func(t *testing.T, event []byte, field, match, value string, exclude bool) {
		fi := &stream.Filters{
			Include: []stream.Rule{{Field: field, Match: match}, {Field: "type", In: []string{"s", "f"}}},
			Exclude: []stream.Rule{{Field: "status", In: []string{"start"}}},
		}
		r := stream.Rule{Field: field, In: []string{value}}
		if exclude {
			fi.Exclude = append(fi.Exclude, r)
		} else {
			fi.Include = append(fi.Include, r)
		}
		if fi.Validate() != nil {
			return
		}
		m, err := Compile(fi)
		if err != nil {
			t.Fatalf("Compile of valid filters: %v", err)
		}
		got := m.Pass(event)
		if !json.Valid(event) || !utf8.Valid(event) || !bytes.HasPrefix(bytes.TrimLeft(event, " \t\r\n"), []byte("{")) {
			return
		}
		if want := oraclePass(t, fi, event); got != want {
			t.Fatalf("Pass(%s) = %v, oracle says %v", event, got, want)
		}
		// Through ingestion's parse, the indexed event must read the same.
		evs, err := logevent.Parse(event, logevent.FormatNDJSON, logevent.DefaultLimits, logevent.Stamper{})
		if err != nil || len(evs) != 1 {
			return
		}
		if got, want := m.PassEvent(&evs[0]), oraclePass(t, fi, evs[0].Raw); got != want {
			t.Fatalf("PassEvent(%s) = %v, oracle says %v", evs[0].Raw, got, want)
		}
	})
}

// FuzzGlob checks the glob fast paths against path.Match itself.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{{"user.*", "user.session"}, {"*Authenticate", "a/OTPsAuthenticate"}, {"*bot*", "googlebot/2"},
		{"*", ""}, {"**", "x"}, {"*a*", "a"}, {"exact", "exact"}, {`\*`, "*"}, {"a/*", "a/b/c"}, {"*/x", "y/x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, text string) {
		want, err := path.Match(pattern, text)
		if err != nil {
			return
		}
		if got := compileGlob(pattern).match([]byte(text)); got != want {
			t.Fatalf("glob %q on %q = %v, path.Match says %v", pattern, text, got, want)
		}
	})
}
