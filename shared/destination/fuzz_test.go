package destination

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/logstream/logstream/shared/netguard"
)

// FuzzDecodeValidate feeds arbitrary bytes to Decode and Validate for every
// type. Neither may panic, errors must be *FieldError, and whatever is
// accepted must keep its secrets out of Public and the clear JSON, survive
// Split and Join unchanged, and be left as it is by a second Validate.
//
// typeIndex picks the type (mod 6) and, from its next bit, the policy.
func FuzzDecodeValidate(f *testing.F) {
	for i, sc := range secretCases() {
		raw, _ := json.Marshal(sc.cfg)
		f.Add(uint8(i), raw)
	}
	seeds := []struct {
		typ int
		raw string
	}{
		{0, `{"site":"us3","api_key":"0123456789ABCDEF0123456789abcdef","service":"s","tags":["a:b","c"]}`},
		{1, `{"url":"http://localhost:3100/loki/api/v1/push","format":"json","tenant_id":"t1"}`},
		{1, `{"hostname":"[::1]:3100","username":"u","password":"p","labels":{"env":"prod"}}`},
		{2, `{"url":"https://hec.example.com:8088/services/collector/event","token":"12345678-9abc-def0-1234-56789abcdef0","sourcetype":"_json"}`},
		{2, `{"host":"::1","tls":false,"port":8088,"token":"12345678-9abc-def0-1234-56789abcdef0"}`},
		{3, `{"endpoint":"https://h.example.com/x","generate_signing_secret":true,"custom_headers":{"X-A":"b"}}`},
		{3, `{"endpoint":"https://h.example.com/x","authorization":"short"}`},
		{4, `{"event_bus_arn":"arn:aws-cn:events:cn-north-1:123456789012:event-bus/b","source":"com.x","detail_type":"d"}`},
		{5, `{"bucket":"a.b-c","region":"us-gov-west-1","role_arn":"arn:aws-us-gov:iam::123456789012:role/p/r"}`},
		{0, `{} {}`},
		{3, `[1,2]`},
	}
	for _, s := range seeds {
		f.Add(uint8(s.typ), []byte(s.raw))
		f.Add(uint8(s.typ+6), []byte(s.raw)) // the same under the dev switch
	}

	f.Fuzz(func(t *testing.T, typeIndex uint8, raw []byte) {
		types := Types()
		typ := types[int(typeIndex)%len(types)]
		p := netguard.Policy{AllowPrivate: (int(typeIndex)/len(types))%2 == 1}

		c, err := Decode(typ, raw)
		if err == nil {
			err = Validate(c, p)
		}
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error is %T, not *FieldError: %v", err, err)
			}
			return
		}

		clear, secrets, err := Split(c)
		if err != nil {
			t.Fatalf("Split: %v", err)
		}
		pub, err := json.Marshal(Public(c))
		if err != nil {
			t.Fatalf("marshal Public: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(pub, &m); err != nil {
			t.Fatalf("Public is not an object: %s", pub)
		}
		// Only values can leak; key names such as "password_last_four" are
		// not the customer's text.
		var values strings.Builder
		for k, v := range m {
			if !strings.HasSuffix(k, "_last_four") {
				b, _ := json.Marshal(v)
				values.Write(b)
				values.WriteByte('\n')
			}
		}
		for name, ptr := range c.Secrets() {
			secret := *ptr
			if secrets[name] != secret {
				t.Fatalf("Split secret %s = %q, want %q", name, secrets[name], secret)
			}
			if _, ok := m[name]; ok {
				t.Fatalf("Public has secret field %s: %s", name, pub)
			}
			lf, _ := m[name+"_last_four"].(string)
			if runeLen(secret) < 12 {
				if lf != "" {
					t.Fatalf("%s_last_four = %q for a %d-character secret", name, lf, runeLen(secret))
				}
				continue
			}
			if lf != LastFour(secret) {
				t.Fatalf("%s_last_four = %q, want %q", name, lf, LastFour(secret))
			}
			// The secret may legitimately equal a clear field's value (a
			// password that repeats the username); only then may its text
			// appear.
			enc, _ := json.Marshal(secret)
			text := strings.Trim(string(enc), `"`)
			if strings.Contains(values.String(), text) && !strings.Contains(string(clear), text) {
				t.Fatalf("Public shows secret %s: %s", name, pub)
			}
		}
		if strings.Contains(string(clear), "generate_signing_secret") || strings.Contains(string(pub), "generate_signing_secret") {
			t.Fatalf("generate_signing_secret stored or shown: %s / %s", clear, pub)
		}

		back, err := Join(typ, clear, secrets)
		if err != nil {
			t.Fatalf("Join: %v\nclear %s", err, clear)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("Join(Split(c)) = %+v, want %+v", back, c)
		}

		// Validate is idempotent: what it accepted and normalised, it accepts
		// again unchanged.
		if err := Validate(back, p); err != nil {
			t.Fatalf("second Validate: %v\nconfig %+v", err, c)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("second Validate changed %+v into %+v", c, back)
		}
	})
}
