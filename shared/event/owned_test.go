package event

import (
	"bytes"
	"encoding/json"
	"testing"
)

// ownedFieldsDecoder is the slow, obviously-correct version of ownedFields,
// kept as the oracle the fast scanner is tested against.
func ownedFieldsDecoder(obj []byte) (id, ts json.RawMessage, dupe bool) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.Token()
	for dec.More() {
		tok, _ := dec.Token()
		key, _ := tok.(string)
		var v json.RawMessage
		dec.Decode(&v)
		switch key {
		case FieldID:
			dupe = dupe || id != nil
			id = v
		case FieldTimestamp:
			dupe = dupe || ts != nil
			ts = v
		}
	}
	return id, ts, dupe
}

func TestOwnedFields(t *testing.T) {
	for _, obj := range []string{
		`{}`, `{"event_id":"a"}`, `{"a":1,"event_id":"x","timestamp":"t"}`,
		`{"a":{"event_id":"nested"},"b":[1,{"timestamp":2}],"event_id":null}`,
		`{"ev\u0065nt_id":"escaped key"}`, `{"s":"q\"uote,}]","timestamp":true,"n":-1.5e3}`,
		`{"event_id":"a","event_id":"b"}`, `{"x":[],"y":{},"event_id":[1,[2]]}`,
	} {
		t.Run(obj, func(t *testing.T) {
			check(t, []byte(obj))
		})
	}
}

func check(t *testing.T, obj []byte) {
	t.Helper()
	wantID, wantTS, dupe := ownedFieldsDecoder(obj)
	id, ts, err := ownedFields(obj)
	if dupe {
		if err == nil {
			t.Fatalf("%s: duplicate owned field accepted", obj)
		}
		return
	}
	if err != nil || string(id) != string(wantID) || string(ts) != string(wantTS) {
		t.Fatalf("%s: got (%s, %s, %v), want (%s, %s)", obj, id, ts, err, wantID, wantTS)
	}
}

// FuzzOwnedFields checks the scanner against the decoder on every compact
// object the fuzzer finds.
func FuzzOwnedFields(f *testing.F) {
	f.Add([]byte(`{"a":{"event_id":"n"},"event_id":"x","timestamp":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"s":"\\\"","event_id":[{"k":"}"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var buf bytes.Buffer
		if json.Compact(&buf, raw) != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
			return
		}
		check(t, buf.Bytes())
	})
}
