package lokipush

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/buger/jsonparser"
)

// TestParseJSONFastTakes: the pushes clients send take the fast path (else
// it would be a slower copy of parseJSON that never runs), and the shapes
// it leaves to parseJSON are left to it untouched.
func TestParseJSONFastTakes(t *testing.T) {
	takes := map[string][]byte{
		"sample":          []byte(sampleJSON),
		"empty streams":   []byte(` {"streams":[]} `),
		"values first":    []byte(`{"streams":[{"values":[["-5","l",{}]],"stream":{"a":"b"}}]}`),
		"surrogate pairs": []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","x\ud83d\ude00\uDBFF\uDFFFy",{"k":"\ud83d\ude00"}]]}]}`),
		"escapes in line": []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","\"\\\/\b\f\n\r\t\u00e9\u20ac\u0000x"]]}]}`),
	}
	for _, p := range benchPushes(t, 50) {
		if p.ct == ContentTypeJSON && p.ce == "" {
			takes["logstream sender"] = p.body
		}
	}
	for name, body := range takes {
		t.Run(name, func(t *testing.T) {
			want, err := parseJSON(bytes.Clone(body), Limits{}.withDefaults())
			if err != nil {
				t.Fatal(err)
			}
			got, ok := parseJSONFast(bytes.Clone(body), Limits{}.withDefaults())
			if !ok {
				t.Fatal("left to parseJSON")
			}
			if d := diffRequest(got, want); d != "" {
				t.Fatal(d)
			}
		})
	}
	leaves := map[string]string{
		"empty object":        `{}`,
		"null streams":        `{"streams":null}`,
		"unknown key":         `{"streams":[],"x":1}`,
		"null entry":          `{"streams":[{"stream":{"a":"b"},"values":[null]}]}`,
		"number label":        `{"streams":[{"stream":{"port":8080},"values":[]}]}`,
		"escaped key":         `{"streams":[{"stream":{"\u0061":"b"},"values":[]}]}`,
		"lone surrogate":      `{"streams":[{"stream":{"a":"b"},"values":[["1","\ud83d x"]]}]}`,
		"lone low surrogate":  `{"streams":[{"stream":{"a":"b"},"values":[["1","\ude00"]]}]}`,
		"two high surrogates": `{"streams":[{"stream":{"a":"b"},"values":[["1","\ud83d\ud83d"]]}]}`,
		"bad escape":          `{"streams":[{"stream":{"a":"b"},"values":[["1","\x"]]}]}`,
		"line too long":       `{"streams":[{"stream":{"a":"b"},"values":[["1","` + string(bytes.Repeat([]byte("x"), 65)) + `"]]}]}`,
		"trailing data":       `{"streams":[]} x`,
		"number time":         `{"streams":[{"stream":{"a":"b"},"values":[[1,"l"]]}]}`,
		"stream twice":        `{"streams":[{"stream":{"a":"b"},"stream":{"a":"c"},"values":[]}]}`,
		"no labels":           `{"streams":[{"values":[]}]}`,
		"only empty label":    `{"streams":[{"stream":{"a":""},"values":[]}]}`,
	}
	for name, body := range leaves {
		t.Run(name, func(t *testing.T) {
			b := []byte(body)
			if req, ok := parseJSONFast(b, Limits{MaxLineBytes: 64}.withDefaults()); ok || req != nil {
				t.Fatalf("taken: %v", req)
			}
			if string(b) != body {
				t.Fatalf("body written over: %q", b)
			}
		})
	}
}

// TestUnescapeInPlace holds unescapeInPlace to jsonparser.Unescape (what
// parseJSON uses) on strings of every escape at every offset of a word.
func TestUnescapeInPlace(t *testing.T) {
	pieces := []string{`a`, `bcdefgh`, `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u00e9`, `\u20AC`, `\ud83d\ude00`, `\uD800\uDC00`, `\u0000`, `é`, "\x01"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		var sb strings.Builder
		for range rng.IntN(20) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		raw := sb.String()
		want, err := jsonparser.Unescape([]byte(raw), nil)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if got := unescapeInPlace(strings.Clone(raw)); got != string(want) {
			t.Fatalf("%q unescaped to %q, want %q", raw, got, want)
		}
	}
}
