package manage

import (
	"encoding/json"
	"strings"
	"testing"
)

// Errors speak the API's terms: the member's path in the body and the JSON
// type it should be, never Go's types or package names.
func TestBodyErrorsSpeakTheAPIsTerms(t *testing.T) {
	tests := []struct {
		name, route, body string
		field, message    string // message: a substring of the error's message
	}{
		{"key body an array", RouteCreateKey, `[{"name":"k"}]`, "", "body must be a JSON object"},
		{"key body a string", RouteCreateKey, `"k"`, "", "body must be a JSON object"},
		{"projects a string", RouteCreateKey, `{"name":"k","projects":"proj_a","access":"read"}`, "projects", "projects: must be an array of strings"},
		{"a project a number", RouteCreateKey, `{"name":"k","projects":["proj_a",7],"access":"read"}`, "projects[1]", "projects[1]: must be a string"},
		{"name an object", RouteCreateKey, `{"name":{},"projects":["proj_a"],"access":"read"}`, "name", "name: must be a string"},
		{"key body broken", RouteCreateKey, `{"name":`, "", "body is not valid JSON"},
		{"key body with trailing data", RouteCreateKey, `{"name":"k","projects":["proj_a"],"access":"read"} {}`, "", "body must hold exactly one JSON object"},
		{"key field in another case", RouteCreateKey, `{"NAME":"k","projects":["proj_a"],"access":"read"}`, "NAME", "NAME: unknown field"},
		{"nested unknown field", RouteCreate, `{"name":"s","destination_type":"http","destination_config":{"endpoint":"https://h.example.com"},` +
			`"filters":{"include":[{"field":"a","match":"b"},{"field":"c","regex":"d"}]}}`, "filters.include[1].regex", "filters.include[1].regex: unknown field"},
		{"nested wrong type", RouteCreate, `{"name":"s","destination_type":"http","destination_config":{"endpoint":"https://h.example.com"},` +
			`"pii":{"fields":[{"field":"a","action":7}]}}`, "pii.fields[0].action", "pii.fields[0].action: must be a string"},
		{"stream body an array", RouteCreate, `[]`, "", "body must be a JSON object"},
		{"destination config unknown field", RouteCreate, `{"name":"s","destination_type":"http","destination_config":{"endpoint":"https://h.example.com","headers":{"custom_headers":1}}}`,
			"destination_config.headers", "destination_config.headers: unknown field"},
		{"destination config wrong type", RouteCreate, `{"name":"s","destination_type":"splunk_hec","destination_config":{"host":"h.example.com","port":"8088","token":"t"}}`,
			"destination_config.port", "destination_config.port: must be an integer"},
		{"destination config header value", RouteCreate, `{"name":"s","destination_type":"http","destination_config":{"endpoint":"https://h.example.com","custom_headers":{"X-A":1}}}`,
			"destination_config.custom_headers.X-A", "destination_config.custom_headers.X-A: must be a string"},
		{"invalid UTF-8 in a stream body", RouteCreate, "{\"name\":\"s\xff\",\"destination_type\":\"http\",\"destination_config\":{\"endpoint\":\"https://h.example.com\"}}",
			"", "body is not valid UTF-8"},
		{"invalid UTF-8 in a key body", RouteCreateKey, "{\"name\":\"k\",\"projects\":[\"proj_\xc3\"],\"access\":\"read\"}", "", "body is not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := as(t, authAPI(), adminSecret, tc.route, "proj_a", "", tc.body)
			var eb struct {
				Error struct{ Code, Message, Field string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &eb); err != nil {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			if resp.StatusCode != 400 || eb.Error.Field != tc.field || !strings.Contains(eb.Error.Message, tc.message) {
				t.Fatalf("%d field %q message %q; want 400, field %q, message with %q", resp.StatusCode, eb.Error.Field, eb.Error.Message, tc.field, tc.message)
			}
			for _, leak := range []string{"Go ", "manage.", "stream.", "destination.", "[]string", "json:", "unmarshal", "map["} {
				if strings.Contains(eb.Error.Message, leak) {
					t.Errorf("message %q leaks %q", eb.Error.Message, leak)
				}
			}
		})
	}
}

// Invalid UTF-8 is refused in a PATCH too, not replaced with U+FFFD on the
// way through the merge.
func TestPatchRefusesInvalidUTF8(t *testing.T) {
	a := authAPI()
	resp := as(t, a, adminSecret, RouteCreate, "proj_a", "", createBody)
	var created struct{ ID string }
	if err := json.Unmarshal([]byte(resp.Body), &created); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Body)
	}
	resp = as(t, a, adminSecret, RoutePatch, "proj_a", created.ID, "{\"name\":\"SIEM \xff\"}")
	if resp.StatusCode != 400 || !strings.Contains(resp.Body, "not valid UTF-8") {
		t.Fatalf("patch: %d %s, want 400 naming UTF-8", resp.StatusCode, resp.Body)
	}
	if got := as(t, a, adminSecret, RouteGet, "proj_a", created.ID, ""); !strings.Contains(got.Body, `"name":"SIEM"`) {
		t.Fatalf("the stream changed: %s", got.Body)
	}
}
