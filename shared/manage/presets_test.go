package manage

import (
	"encoding/json"
	"testing"

	"github.com/logstream/logstream/shared/filter"
)

// Every key may read the presets, none without one; an unknown name is a
// 404 in the API's error shape; what is shown is the preset as it is.
func TestFilterPresets(t *testing.T) {
	a := authAPI()
	readA, _ := createKey(t, a, `["proj_a"]`, "read")
	preset := func(secret, route, name string) (int, string) {
		t.Helper()
		h := map[string]string{}
		if secret != "" {
			h["authorization"] = "Bearer " + secret
		}
		r := callWithParams(t, a, route, map[string]string{"name": name}, "", h)
		return r.StatusCode, r.Body
	}
	tests := []struct {
		name, secret, route, preset string
		want                        int
	}{
		{"no key lists", "", RouteListFilterPresets, "", 401},
		{"unknown key shows", "lsk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", RouteGetFilterPreset, "okta.sign-in", 401},
		{"read key lists", readA, RouteListFilterPresets, "", 200},
		{"read key shows", readA, RouteGetFilterPreset, "okta.sign-in", 200},
		{"admin shows", adminSecret, RouteGetFilterPreset, "auth0.auth.login.fail", 200},
		{"unknown preset", readA, RouteGetFilterPreset, "okta.nope", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, body := preset(tc.secret, tc.route, tc.preset); got != tc.want {
				t.Fatalf("status %d, want %d: %s", got, tc.want, body)
			}
		})
	}

	_, body := preset(readA, RouteListFilterPresets, "")
	var list PresetList
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Data) != len(filter.Presets()) {
		t.Fatalf("list: %v, %d presets: %s", err, len(list.Data), body)
	}
	_, body = preset(readA, RouteGetFilterPreset, "okta.sign-in")
	want, _ := filter.Lookup("okta.sign-in")
	wantJSON, _ := json.Marshal(want)
	if body != string(wantJSON) {
		t.Fatalf("show: %s, want %s", body, wantJSON)
	}
	_, body = preset(readA, RouteGetFilterPreset, "okta.nope")
	var e struct{ Error struct{ Code string } }
	if json.Unmarshal([]byte(body), &e); e.Error.Code != "not_found" {
		t.Fatalf("unknown preset answered %s", body)
	}
}
