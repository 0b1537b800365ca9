package destination

import (
	"fmt"
	"testing"
)

func TestHTTPValidate(t *testing.T) {
	base := map[string]any{"endpoint": "https://hooks.example.com/logstream"}
	h := func(c Config) *HTTPConfig { return c.(*HTTPConfig) }
	headers := func(n int) map[string]string {
		out := map[string]string{}
		for i := 0; i < n; i++ {
			out[fmt.Sprintf("X-H%d", i)] = "v"
		}
		return out
	}
	cases := []vcase{
		{name: "minimal", cfg: base, field: pass, check: func(t *testing.T, c Config) {
			if h(c).ContentFormat != ContentFormatJSONLines {
				t.Fatalf("content_format = %q, want JSONLINES by default", h(c).ContentFormat)
			}
		}},
		{name: "full", cfg: with(base, "authorization", "Bearer abc.def", "content_format", "JSONARRAY",
			"custom_headers", map[string]string{"X-Tenant": "acme", "Accept": "*/*"}, "signing_secret", whsec(32)), field: pass},
		{name: "endpoint host lower-cased", cfg: with(base, "endpoint", " https://Hooks.EXAMPLE.com/Path "), field: pass, check: func(t *testing.T, c Config) {
			if got := h(c).Endpoint; got != "https://hooks.example.com/Path" {
				t.Fatalf("endpoint = %q", got)
			}
		}},
		{name: "endpoint missing", cfg: map[string]any{}, field: "endpoint"},
		{name: "endpoint plain http refused", cfg: with(base, "endpoint", "http://hooks.example.com/x"), field: "endpoint"},
		{name: "endpoint plain http under dev switch", cfg: with(base, "endpoint", "http://127.0.0.1:9000/x"), dev: true, field: pass},
		{name: "endpoint loopback refused", cfg: with(base, "endpoint", "https://127.0.0.1/x"), field: "endpoint"},
		{name: "endpoint metadata service refused", cfg: with(base, "endpoint", "https://169.254.169.254/latest"), field: "endpoint"},
		{name: "endpoint with credentials refused", cfg: with(base, "endpoint", "https://u:p@hooks.example.com/x"), field: "endpoint"},
		{name: "endpoint not a URL", cfg: with(base, "endpoint", "hooks.example.com"), field: "endpoint"},
		{name: "authorization with newline", cfg: with(base, "authorization", "Bearer a\r\nX-Evil: 1"), field: "authorization"},
		{name: "authorization 4096 bytes", cfg: with(base, "authorization", repeat("a", 4096)), field: pass},
		{name: "authorization 4097 bytes", cfg: with(base, "authorization", repeat("a", 4097)), field: "authorization"},
		{name: "content format lower case", cfg: with(base, "content_format", "jsonobject"), field: pass, check: func(t *testing.T, c Config) {
			if h(c).ContentFormat != ContentFormatJSONObject {
				t.Fatalf("content_format = %q", h(c).ContentFormat)
			}
		}},
		{name: "content format unknown", cfg: with(base, "content_format", "XML"), field: "content_format"},
		{name: "20 custom headers", cfg: with(base, "custom_headers", headers(20)), field: pass},
		{name: "21 custom headers", cfg: with(base, "custom_headers", headers(21)), field: "custom_headers"},
		{name: "custom header name with space", cfg: with(base, "custom_headers", map[string]string{"X Foo": "v"}), field: "custom_headers.X Foo"},
		{name: "custom header name with colon", cfg: with(base, "custom_headers", map[string]string{"X-Foo:": "v"}), field: "custom_headers.X-Foo:"},
		{name: "custom header name empty", cfg: with(base, "custom_headers", map[string]string{"": "v"}), field: "custom_headers."},
		{name: "custom header value with newline", cfg: with(base, "custom_headers", map[string]string{"X-Foo": "a\nb"}), field: "custom_headers.X-Foo"},
		{name: "custom header value with NUL", cfg: with(base, "custom_headers", map[string]string{"X-Foo": "a\x00b"}), field: "custom_headers.X-Foo"},
		{name: "custom header value 4097 bytes", cfg: with(base, "custom_headers", map[string]string{"X-Foo": repeat("v", 4097)}), field: "custom_headers.X-Foo"},
		{name: "custom header empty value", cfg: with(base, "custom_headers", map[string]string{"X-Foo": ""}), field: pass},
		{name: "custom headers differing only in case", cfg: with(base, "custom_headers", map[string]string{"X-Foo": "a", "x-foo": "b"}), field: "custom_headers.x-foo"},
		{name: "signing secret 24 bytes", cfg: with(base, "signing_secret", whsec(24)), field: pass},
		{name: "signing secret 64 bytes", cfg: with(base, "signing_secret", whsec(64)), field: pass},
		{name: "signing secret 23 bytes", cfg: with(base, "signing_secret", whsec(23)), field: "signing_secret"},
		{name: "signing secret 65 bytes", cfg: with(base, "signing_secret", whsec(65)), field: "signing_secret"},
		{name: "signing secret without prefix", cfg: with(base, "signing_secret", whsec(32)[len("whsec_"):]), field: "signing_secret"},
		{name: "signing secret not base64", cfg: with(base, "signing_secret", "whsec_"+repeat("!", 44)), field: "signing_secret"},
		{name: "signing secret url-safe base64", cfg: with(base, "signing_secret", "whsec_"+repeat("_", 43)+"="), field: "signing_secret"},
		{name: "generate signing secret", cfg: with(base, "generate_signing_secret", true), field: pass, check: func(t *testing.T, c Config) {
			if !validSigningSecret(h(c).SigningSecret) || h(c).GenerateSigningSecret {
				t.Fatalf("generated %q, flag %v", h(c).SigningSecret, h(c).GenerateSigningSecret)
			}
		}},
		{name: "generate signing secret with a secret", cfg: with(base, "generate_signing_secret", true, "signing_secret", whsec(32)), field: "generate_signing_secret"},
		{name: "generate signing secret not a bool", cfg: with(base, "generate_signing_secret", "yes"), field: "generate_signing_secret"},
		{name: "old headers field is unknown", cfg: with(base, "headers", map[string]string{"X-Foo": "v"}), field: "headers"},
	}
	for _, name := range []string{
		"Host", "content-length", "Content-Type", "Content-Encoding", "Transfer-Encoding", "Connection",
		"Keep-Alive", "Upgrade", "TE", "Trailer", "Proxy-Authorization", "Proxy-Connection", "proxy-anything",
		"Authorization", "webhook-id", "Webhook-Timestamp", "WEBHOOK-SIGNATURE",
	} {
		cases = append(cases, vcase{
			name:  "reserved header " + name,
			cfg:   with(base, "custom_headers", map[string]string{name: "v"}),
			field: "custom_headers." + name,
		})
	}
	runCases(t, HTTP, cases)
}
