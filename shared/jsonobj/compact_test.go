package jsonobj_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/logstream/logstream/shared/jsonobj"
)

var compactCases = []string{
	`{}`, `[]`, ` { } `, `{"a":1}`, "{\n  \"a\" : [ 1 , 2.5e-3 , -0 , true , false , null ] ,\t\"b\":{}\r\n}",
	`{"s":"esc \" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"}`, `["ünïcödé ☃"]`, `[0.5, 1E+2, 1e2, -1.0e-0]`,
	`"just a string"`, `42`, `true`, `null`,
	// Invalid, each for one reason.
	``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1}{}`, `{} x`, `[01]`, `[1.]`, `[.5]`,
	`[1e]`, `[1e+]`, `[-]`, `[+1]`, `[tru]`, `[nul]`, `[True]`, `["\x"]`, `["\u12"]`, `["\u12g4"]`,
	"[\"tab\there\"]", `["unterminated]`, `[1 2]`, `{"a":1 "b":2}`, `{,}`, `[,]`, `{"a"}`, `[NaN]`, `[Infinity]`,
	`{"a":{"b":[}}`, `[}`, `{]`, "\"\\",
	// UTF-8: only strings may hold it, and only well-formed sequences.
	"[\"\xff\"]", "[\"\xc0\xaf\"]", "[\"\xe0\x80\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]",
	"[\"\xe2\x82\"]", "[\"\xe2\x82\xac\"]", "[\"\xf0\x9f\x98\x80\"]", "[\"\xf4\x8f\xbf\xbf\"]", "[\"\xed\x9f\xbf\"]",
	"[\"\xc2\"]", "[\"\xc2\x80\"]", "[1]\xc2\xa0", "\xef\xbb\xbf{}", "{\"\xe9\":1}",
}

// maxDepth is encoding/json's nesting limit, which AppendCompact keeps.
const maxDepth = 10000

func TestAppendCompact(t *testing.T) {
	deep := []string{
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	}
	for _, s := range append(compactCases, deep...) {
		checkCompact(t, s)
	}
}

// FuzzAppendCompact: appendCompact accepts exactly what json.Valid does and
// writes exactly what json.Compact does.
func FuzzAppendCompact(f *testing.F) {
	for _, s := range compactCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkCompact(t, s)
	})
}

func checkCompact(t *testing.T, s string) {
	t.Helper()
	prefix := []byte("keep")
	got, ok := jsonobj.AppendCompact(prefix, s)
	// The []byte instance answers as the string one does.
	if gotB, okB := jsonobj.AppendCompact(prefix, []byte(s)); okB != ok || !bytes.Equal(gotB, got) {
		t.Fatalf("AppendCompact(%.80q) as []byte = %q, %v; as a string %q, %v", s, gotB, okB, got, ok)
	}
	if want := json.Valid([]byte(s)) && utf8.ValidString(s); ok != want {
		t.Fatalf("AppendCompact(%.80q) ok = %v, json.Valid and utf8.Valid say %v", s, ok, want)
	}
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("dst changed: %q", got)
	}
	if !ok {
		if len(got) != len(prefix) {
			t.Fatalf("AppendCompact(%.80q) refused it but appended %q", s, got[len(prefix):])
		}
		return
	}
	var want bytes.Buffer
	if err := json.Compact(&want, []byte(s)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[len(prefix):], want.Bytes()) {
		t.Fatalf("AppendCompact(%.80q) = %q, json.Compact gives %q", s, got[len(prefix):], want.Bytes())
	}
	checkIndex(t, s, got[len(prefix):])
}

// checkIndex: CompactValue's offsets name the members Members finds in the
// compacted object, and the value ends where the white space after it
// starts.
func checkIndex(t *testing.T, s string, compact []byte) {
	t.Helper()
	index := []uint32{7} // kept
	out, end, ok := jsonobj.CompactValue([]byte("pre"), s, 0, &index)
	if !ok || !bytes.Equal(out[3:], compact) || strings.TrimRight(s[end:], " \t\r\n") != "" {
		t.Fatalf("CompactValue(%.80q) = %q, end %d, %v; want %q", s, out, end, ok, compact)
	}
	obj, got := out[3:], index[1:]
	var want []string
	if len(obj) > 0 && obj[0] == '{' {
		if err := jsonobj.Members(obj, func(key, value []byte) bool {
			want = append(want, string(key)+"="+string(value))
			return true
		}); err != nil {
			t.Fatal(err)
		}
	}
	if index[0] != 7 || len(got) != 3*len(want) {
		t.Fatalf("CompactValue(%.80q) index %v, want %d members %q", s, index, len(want), want)
	}
	for m := range want {
		ks, ke, ve := got[3*m], got[3*m+1], got[3*m+2]
		if g := string(obj[ks:ke]) + "=" + string(obj[ke+2:ve]); g != want[m] {
			t.Fatalf("CompactValue(%.80q) member %d = %q, want %q", s, m, g, want[m])
		}
	}
}

func TestCompactValueLeavesWhatFollows(t *testing.T) {
	s := ` {"a" : [1, 2]} , {"b":true}]`
	index := []uint32{}
	out, end, ok := jsonobj.CompactValue(nil, s, 0, &index)
	if !ok || string(out) != `{"a":[1,2]}` || s[end:] != ` , {"b":true}]` || len(index) != 3 {
		t.Fatalf("got %q, rest %q, %v, index %v", out, s[end:], ok, index)
	}
	// A value that fails leaves dst and index as they were.
	out, end, ok = jsonobj.CompactValue(out, `{"x":1,"y":}`, 0, &index)
	if ok || string(out) != `{"a":[1,2]}` || end != 0 || len(index) != 3 {
		t.Fatalf("failed value: got %q, end %d, %v, index %v", out, end, ok, index)
	}
}

// BenchmarkAppendCompact compares AppendCompact with json.Compact (and
// json.Valid, the least any check of them costs) on the events of
// events/auth, what ingestion parses and the bridge archives most.
func BenchmarkAppendCompact(b *testing.B) {
	evs := authEvents(b)
	size := 0
	for _, ev := range evs {
		size += len(ev)
	}
	b.Run("AppendCompact", func(b *testing.B) {
		b.SetBytes(int64(size))
		var dst []byte
		for b.Loop() {
			for _, ev := range evs {
				dst, _ = jsonobj.AppendCompact(dst[:0], ev)
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(size))
		for b.Loop() {
			for _, ev := range evs {
				_ = json.Valid(ev)
			}
		}
	})
	b.Run("json.Compact", func(b *testing.B) {
		b.SetBytes(int64(size))
		var dst bytes.Buffer
		for b.Loop() {
			for _, ev := range evs {
				dst.Reset()
				_ = json.Compact(&dst, ev)
			}
		}
	})
}
