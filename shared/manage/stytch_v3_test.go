package manage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
)

func TestStytchProjectID(t *testing.T) {
	tests := []struct {
		name, project, environment string
		want, field                string
	}{
		{"production", "acme", "production", "acme.production", ""},
		{"test", "acme", "test", "acme.test", ""},
		{"Stytch project id", "project-live-8f7e6d5c-4b3a-2918-7069-5e4d3c2b1a09", "production", "project-live-8f7e6d5c-4b3a-2918-7069-5e4d3c2b1a09.production", ""},
		{"underscore and digits", "acme_2", "eu-1", "acme_2.eu-1", ""},
		{"63 characters each", strings.Repeat("p", 63), strings.Repeat("e", 63), strings.Repeat("p", 63) + "." + strings.Repeat("e", 63), ""},
		{"project with a dot", "acme.io", "production", "", "project_slug"},
		{"environment with a dot", "acme", "prod.eu", "", "environment_slug"},
		{"empty project", "", "production", "", "project_slug"},
		{"empty environment", "acme", "", "", "environment_slug"},
		{"leading hyphen", "-acme", "production", "", "project_slug"},
		{"64 characters", "acme", strings.Repeat("e", 64), "", "environment_slug"},
		{"slash", "acme", "a/b", "", "environment_slug"},
		{"non-ASCII", "äcme", "production", "", "project_slug"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := StytchProjectID(tc.project, tc.environment)
			var ve *stream.ValidationError
			switch {
			case tc.field == "" && (err != nil || got != tc.want):
				t.Fatalf("= %q, %v; want %q", got, err, tc.want)
			case tc.field != "" && (!errors.As(err, &ve) || ve.Field != tc.field):
				t.Fatalf("= %q, %v; want a validation error on %s", got, err, tc.field)
			}
		})
	}
}

// The mapping is documented as reversible: every id it makes is a valid
// project id that splits back, at its one dot, into the slugs it came from,
// so two Stytch environments never share a logstream project.
func FuzzStytchProjectID(f *testing.F) {
	f.Add("acme", "production")
	f.Add("a.b", "c")
	f.Add("a", "b.c")
	f.Add("-", "_")
	f.Fuzz(func(t *testing.T, project, environment string) {
		id, err := StytchProjectID(project, environment)
		if err != nil {
			return
		}
		p, e, _ := strings.Cut(id, ".")
		if !stream.ValidProjectID(id) || p != project || e != environment {
			t.Fatalf("StytchProjectID(%q, %q) = %q, which does not split back", project, environment, id)
		}
	})
}

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// Stytch's client authenticates with its workspace key (HTTP Basic, key id
// and secret) or a bearer access token; both map onto logstream API keys,
// whose scope and access apply as on every route.
func TestStytchWorkspaceKeys(t *testing.T) {
	a := authAPI()
	a.Validator.Deliverable = func(string) bool { return true }
	write, wk := createKey(t, a, `["acme.production"]`, "write")
	read, rk := createKey(t, a, `["acme.production"]`, "read")
	other, ok := createKey(t, a, `["acme.test"]`, "write")
	prod := map[string]string{"project_slug": "acme", "environment_slug": "production", "destination_type": "DATADOG"}
	if r := callWithParams(t, a, RouteStytchV3Create, prod, `{"destination_type":"DATADOG","destination_config":{"datadog":{"site":"US","api_key":"`+ddKey+`"}}}`,
		map[string]string{"authorization": basicAuth(wk.ID, write)}); r.StatusCode != 200 {
		t.Fatalf("create with the workspace key: %d %s", r.StatusCode, r.Body)
	}
	tests := []struct {
		name, authorization, route string
		want                       int
	}{
		{"workspace key", basicAuth(wk.ID, write), RouteStytchV3Get, 200},
		{"workspace key, scheme in capitals", "BASIC " + strings.TrimPrefix(basicAuth(wk.ID, write), "Basic "), RouteStytchV3Get, 200},
		{"access token", "Bearer " + write, RouteStytchV3Disable, 200},
		{"admin key as workspace key", basicAuth("admin", adminSecret), RouteStytchV3Enable, 200},
		{"read key reads", basicAuth(rk.ID, read), RouteStytchV3Get, 200},
		{"read key cannot write", basicAuth(rk.ID, read), RouteStytchV3Disable, 403},
		{"read key as access token cannot write", "Bearer " + read, RouteStytchV3Delete, 403},
		{"key of another environment", basicAuth(ok.ID, other), RouteStytchV3Get, 404},
		{"id of another key", basicAuth(rk.ID, write), RouteStytchV3Get, 401},
		{"admin id with a project key", basicAuth("admin", write), RouteStytchV3Get, 401},
		{"project key id with the admin key", basicAuth(wk.ID, adminSecret), RouteStytchV3Get, 401},
		{"no id", basicAuth("", write), RouteStytchV3Get, 401},
		{"no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte(write)), RouteStytchV3Get, 401},
		{"not base64", "Basic " + write, RouteStytchV3Get, 401},
		{"unknown secret", basicAuth(wk.ID, "lsk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), RouteStytchV3Get, 401},
		{"no credentials", "", RouteStytchV3Get, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.authorization != "" {
				h["authorization"] = tc.authorization
			}
			r := callWithParams(t, a, tc.route, prod, "", h)
			if r.StatusCode != tc.want {
				t.Fatalf("%d %s, want %d", r.StatusCode, r.Body, tc.want)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(r.Body), &m); err != nil || m["status_code"] != float64(tc.want) {
				t.Fatalf("not in Stytch's shape: %s", r.Body)
			}
			// Never a Basic challenge: a browser would cache the credentials.
			if tc.want == 401 && r.Headers["www-authenticate"] != `Bearer realm="logstream"` {
				t.Errorf("www-authenticate %q", r.Headers["www-authenticate"])
			}
		})
	}
	// Basic is Stytch's scheme; the native routes take bearer keys only.
	if r := callWithParams(t, a, RouteList, map[string]string{"project_id": "acme.production"}, "",
		map[string]string{"authorization": basicAuth(wk.ID, write)}); r.StatusCode != 401 {
		t.Fatalf("a native route took a workspace key: %d %s", r.StatusCode, r.Body)
	}
}

// Create and Update answer the secret the caller sent, as Stytch's client
// decodes them; Get masks it, and no answer fills in a secret the request did
// not carry.
func TestStytchAnswersEchoOnlyTheSentSecret(t *testing.T) {
	const lokiPassword = "glc_eyJvIjoiMTIzNDU2NyJ9"
	v := stream.Validator{Deliverable: func(string) bool { return true }}
	mk := func(typ, cfg string) stream.Stream {
		s, err := v.New("acme.production", stream.CreateRequest{Name: "s", DestinationType: typ, DestinationConfig: json.RawMessage(cfg), Status: stream.StatusPaused}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dd := mk("datadog", `{"site":"datadoghq.eu","api_key":"`+ddKey+`"}`)
	loki := mk("grafana_loki", `{"hostname":"logs.example.com","username":"u","password":"`+lokiPassword+`"}`)
	tests := []struct {
		name string
		s    stream.Stream
		sent *StytchConfig
		want string
	}{
		{"get", dd, nil, `{"site":"EU","api_key_last_four":"cdef"}`},
		{"create", dd, &StytchConfig{Datadog: &StytchDatadog{Site: "EU", APIKey: ddKey}}, `{"site":"EU","api_key":"` + ddKey + `"}`},
		{"update without the key", dd, &StytchConfig{Datadog: &StytchDatadog{Site: "EU"}}, `{"site":"EU","api_key_last_four":"cdef"}`},
		{"a key that is not the stored one", dd, &StytchConfig{Datadog: &StytchDatadog{Site: "EU", APIKey: strings.Repeat("0", 32)}}, `{"site":"EU","api_key_last_four":"cdef"}`},
		{"the other type's member", dd, &StytchConfig{GrafanaLoki: &StytchLoki{Password: ddKey}}, `{"site":"EU","api_key_last_four":"cdef"}`},
		{"loki get", loki, nil, `{"hostname":"logs.example.com","username":"u","password_last_four":"NyJ9"}`},
		{"loki create", loki, &StytchConfig{GrafanaLoki: &StytchLoki{Password: lokiPassword}}, `{"hostname":"logs.example.com","username":"u","password":"` + lokiPassword + `"}`},
		{"loki update without the password", loki, &StytchConfig{GrafanaLoki: &StytchLoki{}}, `{"hostname":"logs.example.com","username":"u","password_last_four":"NyJ9"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := json.Marshal(toStytch(tc.s, tc.sent).DestinationConfig)
			var got map[string]json.RawMessage
			_ = json.Unmarshal(b, &got)
			for _, member := range got {
				if string(member) != tc.want {
					t.Fatalf("destination_config %s, want the member %s", b, tc.want)
				}
			}
		})
	}
}

// Every route topology sends to the API is one it serves, and the fallback
// routes answer 404 in the error shape of the family of the path they caught.
func TestEveryAPIRouteIsServed(t *testing.T) {
	a := authAPI() // without a key, a served route answers 400 or 401
	for _, r := range topology.New("logstream").Routes {
		if r.Function != topology.FunctionAPI || r.Fallback() {
			continue
		}
		t.Run(r.Key(), func(t *testing.T) {
			resp, _ := a.Handle(context.Background(), events.APIGatewayV2HTTPRequest{RouteKey: r.Key(), Headers: map[string]string{}})
			if strings.Contains(resp.Body, "route_not_found") {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
		})
	}
	tests := []struct {
		name, route, method, path string
		stytch                    bool
	}{
		{"unknown /pwa path", RouteStytchFallback, "GET", "/pwa/v3/projects/acme", true},
		{"method a v3 path does not serve", RouteStytchFallback, "PATCH", "/pwa/v3/projects/acme/environments/production/event_log_streaming/DATADOG", true},
		{"method a v1 Stytch path does not serve", RouteFallback, "PATCH", "/v1/projects/p/event_log_streaming/DATADOG", true},
		{"unknown /v1 path", RouteFallback, "GET", "/v1/nowhere", false},
		{"method a stream path does not serve", RouteFallback, "PUT", "/v1/projects/p/streams", false},
		{"a path of no family", RouteFallback, "GET", "/wp-login.php", false},
		{"a very long path", RouteFallback, "GET", "/" + strings.Repeat("x", 10_000), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := events.APIGatewayV2HTTPRequest{RouteKey: tc.route, RawPath: tc.path, Headers: map[string]string{},
				PathParameters: map[string]string{"proxy": strings.TrimPrefix(tc.path, "/")},
				RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-1",
					HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: tc.method, Path: tc.path}}}
			resp, _ := a.Handle(context.Background(), req)
			var body struct {
				StatusCode   int    `json:"status_code"`
				RequestID    string `json:"request_id"`
				ErrorType    string `json:"error_type"`
				ErrorMessage string `json:"error_message"`
				Error        *struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || resp.StatusCode != 404 || len(resp.Body) > 400 {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			if tc.stytch && (body.StatusCode != 404 || body.RequestID != "req-1" || body.ErrorType != "route_not_found" ||
				!strings.Contains(body.ErrorMessage, tc.method+" /") || body.Error != nil) {
				t.Fatalf("not Stytch's shape: %s", resp.Body)
			}
			if !tc.stytch && (body.Error == nil || body.Error.Code != "route_not_found" || body.ErrorType != "") {
				t.Fatalf("not the API's shape: %s", resp.Body)
			}
		})
	}
}
