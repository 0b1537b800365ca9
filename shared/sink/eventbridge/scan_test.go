package eventbridge

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/logstream/logstream/shared/jsonobj"
)

// FuzzEventFields checks what Send reads, in the pass that checks the event, of an event — the timestamp, the
// members that name its type, the event_id — on anything, and against
// encoding/json on any JSON object. jsonobj's FuzzMembers checks the
// member scanner underneath.
func FuzzEventFields(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"eventType":"user.session.start","timestamp":"2026-11-24T07:00:00Z"}`,
		` { "type" : "s" , "details" : {"type":"x","a":[1,"]}",{"}":"{"}]}, "n":-1.5e3,"b":true,"z":null } `,
		`{"k\"ey":"v\\\"","\u0074ype":"escaped key","action":"a\u00e9"}`,
		`{"a":[[[]]],"b":{"c":{"d":{}}},"type":"deep"}`,
		`{"type":1,"type":"dup"}`,
		`[1,2]`,
		`"str"`,
		`{0`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, ev []byte) {
		var f eventFields
		ok := jsonobj.ValidMembers(ev, f.note) // must not panic on anything
		dt := f.detailType()
		if dt == "" || utf8.RuneCountInString(dt) > maxDetailType {
			t.Fatalf("detail type %q", dt)
		}
		_ = eventID(ev)
		if ok != jsonobj.IsObject(ev) {
			t.Fatalf("ValidMembers %v, IsObject %v on %q", ok, !ok, ev)
		}
		if !ok {
			return
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(ev, &want); err != nil {
			t.Fatalf("IsObject accepted %q: %v", ev, err)
		}
		if bytes.IndexByte(ev, '\\') < 0 { // names as written are the names encoding/json reads
			if !bytes.Equal(f.timestamp, want["timestamp"]) {
				t.Fatalf("timestamp %q, encoding/json %q in %q", f.timestamp, want["timestamp"], ev)
			}
			for k, name := range detailTypeFields {
				if !bytes.Equal(f.types[k], want[name]) {
					t.Fatalf("%s %q, encoding/json %q in %q", name, f.types[k], want[name], ev)
				}
			}
		}
		if s, ok := f.str(f.types[1]); ok && !strings.Contains(string(ev), "type") {
			t.Fatalf("type %q found in %q", s, ev)
		}
	})
}
