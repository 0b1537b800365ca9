package destination

import "testing"

func TestSplunkHECValidate(t *testing.T) {
	byURL := map[string]any{"url": "https://hec.example.com:8088", "token": hecToken}
	byHost := map[string]any{"host": "hec.example.com", "token": hecToken}
	eventURL := func(want string) func(*testing.T, Config) {
		return func(t *testing.T, c Config) {
			if got := c.(*SplunkHECConfig).EventURL(); got != want {
				t.Fatalf("EventURL() = %q, want %q", got, want)
			}
		}
	}
	cases := []vcase{
		{name: "url", cfg: byURL, field: pass, check: eventURL("https://hec.example.com:8088/services/collector/event")},
		{name: "url with endpoint path pasted", cfg: with(byURL, "url", "https://HEC.example.com:8088/services/collector/event/"), field: pass, check: eventURL("https://hec.example.com:8088/services/collector/event")},
		{name: "url splunk cloud", cfg: with(byURL, "url", "https://http-inputs-acme.splunkcloud.com/services/collector"), field: pass, check: eventURL("https://http-inputs-acme.splunkcloud.com/services/collector/event")},
		{name: "url with repeated endpoint paths", cfg: with(byURL, "url", "https://hec.example.com/services/collector/event/services/collector//"), field: pass, check: eventURL("https://hec.example.com/services/collector/event")},
		{name: "url with a path prefix", cfg: with(byURL, "url", "https://gw.example.com/splunk/"), field: pass, check: eventURL("https://gw.example.com/splunk/services/collector/event")},
		{name: "url plain http refused", cfg: with(byURL, "url", "http://hec.example.com:8088"), field: "url"},
		{name: "url plain http under dev switch", cfg: with(byURL, "url", "http://127.0.0.1:8088"), dev: true, field: pass, check: eventURL("http://127.0.0.1:8088/services/collector/event")},
		{name: "url private address refused", cfg: with(byURL, "url", "https://192.168.1.10:8088"), field: "url"},
		{name: "url with query", cfg: with(byURL, "url", "https://hec.example.com:8088/?channel=x"), field: "url"},
		{name: "url with credentials", cfg: with(byURL, "url", "https://u:p@hec.example.com:8088"), field: "url"},
		{name: "url and host", cfg: with(byURL, "host", "hec.example.com"), field: "host"},
		{name: "neither url nor host", cfg: map[string]any{"token": hecToken}, field: "url"},
		{name: "url with port", cfg: with(byURL, "port", 8088), field: "port"},
		{name: "url with tls", cfg: with(byURL, "tls", true), field: "tls"},
		{name: "host defaults", cfg: byHost, field: pass, check: func(t *testing.T, c Config) {
			s := c.(*SplunkHECConfig)
			if s.Port != 8088 || s.TLS == nil || !*s.TLS {
				t.Fatalf("defaults not applied: port %d tls %v", s.Port, s.TLS)
			}
			eventURL("https://hec.example.com:8088/services/collector/event")(t, c)
		}},
		{name: "host with port", cfg: with(byHost, "host", "HEC.Example.com", "port", 443), field: pass, check: eventURL("https://hec.example.com:443/services/collector/event")},
		{name: "host port zero means default", cfg: with(byHost, "port", 0), field: pass},
		{name: "host port negative", cfg: with(byHost, "port", -1), field: "port"},
		{name: "host port too large", cfg: with(byHost, "port", 65536), field: "port"},
		{name: "host port not a number", cfg: with(byHost, "port", "8088"), field: "port"},
		{name: "host with port inside", cfg: with(byHost, "host", "hec.example.com:8088"), field: "host"},
		{name: "host with scheme", cfg: with(byHost, "host", "https://hec.example.com"), field: "host"},
		{name: "host invalid", cfg: with(byHost, "host", "hec_example.com"), field: "host"},
		{name: "host localhost refused", cfg: with(byHost, "host", "localhost"), field: "host"},
		{name: "host loopback refused", cfg: with(byHost, "host", "127.0.0.1"), field: "host"},
		{name: "host tls false refused", cfg: with(byHost, "tls", false), field: "tls"},
		{name: "host tls false under dev switch", cfg: with(byHost, "host", "127.0.0.1", "tls", false), dev: true, field: pass, check: eventURL("http://127.0.0.1:8088/services/collector/event")},
		{name: "host IPv6 under dev switch", cfg: with(byHost, "host", "::1"), dev: true, field: pass, check: eventURL("https://[::1]:8088/services/collector/event")},
		{name: "token missing", cfg: with(byURL, "token", omit), field: "token"},
		{name: "token not a GUID", cfg: with(byURL, "token", "not-a-guid"), field: "token"},
		{name: "token GUID without hyphens", cfg: with(byURL, "token", "123456789abcdef0123456789abcdef0"), field: "token"},
		{name: "token upper-case GUID", cfg: with(byURL, "token", "B5A79AAD-D822-46CC-80D1-819F80D7BFB0"), field: pass},
		{name: "index", cfg: with(byURL, "index", "my_index-2"), field: pass},
		{name: "index starting with underscore", cfg: with(byURL, "index", "_internal"), field: "index"},
		{name: "index starting with hyphen", cfg: with(byURL, "index", "-main"), field: "index"},
		{name: "index upper case", cfg: with(byURL, "index", "Main"), field: "index"},
		{name: "index containing kvstore", cfg: with(byURL, "index", "mykvstore1"), field: "index"},
		{name: "index with dot", cfg: with(byURL, "index", "a.b"), field: "index"},
		{name: "source", cfg: with(byURL, "source", "logstream:auth events"), field: pass},
		{name: "source too long", cfg: with(byURL, "source", repeat("s", 257)), field: "source"},
		{name: "source with control character", cfg: with(byURL, "source", "a\tb"), field: "source"},
		{name: "sourcetype", cfg: with(byURL, "sourcetype", "aws:cloudtrail"), field: pass},
		{name: "sourcetype _json", cfg: with(byURL, "sourcetype", "_json"), field: pass},
		{name: "sourcetype with space", cfg: with(byURL, "sourcetype", "my type"), field: "sourcetype"},
		{name: "sourcetype starting with colon", cfg: with(byURL, "sourcetype", ":x"), field: "sourcetype"},
		{name: "sourcetype too long", cfg: with(byURL, "sourcetype", repeat("s", 129)), field: "sourcetype"},
	}
	runCases(t, SplunkHEC, cases)
}
