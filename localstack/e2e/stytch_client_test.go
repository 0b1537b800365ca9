package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/localstack/stytchtest"
)

// stytchKey is a logstream API key as Stytch's client holds a workspace key:
// its id and its secret.
type stytchKey struct{ id, secret string }

// newStytchKey has the admin key make a key scoped to one project.
func newStytchKey(t *testing.T, base, project, access string) stytchKey {
	t.Helper()
	code, out := do(t, "POST", base+"/v1/keys", "application/json", "",
		[]byte(`{"name":"stytch client","projects":["`+project+`"],"access":"`+access+`"}`))
	var created struct {
		Key struct {
			ID string `json:"id"`
		} `json:"key"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(out, &created); err != nil || code != http.StatusCreated || created.Secret == "" {
		t.Fatalf("create key: %d %s", code, out)
	}
	return stytchKey{created.Key.ID, created.Secret}
}

// stytchError is the Stytch error the client returned, or fails the test.
func stytchError(t *testing.T, err error, status int, errType string) {
	t.Helper()
	var se stytchtest.Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a Stytch error with status %d", err, status)
	}
	// The client reports what the body says: each member must be there.
	if se.StatusCode != status || se.ErrorType != errType || se.ErrorMessage == "" || se.RequestID == "" {
		t.Fatalf("the client reports %+v, want status_code %d, error_type %q, an error_message and a request_id", se, status, errType)
	}
}

// TestStytchManagementClient sends what Stytch's own Go management client
// (stytch-management-go v3) sends, through the local HTTP API, and reads the
// answers as that client does (see localstack/stytchtest).
func TestStytchManagementClient(t *testing.T) {
	standin.AWSConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := startStack(t, ctx, standin.Spec(t))
	base := st.URL()

	// Stytch project "acme", environments "production" and "test": logstream
	// projects acme.production and acme.test.
	writer := newStytchKey(t, base, "acme.production", "write")
	reader := newStytchKey(t, base, "acme.production", "read")
	tester := newStytchKey(t, base, "acme.test", "write")
	workspace := func(k stytchKey) *stytchtest.Client {
		return &stytchtest.Client{BaseURL: base, WorkspaceKeyID: k.id, WorkspaceKeySecret: k.secret}
	}
	token := func(secret string) *stytchtest.Client { return &stytchtest.Client{BaseURL: base, AccessToken: secret} }
	prod := func(typ string) stytchtest.Target {
		return stytchtest.Target{ProjectSlug: "acme", EnvironmentSlug: "production", DestinationType: typ}
	}

	lifecycles := []struct {
		name, typ      string
		create, update stytchtest.DestinationConfig
		secret         func(stytchtest.DestinationConfig) string
		masked         func(stytchtest.DestinationConfigMasked) (lastFour string, same func(stytchtest.DestinationConfig) bool)
	}{
		{
			name: "Datadog", typ: stytchtest.DestinationDatadog,
			create: stytchtest.DestinationConfig{Datadog: &stytchtest.DatadogConfig{Site: "US", APIKey: "0123456789abcdef0123456789abcdef"}},
			update: stytchtest.DestinationConfig{Datadog: &stytchtest.DatadogConfig{Site: "EU", APIKey: "fedcba9876543210fedcba987654aaaa"}},
			secret: func(c stytchtest.DestinationConfig) string { return c.Datadog.APIKey },
			masked: func(m stytchtest.DestinationConfigMasked) (string, func(stytchtest.DestinationConfig) bool) {
				if m.Datadog == nil {
					return "", nil
				}
				return m.Datadog.APIKeyLastFour, func(c stytchtest.DestinationConfig) bool { return c.Datadog.Site == m.Datadog.Site }
			},
		},
		{
			name: "Grafana Loki", typ: stytchtest.DestinationGrafanaLoki,
			create: stytchtest.DestinationConfig{GrafanaLoki: &stytchtest.GrafanaLokiConfig{
				Hostname: "logs-prod-eu-west-0.grafana.net", Username: "123456", Password: "glc_eyJvIjoiMTIzNDU2NyJ9"}},
			update: stytchtest.DestinationConfig{GrafanaLoki: &stytchtest.GrafanaLokiConfig{
				Hostname: "logs-prod-us-central1.grafana.net", Username: "654321", Password: "glc_eyJvIjoiNzY1NDMyMSJ9bbbb"}},
			secret: func(c stytchtest.DestinationConfig) string { return c.GrafanaLoki.Password },
			masked: func(m stytchtest.DestinationConfigMasked) (string, func(stytchtest.DestinationConfig) bool) {
				if m.GrafanaLoki == nil {
					return "", nil
				}
				return m.GrafanaLoki.PasswordLastFour, func(c stytchtest.DestinationConfig) bool {
					return c.GrafanaLoki.Hostname == m.GrafanaLoki.Hostname && c.GrafanaLoki.Username == m.GrafanaLoki.Username
				}
			},
		},
	}
	c := workspace(writer)
	// get reads the config as the client does, and checks GET never shows the secret.
	get := func(t *testing.T, typ string, sent stytchtest.DestinationConfig, secret, status string,
		masked func(stytchtest.DestinationConfigMasked) (string, func(stytchtest.DestinationConfig) bool)) {
		t.Helper()
		got, err := c.Get(ctx, prod(typ))
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		cfg := got.EventLogStreamingConfig
		if got.RequestID == "" || got.StatusCode != 200 || cfg.DestinationType != typ || cfg.StreamingStatus != status || cfg.DestinationConfig == nil {
			t.Fatalf("get answered %+v, want request_id, status_code 200, %s, %s", got, typ, status)
		}
		lastFour, same := masked(*cfg.DestinationConfig)
		if same == nil || lastFour != secret[len(secret)-4:] || !same(sent) {
			t.Fatalf("get answered config %+v, want the sent one masked to %q", cfg.DestinationConfig, secret[len(secret)-4:])
		}
		raw, err := c.Raw(ctx, "GET", "/pwa/v3/projects/acme/environments/production/event_log_streaming/"+typ, nil)
		if err != nil || strings.Contains(string(raw), secret) {
			t.Fatalf("GET shows the secret: %v %s", err, raw)
		}
	}
	for _, lc := range lifecycles {
		t.Run(lc.name, func(t *testing.T) {
			// Create and Update answer the config with the secret just sent,
			// so a read-after-write (Terraform's plan) sees no difference.
			created, err := c.Create(ctx, stytchtest.CreateRequest{ProjectSlug: "acme", EnvironmentSlug: "production",
				DestinationType: lc.typ, DestinationConfig: &lc.create})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			cfg := created.EventLogStreamingConfig
			if created.RequestID == "" || created.StatusCode != 200 || cfg.DestinationType != lc.typ ||
				cfg.StreamingStatus != stytchtest.StatusDisabled || !reflect.DeepEqual(cfg.DestinationConfig, &lc.create) {
				t.Fatalf("create answered %+v with config %+v, want the sent config %+v", created, cfg.DestinationConfig, lc.create)
			}
			get(t, lc.typ, lc.create, lc.secret(lc.create), stytchtest.StatusDisabled, lc.masked)

			for _, step := range []struct {
				name   string
				call   func(context.Context, stytchtest.Target) (*stytchtest.AckResponse, error)
				status string
			}{{"enable", c.Enable, stytchtest.StatusActive}, {"disable", c.Disable, stytchtest.StatusDisabled}, {"enable again", c.Enable, stytchtest.StatusActive}} {
				ack, err := step.call(ctx, prod(lc.typ))
				if err != nil || ack.RequestID == "" || ack.StatusCode != 200 {
					t.Fatalf("%s: %+v %v", step.name, ack, err)
				}
				get(t, lc.typ, lc.create, lc.secret(lc.create), step.status, lc.masked)
			}

			updated, err := c.Update(ctx, stytchtest.UpdateRequest{ProjectSlug: "acme", EnvironmentSlug: "production",
				DestinationType: lc.typ, DestinationConfig: &lc.update})
			if err != nil {
				t.Fatalf("update: %v", err)
			}
			cfg = updated.EventLogStreamingConfig
			if updated.RequestID == "" || updated.StatusCode != 200 || cfg.DestinationType != lc.typ ||
				cfg.StreamingStatus != stytchtest.StatusActive || !reflect.DeepEqual(cfg.DestinationConfig, &lc.update) {
				t.Fatalf("update answered %+v with config %+v, want the sent config %+v", updated, cfg.DestinationConfig, lc.update)
			}
			get(t, lc.typ, lc.update, lc.secret(lc.update), stytchtest.StatusActive, lc.masked)

			// The same stream through the native routes, in project acme.production.
			out, err := token(writer.secret).Raw(ctx, "GET", "/v1/projects/acme.production/streams", nil)
			if err != nil || !strings.Contains(string(out), `"destination_type":"`+strings.ToLower(lc.typ)+`"`) {
				t.Fatalf("native list: %v %s", err, out)
			}

			if ack, err := c.Delete(ctx, prod(lc.typ)); err != nil || ack.RequestID == "" || ack.StatusCode != 200 {
				t.Fatalf("delete: %+v %v", ack, err)
			}
			_, err = c.Get(ctx, prod(lc.typ))
			stytchError(t, err, http.StatusNotFound, "not_found")
		})
	}

	// What the client is refused, each answer decoded as it decodes errors.
	dd := stytchtest.DestinationConfig{Datadog: &stytchtest.DatadogConfig{Site: "US", APIKey: "0123456789abcdef0123456789abcdef"}}
	if _, err := c.Create(ctx, stytchtest.CreateRequest{ProjectSlug: "acme", EnvironmentSlug: "production",
		DestinationType: stytchtest.DestinationDatadog, DestinationConfig: &dd}); err != nil {
		t.Fatalf("create: %v", err)
	}
	refusals := []struct {
		name    string
		call    func() error
		status  int
		errType string
	}{
		{"bearer access token, read access: get", func() error { _, err := token(reader.secret).Get(ctx, prod("DATADOG")); return err }, 0, ""},
		{"the admin key as workspace key", func() error {
			_, err := workspace(stytchKey{"admin", adminKey}).Get(ctx, prod("DATADOG"))
			return err
		}, 0, ""},
		{"read access: create", func() error {
			_, err := workspace(reader).Create(ctx, stytchtest.CreateRequest{ProjectSlug: "acme", EnvironmentSlug: "production",
				DestinationType: "GRAFANA_LOKI", DestinationConfig: &dd})
			return err
		}, 403, "unauthorized_credentials"},
		{"read access: disable", func() error { _, err := token(reader.secret).Disable(ctx, prod("DATADOG")); return err }, 403, "unauthorized_credentials"},
		{"key of another environment", func() error { _, err := workspace(tester).Get(ctx, prod("DATADOG")); return err }, 404, "not_found"},
		{"workspace key id of another key", func() error {
			_, err := workspace(stytchKey{reader.id, writer.secret}).Get(ctx, prod("DATADOG"))
			return err
		}, 401, "unauthorized_credentials"},
		{"unknown secret", func() error {
			_, err := token("lsk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").Get(ctx, prod("DATADOG"))
			return err
		}, 401, "unauthorized_credentials"},
		{"nothing in the other environment", func() error {
			_, err := workspace(tester).Get(ctx, stytchtest.Target{ProjectSlug: "acme", EnvironmentSlug: "test", DestinationType: "DATADOG"})
			return err
		}, 404, "not_found"},
		{"environment slug with a dot", func() error {
			_, err := c.Get(ctx, stytchtest.Target{ProjectSlug: "acme", EnvironmentSlug: "prod.eu", DestinationType: "DATADOG"})
			return err
		}, 400, "invalid_argument"},
		{"second config of a type", func() error {
			_, err := c.Create(ctx, stytchtest.CreateRequest{ProjectSlug: "acme", EnvironmentSlug: "production",
				DestinationType: "DATADOG", DestinationConfig: &dd})
			return err
		}, 409, "duplicate_destination"},
		{"unknown destination type", func() error { _, err := c.Enable(ctx, prod("SPLUNK")); return err }, 400, "invalid_argument"},
		{"a route the API does not serve", func() error { _, err := c.Raw(ctx, "GET", "/pwa/v3/projects/acme", nil); return err }, 404, "route_not_found"},
		{"a method the path does not serve", func() error {
			_, err := c.Raw(ctx, "PATCH", "/pwa/v3/projects/acme/environments/production/event_log_streaming/DATADOG", []byte(`{}`))
			return err
		}, 404, "route_not_found"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			stytchError(t, err, tc.status, tc.errType)
		})
	}

	// Outside /pwa, an unknown route is answered in the API's own shape.
	code, out := do(t, "GET", base+"/v1/nowhere", "", "", nil)
	if code != 404 || !strings.Contains(string(out), `"code":"route_not_found"`) {
		t.Fatalf("GET /v1/nowhere: %d %s", code, out)
	}
}
