package filter

import (
	"encoding/json"
	"slices"
	"testing"

	samples "github.com/logstream/logstream/events"
)

// sample reads one vendor's events from events/auth and returns each
// event's raw JSON and the value of its type field.
func sample(t testing.TB, file, field string) (raws [][]byte, types []string) {
	t.Helper()
	data, err := samples.FS.ReadFile("auth/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var evs []json.RawMessage
	if err := json.Unmarshal(data, &evs); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		var v map[string]any
		if err := json.Unmarshal(ev, &v); err != nil {
			t.Fatal(err)
		}
		s, _ := v[field].(string)
		raws, types = append(raws, ev), append(types, s)
	}
	return raws, types
}

// TestPresetsOnSamples runs every preset over every vendor's sample events:
// each passes exactly the events listed, by their type (Auth0's type,
// Okta's eventType, Stytch's action/status), and none of another vendor's.
func TestPresetsOnSamples(t *testing.T) {
	type vendorSample struct{ file, field string }
	files := []vendorSample{{"auth0.json", "type"}, {"okta.json", "eventType"}, {"stytch.json", "action"}}
	want := map[string]map[string][]string{ // preset → file → passed types, in order
		"auth0.auth.login.fail":             {"auth0.json": {"fp", "fu", "fp", "fp", "f"}},
		"auth0.auth.login.notification":     {},
		"auth0.auth.login.success":          {"auth0.json": {"s", "s", "s"}},
		"auth0.auth.logout.fail":            {},
		"auth0.auth.logout.success":         {"auth0.json": {"slo"}},
		"auth0.auth.signup.fail":            {},
		"auth0.auth.signup.success":         {"auth0.json": {"ss"}},
		"auth0.auth.silent_auth.fail":       {"auth0.json": {"fsa"}},
		"auth0.auth.silent_auth.success":    {"auth0.json": {"ssa"}},
		"auth0.auth.token_exchange.fail":    {"auth0.json": {"feacft"}},
		"auth0.auth.token_exchange.success": {"auth0.json": {"seacft", "seccft"}},
		"okta.sign-in": {"okta.json": {"user.session.start", "user.authentication.auth_via_mfa", "user.authentication.sso",
			"user.session.start", "user.session.start", "user.session.start", "user.session.start", "user.session.start",
			"user.authentication.auth_via_mfa", "user.session.end"}},
		"okta.account":   {"okta.json": {"user.account.lock", "user.account.unlock_by_admin", "user.account.reset_password"}},
		"okta.lifecycle": {"okta.json": {"user.lifecycle.create"}},
		"okta.security":  {"okta.json": {"security.threat.detected"}},
		"stytch.errors": {"stytch.json": {"MagicLinksAuthenticate", "PasswordsAuthenticate", "PasswordsAuthenticate",
			"PasswordsAuthenticate", "PasswordsAuthenticate", "OTPsAuthenticate"}},
		"stytch.authentications": {"stytch.json": {"PasswordsAuthenticate", "SessionsAuthenticate", "MagicLinksAuthenticate",
			"PasswordsAuthenticate", "PasswordsAuthenticate", "PasswordsAuthenticate", "PasswordsAuthenticate",
			"OAuthAuthenticate", "OTPsAuthenticate", "OTPsAuthenticate"}},
		"stytch.passwords": {"stytch.json": {"PasswordsAuthenticate", "PasswordsAuthenticate", "PasswordsAuthenticate",
			"PasswordsAuthenticate", "PasswordsAuthenticate", "PasswordsAuthenticate", "PasswordsAuthenticate"}},
	}
	seen := map[string]bool{}
	for _, p := range Presets() {
		seen[p.Name] = true
		t.Run(p.Name, func(t *testing.T) {
			w, ok := want[p.Name]
			if !ok {
				t.Fatalf("preset %s has no expectation in this test", p.Name)
			}
			m := mustCompile(t, &p.Filters)
			for _, f := range files {
				raws, types := sample(t, f.file, f.field)
				var got []string
				for i, raw := range raws {
					if m.Pass(raw) {
						got = append(got, types[i])
					}
				}
				if !slices.Equal(got, w[f.file]) {
					t.Errorf("%s passes %q of %s, want %q", p.Name, got, f.file, w[f.file])
				}
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("expected preset %s does not exist", name)
		}
	}
}

func TestLookup(t *testing.T) {
	p, ok := Lookup("okta.sign-in")
	if !ok || p.Vendor != "Okta" || len(p.Filters.Include) != 2 {
		t.Fatalf("Lookup(okta.sign-in) = %+v, %v", p, ok)
	}
	p.Filters.Include[0].Match = "changed"
	if q, _ := Lookup("okta.sign-in"); q.Filters.Include[0].Match == "changed" {
		t.Fatal("Lookup hands out the preset itself; a caller's change sticks")
	}
	if _, ok := Lookup("nope"); ok {
		t.Fatal("Lookup(nope) found something")
	}
	names := map[string]bool{}
	for _, p := range Presets() {
		if names[p.Name] {
			t.Errorf("preset %s listed twice", p.Name)
		}
		names[p.Name] = true
		if err := p.Filters.Validate(); err != nil {
			t.Errorf("preset %s is not valid filters: %v", p.Name, err)
		}
	}
}
