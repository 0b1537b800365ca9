package manage

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/stream"
)

// repointCase is one change of where a destination's credential goes: a
// stream created with cfg, then updated with the fields in change (nil
// deletes a field, as in a JSON merge patch).
type repointCase struct {
	name   string
	typ    string
	cfg    map[string]any
	secret string // the credential the change re-points; "" for a type with no stored secret
	change map[string]any
}

const (
	repointAuth     = "Bearer repoint-secret-0123456789"
	repointPassword = "glc_repoint-password-0123456789"
	repointToken    = "0badc0de-0000-4000-8000-00000000beef"
	repointAPIKey   = "abcdefabcdefabcdefabcdefabcdef01"
)

// repointCases covers every field that decides where a credential is sent,
// for every type; EventBridge and S3 store no credential, so moving them
// carries nothing and needs nothing repeated.
func repointCases() []repointCase {
	http := map[string]any{"endpoint": "https://a.example.com/hook", "authorization": repointAuth}
	lokiHost := map[string]any{"hostname": "logs-a.example.com", "username": "u1", "password": repointPassword, "tenant_id": "acme"}
	lokiURL := map[string]any{"url": "http://127.0.0.1:3100/loki/api/v1/push", "username": "u1", "password": repointPassword}
	splunkURL := map[string]any{"url": "https://hec-a.example.com:8088", "token": repointToken}
	splunkHost := map[string]any{"host": "hec-a.example.com", "token": repointToken}
	datadog := map[string]any{"site": "datadoghq.com", "api_key": repointAPIKey}
	eventBridge := map[string]any{"event_bus_arn": "arn:aws:events:eu-west-1:123456789012:event-bus/a"}
	s3 := map[string]any{"bucket": "bucket-a", "region": "eu-west-1", "role_arn": "arn:aws:iam::123456789012:role/a"}
	return []repointCase{
		{"http endpoint", "http", http, "authorization", map[string]any{"endpoint": "https://b.example.net/hook"}},
		{"loki hostname", "grafana_loki", lokiHost, "password", map[string]any{"hostname": "logs-b.example.net"}},
		{"loki tenant_id", "grafana_loki", lokiHost, "password", map[string]any{"tenant_id": "other-tenant"}},
		{"loki tenant_id removed", "grafana_loki", lokiHost, "password", map[string]any{"tenant_id": nil}},
		{"loki url", "grafana_loki", lokiURL, "password", map[string]any{"url": "http://127.0.0.2:3100/loki/api/v1/push"}},
		{"loki url to hostname", "grafana_loki", lokiURL, "password", map[string]any{"url": nil, "hostname": "logs-b.example.net"}},
		{"splunk url", "splunk_hec", splunkURL, "token", map[string]any{"url": "https://hec-b.example.net:8088"}},
		{"splunk host", "splunk_hec", splunkHost, "token", map[string]any{"host": "hec-b.example.net"}},
		{"splunk port", "splunk_hec", splunkHost, "token", map[string]any{"port": 9999}},
		{"splunk tls", "splunk_hec", splunkHost, "token", map[string]any{"tls": false}},
		{"datadog site", "datadog", datadog, "api_key", map[string]any{"site": "datadoghq.eu"}},
		{"eventbridge event_bus_arn", "eventbridge", eventBridge, "", map[string]any{"event_bus_arn": "arn:aws:events:eu-west-1:210987654321:event-bus/b"}},
		{"eventbridge region", "eventbridge", eventBridge, "", map[string]any{"event_bus_arn": "arn:aws:events:us-east-1:123456789012:event-bus/a", "region": "us-east-1"}},
		{"s3 bucket", "s3", s3, "", map[string]any{"bucket": "bucket-b"}},
		{"s3 role_arn", "s3", s3, "", map[string]any{"role_arn": "arn:aws:iam::210987654321:role/b"}},
	}
}

// merged returns base with change applied as a JSON merge patch would, and
// the credential removed unless keep is set.
func (tc repointCase) merged(keep bool) map[string]any {
	out := maps.Clone(tc.cfg)
	for k, v := range tc.change {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	if tc.secret != "" && !keep {
		delete(out, tc.secret)
	}
	return out
}

// body is the update request a route sends for the case: only the change
// for PATCH, the whole config for PUT; resend adds the credential.
func (tc repointCase) body(t *testing.T, route string, resend bool) string {
	t.Helper()
	var req map[string]any
	switch route {
	case RoutePatch:
		patch := maps.Clone(tc.change)
		if resend && tc.secret != "" {
			patch[tc.secret] = tc.cfg[tc.secret]
		}
		req = map[string]any{"destination_config": patch}
	case RoutePut:
		req = map[string]any{"name": "repoint", "destination_type": tc.typ, "status": "paused", "destination_config": tc.merged(resend)}
	default:
		t.Fatalf("no body for %s", route)
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// storedConfig is the stream's config as stored, secrets included.
func storedConfig(t *testing.T, a *API, id string) (stream.Stream, map[string]any) {
	t.Helper()
	s, ok := a.Streams.(*memStreams).m["p/"+id]
	if !ok {
		t.Fatalf("stream %s not stored", id)
	}
	var cfg map[string]any
	if err := json.Unmarshal(s.DestinationConfig, &cfg); err != nil {
		t.Fatal(err)
	}
	return s, cfg
}

func repointAPI() *API {
	a := allDeliverable(newAPI())
	// Loki's url and Splunk's plain http are for local development only.
	a.Validator.Net = netguard.Policy{AllowPrivate: true}
	return a
}

// An update that changes where a stored credential is sent, without giving
// the credential again, is refused with a 400 naming it: whoever may edit a
// stream but not read its secrets must not be able to send them elsewhere.
// With the credential repeated, the same update goes through.
func TestRepointRequiresTheCredential(t *testing.T) {
	for _, tc := range repointCases() {
		for _, route := range []string{RoutePatch, RoutePut} {
			t.Run(tc.name+"/"+strings.Fields(route)[0], func(t *testing.T) {
				a := repointAPI()
				create, _ := json.Marshal(map[string]any{"name": "repoint", "destination_type": tc.typ, "status": "paused", "destination_config": tc.cfg})
				r := call(t, a, RouteCreate, "p", "", "", string(create))
				if r.StatusCode != http.StatusCreated {
					t.Fatalf("create: %d %s", r.StatusCode, r.Body)
				}
				id := decodeStream(t, r).ID
				before, _ := storedConfig(t, a, id)

				r = callWith(t, a, route, "p", id, tc.body(t, route, false), nil)
				if tc.secret == "" {
					// Nothing stored travels with the move.
					if r.StatusCode != http.StatusOK {
						t.Fatalf("move of a type without a stored credential: %d %s", r.StatusCode, r.Body)
					}
					checkMoved(t, a, id, tc, false)
					return
				}
				code, field := errCode(t, r)
				if r.StatusCode != http.StatusBadRequest || code != "invalid_request" || field != "destination_config."+tc.secret {
					t.Fatalf("update without %s: %d %s, want 400 on destination_config.%s", tc.secret, r.StatusCode, r.Body, tc.secret)
				}
				if strings.Contains(r.Body, tc.cfg[tc.secret].(string)) {
					t.Fatalf("the error shows the secret: %s", r.Body)
				}
				if after, _ := storedConfig(t, a, id); after.Version != before.Version || string(after.DestinationConfig) != string(before.DestinationConfig) {
					t.Fatalf("a refused update changed the stream: %s", after.DestinationConfig)
				}

				r = callWith(t, a, route, "p", id, tc.body(t, route, true), nil)
				if r.StatusCode != http.StatusOK {
					t.Fatalf("update with %s repeated: %d %s", tc.secret, r.StatusCode, r.Body)
				}
				checkMoved(t, a, id, tc, true)
			})
		}
	}
}

// checkMoved checks that the stored config took the change and, with
// secret, holds the credential.
func checkMoved(t *testing.T, a *API, id string, tc repointCase, secret bool) {
	t.Helper()
	_, cfg := storedConfig(t, a, id)
	for k, v := range tc.change {
		got, _ := json.Marshal(cfg[k])
		want, _ := json.Marshal(v)
		if v == nil && cfg[k] != nil || v != nil && string(got) != string(want) {
			t.Errorf("stored %s = %s, want %s", k, got, want)
		}
	}
	if secret && cfg[tc.secret] != tc.cfg[tc.secret] {
		t.Errorf("stored %s = %v, want the one sent", tc.secret, cfg[tc.secret])
	}
}

// Updates that leave the credential's address alone keep it without
// repeating it, through both routes.
func TestUpdateElsewhereKeepsTheCredential(t *testing.T) {
	cases := []repointCase{
		{"http content_format", "http", map[string]any{"endpoint": "https://a.example.com/hook", "authorization": repointAuth},
			"authorization", map[string]any{"content_format": "JSONARRAY"}},
		{"http endpoint spelled differently", "http", map[string]any{"endpoint": "https://a.example.com/hook", "authorization": repointAuth},
			"authorization", map[string]any{"endpoint": "HTTPS://A.example.com/hook"}},
		{"loki labels", "grafana_loki", map[string]any{"hostname": "logs-a.example.com", "username": "u1", "password": repointPassword},
			"password", map[string]any{"labels": map[string]any{"env": "prod"}}},
		{"loki username", "grafana_loki", map[string]any{"hostname": "logs-a.example.com", "username": "u1", "password": repointPassword},
			"password", map[string]any{"username": "u2"}},
		{"splunk index", "splunk_hec", map[string]any{"host": "hec-a.example.com", "token": repointToken},
			"token", map[string]any{"index": "main"}},
		{"splunk default port spelled out", "splunk_hec", map[string]any{"host": "hec-a.example.com", "token": repointToken},
			"token", map[string]any{"port": 8088, "tls": true}},
		{"datadog site by name", "datadog", map[string]any{"site": "datadoghq.com", "api_key": repointAPIKey},
			"api_key", map[string]any{"site": "US1", "service": "auth"}},
	}
	for _, tc := range cases {
		for _, route := range []string{RoutePatch, RoutePut} {
			t.Run(tc.name+"/"+strings.Fields(route)[0], func(t *testing.T) {
				a := repointAPI()
				create, _ := json.Marshal(map[string]any{"name": "repoint", "destination_type": tc.typ, "status": "paused", "destination_config": tc.cfg})
				id := decodeStream(t, call(t, a, RouteCreate, "p", "", "", string(create))).ID
				r := callWith(t, a, route, "p", id, tc.body(t, route, false), nil)
				if r.StatusCode != http.StatusOK {
					t.Fatalf("%d %s", r.StatusCode, r.Body)
				}
				if _, cfg := storedConfig(t, a, id); cfg[tc.secret] != tc.cfg[tc.secret] {
					t.Fatalf("stored %s = %v, want the one kept", tc.secret, cfg[tc.secret])
				}
			})
		}
	}
}

// The Stytch-compatible update follows the same rule: its Datadog site and
// Loki hostname decide where the API key and password go.
func TestStytchRepointRequiresTheCredential(t *testing.T) {
	cases := []struct {
		name, typ, create, moved, movedWithSecret, same, secret, value string
	}{
		{"datadog site", "DATADOG",
			`{"destination_type":"DATADOG","destination_config":{"datadog":{"site":"US","api_key":"` + repointAPIKey + `"}}}`,
			`{"destination_config":{"datadog":{"site":"EU"}}}`,
			`{"destination_config":{"datadog":{"site":"EU","api_key":"` + repointAPIKey + `"}}}`,
			`{"destination_config":{"datadog":{"site":"US"}}}`,
			"api_key", repointAPIKey},
		{"loki hostname", "GRAFANA_LOKI",
			`{"destination_type":"GRAFANA_LOKI","destination_config":{"grafana_loki":{"hostname":"logs-a.example.com","username":"u1","password":"` + repointPassword + `"}}}`,
			`{"destination_config":{"grafana_loki":{"hostname":"logs-b.example.net","username":"u1"}}}`,
			`{"destination_config":{"grafana_loki":{"hostname":"logs-b.example.net","username":"u1","password":"` + repointPassword + `"}}}`,
			`{"destination_config":{"grafana_loki":{"hostname":"logs-a.example.com","username":"u2"}}}`,
			"password", repointPassword},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := repointAPI()
			if code, m := stytch(t, a, RouteStytchCreate, "", tc.create); code != http.StatusOK {
				t.Fatalf("create: %d %v", code, m)
			}
			id := decodeList(t, call(t, a, RouteList, "p", "", "", ""))[0].ID
			before, _ := storedConfig(t, a, id)

			code, m := stytch(t, a, RouteStytchUpdate, tc.typ, tc.moved)
			if msg, _ := m["error_message"].(string); code != http.StatusBadRequest || m["error_type"] != "invalid_argument" ||
				!strings.HasPrefix(msg, "destination_config."+tc.secret+":") || strings.Contains(msg, tc.value) {
				t.Fatalf("update without %s: %d %v", tc.secret, code, m)
			}
			if after, _ := storedConfig(t, a, id); after.Version != before.Version {
				t.Fatalf("a refused update changed the stream: %s", after.DestinationConfig)
			}

			if code, m := stytch(t, a, RouteStytchUpdate, tc.typ, tc.same); code != http.StatusOK {
				t.Fatalf("update leaving the address alone: %d %v", code, m)
			}
			if _, cfg := storedConfig(t, a, id); cfg[tc.secret] != tc.value {
				t.Fatalf("stored %s = %v, want the one kept", tc.secret, cfg[tc.secret])
			}

			if code, m := stytch(t, a, RouteStytchUpdate, tc.typ, tc.movedWithSecret); code != http.StatusOK {
				t.Fatalf("update with %s repeated: %d %v", tc.secret, code, m)
			}
			if _, cfg := storedConfig(t, a, id); cfg[tc.secret] != tc.value {
				t.Fatalf("stored %s = %v, want the one sent", tc.secret, cfg[tc.secret])
			}
		})
	}
}
