package destination

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/logstream/logstream/shared/netguard"
)

var (
	prod = netguard.Policy{}
	dev  = netguard.Policy{AllowPrivate: true}
)

const (
	ddKey    = "0123456789abcdef0123456789abcdef"
	hecToken = "12345678-9abc-def0-1234-56789abcdef0"
)

// whsec returns a Standard Webhooks secret over n bytes.
func whsec(n int) string {
	return "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, n))
}

// omit, as a value in with, deletes the key.
type omitted struct{}

var omit = omitted{}

// with returns a copy of base with the given key/value pairs set (or, for
// omit, deleted).
func with(base map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(base))
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if _, ok := kv[i+1].(omitted); ok {
			delete(out, k)
			continue
		}
		out[k] = kv[i+1]
	}
	return out
}

// vcase is one validation case: cfg is decoded and validated under the
// production policy, or the local-development one when dev is set. A case
// with field "" must pass; otherwise it must fail on exactly that field.
type vcase struct {
	name  string
	cfg   map[string]any
	dev   bool
	field string
	check func(t *testing.T, c Config)
}

// pass marks a case that must be accepted.
const pass = ""

func decodeValidate(typ string, cfg map[string]any, p netguard.Policy) (Config, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	c, err := Decode(typ, raw)
	if err != nil {
		return nil, err
	}
	return c, Validate(c, p)
}

func runCases(t *testing.T, typ string, cases []vcase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := prod
			if tc.dev {
				p = dev
			}
			c, err := decodeValidate(typ, tc.cfg, p)
			if tc.field == pass {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				if tc.check != nil {
					tc.check(t, c)
				}
				// Every accepted config survives storage, and Validate leaves
				// what it normalised as it is.
				clear, secrets, err := Split(c)
				if err != nil {
					t.Fatal(err)
				}
				back, err := Join(typ, clear, secrets)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(back, c) {
					t.Fatalf("Join(Split(c)) = %+v, want %+v", back, c)
				}
				if err := Validate(back, p); err != nil || !reflect.DeepEqual(back, c) {
					t.Fatalf("second Validate: %v, %+v, want %+v", err, back, c)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want *FieldError on %q, got %v", tc.field, err)
			}
			if fe.Field != tc.field {
				t.Fatalf("want error on %q, got %q (%v)", tc.field, fe.Field, fe)
			}
			if fe.Msg == "" {
				t.Fatalf("error on %q has no message", fe.Field)
			}
		})
	}
}

// mustValid decodes and validates cfg, failing the test on an error.
func mustValid(t *testing.T, typ string, cfg map[string]any, p netguard.Policy) Config {
	t.Helper()
	c, err := decodeValidate(typ, cfg, p)
	if err != nil {
		t.Fatalf("%s config %v: %v", typ, cfg, err)
	}
	return c
}

func mustDecode(t *testing.T, typ string, cfg map[string]any) Config {
	t.Helper()
	raw, _ := json.Marshal(cfg)
	c, err := Decode(typ, raw)
	if err != nil {
		t.Fatalf("decode %s %s: %v", typ, raw, err)
	}
	return c
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }
