package logevent

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/logstream/logstream/shared/jsonobj"
)

// membersDecoder is the slow, obviously-correct version of scan, kept as the
// oracle the fast scanner is tested against. refused says scan must fail: a
// member it reads is repeated, or a type member is a string with the
// reserved prefix.
func membersDecoder(obj []byte) (m members, refused bool) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.Token()
	for dec.More() {
		tok, _ := dec.Token()
		key, _ := tok.(string)
		var v json.RawMessage
		dec.Decode(&v)
		keep := func(dst *json.RawMessage) {
			refused = refused || *dst != nil
			*dst = v
		}
		switch key {
		case FieldID:
			keep(&m.id)
		case FieldTimestamp:
			keep(&m.ts)
		}
		var s string
		if slices.Contains(TypeFields[:], key) && json.Unmarshal(v, &s) == nil &&
			strings.HasPrefix(strings.ToLower(strings.TrimLeftFunc(s, unicode.IsSpace)), ReservedTypePrefix) {
			refused = true
		}
		for i, vd := range Vendors {
			switch key {
			case vd.ID:
				keep(&m.vendor[i].id)
			case vd.Time:
				keep(&m.vendor[i].ts)
			}
		}
	}
	return m, refused
}

func TestScan(t *testing.T) {
	for _, obj := range []string{
		`{}`, `{"event_id":"a"}`, `{"a":1,"event_id":"x","timestamp":"t"}`,
		`{"a":{"event_id":"nested"},"b":[1,{"timestamp":2}],"event_id":null}`,
		`{"ev\u0065nt_id":"escaped key"}`, `{"s":"q\"uote,}]","timestamp":true,"n":-1.5e3}`,
		`{"event_id":"a","event_id":"b"}`, `{"x":[],"y":{},"event_id":[1,[2]]}`,
		`{"uuid":"u","published":"p","log_id":"l","date":"d"}`, `{"uuid":"a","uuid":"b"}`,
		`{"type":"logstream.x"}`, `{"action":" LOGSTREAM.x"}`, `{"type":"logstream"}`, `{"eventType":["logstream.x"]}`,
		`{"event_type":"logstream\u002ex"}`, `{"target":{"type":"logstream.x"}}`,
	} {
		t.Run(obj, func(t *testing.T) {
			check(t, []byte(obj))
		})
	}
}

func check(t *testing.T, obj []byte) {
	t.Helper()
	want, refused := membersDecoder(obj)
	got, err := scan(obj)
	if refused {
		if err == nil {
			t.Fatalf("%s: accepted, want refused", obj)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", obj, err)
	}
	if string(got.id) != string(want.id) || string(got.ts) != string(want.ts) {
		t.Fatalf("%s: got (%s, %s), want (%s, %s)", obj, got.id, got.ts, want.id, want.ts)
	}
	for i := range Vendors {
		g, w := got.vendor[i], want.vendor[i]
		if string(g.id) != string(w.id) || string(g.ts) != string(w.ts) {
			t.Fatalf("%s: %s got (%s, %s), want (%s, %s)", obj, Vendors[i].Name, g.id, g.ts, w.id, w.ts)
		}
	}
}

// FuzzScan checks the scanner against the decoder on every compact object
// the fuzzer finds.
func FuzzScan(f *testing.F) {
	f.Add([]byte(`{"a":{"event_id":"n"},"event_id":"x","timestamp":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"s":"\\\"","event_id":[{"k":"}"}]}`))
	f.Add([]byte(`{"uuid":"x","published":"2026-01-01T00:00:00Z","eventType":"user.session.start"}`))
	f.Add([]byte(`{"type":"\u004cogstream.stream.deleted"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var buf bytes.Buffer
		if json.Compact(&buf, raw) != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
			return
		}
		check(t, buf.Bytes())
	})
}

// scan is readMembers on the index jsonobj.Members gives, which
// FuzzAppendCompact holds CompactValue's to.
func scan(obj []byte) (members, *Error) {
	var index []uint32
	err := jsonobj.Members(obj, func(key, value []byte) bool {
		ks := uint32(cap(obj) - cap(key))
		index = append(index, ks, ks+uint32(len(key)), uint32(cap(obj)-cap(value)+len(value)))
		return true
	})
	if err != nil {
		return members{}, errorf(KindInvalid, "invalid_event", 0, "an event must be a JSON object")
	}
	return readMembers(obj, index)
}
