package jsonobj_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/logstream/logstream/shared/jsonobj"
)

var validCases = []string{
	``, ` `, `{}`, ` { } `, `[]`, `[ ]`, `{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1}x`, `{"a":1}{"b":2}`,
	`[1,2,[3,{"x":[]}]]`, `[1,]`, `[,1]`, `[1 2]`, `{"a":[}`, `{"a":{]}`, `"x"`, `"x`, `"\"`,
	`0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-05`, `1e`, `1e+`, `-1.5e3`, `+1`, `0x10`, `1.5.5`,
	`true`, `tru`, `truex`, `false`, `null`, `nul`, `True`, `NaN`, `Infinity`,
	`"\u00e9\n\t\"\\\/\b\f\r"`, `"\u00G0"`, `"\u12"`, `"\x"`, `"\'"`, "\"a\x00b\"", "\"a\x1fb\"", "\"a\x7fb\"",
	"\"\xff\xfe\"", "\"é🙂\"", "{\"a\":\"\xff\"}", " \t\r\n{}\n", "\f{}", "{}\x00", `{"a":1}` + "\u00a0",
	`{"event_id":"e1","actor":{"id":"u1","alternateId":"a@b.c"},"n":-12.5e-3,"ok":true,"x":null,"l":[1,"2",{"3":[4]}]}`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 9999) + "{}" + strings.Repeat("}", 9999),
	strings.Repeat(`{"a":`, 10000) + "{}" + strings.Repeat("}", 10000),
	strings.Repeat("[", 100) + "1" + strings.Repeat("]", 100),
}

func TestValid(t *testing.T) {
	for _, s := range validCases {
		if got, want := jsonobj.Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("Valid(%.80q) = %v, json.Valid %v", s, got, want)
		}
	}
	for _, ev := range authEvents(t) {
		if !jsonobj.Valid(ev) || !jsonobj.IsObject(ev) {
			t.Errorf("refused %s", ev)
		}
	}
}

// Valid accepts exactly what json.Valid accepts.
func FuzzValid(f *testing.F) {
	for _, s := range validCases {
		if len(s) < 1000 {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := jsonobj.Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}

// ValidMembers answers as IsObject, and on a valid object sees the members
// Members sees, in order.
func TestValidMembers(t *testing.T) {
	for _, s := range validCases {
		checkValidMembers(t, []byte(s))
	}
	for _, ev := range authEvents(t) {
		checkValidMembers(t, ev)
	}
}

func FuzzValidMembers(f *testing.F) {
	for _, s := range validCases {
		if len(s) < 1000 {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(checkValidMembers)
}

func checkValidMembers(t *testing.T, b []byte) {
	var got, want [][2]string
	ok := jsonobj.ValidMembers(b, func(k, v []byte) { got = append(got, [2]string{string(k), string(v)}) })
	if ok != jsonobj.IsObject(b) {
		t.Fatalf("ValidMembers(%.80q) = %v, IsObject %v", b, ok, !ok)
	}
	if !ok {
		return
	}
	if err := jsonobj.Members(b, func(k, v []byte) bool { want = append(want, [2]string{string(k), string(v)}); return true }); err != nil {
		t.Fatalf("Members(%.80q): %v", b, err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ValidMembers(%.80q) saw %q, Members %q", b, got, want)
	}
}

func BenchmarkValid(b *testing.B) {
	evs := authEvents(b)
	size := 0
	for _, ev := range evs {
		size += len(ev)
	}
	for _, bc := range []struct {
		name string
		fn   func([]byte) bool
	}{{"jsonobj", jsonobj.Valid}, {"encoding-json", json.Valid}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				for _, ev := range evs {
					if !bc.fn(ev) {
						b.Fatal("invalid")
					}
				}
			}
		})
	}
}
