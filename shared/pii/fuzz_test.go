package pii

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
)

// fuzzRules cover each action, a nested path, and paths through arrays.
var fuzzRules = rules(
	"a", "redact",
	"b.c", "hash",
	"ip", "truncate_ip",
	"d.e.f", "hash",
	"g", "truncate_ip",
	"h.i", "xxhash",
)

// FuzzMask holds, for any valid JSON object: the result is valid JSON, and
// every byte outside the masked values is the input's (redacting the masked
// paths of input and output gives the same bytes). Any other input is
// refused or passed through, never a panic.
func FuzzMask(f *testing.F) {
	for _, s := range []string{
		`{"a":"x","b":{"c":"y"},"ip":"198.51.100.23"}`,
		`{"a":[1,[2,{"z":3}]],"b":[{"c":1},{"c":[true,null]}]}`,
		"{ \"d\" : [ { \"e\" : { \"f\" : \"\\u00e9\" } } ] , \"g\":\"2001:db8::1\" }",
		`{"ip":"::ffff:1.2.3.4","ip":"x","b":null}`,
		`{"a\u0062":1,"b":{"\u0063":"q"}}`,
		`{"a":{"b":[[[[]]]]}}`,
	} {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("../../events/auth/*.json")
	for _, file := range files {
		for _, ev := range sampleEvents(f, file) {
			f.Add(ev)
		}
	}
	m, err := Compile(fuzzRules, testKey)
	if err != nil {
		f.Fatal(err)
	}
	redactAll := redacting(fuzzRules)
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		out, err := m.Mask(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("Mask changed its input")
		}
		if !json.Valid(in) || bytes.TrimSpace(in)[0] != '{' {
			return
		}
		if err != nil {
			t.Fatalf("valid object refused: %v: %s", err, in)
		}
		if !json.Valid(out) {
			t.Fatalf("invalid output %s from %s", out, in)
		}
		checkUntouched(t, redactAll, in, out)
	})
}
