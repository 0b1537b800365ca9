package pii

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logstream/logstream/shared/jsonobj"
	"github.com/logstream/logstream/shared/stream"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var testKey = bytes.Repeat([]byte{7}, 32)

func rules(pairs ...string) *stream.PII {
	p := &stream.PII{}
	for i := 0; i+1 < len(pairs); i += 2 {
		p.Fields = append(p.Fields, stream.PIIField{Field: pairs[i], Action: pairs[i+1]})
	}
	return p
}

func hmacHex(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

func TestMask(t *testing.T) {
	h := func(s string) string { return `"` + hmacHex(testKey, s) + `"` }
	tests := []struct {
		name  string
		rules *stream.PII
		in    string
		want  string
	}{
		{"redact top level", rules("email", "redact"), `{"a":1,"email":"x@example.com","b":"\u00e9"}`, `{"a":1,"email":"[REDACTED]","b":"\u00e9"}`},
		{"white space kept", rules("email", "redact"), "{ \"email\" : \"x\" ,\n \"z\":[1, 2] }", "{ \"email\" : \"[REDACTED]\" ,\n \"z\":[1, 2] }"},
		{"nested", rules("actor.alternateId", "hash"), `{"actor":{"id":"1","alternateId":"a@b.c"}}`, `{"actor":{"id":"1","alternateId":` + h("a@b.c") + `}}`},
		{"hash decodes escapes", rules("e", "hash"), `{"e":"a\u0040b"}`, `{"e":` + h("a@b") + `}`},
		{"hash of a number is of its text", rules("n", "hash"), `{"n":1.50}`, `{"n":` + h("1.50") + `}`},
		{"array of strings", rules("emails", "redact"), `{"emails":["a","b",null]}`, `{"emails":["[REDACTED]","[REDACTED]",null]}`},
		{"through an array of objects", rules("target.alternateId", "hash"),
			`{"target":[{"alternateId":"x","id":1},{"id":2},{"alternateId":"y"}]}`,
			`{"target":[{"alternateId":` + h("x") + `,"id":1},{"id":2},{"alternateId":` + h("y") + `}]}`},
		{"arrays within arrays", rules("a.b", "redact"), `{"a":[[{"b":1}],[[{"b":2}]]]}`, `{"a":[[{"b":"[REDACTED]"}],[[{"b":"[REDACTED]"}]]]}`},
		{"object redacted whole", rules("geo", "redact"), `{"geo":{"city":"Portland"},"x":1}`, `{"geo":"[REDACTED]","x":1}`},
		{"null stays", rules("ip", "truncate_ip"), `{"ip":null}`, `{"ip":null}`},
		{"missing path", rules("a.b.c", "redact"), `{"a":{"b":1},"c":2}`, `{"a":{"b":1},"c":2}`},
		{"ipv4", rules("ip", "truncate_ip"), `{"ip":"198.51.100.23"}`, `{"ip":"198.51.100.0"}`},
		{"ipv6", rules("ip", "truncate_ip"), `{"ip":"2001:db8:1234:5678::1"}`, `{"ip":"2001:db8:1234::"}`},
		{"ipv4-mapped ipv6", rules("ip", "truncate_ip"), `{"ip":"::ffff:198.51.100.23"}`, `{"ip":"198.51.100.0"}`},
		{"ipv6 with zone", rules("ip", "truncate_ip"), `{"ip":"fe80::1%eth0"}`, `{"ip":"fe80::"}`},
		{"not an ip is redacted", rules("ip", "truncate_ip"), `{"ip":"198.51.100.23:443"}`, `{"ip":"[REDACTED]"}`},
		{"a number is not an ip", rules("ip", "truncate_ip"), `{"ip":19851}`, `{"ip":"[REDACTED]"}`},
		{"repeated names all masked", rules("e", "redact"), `{"e":"a","e":"b"}`, `{"e":"[REDACTED]","e":"[REDACTED]"}`},
		{"escaped name", rules("email", "redact"), `{"em\u0061il":"a"}`, `{"em\u0061il":"[REDACTED]"}`},
		{"prefix rule wins", rules("actor", "redact", "actor.id", "hash"), `{"actor":{"id":"1"}}`, `{"actor":"[REDACTED]"}`},
		// XXH64 reference values (seed 0): "" ef46db3751d8e999, "abc" 44bc2cf5ad770999.
		{"xxhash", rules("e", "xxhash", "f", "xxhash"), `{"e":"abc","f":""}`, `{"e":"44bc2cf5ad770999","f":"ef46db3751d8e999"}`},
		{"xxhash decodes escapes", rules("e", "xxhash"), `{"e":"a\u0062c"}`, `{"e":"44bc2cf5ad770999"}`},
		{"untouched escapes kept", rules("x", "redact"), `{"m":"<a>\/\u2028","x":"s"}`, `{"m":"<a>\/\u2028","x":"[REDACTED]"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(tt.rules, testKey)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Mask([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Mask(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("not valid JSON: %s", got)
			}
		})
	}
}

func TestMaskUnchangedReturnsInput(t *testing.T) {
	m, _ := Compile(rules("a", "redact"), nil)
	in := []byte(`{"b":1}`)
	got, err := m.Mask(in)
	if err != nil || &got[0] != &in[0] {
		t.Errorf("Mask without a match = %s, %v; want the input itself", got, err)
	}
	var nilMasker *Masker
	if got, _ := nilMasker.Mask(in); &got[0] != &in[0] {
		t.Error("a nil Masker changed the event")
	}
}

func TestMaskMalformed(t *testing.T) {
	m, _ := Compile(rules("a.b", "redact"), nil)
	for _, in := range []string{`{"a":{"b":1}`, `[1]`, `{"a":{"b" 1}}`, `{"a":[{"b":1},]}`} {
		if got, err := m.Mask([]byte(in)); err == nil {
			t.Errorf("Mask(%s) = %s, want an error", in, got)
		}
	}
}

func TestCompile(t *testing.T) {
	if _, err := Compile(rules("a", "hash"), nil); err == nil {
		t.Error("hash without a key compiled")
	}
	if _, err := Compile(rules("a", "scramble"), nil); err == nil {
		t.Error("an unknown action compiled")
	}
	if m, err := Compile(&stream.PII{}, nil); m != nil || err != nil {
		t.Errorf("no rules = %v, %v; want nil, nil", m, err)
	}
}

// goldenRules mask the identities and addresses in events/auth, for every
// vendor at once (a path an event lacks masks nothing).
var goldenRules = rules(
	"actor.alternateId", "hash",
	"actor.displayName", "redact",
	"client.ipAddress", "truncate_ip",
	"request.ipChain.ip", "truncate_ip",
	"request.ipChain.geographicalContext", "redact",
	"target.alternateId", "hash",
	"ip", "truncate_ip",
	"user_name", "hash",
	"user_id", "hash",
	"details.request.auth.user.email", "redact",
	"ip_address", "truncate_ip",
	"member_email", "hash",
	"user_agent", "redact",
)

// goldenKeys derive the golden stream's key, so the goldens also pin the
// derivation.
func goldenKey(t testing.TB) []byte {
	l, err := NewLocalKeys(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x42}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	k, err := l.StreamKey(context.Background(), "proj_golden", "str_golden")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sampleEvents are the events of an events/auth file, as written there:
// indented, so the goldens show that white space survives too.
func sampleEvents(t testing.TB, file string) [][]byte {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var evs [][]byte
	if strings.HasSuffix(file, ".ndjson") {
		for _, l := range bytes.Split(b, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				evs = append(evs, l)
			}
		}
		return evs
	}
	if err := jsonobj.Elements(bytes.TrimSpace(b), func(v []byte) bool { evs = append(evs, v); return true }); err != nil {
		t.Fatal(err)
	}
	return evs
}

// The masked events/auth samples, byte for byte.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("../../events/auth/*")
	if len(files) == 0 {
		t.Fatal("no samples in events/auth")
	}
	m, err := Compile(goldenRules, goldenKey(t))
	if err != nil {
		t.Fatal(err)
	}
	redactAll := redacting(goldenRules)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			for _, ev := range sampleEvents(t, f) {
				got, err := m.Mask(ev)
				if err != nil {
					t.Fatal(err)
				}
				if !json.Valid(got) {
					t.Fatalf("not valid JSON: %s", got)
				}
				checkUntouched(t, redactAll, ev, got)
				checkNoPlaintext(t, goldenRules, ev, got)
				out.Write(got)
				out.WriteByte('\n')
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("masked %s differs from %s (go test -update rewrites it; review the diff)", f, golden)
			}
		})
	}
}

// redacting is p with every action redact.
func redacting(p *stream.PII) *Masker {
	r := &stream.PII{}
	for _, f := range p.Fields {
		r.Fields = append(r.Fields, stream.PIIField{Field: f.Field, Action: stream.PIIRedact})
	}
	m, _ := Compile(r, nil)
	return m
}

// checkUntouched holds that masking changed nothing but the masked values:
// redacting every masked path of the input and of the output gives the same
// bytes, so every byte outside those values is the input's.
func checkUntouched(t testing.TB, redactAll *Masker, in, out []byte) {
	t.Helper()
	a, err1 := redactAll.Mask(in)
	b, err2 := redactAll.Mask(out)
	if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
		t.Fatalf("bytes outside the masked values changed:\n in %s\nout %s", in, out)
	}
}

// checkNoPlaintext holds that no value a rule masks is left at its path
// (the same text in another, unmasked field is that field's business).
func checkNoPlaintext(t testing.TB, p *stream.PII, in, out []byte) {
	t.Helper()
	var vin, vout any
	if err := json.Unmarshal(in, &vin); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &vout); err != nil {
		t.Fatal(err)
	}
	for _, f := range p.Fields {
		path := strings.Split(f.Field, ".")
		left := map[string]bool{}
		for _, s := range stringsAt(vout, path) {
			left[s] = true
		}
		for _, s := range stringsAt(vin, path) {
			if left[s] {
				t.Errorf("%s: plaintext %q is still there", f.Field, s)
			}
		}
	}
}

// stringsAt collects the strings at path in v, through arrays, as Mask
// finds them.
func stringsAt(v any, path []string) []string {
	switch x := v.(type) {
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, stringsAt(e, path)...)
		}
		return out
	case map[string]any:
		if len(path) == 0 {
			b, _ := json.Marshal(x)
			return []string{string(b)}
		}
		return stringsAt(x[path[0]], path[1:])
	case string:
		if len(path) == 0 {
			return []string{x}
		}
	}
	return nil
}
