package eventbridge

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMembers checks the top-level member scanner that picks the timestamp
// and the event's type against encoding/json, on any JSON object.
func FuzzMembers(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"eventType":"user.session.start","timestamp":"2026-11-24T07:00:00Z"}`,
		` { "type" : "s" , "details" : {"type":"x","a":[1,"]}",{"}":"{"}]}, "n":-1.5e3,"b":true,"z":null } `,
		`{"k\"ey":"v\\\"","\u0074ype":"escaped key","action":"a\u00e9"}`,
		`{"a":[[[]]],"b":{"c":{"d":{}}},"type":"deep"}`,
		`{"type":1,"type":"dup"}`,
		`[1,2]`,
		`"str"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, ev []byte) {
		var f eventFields
		f.scan(ev) // must not panic on anything
		dt := f.detailType()
		if dt == "" || utf8.RuneCountInString(dt) > maxDetailType {
			t.Fatalf("detail type %q", dt)
		}
		_ = eventID(ev)
		if !isObject(ev) {
			return
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(ev, &want); err != nil {
			t.Fatalf("isObject accepted %q: %v", ev, err)
		}
		got := map[string]json.RawMessage{}
		members(ev, func(key, val []byte) {
			var k string
			if err := json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &k); err != nil {
				t.Fatalf("key %q: %v", key, err)
			}
			// A duplicate key: both keep the last value.
			got[k] = val
		})
		if len(got) != len(want) {
			t.Fatalf("members %d, encoding/json %d in %q", len(got), len(want), ev)
		}
		for k, v := range want {
			if !bytes.Equal(got[k], v) {
				t.Fatalf("member %q = %q, encoding/json %q", k, got[k], v)
			}
		}
		if s, ok := f.str(f.types[1]); ok && !strings.Contains(string(ev), "type") {
			t.Fatalf("type %q found in %q", s, ev)
		}
	})
}
