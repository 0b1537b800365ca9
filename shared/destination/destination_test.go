package destination

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestTypes(t *testing.T) {
	want := []string{"datadog", "grafana_loki", "splunk_hec", "http", "eventbridge", "s3"}
	if got := Types(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Types() = %v, want %v", got, want)
	}
	for _, typ := range Types() {
		c, err := newConfig(typ)
		if err != nil || c.Type() != typ {
			t.Errorf("newConfig(%q) = %v, %v", typ, c, err)
		}
	}
}

// Every declaration is whole: its config says its own type, no type is
// declared twice, and a sender that calls AWS with logstream's role says
// which service, and only such a sender asks for grants, each complete.
func TestKinds(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds() {
		if seen[k.Type] {
			t.Errorf("type %q declared twice", k.Type)
		}
		seen[k.Type] = true
		if c := k.New(); c == nil || c.Type() != k.Type {
			t.Errorf("%s: New() = %#v", k.Type, c)
		}
		if got, ok := KindOf(k.Type); !ok || got.Type != k.Type {
			t.Errorf("KindOf(%q) = %v, %v", k.Type, got.Type, ok)
		}
		if k.AWS == "" && len(k.Grants) > 0 {
			t.Errorf("%s: grants without an AWS service", k.Type)
		}
		for _, g := range k.Grants {
			if g.Sid == "" || len(g.Actions) == 0 || g.ARN == "" || strings.HasPrefix(g.ARN, "arn:") || g.AccountKey == "" {
				t.Errorf("%s: incomplete grant %+v", k.Type, g)
			}
		}
	}
	if _, ok := KindOf("kafka"); ok {
		t.Error("KindOf(kafka) found a kind")
	}
}

func TestValidateNil(t *testing.T) {
	var fe *FieldError
	for _, c := range []Config{nil, (*DatadogConfig)(nil)} {
		if err := Validate(c, prod); !errors.As(err, &fe) || fe.Field != "destination_type" {
			t.Errorf("Validate(%#v) = %v", c, err)
		}
	}
}

func TestFieldErrorMessage(t *testing.T) {
	if got := (&FieldError{Field: "site", Msg: "is required"}).Error(); got != "site: is required" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&FieldError{Msg: "is required"}).Error(); got != "is required" {
		t.Errorf("Error() = %q", got)
	}
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name  string
		typ   string
		raw   string
		field string
	}{
		{"unknown type", "kafka", `{}`, "destination_type"},
		{"empty type", "", `{}`, "destination_type"},
		{"missing config", Datadog, ``, ""},
		{"null config", Datadog, ` null `, ""},
		{"array", Datadog, `[]`, ""},
		{"string", Datadog, `"datadoghq.com"`, ""},
		{"not JSON", Datadog, `{site:1}`, ""},
		{"truncated", Datadog, `{"site":"datadoghq.com"`, ""},
		{"trailing object", Datadog, `{"site":"datadoghq.com"} {}`, ""},
		{"trailing brace", Datadog, `{"site":"datadoghq.com"}}`, ""},
		{"trailing garbage", Datadog, `{"site":"datadoghq.com"} x`, ""},
		{"unknown field", Datadog, `{"site":"datadoghq.com","region":"eu"}`, "region"},
		{"wrong type", SplunkHEC, `{"port":"8088"}`, "port"},
		{"float port", SplunkHEC, `{"port":80.5}`, "port"},
		{"too large", HTTP, `{"endpoint":"` + strings.Repeat("a", MaxConfigBytes) + `"}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.typ, json.RawMessage(tc.raw))
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want *FieldError, got %v", err)
			}
			if fe.Field != tc.field {
				t.Fatalf("field = %q, want %q (%v)", fe.Field, tc.field, fe)
			}
		})
	}
	c, err := Decode(Datadog, json.RawMessage(" {\"site\":\"datadoghq.com\"}\n"))
	if err != nil || c.(*DatadogConfig).Site != "datadoghq.com" {
		t.Fatalf("Decode with surrounding whitespace = %v, %v", c, err)
	}
}

func TestValidateUnsupported(t *testing.T) {
	var fe *FieldError
	if err := Validate(nil, prod); !errors.As(err, &fe) || fe.Field != "destination_type" {
		t.Fatalf("Validate(nil) = %v", err)
	}
}

// secretCase is a valid config of one type with every secret set, long
// enough to have a last four.
type secretCase struct {
	typ     string
	cfg     map[string]any
	secrets map[string]string
}

func secretCases() []secretCase {
	return []secretCase{
		{Datadog, map[string]any{"site": "US1", "api_key": ddKey, "tags": []string{"env:prod"}},
			map[string]string{"api_key": ddKey}},
		{GrafanaLoki, map[string]any{"hostname": "logs.example.com", "username": "123456", "password": "glc_eyJvIjoiMTIzNDU2In0=", "labels": map[string]string{"env": "prod"}},
			map[string]string{"password": "glc_eyJvIjoiMTIzNDU2In0="}},
		{SplunkHEC, map[string]any{"host": "hec.example.com", "token": hecToken, "index": "main"},
			map[string]string{"token": hecToken}},
		{HTTP, map[string]any{"endpoint": "https://hooks.example.com/x", "authorization": "Bearer s3cr3t-t0ken-value", "signing_secret": whsec(32), "custom_headers": map[string]string{"X-Tenant": "acme"}},
			map[string]string{"authorization": "Bearer s3cr3t-t0ken-value", "signing_secret": whsec(32)}},
		{EventBridge, map[string]any{"event_bus_arn": "arn:aws:events:us-east-1:123456789012:event-bus/b"}, map[string]string{}},
		{S3, map[string]any{"bucket": "acme-logs", "region": "eu-west-1", "prefix": "a/"}, map[string]string{}},
	}
}

func TestPublicHidesSecrets(t *testing.T) {
	for _, sc := range secretCases() {
		t.Run(sc.typ, func(t *testing.T) {
			c := mustValid(t, sc.typ, sc.cfg, prod)
			pub := Public(c)
			js, err := json.Marshal(pub)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Secrets()) != len(sc.secrets) {
				t.Fatalf("Secrets() has %d fields, want %d", len(c.Secrets()), len(sc.secrets))
			}
			for name, secret := range sc.secrets {
				if strings.Contains(string(js), secret) {
					t.Errorf("Public shows the %s secret: %s", name, js)
				}
				if _, ok := pub[name]; ok {
					t.Errorf("Public has the %s field", name)
				}
				if got, want := pub[name+"_last_four"], secret[len(secret)-4:]; got != want {
					t.Errorf("%s_last_four = %v, want %q", name, got, want)
				}
			}
			if strings.Contains(string(js), "generate_signing_secret") {
				t.Errorf("Public shows generate_signing_secret: %s", js)
			}
			// Everything else is shown as it is.
			clear, _, _ := Split(c)
			var want map[string]any
			_ = json.Unmarshal(clear, &want)
			for k, v := range want {
				if _, secret := sc.secrets[k]; secret {
					continue
				}
				if g, _ := json.Marshal(pub[k]); string(g) != mustJSON(t, v) {
					t.Errorf("Public[%s] = %s, want %s", k, g, mustJSON(t, v))
				}
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPublicShortSecretShowsNothing(t *testing.T) {
	c := mustValid(t, HTTP, map[string]any{"endpoint": "https://hooks.example.com/x", "authorization": "Basic abc12"}, prod)
	pub := Public(c)
	if pub["authorization_last_four"] != "" {
		t.Fatalf("authorization_last_four = %v for an 11-character secret, want \"\"", pub["authorization_last_four"])
	}
	if v, ok := pub["signing_secret_last_four"]; ok {
		t.Fatalf("signing_secret_last_four = %v for no secret, want it absent", v)
	}
	c = mustValid(t, GrafanaLoki, map[string]any{"hostname": "logs.example.com", "username": "u", "password": "short"}, prod)
	if js := mustJSON(t, Public(c)); strings.Contains(js, "short") || !strings.Contains(js, `"password_last_four":""`) {
		t.Fatalf("Public = %s", js)
	}
}

func TestLastFour(t *testing.T) {
	cases := map[string]string{"": "", "abcdefghijk": "", "abcdefghijkl": "ijkl", "ééééééééééé€xyz": "€xyz"}
	for in, want := range cases {
		if got := LastFour(in); got != want {
			t.Errorf("LastFour(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitJoinRoundTrip(t *testing.T) {
	for _, sc := range secretCases() {
		t.Run(sc.typ, func(t *testing.T) {
			c := mustValid(t, sc.typ, sc.cfg, prod)
			before := mustJSON(t, c)
			clear, secrets, err := Split(c)
			if err != nil {
				t.Fatal(err)
			}
			if mustJSON(t, c) != before {
				t.Fatal("Split modified its argument")
			}
			if !reflect.DeepEqual(secrets, sc.secrets) {
				t.Fatalf("secrets = %v, want %v", secrets, sc.secrets)
			}
			for name, secret := range sc.secrets {
				if strings.Contains(string(clear), secret) {
					t.Errorf("clear JSON holds the %s secret: %s", name, clear)
				}
			}
			back, err := Join(sc.typ, clear, secrets)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, c) {
				t.Fatalf("Join(Split(c)) = %+v, want %+v", back, c)
			}
		})
	}
}

func TestJoinRefusesUnknownSecret(t *testing.T) {
	c := mustValid(t, Datadog, map[string]any{"site": "US1", "api_key": ddKey}, prod)
	clear, _, _ := Split(c)
	if _, err := Join(Datadog, clear, map[string]string{"password": "x"}); err == nil {
		t.Fatal("Join accepted a secret the type does not have")
	}
	if _, err := Join(Datadog, json.RawMessage(`{"site":"x","nope":1}`), nil); err == nil {
		t.Fatal("Join accepted an unknown field")
	}
}

func TestValidateUpdateKeepsSecrets(t *testing.T) {
	for _, sc := range secretCases() {
		if len(sc.secrets) == 0 {
			continue
		}
		t.Run(sc.typ, func(t *testing.T) {
			prev := mustValid(t, sc.typ, sc.cfg, prod)

			// An update that omits every secret keeps the stored ones.
			omitted := map[string]any{}
			for k, v := range sc.cfg {
				if _, secret := sc.secrets[k]; !secret {
					omitted[k] = v
				}
			}
			next := mustDecode(t, sc.typ, omitted)
			if err := ValidateUpdate(next, prev, prod); err != nil {
				t.Fatalf("ValidateUpdate: %v", err)
			}
			for name, p := range next.Secrets() {
				if *p != sc.secrets[name] {
					t.Errorf("%s = %q, want the stored %q", name, *p, sc.secrets[name])
				}
			}

			// An update that gives a secret replaces it.
			given := with(sc.cfg)
			replacement := map[string]string{"api_key": "fedcba9876543210fedcba9876543210", "password": "new-password-value",
				"token": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "authorization": "Bearer new-value-123", "signing_secret": whsec(48)}
			for name := range sc.secrets {
				given[name] = replacement[name]
			}
			next = mustDecode(t, sc.typ, given)
			if err := ValidateUpdate(next, prev, prod); err != nil {
				t.Fatalf("ValidateUpdate: %v", err)
			}
			for name, p := range next.Secrets() {
				if *p != replacement[name] {
					t.Errorf("%s = %q, want the given %q", name, *p, replacement[name])
				}
			}
		})
	}
}

// Every field that decides where a secret is sent binds it: an update that
// changes one without giving the secret is refused on the secret's field.
func TestValidateUpdateRefusesToMoveASecret(t *testing.T) {
	http := map[string]any{"endpoint": "https://hooks.example.com/x", "authorization": "Bearer s3cr3t-t0ken-value", "signing_secret": whsec(32)}
	lokiHost := map[string]any{"hostname": "logs.example.com", "username": "u", "password": "p4ssw0rd-long-enough", "tenant_id": "acme"}
	lokiURL := map[string]any{"url": "http://127.0.0.1:3100/loki/api/v1/push", "username": "u", "password": "p4ssw0rd-long-enough"}
	splunkHost := map[string]any{"host": "hec.example.com", "token": hecToken}
	splunkURL := map[string]any{"url": "https://hec.example.com:8088", "token": hecToken}
	datadog := map[string]any{"site": "US1", "api_key": ddKey}
	cases := []struct {
		name   string
		typ    string
		prev   map[string]any
		next   map[string]any // without the secret
		secret string         // the field refused; "" when the update must pass
		moved  string         // the fields the message names
	}{
		{"http endpoint", HTTP, http, map[string]any{"endpoint": "https://attacker.example.net/x"}, "authorization", "endpoint"},
		{"http endpoint spelled differently", HTTP, http, map[string]any{"endpoint": " HTTPS://HOOKS.example.com/x"}, pass, ""},
		{"http custom header", HTTP, http, with(http, "authorization", omit, "signing_secret", omit, "custom_headers", map[string]string{"X-A": "b"}), pass, ""},
		{"loki hostname", GrafanaLoki, lokiHost, with(lokiHost, "password", omit, "hostname", "logs.attacker.net"), "password", "hostname"},
		{"loki hostname spelled differently", GrafanaLoki, lokiHost, with(lokiHost, "password", omit, "hostname", "LOGS.example.com."), pass, ""},
		{"loki tenant_id", GrafanaLoki, lokiHost, with(lokiHost, "password", omit, "tenant_id", "other"), "password", "tenant_id"},
		{"loki tenant_id removed", GrafanaLoki, lokiHost, with(lokiHost, "password", omit, "tenant_id", omit), "password", "tenant_id"},
		{"loki username", GrafanaLoki, lokiHost, with(lokiHost, "password", omit, "username", "v"), pass, ""},
		{"loki url", GrafanaLoki, lokiURL, with(lokiURL, "password", omit, "url", "http://127.0.0.2:3100/loki/api/v1/push"), "password", "url"},
		{"loki url to hostname", GrafanaLoki, lokiURL, map[string]any{"hostname": "logs.example.com", "username": "u"}, "password", "url, hostname"},
		{"splunk host", SplunkHEC, splunkHost, map[string]any{"host": "hec.attacker.net"}, "token", "host"},
		{"splunk port", SplunkHEC, splunkHost, map[string]any{"host": "hec.example.com", "port": 9999}, "token", "port"},
		{"splunk tls", SplunkHEC, splunkHost, map[string]any{"host": "hec.example.com", "tls": false}, "token", "tls"},
		{"splunk defaults spelled out", SplunkHEC, splunkHost, map[string]any{"host": "HEC.example.com", "port": 8088, "tls": true}, pass, ""},
		{"splunk url", SplunkHEC, splunkURL, map[string]any{"url": "https://hec.attacker.net:8088"}, "token", "url"},
		{"splunk url with the event path", SplunkHEC, splunkURL, map[string]any{"url": "https://hec.example.com:8088/services/collector/event"}, pass, ""},
		{"splunk host to the same url", SplunkHEC, splunkHost, map[string]any{"url": "https://hec.example.com:8088"}, "token", "url, host, port, tls"},
		{"datadog site", Datadog, datadog, map[string]any{"site": "EU1"}, "api_key", "site"},
		{"datadog site by name", Datadog, datadog, map[string]any{"site": "datadoghq.com", "service": "auth"}, pass, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prev := mustValid(t, tc.typ, tc.prev, dev)
			err := ValidateUpdate(mustDecode(t, tc.typ, tc.next), prev, dev)
			if tc.secret == pass {
				if err != nil {
					t.Fatalf("ValidateUpdate = %v, want the secret kept", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.secret || !strings.Contains(fe.Msg, "when "+tc.moved+" changes") {
				t.Fatalf("ValidateUpdate = %v, want a refusal on %s naming %s", err, tc.secret, tc.moved)
			}
			if strings.Contains(fe.Msg, tc.prev[tc.secret].(string)) {
				t.Fatalf("the error shows the secret: %v", fe)
			}

			// Given again, the secret goes with the move.
			next := mustDecode(t, tc.typ, with(tc.next, tc.secret, tc.prev[tc.secret]))
			if err := ValidateUpdate(next, prev, dev); err != nil {
				t.Fatalf("with the secret repeated: %v", err)
			}
		})
	}
}

// Each type declares its bindings once; they must name the type's own
// secrets and JSON fields, or a typo would bind nothing.
func TestSecretBindingsNameRealFields(t *testing.T) {
	for _, sc := range secretCases() {
		t.Run(sc.typ, func(t *testing.T) {
			c := mustValid(t, sc.typ, sc.cfg, prod)
			fields := reflect.TypeOf(c).Elem()
			names := map[string]bool{}
			for i := range fields.NumField() {
				name, _, _ := strings.Cut(fields.Field(i).Tag.Get("json"), ",")
				names[name] = true
			}
			for secret, bound := range c.SecretBindings() {
				if _, ok := c.Secrets()[secret]; !ok {
					t.Errorf("binding for %q, which is not a secret", secret)
				}
				if len(bound) == 0 {
					t.Errorf("%s is bound to no field", secret)
				}
				for _, f := range bound {
					if !names[f] {
						t.Errorf("%s is bound to %q, which is not a field", secret, f)
					}
				}
			}
			// Only the webhook signing secret never leaves logstream.
			for secret := range c.Secrets() {
				if _, ok := c.SecretBindings()[secret]; !ok && secret != "signing_secret" {
					t.Errorf("secret %s is bound to nothing", secret)
				}
			}
		})
	}
}

func TestValidateUpdateOtherType(t *testing.T) {
	prev := mustValid(t, Datadog, map[string]any{"site": "US1", "api_key": ddKey}, prod)
	next := mustDecode(t, HTTP, map[string]any{"endpoint": "https://hooks.example.com/x"})
	if err := ValidateUpdate(next, prev, prod); err != nil {
		t.Fatal(err)
	}
	for name, p := range next.Secrets() {
		if *p != "" {
			t.Errorf("%s copied from another type", name)
		}
	}
	if err := ValidateUpdate(next, nil, prod); err != nil {
		t.Fatal(err)
	}
	if err := ValidateUpdate(next, (*HTTPConfig)(nil), prod); err != nil {
		t.Fatal(err)
	}
}

func TestGenerateSigningSecret(t *testing.T) {
	cfg := map[string]any{"endpoint": "https://hooks.example.com/x", "generate_signing_secret": true}
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		c := mustValid(t, HTTP, cfg, prod).(*HTTPConfig)
		if !validSigningSecret(c.SigningSecret) {
			t.Fatalf("generated secret %q is not valid", c.SigningSecret)
		}
		if seen[c.SigningSecret] {
			t.Fatalf("generated secret %q twice", c.SigningSecret)
		}
		seen[c.SigningSecret] = true
		if c.GenerateSigningSecret {
			t.Fatal("generate_signing_secret left set after Validate")
		}
		clear, secrets, err := Split(c)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(clear), "generate_signing_secret") || strings.Contains(string(clear), c.SigningSecret) {
			t.Fatalf("clear JSON = %s", clear)
		}
		if secrets["signing_secret"] != c.SigningSecret {
			t.Fatalf("secrets = %v", secrets)
		}
		if js := mustJSON(t, Public(c)); strings.Contains(js, "generate_signing_secret") || strings.Contains(js, c.SigningSecret) {
			t.Fatalf("Public = %s", js)
		}
		// A second Validate leaves the config as it is.
		again := *c
		if err := Validate(&again, prod); err != nil || !reflect.DeepEqual(&again, c) {
			t.Fatalf("second Validate = %v, %+v", err, again)
		}
	}

	// The flag is never stored or shown, even on a config Validate has not seen.
	raw := mustDecode(t, HTTP, cfg)
	clear, _, _ := Split(raw)
	if strings.Contains(string(clear), "generate_signing_secret") {
		t.Fatalf("clear JSON = %s", clear)
	}
	if _, ok := Public(raw)["generate_signing_secret"]; ok {
		t.Fatal("Public shows generate_signing_secret")
	}

	// On update, asking for a new secret replaces the stored one.
	prev := mustValid(t, HTTP, map[string]any{"endpoint": "https://hooks.example.com/x", "signing_secret": whsec(32)}, prod)
	next := mustDecode(t, HTTP, cfg)
	if err := ValidateUpdate(next, prev, prod); err != nil {
		t.Fatal(err)
	}
	if got := next.(*HTTPConfig).SigningSecret; got == whsec(32) || !validSigningSecret(got) {
		t.Fatalf("signing secret after rotation = %q", got)
	}
}
