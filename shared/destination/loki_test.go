package destination

import (
	"fmt"
	"testing"
)

func TestGrafanaLokiValidate(t *testing.T) {
	base := map[string]any{"hostname": "logs-prod-eu-west-0.grafana.net", "username": "123456", "password": "glc_secret_token_value"}
	loki := func(c Config) *GrafanaLokiConfig { return c.(*GrafanaLokiConfig) }
	labels := func(n int) map[string]string {
		out := map[string]string{}
		for i := 0; i < n; i++ {
			out[fmt.Sprintf("l%d", i)] = "v"
		}
		return out
	}
	cases := []vcase{
		{name: "minimal", cfg: base, field: pass, check: func(t *testing.T, c Config) {
			if loki(c).Format != LokiFormatProtobuf {
				t.Fatalf("format = %q, want protobuf by default", loki(c).Format)
			}
			if got := loki(c).PushURL(); got != "https://logs-prod-eu-west-0.grafana.net/loki/api/v1/push" {
				t.Fatalf("PushURL() = %q", got)
			}
		}},
		{name: "hostname normalised with port", cfg: with(base, "hostname", " Logs.Example.COM.:3100 "), field: pass, check: func(t *testing.T, c Config) {
			if got := loki(c).PushURL(); got != "https://logs.example.com:3100/loki/api/v1/push" {
				t.Fatalf("PushURL() = %q", got)
			}
		}},
		{name: "hostname missing", cfg: with(base, "hostname", omit), field: "hostname"},
		{name: "hostname with scheme", cfg: with(base, "hostname", "https://logs.example.com"), field: "hostname"},
		{name: "hostname with path", cfg: with(base, "hostname", "logs.example.com/loki/api/v1/push"), field: "hostname"},
		{name: "hostname with credentials", cfg: with(base, "hostname", "u@logs.example.com"), field: "hostname"},
		{name: "hostname with underscore", cfg: with(base, "hostname", "logs_x.example.com"), field: "hostname"},
		{name: "hostname port zero", cfg: with(base, "hostname", "logs.example.com:0"), field: "hostname"},
		{name: "hostname port too large", cfg: with(base, "hostname", "logs.example.com:65536"), field: "hostname"},
		{name: "hostname empty port", cfg: with(base, "hostname", "logs.example.com:"), field: "hostname"},
		{name: "hostname localhost refused", cfg: with(base, "hostname", "localhost"), field: "hostname"},
		{name: "hostname private address refused", cfg: with(base, "hostname", "10.0.0.7:3100"), field: "hostname"},
		{name: "hostname metadata address refused", cfg: with(base, "hostname", "169.254.169.254"), field: "hostname"},
		{name: "hostname private address under dev switch", cfg: with(base, "hostname", "10.0.0.7:3100"), dev: true, field: pass},
		{name: "hostname bracketed IPv6 under dev switch", cfg: with(base, "hostname", "[::1]:3100"), dev: true, field: pass, check: func(t *testing.T, c Config) {
			if got := loki(c).PushURL(); got != "https://[::1]:3100/loki/api/v1/push" {
				t.Fatalf("PushURL() = %q", got)
			}
		}},
		{name: "hostname bare IPv6", cfg: with(base, "hostname", "2001:db8::1"), field: "hostname"},
		{name: "username missing", cfg: with(base, "username", omit), field: "username"},
		{name: "username with colon", cfg: with(base, "username", "a:b"), field: "username"},
		{name: "username too long", cfg: with(base, "username", repeat("u", 257)), field: "username"},
		{name: "password missing", cfg: with(base, "password", omit), field: "password"},
		{name: "password with newline", cfg: with(base, "password", "abc\ndef"), field: "password"},
		{name: "tenant id all allowed characters", cfg: with(base, "tenant_id", "Tenant-1_!.*'()"), field: pass},
		{name: "tenant id 150 chars", cfg: with(base, "tenant_id", repeat("t", 150)), field: pass},
		{name: "tenant id 151 chars", cfg: with(base, "tenant_id", repeat("t", 151)), field: "tenant_id"},
		{name: "tenant id with slash", cfg: with(base, "tenant_id", "a/b"), field: "tenant_id"},
		{name: "tenant id with pipe", cfg: with(base, "tenant_id", "a|b"), field: "tenant_id"},
		{name: "tenant id with space", cfg: with(base, "tenant_id", "a b"), field: "tenant_id"},
		{name: "tenant id dot", cfg: with(base, "tenant_id", "."), field: "tenant_id"},
		{name: "tenant id dot dot", cfg: with(base, "tenant_id", ".."), field: "tenant_id"},
		{name: "format json", cfg: with(base, "format", "JSON"), field: pass, check: func(t *testing.T, c Config) {
			if loki(c).Format != LokiFormatJSON {
				t.Fatalf("format = %q", loki(c).Format)
			}
		}},
		{name: "format unknown", cfg: with(base, "format", "logfmt"), field: "format"},
		{name: "labels", cfg: with(base, "labels", map[string]string{"env": "prod", "_team": "auth", "Region2": "eu"}), field: pass},
		{name: "13 labels", cfg: with(base, "labels", labels(13)), field: pass},
		{name: "14 labels: with source and service, over Loki's 15 per series", cfg: with(base, "labels", labels(14)), field: "labels"},
		{name: "label name starting with digit", cfg: with(base, "labels", map[string]string{"env": "a", "1env": "b"}), field: "labels.1env"},
		{name: "label name with hyphen", cfg: with(base, "labels", map[string]string{"bad-name": "b"}), field: "labels.bad-name"},
		{name: "label name with __ prefix", cfg: with(base, "labels", map[string]string{"__name__": "b"}), field: "labels.__name__"},
		{name: "label source reserved", cfg: with(base, "labels", map[string]string{"source": "b"}), field: "labels.source"},
		{name: "label service reserved", cfg: with(base, "labels", map[string]string{"service": "b"}), field: "labels.service"},
		{name: "label value 128 chars", cfg: with(base, "labels", map[string]string{"env": repeat("v", 128)}), field: pass},
		{name: "label value 129 chars", cfg: with(base, "labels", map[string]string{"env": repeat("v", 129)}), field: "labels.env"},
		{name: "label value empty", cfg: with(base, "labels", map[string]string{"env": " "}), field: "labels.env"},
		{name: "label value with newline", cfg: with(base, "labels", map[string]string{"env": "a\nb"}), field: "labels.env"},
		{name: "label value not a string", cfg: with(base, "labels", map[string]any{"env": 1}), field: "labels.env"},
		{name: "url refused in production", cfg: with(base, "url", "https://loki.example.com/loki/api/v1/push"), field: "url"},
		{name: "url under dev switch without hostname or credentials", cfg: map[string]any{"url": "http://localhost:3100/loki/api/v1/push"}, dev: true, field: pass, check: func(t *testing.T, c Config) {
			if got := loki(c).PushURL(); got != "http://localhost:3100/loki/api/v1/push" {
				t.Fatalf("PushURL() = %q", got)
			}
		}},
		{name: "url under dev switch with half the credentials", cfg: map[string]any{"url": "http://localhost:3100/loki/api/v1/push", "username": "u"}, dev: true, field: "password"},
		{name: "url under dev switch not a URL", cfg: map[string]any{"url": "ftp://localhost/x"}, dev: true, field: "url"},
	}
	runCases(t, GrafanaLoki, cases)
}
