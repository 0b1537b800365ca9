package jsonobj_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/logstream/logstream/shared/jsonobj"
)

// appendStringReference is AppendString as it was before its table-driven
// rewrite: a byte at a time, obviously right. The rewrite must write the
// same bytes, since destinations' golden bodies and Loki's stored lines
// depend on them.
func appendStringReference(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// encodingJSON is encoding/json's encoding of s without HTML escaping. It
// differs from AppendString only where AppendString keeps a byte verbatim
// that encoding/json escapes (U+2028, U+2029), or picks a different escape
// for the same byte (\b and \f for 0x08 and 0x0c, where AppendString
// writes \u0008 and \u000c); normalise undoes exactly those.
func encodingJSON(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return normalise(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// normalise rewrites encoding/json's escapes for U+2028, U+2029, 0x08 and
// 0x0c as AppendString writes them. An escaped backslash followed by b, f or
// u2028 is left alone: the replacer consumes `\\` first.
func normalise(b []byte) []byte {
	return []byte(strings.NewReplacer(`\\`, `\\`, `\u2028`, "\u2028", `\u2029`, "\u2029", `\b`, `\u0008`, `\f`, `\u000c`).Replace(string(b)))
}

var appendStringCases = map[string]string{
	"empty":          "",
	"plain":          "user.session.start",
	"event":          `{"event_id":"e1","actor":{"id":"u1","displayName":"A \"B\" C"},"path":"C:\\x","n":1}`,
	"controls":       "\x00\x01\x08\x0c\x1f\x7f",
	"short escapes":  "a\nb\rc\td\"e\\f",
	"utf-8":          "é 🙂 日本 \u2028\u2029",
	"invalid utf-8":  "\xff\xc3\x28\xe2\x82\xed\xa0\x80x",
	"html":           "</script><b>&amp;</b>",
	"escape at ends": "\"x\"",
	"long plain":     strings.Repeat("Mozilla/5.0 (X11; Linux x86_64) ", 40),
}

func TestAppendString(t *testing.T) {
	for name, s := range appendStringCases {
		t.Run(name, func(t *testing.T) {
			got := jsonobj.AppendString([]byte("prefix:"), s)
			if want := appendStringReference([]byte("prefix:"), s); !bytes.Equal(got, want) {
				t.Fatalf("AppendString(%q)\n got %q\nwant %q (reference)", s, got, want)
			}
			got = got[len("prefix:"):]
			if utf8.ValidString(s) {
				if want := encodingJSON(t, s); !bytes.Equal(got, want) {
					t.Fatalf("AppendString(%q)\n got %q\nwant %q (encoding/json)", s, got, want)
				}
			}
		})
	}
}

// AppendString writes exactly what the byte-at-a-time reference writes, and
// for valid UTF-8 what encoding/json writes (up to the escapes normalise
// maps); FuzzAppendString in jsonobj_test.go checks the round trip.
func FuzzAppendStringExact(f *testing.F) {
	for _, s := range appendStringCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := jsonobj.AppendString(nil, s)
		if want := appendStringReference(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q)\n got %q\nwant %q (reference)", s, got, want)
		}
		if utf8.ValidString(s) {
			if want := encodingJSON(t, s); !bytes.Equal(got, want) {
				t.Fatalf("AppendString(%q)\n got %q\nwant %q (encoding/json)", s, got, want)
			}
		}
	})
}

// BenchmarkAppendString escapes the events of events/auth into a reused
// buffer, as Loki's JSON push writes each event as its line.
func BenchmarkAppendString(b *testing.B) {
	evs := authEvents(b)
	size := 0
	strs := make([]string, len(evs))
	for i, ev := range evs {
		size += len(ev)
		strs[i] = string(ev)
	}
	for _, bc := range []struct {
		name string
		fn   func([]byte, string) []byte
	}{{"table", jsonobj.AppendString}, {"reference", appendStringReference}} {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 0, 2*size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				buf = buf[:0]
				for _, s := range strs {
					buf = bc.fn(buf, s)
				}
			}
		})
	}
}
