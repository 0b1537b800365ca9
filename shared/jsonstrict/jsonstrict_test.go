package jsonstrict

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

type rule struct {
	Field string   `json:"field"`
	In    []string `json:"in,omitempty"`
}

type common struct {
	ID string `json:"id"`
}

type doc struct {
	common
	Name    string            `json:"name"`
	Rules   []rule            `json:"rules,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Port    int               `json:"port,omitempty"`
	Small   int8              `json:"small,omitempty"`
	Count   uint              `json:"count,omitempty"`
	Ratio   float64           `json:"ratio,omitempty"`
	TLS     *bool             `json:"tls,omitempty"`
	Config  json.RawMessage   `json:"config,omitempty"`
	Pair    [2]string         `json:"pair"`
	Any     any               `json:"any,omitempty"`
	Secret  string            `json:"-"`
	Untag   string
	private string
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, body string
		path, msg  string // "" and "" for accepted
	}{
		{"everything", `{"id":"i","name":"n","rules":[{"field":"a","in":["x"]}],"labels":{"env":"prod"},"port":8088,"small":-8,` +
			`"count":3,"ratio":0.5,"tls":false,"config":{"anything":[1,{"x":null}]},"pair":["a","b"],"any":[{}],"Untag":"u"}`, "", ""},
		{"nulls everywhere", `{"name":null,"rules":[null],"labels":{"a":null},"tls":null,"config":null}`, "", ""},
		{"white space around", " \n{\"name\":\"n\"}\t\n", "", ""},

		{"array body", `[{"name":"n"}]`, "", "must be a JSON object"},
		{"string body", `"n"`, "", "must be a JSON object"},
		{"empty body", ``, "", "is not valid JSON: it ends too soon"},
		{"cut short", `{"name":"n",`, "", "is not valid JSON: it ends too soon"},
		{"syntax", `{"name":}`, "", "is not valid JSON: invalid character '}' looking for beginning of value (at byte 8)"},
		{"trailing object", `{"name":"n"}{}`, "", "must hold exactly one JSON object"},
		{"trailing garbage", `{"name":"n"} x`, "", "must hold exactly one JSON object"},
		{"invalid UTF-8", "{\"name\":\"\xff\"}", "", "is not valid UTF-8"},

		{"unknown top-level field", `{"nom":"n"}`, "nom", "unknown field"},
		{"another case is unknown", `{"Name":"n"}`, "Name", "unknown field"},
		{"a json:\"-\" field is unknown", `{"Secret":"s"}`, "Secret", "unknown field"},
		{"an unexported field is unknown", `{"private":"p"}`, "private", "unknown field"},
		{"nested unknown field", `{"rules":[{"field":"a"},{"field":"b","regex":"c"}]}`, "rules[1].regex", "unknown field"},
		{"wrong type, string", `{"name":7}`, "name", "must be a string"},
		{"wrong type, array of strings", `{"rules":[{"field":"a","in":"x"}]}`, "rules[0].in", "must be an array of strings"},
		{"wrong type, element", `{"rules":[{"field":"a","in":["x",true]}]}`, "rules[0].in[1]", "must be a string"},
		{"wrong type, array of objects", `{"rules":{"field":"a"}}`, "rules", "must be an array of objects"},
		{"wrong type, object of strings", `{"labels":["a"]}`, "labels", "must be an object of strings"},
		{"wrong type, map value", `{"labels":{"env":1}}`, "labels.env", "must be a string"},
		{"wrong type, integer", `{"port":"8088"}`, "port", "must be an integer"},
		{"fraction for an integer", `{"port":80.5}`, "port", "must be an integer"},
		{"integer out of range", `{"small":300}`, "small", "is out of range"},
		{"negative unsigned", `{"count":-1}`, "count", "must be an integer"},
		{"wrong type, bool", `{"tls":"yes"}`, "tls", "must be true or false"},
		{"wrong type, number", `{"ratio":"half"}`, "ratio", "must be a number"},
		{"wrong type, embedded", `{"id":1}`, "id", "must be a string"},
		{"too many items", `{"pair":["a","b","c"]}`, "pair", "must have at most 2 items"},
		{"broken inside raw config", `{"config":{"a":}}`, "", "is not valid JSON: invalid character '}' looking for beginning of value (at byte 15)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			path, err := Decode([]byte(tc.body), &d)
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				var want doc
				if json.Unmarshal([]byte(tc.body), &want) != nil || !reflect.DeepEqual(d, want) {
					t.Fatalf("decoded %+v, want %+v", d, want)
				}
				return
			}
			if err == nil || path != tc.path || err.Error() != tc.msg {
				t.Fatalf("path %q err %v, want path %q msg %q", path, err, tc.path, tc.msg)
			}
		})
	}
}

// FuzzDecode: whatever Decode accepts, encoding/json decodes strictly to
// the same value.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"name":"n","rules":[{"field":"a"}]}`, `{"labels":{"a":"b"},"port":1}`, `{"config":[1,{"a":null}]}`, `[]`, `{"pair":["a"]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got doc
		if _, err := Decode(body, &got); err != nil {
			if err.Error() == "" {
				t.Fatalf("an error without a message: %#v", err)
			}
			return
		}
		var want doc
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("Decode accepted %q, encoding/json refuses it: %v", body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decoded %+v, encoding/json %+v", body, got, want)
		}
	})
}

// A type that decodes itself from a string (time.Time) is taken as a string,
// and its own decoder judges it.
func TestDecodeSelfDecodingTypes(t *testing.T) {
	var v struct {
		At *time.Time `json:"at"`
	}
	if path, err := Decode([]byte(`{"at":"2026-11-23T00:00:00Z"}`), &v); err != nil || v.At == nil || v.At.Day() != 23 {
		t.Fatalf("a time: %v at %q, %v", err, path, v.At)
	}
	// A bad one is named by its path, as any other member is.
	for _, body := range []string{`{"at":"yesterday"}`, `{"at":7}`, `{"at":true}`} {
		if path, err := Decode([]byte(body), &v); err == nil || path != "at" || !strings.Contains(err.Error(), "RFC 3339") {
			t.Errorf("%s: %v at %q, want an RFC 3339 error at at", body, err, path)
		}
	}
}

// A member given twice is refused: encoding/json takes the last, and
// anything in front of the API that reads the first (a proxy, a log, an
// audit) would see another request than the one carried out — a black-box
// probe turned a {"dry_run":true,"dry_run":false} redrive into a real one.
func TestDecodeRefusesRepeatedMembers(t *testing.T) {
	for _, tc := range []struct{ body, path string }{
		{`{"name":"a","name":"b"}`, "name"},
		{`{"tls":true,"tls":false}`, "tls"},
		{`{"rules":[{"field":"a","field":"b"}]}`, "rules[0].field"},
		{`{"labels":{"env":"a","env":"b"}}`, "labels.env"},
		{`{"name":"a","labels":{"env":"a"},"labels":{"team":"b"}}`, "labels"},
	} {
		var d doc
		path, err := Decode([]byte(tc.body), &d)
		if err == nil || path != tc.path {
			t.Errorf("%s: path %q, err %v; want a refusal at %s", tc.body, path, err, tc.path)
		}
	}
	// Two objects may each have a member of one name.
	var d doc
	if _, err := Decode([]byte(`{"rules":[{"field":"a"},{"field":"b"}],"labels":{"field":"c"}}`), &d); err != nil {
		t.Fatal(err)
	}
}
