package filter

import "github.com/logstream/logstream/shared/stream"

// Preset is a ready-made filter for one vendor's events: a plain
// stream.Filters value, shown by the API (GET /v1/filter-presets) so a
// client copies it into a stream's filters as it is, or merges several:
// include rules of different presets combine as "any of them".
type Preset struct {
	Name        string         `json:"name"`
	Vendor      string         `json:"vendor"`
	Description string         `json:"description"`
	Filters     stream.Filters `json:"filters"`
}

// auth0 is a preset passing the Auth0 logs whose type code is one of codes.
// The codes of each category are those Auth0's own log streams filter by
// (Auth0 docs, "Log Stream Filters"), named as its Management API names the
// categories (auth.login.fail …).
func auth0(category, description string, codes ...string) Preset {
	return Preset{Name: "auth0." + category, Vendor: "Auth0", Description: description,
		Filters: stream.Filters{Include: []stream.Rule{{Field: "type", In: codes}}}}
}

// okta is a preset passing the Okta System Log events whose eventType
// starts with one of prefixes (Okta's event types are dotted:
// user.session.start, user.authentication.sso …).
func okta(name, description string, prefixes ...string) Preset {
	p := Preset{Name: "okta." + name, Vendor: "Okta", Description: description}
	for _, pre := range prefixes {
		p.Filters.Include = append(p.Filters.Include, stream.Rule{Field: "eventType", Match: pre + ".*"})
	}
	return p
}

// presets are listed in the order the API shows them. Every include rule
// names a field only its vendor's events carry (Auth0's type, Okta's
// eventType, Stytch's action and status), so in a project that sends
// several vendors' logs a preset passes only its vendor's events.
var presets = []Preset{
	auth0("auth.login.fail", "Auth0 failed logins", "f", "fc", "fco", "fcoa", "fens", "fp", "fu"),
	auth0("auth.login.notification", "Auth0 warnings during login", "w"),
	auth0("auth.login.success", "Auth0 successful logins", "s", "scoa", "sens"),
	auth0("auth.logout.fail", "Auth0 failed logouts", "flo", "oidc_backchannel_logout_failed"),
	auth0("auth.logout.success", "Auth0 logouts", "slo", "oidc_backchannel_logout_succeeded"),
	auth0("auth.signup.fail", "Auth0 failed signups", "fs"),
	auth0("auth.signup.success", "Auth0 signups", "ss"),
	auth0("auth.silent_auth.fail", "Auth0 failed silent authentications", "fsa"),
	auth0("auth.silent_auth.success", "Auth0 silent authentications", "ssa"),
	auth0("auth.token_exchange.fail", "Auth0 failed token exchanges",
		"feacft", "feccft", "fede", "feoobft", "feotpft", "fepft", "fepotpft", "fercft", "ferrt", "fertft"),
	auth0("auth.token_exchange.success", "Auth0 token exchanges",
		"seacft", "seccft", "sede", "seoobft", "seotpft", "sepft", "sercft", "sertft"),

	okta("sign-in", "Okta sessions and authentications (user.session.*, user.authentication.*)",
		"user.session", "user.authentication"),
	okta("account", "Okta account changes: locks, unlocks, password resets (user.account.*)", "user.account"),
	okta("lifecycle", "Okta user lifecycle: created, activated, deactivated (user.lifecycle.*)", "user.lifecycle"),
	okta("security", "Okta security events: threats, suspicious activity (security.*)", "security"),

	{Name: "stytch.errors", Vendor: "Stytch", Description: "Stytch actions that ended in an error (status error)",
		Filters: stream.Filters{Include: []stream.Rule{{Field: "status", In: []string{"error"}}}}},
	{Name: "stytch.authentications", Vendor: "Stytch", Description: "Stytch authentications, every method (action *Authenticate), without the start of each",
		Filters: stream.Filters{
			Include: []stream.Rule{{Field: "action", Match: "*Authenticate"}},
			Exclude: []stream.Rule{{Field: "status", In: []string{"start"}}}}},
	{Name: "stytch.passwords", Vendor: "Stytch", Description: "Stytch password actions (action Passwords*)",
		Filters: stream.Filters{Include: []stream.Rule{{Field: "action", Match: "Passwords*"}}}},
}

// Presets returns every preset, in the order the API lists them. The
// values are copies: a caller may change them.
func Presets() []Preset {
	out := make([]Preset, len(presets))
	for i, p := range presets {
		out[i] = p.clone()
	}
	return out
}

// Lookup returns the preset named name.
func Lookup(name string) (Preset, bool) {
	for _, p := range presets {
		if p.Name == name {
			return p.clone(), true
		}
	}
	return Preset{}, false
}

func (p Preset) clone() Preset {
	cp := func(rs []stream.Rule) []stream.Rule {
		if rs == nil {
			return nil
		}
		out := make([]stream.Rule, len(rs))
		for i, r := range rs {
			r.In = append([]string(nil), r.In...)
			if len(r.In) == 0 {
				r.In = nil
			}
			out[i] = r
		}
		return out
	}
	p.Filters = stream.Filters{Include: cp(p.Filters.Include), Exclude: cp(p.Filters.Exclude)}
	return p
}
