package archive

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/logstream/logstream/shared/sink/sinktest"
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
}

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
		if !utf8.ValidString(s) {
			return // the caller's check
		}
		checkCompact(t, s)
	})
}

func checkCompact(t *testing.T, s string) {
	t.Helper()
	prefix := []byte("keep")
	got, ok := appendCompact(prefix, s)
	if want := json.Valid([]byte(s)); ok != want {
		t.Fatalf("appendCompact(%.80q) ok = %v, json.Valid says %v", s, ok, want)
	}
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("dst changed: %q", got)
	}
	if !ok {
		if len(got) != len(prefix) {
			t.Fatalf("appendCompact(%.80q) refused it but appended %q", s, got[len(prefix):])
		}
		return
	}
	var want bytes.Buffer
	if err := json.Compact(&want, []byte(s)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[len(prefix):], want.Bytes()) {
		t.Fatalf("appendCompact(%.80q) = %q, json.Compact gives %q", s, got[len(prefix):], want.Bytes())
	}
}

// BenchmarkAppendCompact compares appendCompact with json.Compact on the
// corpus's events, the JSON lines the bridge archives most.
func BenchmarkAppendCompact(b *testing.B) {
	evs := sinktest.Corpus(b, 1000)
	size := 0
	for _, ev := range evs {
		size += len(ev)
	}
	b.Run("appendCompact", func(b *testing.B) {
		b.SetBytes(int64(size))
		var dst []byte
		for b.Loop() {
			for _, ev := range evs {
				dst, _ = appendCompact(dst[:0], string(ev))
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
