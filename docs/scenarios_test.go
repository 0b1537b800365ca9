package docs_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/filter"
	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/stream"
)

// Route keys, as topology and the document name them.
const (
	rCreateKey = "POST /v1/keys"
	rListKeys  = "GET /v1/keys"
	rRevokeKey = "DELETE /v1/keys/{key_id}"
	rQueues    = "GET /v1/admin/queues"
	rCreate    = "POST /v1/projects/{project_id}/streams"
	rList      = "GET /v1/projects/{project_id}/streams"
	rGet       = "GET /v1/projects/{project_id}/streams/{stream_id}"
	rPatch     = "PATCH /v1/projects/{project_id}/streams/{stream_id}"
	rPut       = "PUT /v1/projects/{project_id}/streams/{stream_id}"
	rDelete    = "DELETE /v1/projects/{project_id}/streams/{stream_id}"
	rEnable    = "POST /v1/projects/{project_id}/streams/{stream_id}/enable"
	rDisable   = "POST /v1/projects/{project_id}/streams/{stream_id}/disable"
	rHealth    = "GET /v1/projects/{project_id}/streams/{stream_id}/health"
	rTest      = "POST /v1/projects/{project_id}/streams/{stream_id}/test"
	rIngest    = "POST /v1/projects/{project_id}/events"
	rPresets   = "GET /v1/filter-presets"
	rWhoAmI    = "GET /v1/whoami"
	rProjects  = "GET /v1/projects"
	rPreset    = "GET /v1/filter-presets/{name}"

	sCreate  = "POST /v1/projects/{project_id}/event_log_streaming"
	sGet     = "GET /v1/projects/{project_id}/event_log_streaming/{destination_type}"
	sPut     = "PUT /v1/projects/{project_id}/event_log_streaming/{destination_type}"
	sDelete  = "DELETE /v1/projects/{project_id}/event_log_streaming/{destination_type}"
	sEnable  = "POST /v1/projects/{project_id}/event_log_streaming/{destination_type}/enable"
	sDisable = "POST /v1/projects/{project_id}/event_log_streaming/{destination_type}/disable"

	pwaV3     = "/pwa/v3/projects/{project_slug}/environments/{environment_slug}/event_log_streaming"
	s3Create  = "POST " + pwaV3
	s3Get     = "GET " + pwaV3 + "/{destination_type}"
	s3Put     = "PUT " + pwaV3 + "/{destination_type}"
	s3Delete  = "DELETE " + pwaV3 + "/{destination_type}"
	s3Enable  = "POST " + pwaV3 + "/{destination_type}/enable"
	s3Disable = "POST " + pwaV3 + "/{destination_type}/disable"
)

// stytchPaths is one family of Stytch-compatible routes and the project its
// calls address.
type stytchPaths struct {
	create, get, put, delete, enable, disable string
	project                                   string
	params                                    func(typ string) map[string]string
}

var (
	stytchV1 = stytchPaths{sCreate, sGet, sPut, sDelete, sEnable, sDisable, projectA, stytchParams}
	// stytchV3 addresses Stytch project acme, environment production: the
	// logstream project stytchProject.
	stytchV3 = stytchPaths{s3Create, s3Get, s3Put, s3Delete, s3Enable, s3Disable, stytchProject, stytchV3Params}
)

// familyOf is the family of a Stytch-compatible route.
func familyOf(route string) stytchPaths {
	if strings.Contains(route, "/pwa/") {
		return stytchV3
	}
	return stytchV1
}

// scenario is one request to one route and the answer it must get.
type scenario struct {
	name  string
	route string
	setup func(f *fixture)
	call  func(f *fixture) call
	// status, and for errors the code and field, the handler must answer.
	status      int
	code, field string
	// invalid marks a request the document forbids (the scenarios of
	// refusals): the request validator must reject it, as the handler does.
	invalid bool
	check   func(t *testing.T, f *fixture, r *result)
}

// access is what a route asks of the caller's key.
type access int

const (
	admin  access = iota // the admin key
	read                 // read access to the project
	write                // write access to the project
	anyKey               // any valid key, of any project or access
)

// routeShape says which generated scenarios apply to a route.
type routeShape struct {
	access   access
	stream   bool // names a stream (stream_id)
	stytchly bool // answers errors in Stytch's shape
	slugs    bool // names its project with Stytch's project and environment slugs
}

var shapes = map[string]routeShape{
	rCreateKey: {access: admin}, rListKeys: {access: admin}, rRevokeKey: {access: admin}, rQueues: {access: admin},
	rCreate: {access: write}, rList: {access: read}, rGet: {access: read, stream: true},
	rPatch: {access: write, stream: true}, rPut: {access: write, stream: true}, rDelete: {access: write, stream: true},
	rEnable: {access: write, stream: true}, rDisable: {access: write, stream: true},
	rHealth: {access: read, stream: true}, rTest: {access: write, stream: true}, rIngest: {access: write},
	sCreate: {access: write, stytchly: true}, sGet: {access: read, stytchly: true}, sPut: {access: write, stytchly: true},
	sDelete: {access: write, stytchly: true}, sEnable: {access: write, stytchly: true}, sDisable: {access: write, stytchly: true},
	s3Create: {access: write, stytchly: true, slugs: true}, s3Get: {access: read, stytchly: true, slugs: true},
	s3Put: {access: write, stytchly: true, slugs: true}, s3Delete: {access: write, stytchly: true, slugs: true},
	s3Enable: {access: write, stytchly: true, slugs: true}, s3Disable: {access: write, stytchly: true, slugs: true},
	rDLSummary: {access: read}, rDLEvents: {access: read}, rDLRedrive: {access: write}, rDLPurge: {access: write},
	rDLJobs: {access: read}, rDLJob: {access: read}, rDLAdmin: {access: admin},
	rReplay: {access: write, stream: true}, rReplays: {access: read}, rReplayJob: {access: read}, rCancelReplay: {access: write},
	rPresets: {access: anyKey}, rPreset: {access: anyKey}, rWhoAmI: {access: anyKey}, rProjects: {access: anyKey},
}

// Request bodies.
const (
	createKeyBody = `{"name":"ci-ingest","projects":["proj_a"],"access":"write"}`
	datadogAPIKey = "0123456789abcdef0123456789abcdef"
	webhookAuth   = "Bearer 7d1c0b9e4f2a8c3d5e6f"
	lokiPassword  = "glc_eyJvIjoiMTIzNDU2NyJ9"
	splunkToken   = "12345678-9abc-def0-1234-56789abcdef0"
)

var createBodies = map[string]string{
	"datadog": `{"name":"Datadog EU","destination_type":"datadog","destination_config":{"site":"datadoghq.eu","api_key":"` + datadogAPIKey + `","service":"auth","tags":["env:prod"]}}`,
	"grafana_loki": `{"name":"Grafana Cloud","destination_type":"grafana_loki","destination_config":{"hostname":"logs-prod-eu-west-0.grafana.net","username":"123456","password":"` + lokiPassword + `","labels":{"env":"prod"}},` +
		`"filters":{"include":[{"field":"type","match":"user.*"}],"exclude":[{"field":"actor.id","in":["usr_healthcheck"]}]}}`,
	"splunk_hec": `{"name":"Splunk","destination_type":"splunk_hec","destination_config":{"url":"https://hec.example.com:8088","token":"` + splunkToken + `","index":"auth","sourcetype":"_json"},` +
		`"pii":{"fields":[{"field":"actor.ip","action":"truncate_ip"},{"field":"actor.email","action":"hash"}]}}`,
	"http": `{"name":"SIEM webhook","destination_type":"http","destination_config":{"endpoint":"https://hooks.example.com/logstream","authorization":"` + webhookAuth + `",` +
		`"content_format":"JSONARRAY","custom_headers":{"X-Team":"identity"},"generate_signing_secret":true}}`,
	"eventbridge":                  `{"name":"EventBridge","destination_type":"eventbridge","status":"paused","destination_config":{"event_bus_arn":"arn:aws:events:eu-west-1:123456789012:event-bus/auth-events"}}`,
	"grafana_loki (tenant, JSON)":  `{"name":"Loki","destination_type":"grafana_loki","destination_config":{"hostname":"loki.example.com:3100","username":"ops","password":"short","tenant_id":"acme","format":"json"}}`,
	"splunk_hec (host)":            `{"name":"Splunk by host","destination_type":"splunk_hec","destination_config":{"host":"hec.example.com","port":8443,"token":"` + splunkToken + `"}}`,
	"http (one request per event)": `{"name":"Per-event hook","destination_type":"http","destination_config":{"endpoint":"https://hooks.example.com/e","content_format":"JSONOBJECT"}}`,
	"s3":                           `{"name":"Archive","destination_type":"s3","destination_config":{"bucket":"acme-audit-logs","region":"eu-west-1","prefix":"logs/","role_arn":"arn:aws:iam::123456789012:role/logstream-writer"}}`,
}

func jsonCall(auth string, params map[string]string, body string) call {
	return call{params: params, auth: auth, headers: map[string]string{"Content-Type": "application/json"}, body: []byte(body)}
}

func project(p string) map[string]string { return map[string]string{"project_id": p} }

func (f *fixture) streamParams(s stream.Stream) map[string]string {
	return map[string]string{"project_id": s.ProjectID, "stream_id": s.ID}
}

// clone copies a call so a derived scenario can change it.
func (c call) clone() call {
	out := c
	out.params = map[string]string{}
	for k, v := range c.params {
		out.params[k] = v
	}
	out.headers = map[string]string{}
	for k, v := range c.headers {
		out.headers[k] = v
	}
	return out
}

// base is each route's successful call, from which the generated
// scenarios derive theirs.
var base = map[string]func(f *fixture) call{
	rCreateKey: func(f *fixture) call { return jsonCall(adminSecret, nil, createKeyBody) },
	rListKeys:  func(f *fixture) call { return call{auth: adminSecret} },
	rQueues:    func(f *fixture) call { return call{auth: adminSecret} },
	rRevokeKey: func(f *fixture) call { return call{auth: adminSecret, params: map[string]string{"key_id": f.spare.ID}} },
	rCreate:    func(f *fixture) call { return jsonCall(f.writeKey, project(projectA), createBodies["datadog"]) },
	rList:      func(f *fixture) call { return call{auth: f.readKey, params: project(projectA)} },
	rGet:       func(f *fixture) call { return call{auth: f.readKey, params: f.streamParams(f.webhook)} },
	rPatch: func(f *fixture) call {
		return jsonCall(f.writeKey, f.streamParams(f.webhook), `{"name":"SIEM webhook (EU)"}`)
	},
	rPut: func(f *fixture) call {
		return jsonCall(f.writeKey, f.streamParams(f.webhook), `{"name":"SIEM","destination_type":"http","destination_config":{"endpoint":"`+f.env.receiver.URL+`/ok","content_format":"JSONLINES"}}`)
	},
	rDelete:  func(f *fixture) call { return call{auth: f.writeKey, params: f.streamParams(f.webhook)} },
	rEnable:  func(f *fixture) call { return call{auth: f.writeKey, params: f.streamParams(f.archive)} },
	rDisable: func(f *fixture) call { return call{auth: f.writeKey, params: f.streamParams(f.webhook)} },
	rHealth:  func(f *fixture) call { return call{auth: f.readKey, params: f.streamParams(f.webhook)} },
	rTest:    func(f *fixture) call { return call{auth: f.writeKey, params: f.streamParams(f.webhook)} },
	rIngest: func(f *fixture) call {
		// Ingestion accepts times near its clock (event.DefaultWindow).
		ts := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
		return jsonCall(f.writeKey, project(projectA), `[{"type":"user.session.start","actor":{"id":"usr_42"}},{"event_id":"evt_2","timestamp":"`+ts+`","type":"user.login"}]`)
	},

	rPresets:  func(f *fixture) call { return call{auth: f.otherKey} },
	rWhoAmI:   func(f *fixture) call { return call{auth: f.readKey} },
	rProjects: func(f *fixture) call { return call{auth: adminSecret} },
	rPreset:   func(f *fixture) call { return call{auth: f.readKey, params: map[string]string{"name": "okta.sign-in"}} },

	sCreate: func(f *fixture) call { return jsonCall(f.writeKey, project(projectA), stytchDatadogBody) },
	sGet:    func(f *fixture) call { return call{auth: f.readKey, params: stytchParams("DATADOG")} },
	sPut: func(f *fixture) call {
		return jsonCall(f.writeKey, stytchParams("DATADOG"), `{"destination_config":{"datadog":{"site":"EU","api_key":"fedcba9876543210fedcba9876543210"}}}`)
	},
	sDelete:  func(f *fixture) call { return jsonCall(f.writeKey, stytchParams("DATADOG"), "") },
	sEnable:  func(f *fixture) call { return jsonCall(f.writeKey, stytchParams("DATADOG"), "") },
	sDisable: func(f *fixture) call { return jsonCall(f.writeKey, stytchParams("DATADOG"), "") },

	// As stytch-management-go v3 sends them: its Create body has no
	// grafana_loki member, and Enable and Disable send {}.
	s3Create: func(f *fixture) call {
		return jsonCall(f.writeKey, stytchV3Params(""), `{"destination_type":"DATADOG","destination_config":{"datadog":{"api_key":"`+datadogAPIKey+`","site":"US"}}}`)
	},
	s3Get: func(f *fixture) call { return jsonCall(f.readKey, stytchV3Params("DATADOG"), "") },
	s3Put: func(f *fixture) call {
		return jsonCall(f.writeKey, stytchV3Params("DATADOG"), `{"destination_config":{"datadog":{"api_key":"fedcba9876543210fedcba9876543210","site":"EU"}}}`)
	},
	rDLSummary: func(f *fixture) call { return call{auth: f.readKey, params: project(projectA)} },
	rDLEvents:  func(f *fixture) call { return call{auth: f.readKey, params: project(projectA)} },
	rDLRedrive: func(f *fixture) call {
		return jsonCall(f.writeKey, project(projectA), `{"filter":{"stream_id":"`+f.webhook.ID+`","reasons":["exhausted","gone"]},"rate":500}`)
	},
	rDLPurge: func(f *fixture) call {
		return jsonCall(f.writeKey, project(projectA), `{"filter":{"reasons":["rejected"]},"dry_run":true}`)
	},
	rDLJobs: func(f *fixture) call { return call{auth: f.readKey, params: project(projectA)} },
	rDLJob: func(f *fixture) call {
		return call{auth: f.readKey, params: map[string]string{"project_id": projectA, "job_id": someJob(f.t, f.dl)}}
	},
	rDLAdmin: func(f *fixture) call { return call{auth: adminSecret} },

	rReplay: func(f *fixture) call {
		return jsonCall(f.writeKey, f.streamParams(f.webhook), f.replayBody(-3*time.Hour, -time.Hour, `,"filter":{"exclude":[{"field":"type","match":"user.logout"}]},"rate":500`))
	},
	rReplays:      func(f *fixture) call { return call{auth: f.readKey, params: project(projectA)} },
	rReplayJob:    func(f *fixture) call { return call{auth: f.readKey, params: f.replayParams(f.someReplay())} },
	rCancelReplay: func(f *fixture) call { return call{auth: f.writeKey, params: f.replayParams(f.someReplay())} },

	s3Delete:  func(f *fixture) call { return jsonCall(f.writeKey, stytchV3Params("DATADOG"), "") },
	s3Enable:  func(f *fixture) call { return jsonCall(f.writeKey, stytchV3Params("DATADOG"), "{}") },
	s3Disable: func(f *fixture) call { return jsonCall(f.writeKey, stytchV3Params("DATADOG"), "{}") },
}

const stytchDatadogBody = `{"destination_type":"DATADOG","destination_config":{"datadog":{"site":"US","api_key":"` + datadogAPIKey + `"},"grafana_loki":null}}`

func stytchParams(typ string) map[string]string {
	return map[string]string{"project_id": projectA, "destination_type": typ}
}

func stytchV3Params(typ string) map[string]string {
	p := map[string]string{"project_slug": "acme", "environment_slug": "production"}
	if typ != "" {
		p["destination_type"] = typ
	}
	return p
}

// derive makes a scenario from a route's base call.
// withKey sends the call with an Idempotency-Key.
func withKey(_ *fixture, c *call) {
	c.headers["Idempotency-Key"] = "0190c0ff-ee00-7000-8000-00000000beef"
}

// doKeyed sends the base ingest request with withKey's key once, as a
// scenario's earlier attempt, and wants it accepted.
func (f *fixture) doKeyed() {
	f.t.Helper()
	c := base[rIngest](f).clone()
	withKey(f, &c)
	if r := f.do(rIngest, c); r.status != http.StatusAccepted {
		f.t.Fatalf("first attempt: %d %s", r.status, r.body)
	}
}

func derive(route, name string, status int, code, field string, invalid bool, change func(f *fixture, c *call)) scenario {
	return scenario{name: name, route: route, status: status, code: code, field: field, invalid: invalid,
		setup: stytchSetup(route),
		call: func(f *fixture) call {
			c := base[route](f).clone()
			change(f, &c)
			return c
		}}
}

// stytchSetup gives the Stytch routes that name a config one to name.
func stytchSetup(route string) func(f *fixture) {
	fam := familyOf(route)
	if route == fam.create || !shapes[route].stytchly {
		return nil
	}
	return func(f *fixture) { f.stytchCreate(fam) }
}

func (f *fixture) stytchCreate(fam stytchPaths) {
	f.t.Helper()
	if r := f.do(fam.create, base[fam.create](f)); r.status != http.StatusOK {
		f.t.Fatalf("create Stytch config: %d %s", r.status, r.body)
	}
	// As in Stytch, a new config streams once it is enabled.
	if r := f.do(fam.enable, base[fam.enable](f)); r.status != http.StatusOK {
		f.t.Fatalf("enable Stytch config: %d %s", r.status, r.body)
	}
}

func (f *fixture) stytchDisable(fam stytchPaths) {
	f.t.Helper()
	if r := f.do(fam.disable, base[fam.disable](f)); r.status != http.StatusOK {
		f.t.Fatalf("disable Stytch config: %d %s", r.status, r.body)
	}
}

// generated are the authentication and addressing scenarios every route of
// a shape gets.
func generated(route string) []scenario {
	sh := shapes[route]
	// The Stytch-compatible routes answer the same codes, as error_type.
	codes := map[int]string{400: "invalid_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found"}
	unauthenticated := func(t *testing.T, _ *fixture, r *result) {
		if got := r.headers.Get("WWW-Authenticate"); got != `Bearer realm="logstream"` {
			t.Errorf("WWW-Authenticate %q", got)
		}
	}
	out := []scenario{
		derive(route, "no API key", 401, codes[401], "", true, func(_ *fixture, c *call) { c.auth = "" }),
		derive(route, "unknown API key", 401, codes[401], "", false, func(_ *fixture, c *call) {
			c.auth = "lsk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		}),
		derive(route, "revoked API key", 401, codes[401], "", false, func(f *fixture, c *call) {
			_, _ = f.keys.Revoke(context.Background(), f.spare.ID, f.spare.CreatedAt)
			c.auth = f.spareSecret
		}),
	}
	out[0].check, out[1].check = unauthenticated, unauthenticated
	if route == rRevokeKey {
		out = out[:2] // the revoked key is this route's own target
	}
	switch sh.access {
	case anyKey:
		return out
	case admin:
		out = append(out, derive(route, "project key on an admin route", 403, codes[403], "", false,
			func(f *fixture, c *call) { c.auth = f.writeKey }))
		return out
	case write:
		out = append(out, derive(route, "read-only key", 403, codes[403], "", false, func(f *fixture, c *call) { c.auth = f.readKey }))
	}
	badProjectField, badProject := "project_id", "project_id"
	if sh.stytchly {
		badProjectField = ""
	}
	if sh.slugs {
		badProject = "project_slug"
	}
	out = append(out,
		derive(route, "key of another project", 404, codes[404], "", false, func(f *fixture, c *call) { c.auth = f.otherKey }),
		derive(route, "malformed project id", 400, codes[400], badProjectField, true, func(_ *fixture, c *call) { c.params[badProject] = "-proj" }),
	)
	if sh.stream {
		out = append(out,
			derive(route, "unknown stream", 404, "not_found", "", false, func(_ *fixture, c *call) {
				c.params["stream_id"] = "str_00000000000000000000000000000000"
			}),
			derive(route, "malformed stream id", 404, "not_found", "", true, func(_ *fixture, c *call) { c.params["stream_id"] = "nope" }),
		)
	}
	return out
}

// scenarios is every scenario, generated ones first.
func scenarios() []scenario {
	var all []scenario
	for _, route := range sortedKeys(shapes) {
		all = append(all, generated(route)...)
	}
	all = append(all, keyScenarios()...)
	all = append(all, streamScenarios()...)
	all = append(all, changeScenarios()...)
	all = append(all, opsScenarios()...)
	all = append(all, deadLetterScenarios()...)
	all = append(all, replayScenarios()...)
	all = append(all, ingestScenarios()...)
	all = append(all, presetScenarios()...)
	all = append(all, stytchScenarios()...)
	all = append(all, bridgeScenarios()...)
	return all
}

// checking adds a check to a scenario.
func (sc scenario) checking(check func(t *testing.T, f *fixture, r *result)) scenario {
	sc.check = check
	return sc
}

func succeeds(route, name string, status int, check func(t *testing.T, f *fixture, r *result)) scenario {
	return scenario{name: name, route: route, status: status, call: func(f *fixture) call { return base[route](f) }, check: check,
		setup: stytchSetup(route)}
}

func keyScenarios() []scenario {
	return []scenario{
		succeeds(rCreateKey, "create", 201, func(t *testing.T, f *fixture, r *result) {
			m := r.json(t)
			if secret, _ := m["secret"].(string); !strings.HasPrefix(secret, "lsk_") || dig(m, "key.last_four") != secret[len(secret)-4:] {
				t.Errorf("secret %q, key %v", secret, m["key"])
			}
			if dig(m, "key.admin") != false {
				t.Errorf("a created key is an admin key: %s", r.body)
			}
		}),
		derive(rCreateKey, "admin flag refused", 400, "invalid_request", "admin", true, func(_ *fixture, c *call) {
			c.body = []byte(`{"name":"x","projects":["proj_a"],"access":"write","admin":true}`)
		}),
		derive(rCreateKey, "invalid fields", 400, "invalid_request", "name", true, func(_ *fixture, c *call) {
			c.body = []byte(`{"name":"","projects":[],"access":"root"}`)
		}),
		derive(rCreateKey, "too large", 413, "payload_too_large", "", true, func(_ *fixture, c *call) {
			c.body = []byte(`{"name":"` + strings.Repeat("k", 70_000) + `","projects":["proj_a"],"access":"read"}`)
		}),
		derive(rCreateKey, "not JSON", 415, "unsupported_media_type", "", true, func(_ *fixture, c *call) {
			c.headers["Content-Type"] = "text/plain"
		}),
		succeeds(rListKeys, "list", 200, func(t *testing.T, f *fixture, r *result) {
			if strings.Contains(string(r.body), f.writeKey) || strings.Contains(string(r.body), apikey.HashKey(f.writeKey)) {
				t.Errorf("the key list shows a secret or hash: %s", r.body)
			}
		}),
		succeeds(rRevokeKey, "revoke", 200, func(t *testing.T, f *fixture, r *result) {
			if r.json(t)["revoked_at"] == nil {
				t.Errorf("no revoked_at: %s", r.body)
			}
			// The authenticator caches nothing here (CacheTTL 0): the key stops at once.
			if again := f.do(rList, call{auth: f.spareSecret, params: project(projectA)}); again.status != 401 {
				t.Errorf("the revoked key still reads streams: %d", again.status)
			}
		}),
		derive(rRevokeKey, "unknown key", 404, "not_found", "", false, func(_ *fixture, c *call) {
			c.params["key_id"] = "key_00000000000000000000"
		}),
		succeeds(rQueues, "depths", 200, func(t *testing.T, f *fixture, r *result) {
			var got manage.QueuesResponse
			if err := json.Unmarshal(r.body, &got); err != nil || len(got.Queues) != len(destination.Types()) {
				t.Fatalf("want one entry per destination type: %s (%v)", r.body, err)
			}
			if q := got.Queues[0]; q.DestinationType != destination.Types()[0] || q.DeadLetterQueue.Messages != 2 {
				t.Errorf("first entry %+v, want %s with its DLQ's 2 messages", q, destination.Types()[0])
			}
		}),
		derive(rQueues, "SQS unavailable", 503, "queues_unavailable", "", false, func(f *fixture, _ *call) {
			f.depths.err = errors.New("sqs: connection refused")
		}),
	}
}

func streamScenarios() []scenario {
	var out []scenario
	for _, typ := range sortedKeys(createBodies) {
		out = append(out, derive(rCreate, "create "+typ, 201, "", "", false, func(_ *fixture, c *call) {
			c.body = []byte(createBodies[typ])
		}).checking(func(t *testing.T, f *fixture, r *result) {
			m := r.json(t)
			for _, secret := range []string{datadogAPIKey, webhookAuth, lokiPassword, splunkToken} {
				if strings.Contains(string(r.body), secret) {
					t.Errorf("the response shows a secret: %s", r.body)
				}
			}
			if loc := r.headers.Get("Location"); loc != "/v1/projects/proj_a/streams/"+m["id"].(string) {
				t.Errorf("Location %q", loc)
			}
			if r.headers.Get("ETag") != `"1"` || m["version"] != 1.0 {
				t.Errorf("ETag %q version %v", r.headers.Get("ETag"), m["version"])
			}
			if typ == "http" {
				secret, _ := dig(m, "destination_config.signing_secret").(string)
				if !strings.HasPrefix(secret, "whsec_") || dig(m, "destination_config.authorization_last_four") != "5e6f" {
					t.Errorf("generated signing secret not shown once, or authorization not masked: %s", r.body)
				}
				// Shown once: reading the stream again masks it.
				again := f.do(rGet, call{auth: f.readKey, params: map[string]string{"project_id": projectA, "stream_id": m["id"].(string)}})
				if strings.Contains(string(again.body), secret) {
					t.Errorf("the signing secret is shown again: %s", again.body)
				}
			}
		}))
	}
	out = append(out,
		derive(rCreate, "Datadog site by name", 201, "", "", false, func(_ *fixture, c *call) {
			c.body = []byte(`{"name":"dd","destination_type":"datadog","destination_config":{"site":"US3","api_key":"` + datadogAPIKey + `"}}`)
		}),
		derive(rCreate, "unknown field", 400, "invalid_request", "bogus", true, func(_ *fixture, c *call) {
			c.body = []byte(`{"name":"x","destination_type":"s3","destination_config":{"bucket":"acme-audit-logs","region":"eu-west-1"},"bogus":1}`)
		}),
		derive(rCreate, "config of another type", 400, "invalid_request", "destination_config.endpoint", true, func(_ *fixture, c *call) {
			c.body = []byte(`{"name":"x","destination_type":"datadog","destination_config":{"endpoint":"https://hooks.example.com/x"}}`)
		}),
		derive(rCreate, "plain http endpoint", 400, "invalid_request", "destination_config.endpoint", false, func(_ *fixture, c *call) {
			c.body = []byte(`{"name":"x","destination_type":"http","destination_config":{"endpoint":"ftp://hooks.example.com/x"}}`)
		}),
		derive(rCreate, "missing name", 400, "invalid_request", "name", true, func(_ *fixture, c *call) {
			c.body = []byte(`{"destination_type":"s3","destination_config":{"bucket":"acme-audit-logs","region":"eu-west-1"}}`)
		}),
		derive(rCreate, "rule with match and in", 400, "invalid_request", "filters.include[0]", true, func(_ *fixture, c *call) {
			c.body = []byte(`{"name":"x","destination_type":"s3","destination_config":{"bucket":"acme-audit-logs","region":"eu-west-1"},` +
				`"filters":{"include":[{"field":"type","match":"a*","in":["b"]}]}}`)
		}),
		derive(rCreate, "unknown PII action", 400, "invalid_request", "pii.fields[0].action", true, func(_ *fixture, c *call) {
			c.body = []byte(`{"name":"x","destination_type":"s3","destination_config":{"bucket":"acme-audit-logs","region":"eu-west-1"},` +
				`"pii":{"fields":[{"field":"actor.email","action":"encrypt"}]}}`)
		}),
		derive(rCreate, "its own suspension policy", 201, "", "", false, func(_ *fixture, c *call) {
			c.body = []byte(`{"name":"nightly","destination_type":"s3","destination_config":{"bucket":"acme-audit-logs","region":"eu-west-1"},` +
				`"suspension":{"after":"168h","after_permanent_failures":0}}`)
		}),
		derive(rCreate, "suspension window under a minute", 400, "invalid_request", "suspension.after", false, func(_ *fixture, c *call) {
			c.body = []byte(`{"name":"x","destination_type":"s3","destination_config":{"bucket":"acme-audit-logs","region":"eu-west-1"},` +
				`"suspension":{"after":"30s"}}`)
		}),
		derive(rCreate, "negative suspension count", 400, "invalid_request", "suspension.after_permanent_failures", true, func(_ *fixture, c *call) {
			c.body = []byte(`{"name":"x","destination_type":"s3","destination_config":{"bucket":"acme-audit-logs","region":"eu-west-1"},` +
				`"suspension":{"after_permanent_failures":-1}}`)
		}),
		derive(rCreate, "suspended is not for users", 400, "invalid_request", "status", true, func(_ *fixture, c *call) {
			c.body = []byte(`{"name":"x","status":"suspended","destination_type":"s3","destination_config":{"bucket":"acme-audit-logs","region":"eu-west-1"}}`)
		}),
		derive(rCreate, "project at its stream limit", 409, "stream_limit_reached", "", false, func(f *fixture, _ *call) {
			f.api.MaxStreams = 2 // the fixture's project has two
		}),
		derive(rCreate, "too large", 413, "payload_too_large", "", true, func(_ *fixture, c *call) {
			c.body = []byte(`{"name":"` + strings.Repeat("n", 70_000) + `","destination_type":"s3","destination_config":{}}`)
		}),
		derive(rCreate, "form body", 415, "unsupported_media_type", "", true, func(_ *fixture, c *call) {
			c.headers["Content-Type"] = "application/x-www-form-urlencoded"
		}),

		succeeds(rList, "list", 200, func(t *testing.T, f *fixture, r *result) {
			if data, _ := r.json(t)["data"].([]any); len(data) != 2 {
				t.Errorf("listed %d streams, want 2: %s", len(data), r.body)
			}
		}),
		derive(rList, "first page", 200, "", "", false, func(_ *fixture, c *call) { c.query = url.Values{"limit": {"1"}} }),
		derive(rList, "another project's empty list", 200, "", "", false, func(f *fixture, c *call) {
			c.params, c.auth = project(projectB), f.otherKey
		}),
		derive(rList, "limit out of range", 400, "invalid_request", "limit", true, func(_ *fixture, c *call) { c.query = url.Values{"limit": {"0"}} }),
		derive(rList, "limit not a number", 400, "invalid_request", "limit", true, func(_ *fixture, c *call) { c.query = url.Values{"limit": {"ten"}} }),

		succeeds(rGet, "read", 200, func(t *testing.T, f *fixture, r *result) {
			if r.headers.Get("ETag") != f.webhook.ETag() || strings.Contains(string(r.body), "webhook-token") {
				t.Errorf("ETag %q (want %q), body %s", r.headers.Get("ETag"), f.webhook.ETag(), r.body)
			}
		}),
		succeeds(rDelete, "delete", 204, func(t *testing.T, f *fixture, r *result) {
			if again := f.do(rGet, base[rGet](f)); again.status != 404 {
				t.Errorf("read after delete: %d", again.status)
			}
		}),
	)
	return out
}

// changeScenarios cover PATCH, PUT, enable and disable: the routes guarded by
// the stream's version.
func changeScenarios() []scenario {
	var out []scenario
	bumped := func(t *testing.T, f *fixture, r *result) {
		if want := fmt.Sprintf(`"%d"`, f.webhook.Version+1); r.headers.Get("ETag") != want {
			t.Errorf("ETag %q, want %q", r.headers.Get("ETag"), want)
		}
	}
	for _, route := range []string{rPatch, rPut, rDisable, rEnable} {
		target := func(f *fixture) stream.Stream {
			if route == rEnable {
				return f.archive
			}
			return f.webhook
		}
		out = append(out,
			derive(route, "current If-Match", 200, "", "", false, func(f *fixture, c *call) { c.headers["If-Match"] = target(f).ETag() }),
			derive(route, "stale If-Match", 412, "precondition_failed", "", false, func(f *fixture, c *call) {
				c.headers["If-Match"] = fmt.Sprintf(`"%d", W/"%d"`, target(f).Version+7, target(f).Version)
			}),
			derive(route, "concurrent writers", 409, "conflict", "", false, func(f *fixture, _ *call) {
				f.streams.updateErr = stream.ErrConflict
			}),
		)
	}
	out = append(out,
		succeeds(rPatch, "rename", 200, func(t *testing.T, f *fixture, r *result) {
			bumped(t, f, r)
			if m := r.json(t); m["name"] != "SIEM webhook (EU)" || dig(m, "destination_config.authorization_last_four") != "6789" {
				t.Errorf("renamed stream lost its secret or name: %s", r.body)
			}
			// The change is kept, not only answered.
			if s, _ := f.streams.Get(context.Background(), projectA, f.webhook.ID); s.Name != "SIEM webhook (EU)" {
				t.Errorf("stored name %q", s.Name)
			}
		}),
		derive(rPatch, "drop filters, merge config", 200, "", "", false, func(f *fixture, c *call) {
			c.body = []byte(`{"filters":null,"pii":{"fields":[{"field":"actor.email","action":"redact"}]},"destination_config":{"content_format":"JSONOBJECT"}}`)
		}),
		derive(rPatch, "set its suspension policy", 200, "", "", false, func(f *fixture, c *call) {
			c.body = []byte(`{"suspension":{"after":"24h"}}`)
		}),
		derive(rPatch, "change nothing", 200, "", "", false, func(f *fixture, c *call) { c.body = []byte(`{"name":"SIEM webhook"}`) }),
		derive(rPatch, "change destination type", 400, "invalid_request", "destination_type", false, func(f *fixture, c *call) {
			c.body = []byte(`{"destination_type":"datadog"}`)
		}),
		derive(rPatch, "remove the name", 400, "invalid_request", "name", true, func(f *fixture, c *call) { c.body = []byte(`{"name":null}`) }),
		derive(rPatch, "not an object", 400, "invalid_request", "", true, func(f *fixture, c *call) { c.body = []byte(`["name"]`) }),
		derive(rPatch, "too large", 413, "payload_too_large", "", true, func(f *fixture, c *call) {
			c.body = []byte(`{"name":"` + strings.Repeat("n", 70_000) + `"}`)
		}),
		derive(rPatch, "merge-patch media type", 200, "", "", false, func(f *fixture, c *call) {
			c.headers["Content-Type"] = "application/merge-patch+json"
		}),
		derive(rPatch, "plain text", 415, "unsupported_media_type", "", true, func(f *fixture, c *call) {
			c.headers["Content-Type"] = "text/plain"
		}),

		succeeds(rPut, "replace, same endpoint keeps the secret", 200, func(t *testing.T, f *fixture, r *result) {
			bumped(t, f, r)
			if dig(r.json(t), "destination_config.authorization_last_four") != "6789" {
				t.Errorf("PUT without authorization dropped the stored one: %s", r.body)
			}
		}),
		// The stored authorization never follows the stream to a new endpoint:
		// the change must repeat it.
		derive(rPut, "new endpoint without its authorization", 400, "invalid_request", "destination_config.authorization", false, func(f *fixture, c *call) {
			c.body = []byte(`{"name":"SIEM","destination_type":"http","destination_config":{"endpoint":"https://elsewhere.example.com/hook"}}`)
		}),
		derive(rPatch, "new endpoint without its authorization", 400, "invalid_request", "destination_config.authorization", false, func(f *fixture, c *call) {
			c.body = []byte(`{"destination_config":{"endpoint":"https://elsewhere.example.com/hook"}}`)
		}),
		derive(rPut, "new endpoint with its authorization", 200, "", "", false, func(f *fixture, c *call) {
			c.body = []byte(`{"name":"SIEM","destination_type":"http","destination_config":{"endpoint":"https://elsewhere.example.com/hook","authorization":"Bearer elsewhere-token-4321"}}`)
		}).checking(func(t *testing.T, f *fixture, r *result) {
			if v := dig(r.json(t), "destination_config.authorization_last_four"); v != "4321" {
				t.Errorf("the authorization given with the new endpoint was not stored: %s", r.body)
			}
		}),
		derive(rPut, "change destination type", 400, "invalid_request", "destination_type", false, func(f *fixture, c *call) {
			c.body = []byte(createBodies["datadog"])
		}),
		derive(rPut, "missing config", 400, "invalid_request", "destination_config", true, func(f *fixture, c *call) {
			c.body = []byte(`{"name":"SIEM","destination_type":"http"}`)
		}),
		derive(rPut, "too large", 413, "payload_too_large", "", true, func(f *fixture, c *call) {
			c.body = []byte(`{"name":"` + strings.Repeat("n", 70_000) + `"}`)
		}),
		derive(rPut, "not JSON", 415, "unsupported_media_type", "", true, func(f *fixture, c *call) { c.headers["Content-Type"] = "text/plain" }),

		succeeds(rDisable, "pause", 200, func(t *testing.T, f *fixture, r *result) {
			bumped(t, f, r)
			if r.json(t)["status"] != "paused" {
				t.Errorf("not paused: %s", r.body)
			}
		}),
		derive(rDisable, "pause a paused stream", 200, "", "", false, func(f *fixture, c *call) { c.params = f.streamParams(f.archive) }),
		succeeds(rEnable, "resume", 200, func(t *testing.T, f *fixture, r *result) {
			if m := r.json(t); m["status"] != "active" || r.headers.Get("ETag") != fmt.Sprintf(`"%d"`, f.archive.Version+1) {
				t.Errorf("not resumed: %v %s", r.headers, r.body)
			}
		}),
	)
	return out
}

// opsScenarios cover the health and test routes.
func opsScenarios() []scenario {
	return []scenario{
		succeeds(rHealth, "nothing delivered yet", 200, func(t *testing.T, f *fixture, r *result) {
			m := r.json(t)
			if m["stream_id"] != f.webhook.ID || m["last_success_at"] != nil || m["delivered_events"] != 0.0 ||
				m["retried_attempts"] != 0.0 || fmt.Sprint(m["dead_letters"]) != "map[]" {
				t.Errorf("health %s", r.body)
			}
		}),
		derive(rHealth, "after deliveries and a failure", 200, "", "", false, func(f *fixture, _ *call) {
			delivered := f.webhook.CreatedAt.Add(90 * time.Second)
			failed := delivered.Add(30 * time.Second)
			reason := "receiver answered 503: \"receiver is down for maintenance\""
			f.streams.health[f.webhook.ID] = stream.Health{DeliveredEvents: 1200, FailedEvents: 10, RetriedAttempts: 57,
				LastSuccessAt: &delivered, LastError: &reason, LastErrorAt: &failed,
				DeadLetters: map[stream.DeadLetterReason]stream.DeadLetterCount{
					stream.ReasonRejected:  {Count: 2, OldestAt: delivered.Add(-time.Hour), NewestAt: delivered.Add(-time.Hour)},
					stream.ReasonExhausted: {Count: 8, OldestAt: delivered, NewestAt: failed}}}
		}),

		succeeds(rTest, "destination accepts", 200, func(t *testing.T, f *fixture, r *result) {
			if r.json(t)["ok"] != true {
				t.Errorf("test event refused: %s", r.body)
			}
		}),
		derive(rTest, "destination refuses", 200, "", "", false, func(f *fixture, c *call) {
			s := f.seed(f.t, `{"name":"down","destination_type":"http","destination_config":{"endpoint":"`+f.env.receiver.URL+`/fail"}}`)
			c.params = f.streamParams(s)
		}).checking(func(t *testing.T, _ *fixture, r *result) {
			if m := r.json(t); m["ok"] != false || m["status_code"] != 503.0 {
				t.Errorf("refusal reported as %s", r.body)
			}
		}),
		derive(rTest, "destination unreachable, paused stream", 200, "", "", false, func(f *fixture, c *call) {
			s := f.seed(f.t, `{"name":"gone","status":"paused","destination_type":"http","destination_config":{"endpoint":"`+f.env.gone+`"}}`)
			c.params = f.streamParams(s)
		}).checking(func(t *testing.T, _ *fixture, r *result) {
			if m := r.json(t); m["ok"] != false || m["status_code"] != nil {
				t.Errorf("unreachable destination reported as %s", r.body)
			}
		}),
		derive(rTest, "no sender for the destination type", 501, "not_implemented", "", false, func(f *fixture, c *call) {
			c.params = f.streamParams(f.archive)
		}),
		derive(rTest, "delivery function unavailable", 502, "test_unavailable", "", false, func(f *fixture, c *call) {
			c.params = f.streamParams(f.seed(f.t, createBodies["datadog"]))
		}),
	}
}

func ingestScenarios() []scenario {
	queuedAll := func(n int) func(t *testing.T, f *fixture, r *result) {
		return func(t *testing.T, f *fixture, r *result) {
			m := r.json(t)
			if m["accepted"] != float64(n) || m["streams"] != 1.0 {
				t.Errorf("result %s", r.body)
			}
			evs := f.pub.queued(t)
			if len(evs) != n {
				t.Fatalf("queued %d events, want %d", len(evs), n)
			}
			for _, ev := range evs {
				if id, _ := ev["event_id"].(string); id == "" || ev["timestamp"] == nil {
					t.Errorf("queued without event_id or timestamp: %v", ev)
				}
			}
		}
	}
	events := func(body string) func(f *fixture, c *call) {
		return func(_ *fixture, c *call) { c.body = []byte(body) }
	}
	return []scenario{
		succeeds(rIngest, "JSON array", 202, func(t *testing.T, f *fixture, r *result) {
			queuedAll(2)(t, f, r)
			for _, ev := range f.pub.queued(t) {
				if ev["type"] == "user.login" && ev["event_id"] != "evt_2" {
					t.Errorf("the sender's event_id was replaced: %v", ev)
				}
			}
		}),
		derive(rIngest, "one object", 202, "", "", false, events(`{"type":"user.logout"}`)),
		derive(rIngest, "NDJSON", 202, "", "", false, func(_ *fixture, c *call) {
			c.headers["Content-Type"] = "application/x-ndjson"
			c.body = []byte("{\"type\":\"a\"}\n\n{\"type\":\"b\"}\n")
		}),
		derive(rIngest, "gzip", 202, "", "", false, func(_ *fixture, c *call) { c.gzip = true }),
		derive(rIngest, "project without streams", 202, "", "", false, func(f *fixture, c *call) {
			c.params, c.auth = project(projectB), f.otherKey
		}),
		derive(rIngest, "not JSON", 400, "invalid_json", "", true, events(`[{"type":"a"},{"type":`)),
		derive(rIngest, "no events", 400, "no_events", "", true, events(`[]`)),
		derive(rIngest, "event not an object", 400, "invalid_event", "", true, events(`[{"type":"a"},42]`)),
		derive(rIngest, "bad timestamp", 400, "invalid_timestamp", "", true, events(`[{"timestamp":"yesterday"}]`)),
		derive(rIngest, "empty event_id", 400, "invalid_event_id", "", true, events(`[{"event_id":""}]`)),
		derive(rIngest, "body over 4 MiB", 413, "payload_too_large", "", false,
			events(`[{"type":"big","pad":"`+strings.Repeat("p", 4<<20)+`"}]`)),
		derive(rIngest, "event over 200 KiB", 413, "event_too_large", "", false,
			events(`[{"type":"big","pad":"`+strings.Repeat("p", 200<<10)+`"}]`)),
		derive(rIngest, "more than 10 000 events", 413, "too_many_events", "", true,
			events("["+strings.TrimSuffix(strings.Repeat(`{},`, 10_001), ",")+"]")),
		derive(rIngest, "XML", 415, "unsupported_media_type", "", true, func(_ *fixture, c *call) {
			c.headers["Content-Type"] = "application/xml"
		}),
		derive(rIngest, "brotli", 415, "unsupported_media_type", "", true, func(_ *fixture, c *call) {
			c.headers["Content-Encoding"] = "br"
		}),
		derive(rIngest, "queue refuses", 503, "enqueue_failed", "", false, func(f *fixture, _ *call) { f.pub.fail = true }),
		derive(rIngest, "a stream's filters leave events out", 202, "", "", false, func(f *fixture, _ *call) {
			s := f.streams.m[projectA+"/"+f.webhook.ID]
			s.Filters = &stream.Filters{Include: []stream.Rule{{Field: "type", Match: "user.session.*"}}}
			f.streams.m[projectA+"/"+f.webhook.ID] = s
		}).checking(func(t *testing.T, f *fixture, r *result) {
			if m := r.json(t); m["accepted"] != 2.0 || m["streams"] != 1.0 || m["filtered"] != 1.0 {
				t.Errorf("result %s, want 2 accepted, 1 filtered", r.body)
			}
			if evs := f.pub.queued(t); len(evs) != 1 || evs[0]["type"] != "user.session.start" {
				t.Errorf("queued %v, want only the user.session.start event", evs)
			}
		}),
		derive(rIngest, "with an Idempotency-Key", 202, "", "", false, withKey),
		{name: "Idempotency-Key of a completed request", route: rIngest, status: 202,
			setup: func(f *fixture) { f.doKeyed() },
			call:  func(f *fixture) call { c := base[rIngest](f).clone(); withKey(f, &c); return c },
			check: func(t *testing.T, f *fixture, r *result) {
				if n := len(f.pub.queued(t)); n != 2 {
					t.Errorf("the replay queued again: %d events queued, want the first attempt's 2", n)
				}
			}},
		{name: "Idempotency-Key with another body", route: rIngest, status: 422, code: "idempotency_key_reused", field: "Idempotency-Key",
			setup: func(f *fixture) { f.doKeyed() },
			call: func(f *fixture) call {
				c := base[rIngest](f).clone()
				withKey(f, &c)
				c.body = []byte(`[{"type":"user.logout"}]`)
				return c
			}},
		derive(rIngest, "malformed Idempotency-Key", 400, "invalid_idempotency_key", "Idempotency-Key", true, func(_ *fixture, c *call) {
			c.headers["Idempotency-Key"] = "short"
		}),
	}
}

// presetScenarios are the ready-made filters' routes.
func presetScenarios() []scenario {
	return []scenario{
		succeeds(rPresets, "list", 200, func(t *testing.T, f *fixture, r *result) {
			var got manage.PresetList
			if err := json.Unmarshal(r.body, &got); err != nil || len(got.Data) != len(filter.Presets()) {
				t.Errorf("list %s (%v), want every preset", r.body, err)
			}
		}),
		succeeds(rPreset, "show", 200, func(t *testing.T, f *fixture, r *result) {
			if m := r.json(t); m["name"] != "okta.sign-in" || dig(m, "filters.include") == nil {
				t.Errorf("show %s", r.body)
			}
		}),
		derive(rPreset, "unknown preset", 404, "not_found", "", false, func(_ *fixture, c *call) { c.params["name"] = "okta.nope" }),
		succeeds(rWhoAmI, "a read key", 200, func(t *testing.T, f *fixture, r *result) {
			m := r.json(t)
			if m["access"] != "read" || m["admin"] != false || strings.Contains(string(r.body), f.readKey) || strings.Contains(string(r.body), apikey.HashKey(f.readKey)) {
				t.Errorf("whoami %s", r.body)
			}
		}),
		derive(rWhoAmI, "the admin key", 200, "", "", false, func(_ *fixture, c *call) { c.auth = adminSecret }).checking(
			func(t *testing.T, f *fixture, r *result) {
				if m := r.json(t); m["id"] != "admin" || m["admin"] != true {
					t.Errorf("whoami %s", r.body)
				}
			}),
		succeeds(rProjects, "every project", 200, func(t *testing.T, f *fixture, r *result) {
			if m := r.json(t); m["all_projects"] != true || !strings.Contains(string(r.body), `"project_id":"`+projectA+`"`) {
				t.Errorf("projects %s, want every project that has a stream, %s among them", r.body, projectA)
			}
		}),
		derive(rProjects, "a scoped key", 200, "", "", false, func(f *fixture, c *call) { c.auth = f.readKey }).checking(
			func(t *testing.T, f *fixture, r *result) {
				if m := r.json(t); m["all_projects"] != false || !strings.HasPrefix(string(r.body), `{"data":[{"project_id":"`+projectA+`"}`) {
					t.Errorf("projects %s, want the key's own", r.body)
				}
			}),
		derive(rProjects, "bad limit", 400, "invalid_request", "", true, func(_ *fixture, c *call) { c.query = url.Values{"limit": {"0"}} }),
	}
}

// stytchScenarios are the Stytch-compatible routes' own, in both families.
func stytchScenarios() []scenario {
	return append(stytchFamilyScenarios(stytchV1), append(stytchFamilyScenarios(stytchV3), stytchV3Scenarios()...)...)
}

func stytchFamilyScenarios(fam stytchPaths) []scenario {
	masked := func(t *testing.T, f *fixture, r *result) {
		if strings.Contains(string(r.body), datadogAPIKey) || strings.Contains(string(r.body), `"api_key"`) {
			t.Errorf("the response shows the API key: %s", r.body)
		}
	}
	// echoed: Create and Update answer the key the request carried, and no
	// last four, as Stytch's client decodes them; Get still masks it.
	echoed := func(key string) func(t *testing.T, f *fixture, r *result) {
		return func(t *testing.T, f *fixture, r *result) {
			m := r.json(t)
			if dig(m, "event_log_streaming_config.destination_config.datadog.api_key") != key ||
				dig(m, "event_log_streaming_config.destination_config.datadog.api_key_last_four") != nil {
				t.Errorf("the answer does not carry the key sent: %s", r.body)
			}
			masked(t, f, f.do(fam.get, base[fam.get](f)))
		}
	}
	status := func(want string) func(t *testing.T, f *fixture, r *result) {
		return func(t *testing.T, f *fixture, r *result) {
			got := f.do(fam.get, base[fam.get](f))
			if s := dig(got.json(t), "event_log_streaming_config.streaming_status"); s != want {
				t.Errorf("streaming_status %v, want %s", s, want)
			}
		}
	}
	concurrent := func(f *fixture, _ *call) { f.streams.updateErr = stream.ErrConflict }
	var out []scenario
	for _, route := range []string{fam.create, fam.put} {
		out = append(out,
			derive(route, "too large", 413, "payload_too_large", "", true, func(_ *fixture, c *call) {
				c.body = []byte(`{"destination_type":"DATADOG","destination_config":{"datadog":{"site":"US","api_key":"` + strings.Repeat("a", 70_000) + `"}}}`)
			}),
			derive(route, "not JSON", 415, "unsupported_media_type", "", true, func(_ *fixture, c *call) {
				c.headers["Content-Type"] = "text/plain"
			}),
		)
	}
	for _, route := range []string{fam.put, fam.disable} {
		out = append(out, derive(route, "concurrent writers", 409, "conflict", "", false, concurrent))
	}
	out = append(out, derive(fam.enable, "concurrent writers", 409, "conflict", "", false, func(f *fixture, c *call) {
		f.stytchDisable(fam)
		concurrent(f, c)
	}))
	return append(out,
		succeeds(fam.create, "create Datadog", 200, func(t *testing.T, f *fixture, r *result) {
			echoed(datadogAPIKey)(t, f, r)
			m := r.json(t)
			if dig(m, "event_log_streaming_config.streaming_status") != "DISABLED" || m["status_code"] != 200.0 {
				t.Errorf("created %s", r.body)
			}
			// It is an ordinary stream too.
			list := f.do(rList, call{auth: f.readKey, params: project(fam.project)})
			if !strings.Contains(string(list.body), `"site":"datadoghq.com"`) {
				t.Errorf("the native view lacks the new stream: %s", list.body)
			}
		}),
		derive(fam.create, "create Grafana Loki", 200, "", "", false, func(_ *fixture, c *call) {
			c.body = []byte(`{"destination_type":"GRAFANA_LOKI","destination_config":{"grafana_loki":{"hostname":"logs-prod-eu-west-0.grafana.net","username":"123456","password":"` + lokiPassword + `"}}}`)
		}).checking(func(t *testing.T, _ *fixture, r *result) {
			if dig(r.json(t), "event_log_streaming_config.destination_config.grafana_loki.password") != lokiPassword {
				t.Errorf("the answer does not carry the password sent: %s", r.body)
			}
		}),
		derive(fam.create, "config missing", 400, "invalid_request", "", true, func(_ *fixture, c *call) {
			c.body = []byte(`{"destination_type":"DATADOG","destination_config":{"datadog":null,"grafana_loki":null}}`)
		}),
		derive(fam.create, "unknown site", 400, "invalid_request", "", true, func(_ *fixture, c *call) {
			c.body = []byte(`{"destination_type":"DATADOG","destination_config":{"datadog":{"site":"MARS","api_key":"` + datadogAPIKey + `"}}}`)
		}),
		derive(fam.create, "second config of a type", 409, "duplicate_destination", "", false, func(f *fixture, _ *call) { f.stytchCreate(fam) }),

		succeeds(fam.get, "read", 200, masked),
		derive(fam.get, "none of this type", 404, "not_found", "", false, func(_ *fixture, c *call) { c.params["destination_type"] = "GRAFANA_LOKI" }),
		derive(fam.get, "unknown destination type", 400, "invalid_request", "", true, func(_ *fixture, c *call) { c.params["destination_type"] = "SPLUNK" }),

		succeeds(fam.put, "replace", 200, echoed("fedcba9876543210fedcba9876543210")),
		derive(fam.put, "config of the other type", 400, "invalid_request", "", false, func(_ *fixture, c *call) {
			c.body = []byte(`{"destination_config":{"grafana_loki":{"hostname":"logs.example.com","username":"u","password":"p"}}}`)
		}),

		succeeds(fam.delete, "delete", 200, func(t *testing.T, f *fixture, r *result) {
			if again := f.do(fam.get, base[fam.get](f)); again.status != 404 {
				t.Errorf("read after delete: %d", again.status)
			}
		}),
		derive(fam.delete, "unknown destination type", 400, "invalid_request", "", true, func(_ *fixture, c *call) { c.params["destination_type"] = "datadog" }),

		derive(fam.enable, "enable a disabled config", 200, "", "", false, func(f *fixture, _ *call) { f.stytchDisable(fam) }).
			checking(status("ACTIVE")),
		derive(fam.enable, "unknown destination type", 400, "invalid_request", "", true, func(_ *fixture, c *call) { c.params["destination_type"] = "S3" }),
		succeeds(fam.disable, "disable", 200, status("DISABLED")),
		derive(fam.disable, "unknown destination type", 400, "invalid_request", "", true, func(_ *fixture, c *call) { c.params["destination_type"] = "S3" }),
	)
}

// stytchV3Scenarios are what only Stytch's v3 paths have: the workspace key
// and the environment slug.
func stytchV3Scenarios() []scenario {
	workspaceKey := func(id func(f *fixture) string) func(f *fixture, c *call) {
		return func(f *fixture, c *call) {
			c.auth = ""
			c.headers["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(id(f)+":"+f.writeKey))
		}
	}
	return []scenario{
		derive(s3Get, "workspace key", 200, "", "", false, workspaceKey(func(f *fixture) string { return f.writeKeyID })),
		derive(s3Disable, "workspace key", 200, "", "", false, workspaceKey(func(f *fixture) string { return f.writeKeyID })),
		derive(s3Get, "workspace key id of another key", 401, "unauthenticated", "", false, workspaceKey(func(f *fixture) string { return f.spare.ID })),
		derive(s3Get, "environment slug with a dot", 400, "invalid_request", "", true, func(_ *fixture, c *call) {
			c.params["environment_slug"] = "prod.eu"
		}),
		derive(s3Get, "another environment", 404, "not_found", "", false, func(_ *fixture, c *call) {
			c.params["environment_slug"] = "test" // acme.test is outside the key's scope
		}),
	}
}
