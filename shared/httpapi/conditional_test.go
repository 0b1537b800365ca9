package httpapi

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestIfMatch(t *testing.T) {
	tests := []struct {
		header, etag string
		want         bool
	}{
		{"", `"3"`, true}, {"*", `"3"`, true}, {`"3"`, `"3"`, true}, {`"2", "3"`, `"3"`, true},
		{`"2"`, `"3"`, false}, {`W/"3"`, `"3"`, false}, {`3`, `"3"`, false},
	}
	for _, tc := range tests {
		if got := IfMatch(tc.header, tc.etag); got != tc.want {
			t.Errorf("IfMatch(%q, %q) = %v", tc.header, tc.etag, got)
		}
	}
}

// The examples of RFC 7396 appendix A.
func TestMergePatch(t *testing.T) {
	tests := []struct{ doc, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
	}
	for _, tc := range tests {
		got, err := MergePatch([]byte(tc.doc), []byte(tc.patch))
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		json.Unmarshal(got, &g)
		json.Unmarshal([]byte(tc.want), &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("MergePatch(%s, %s) = %s, want %s", tc.doc, tc.patch, got, tc.want)
		}
	}
	for _, bad := range []string{`[1]`, `"x"`, `{`, `{} {}`} {
		if _, err := MergePatch([]byte(`{}`), []byte(bad)); err == nil {
			t.Errorf("patch %s accepted", bad)
		}
	}
}

func FuzzMergePatch(f *testing.F) {
	f.Add([]byte(`{"a":{"b":1}}`), []byte(`{"a":{"b":null,"c":[1]}}`))
	f.Fuzz(func(t *testing.T, doc, patch []byte) {
		if !json.Valid(doc) {
			return
		}
		out, err := MergePatch(doc, patch)
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid output %s", out)
		}
	})
}
