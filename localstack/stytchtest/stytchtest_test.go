package stytchtest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// sent is one request as the server saw it.
type sent struct {
	method, path, authorization, contentType, userAgent, body string
}

// The double sends what stytch-management-go v3.2.0 sends, byte for byte
// where it matters: the end-to-end tests are only as faithful as this.
func TestRequestsAreTheClients(t *testing.T) {
	var got sent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = sent{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.Header.Get("User-Agent"), string(b)}
		_, _ = w.Write([]byte(`{"request_id":"r","status_code":200}`))
	}))
	defer srv.Close()
	ctx := context.Background()
	basic := &Client{BaseURL: srv.URL, WorkspaceKeyID: "key_0123", WorkspaceKeySecret: "lsk_s3cret"}
	bearer := &Client{BaseURL: srv.URL, AccessToken: "lsk_t0ken"}
	dd := &DestinationConfig{Datadog: &DatadogConfig{Site: "US", APIKey: "k"}}
	target := Target{ProjectSlug: "acme", EnvironmentSlug: "production", DestinationType: DestinationDatadog}
	const base = "/pwa/v3/projects/acme/environments/production/event_log_streaming"
	const workspaceKey = "Basic a2V5XzAxMjM6bHNrX3MzY3JldA==" // base64("key_0123:lsk_s3cret")
	tests := []struct {
		name string
		call func() error
		want sent
	}{
		{"create", func() error {
			_, err := basic.Create(ctx, CreateRequest{ProjectSlug: "acme", EnvironmentSlug: "production", DestinationType: DestinationDatadog, DestinationConfig: dd})
			return err
		}, sent{"POST", base, workspaceKey, "application/json", "stytch-management-go/3.2.0",
			`{"destination_type":"DATADOG","destination_config":{"datadog":{"api_key":"k","site":"US"}}}`}},
		{"update", func() error {
			_, err := basic.Update(ctx, UpdateRequest{ProjectSlug: "acme", EnvironmentSlug: "production", DestinationType: DestinationDatadog, DestinationConfig: dd})
			return err
		}, sent{"PUT", base + "/DATADOG", workspaceKey, "application/json", "stytch-management-go/3.2.0",
			`{"destination_config":{"datadog":{"api_key":"k","site":"US"}}}`}},
		{"get", func() error { _, err := basic.Get(ctx, target); return err },
			sent{"GET", base + "/DATADOG", workspaceKey, "application/json", "stytch-management-go/3.2.0", ""}},
		{"delete", func() error { _, err := basic.Delete(ctx, target); return err },
			sent{"DELETE", base + "/DATADOG", workspaceKey, "application/json", "stytch-management-go/3.2.0", ""}},
		{"enable", func() error { _, err := basic.Enable(ctx, target); return err },
			sent{"POST", base + "/DATADOG/enable", workspaceKey, "application/json", "stytch-management-go/3.2.0", "{}"}},
		{"disable, access token", func() error { _, err := bearer.Disable(ctx, target); return err },
			sent{"POST", base + "/DATADOG/disable", "Bearer lsk_t0ken", "application/json", "stytch-management-go/3.2.0", "{}"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got = sent{}
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("sent %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, err := basic.Get(ctx, Target{ProjectSlug: "acme", EnvironmentSlug: "production"}); err == nil {
		t.Fatal("the client refuses an empty destination type before sending")
	}
}

// Answers are read as the client reads them, including how it misreads
// API Gateway's own 404.
func TestAnswersAreReadAsTheClientReadsThem(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    Error
		success bool
	}{
		{"200", 200, `{"request_id":"r","status_code":200}`, Error{}, true},
		{"201 is success too", 201, `{"request_id":"r","status_code":201}`, Error{}, true},
		{"Stytch error", 400, `{"status_code":400,"request_id":"r","error_type":"invalid_argument","error_message":"m"}`,
			Error{StatusCode: 400, RequestID: "r", ErrorType: "invalid_argument", ErrorMessage: "m"}, false},
		{"API Gateway's 404 decodes to nothing", 404, `{"message":"Not Found"}`, Error{}, false},
		{"a 404 that is not JSON", 404, `404 page not found`, Error{StatusCode: 404, ErrorMessage: "Not found."}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := &Client{BaseURL: srv.URL, AccessToken: "t"}
			_, err := c.Delete(context.Background(), Target{ProjectSlug: "p", EnvironmentSlug: "e", DestinationType: "DATADOG"})
			var se Error
			switch {
			case tc.success && err != nil:
				t.Fatal(err)
			case !tc.success && (!errors.As(err, &se) || se != tc.want):
				t.Fatalf("err %v, want %+v", err, tc.want)
			}
		})
	}
}
