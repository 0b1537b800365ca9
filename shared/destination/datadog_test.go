package destination

import (
	"fmt"
	"testing"
)

func TestDatadogValidate(t *testing.T) {
	base := map[string]any{"site": "datadoghq.eu", "api_key": ddKey}
	site := func(want string) func(*testing.T, Config) {
		return func(t *testing.T, c Config) {
			if got := c.(*DatadogConfig).Site; got != want {
				t.Fatalf("site = %q, want %q", got, want)
			}
		}
	}
	tags := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("t%d:v", i)
		}
		return out
	}
	cases := []vcase{
		{name: "minimal", cfg: base, field: pass, check: site("datadoghq.eu")},
		{name: "full", cfg: with(base, "service", "auth", "source", "logstream", "tags", []string{"env:prod", "team", "région:paris", "path:/a/b.c_d-e"}), field: pass},
		{name: "site domain is lower-cased and trimmed", cfg: with(base, "site", " US5.DatadogHQ.com "), field: pass, check: site("us5.datadoghq.com")},
		{name: "site name US3", cfg: with(base, "site", "US3"), field: pass, check: site("us3.datadoghq.com")},
		{name: "site name eu1 lower case", cfg: with(base, "site", "eu1"), field: pass, check: site("datadoghq.eu")},
		{name: "site name UK1", cfg: with(base, "site", "UK1"), field: pass, check: site("uk1.datadoghq.com")},
		{name: "site name US1-FED", cfg: with(base, "site", "us1-fed"), field: pass, check: site("ddog-gov.com")},
		{name: "site name US2-FED", cfg: with(base, "site", "US2-FED"), field: pass, check: site("us2.ddog-gov.com")},
		{name: "site missing", cfg: with(base, "site", omit), field: "site"},
		{name: "site unknown domain", cfg: with(base, "site", "datadoghq.co"), field: "site"},
		{name: "site app host is not a site", cfg: with(base, "site", "app.datadoghq.com"), field: "site"},
		{name: "site url is not a site", cfg: with(base, "site", "https://datadoghq.com"), field: "site"},
		{name: "site unknown name", cfg: with(base, "site", "US4"), field: "site"},
		{name: "api key missing", cfg: with(base, "api_key", omit), field: "api_key"},
		{name: "api key blank", cfg: with(base, "api_key", "   "), field: "api_key"},
		{name: "api key upper-case hex", cfg: with(base, "api_key", "0123456789ABCDEF0123456789ABCDEF"), field: pass},
		{name: "api key 31 chars", cfg: with(base, "api_key", ddKey[:31]), field: "api_key"},
		{name: "api key 33 chars", cfg: with(base, "api_key", ddKey+"0"), field: "api_key"},
		{name: "api key not hex", cfg: with(base, "api_key", "g123456789abcdef0123456789abcdef"), field: "api_key"},
		{name: "service 100 chars", cfg: with(base, "service", repeat("s", 100)), field: pass},
		{name: "service 101 chars", cfg: with(base, "service", repeat("s", 101)), field: "service"},
		{name: "service control char", cfg: with(base, "service", "a\nb"), field: "service"},
		{name: "source 101 chars", cfg: with(base, "source", repeat("s", 101)), field: "source"},
		{name: "50 tags", cfg: with(base, "tags", tags(50)), field: pass},
		{name: "51 tags", cfg: with(base, "tags", tags(51)), field: "tags"},
		{name: "tag 200 chars", cfg: with(base, "tags", []string{"a" + repeat("b", 199)}), field: pass},
		{name: "tag 201 chars", cfg: with(base, "tags", []string{"a" + repeat("b", 200)}), field: "tags.0"},
		{name: "tag empty", cfg: with(base, "tags", []string{"env:prod", ""}), field: "tags.1"},
		{name: "tag starts with digit", cfg: with(base, "tags", []string{"env:prod", "ok", "1abc"}), field: "tags.2"},
		{name: "tag with comma", cfg: with(base, "tags", []string{"env:prod,team:a"}), field: "tags.0"},
		{name: "tag with space", cfg: with(base, "tags", []string{"env:prod team"}), field: "tags.0"},
		{name: "tag ends with colon", cfg: with(base, "tags", []string{"env:"}), field: "tags.0"},
		{name: "empty tags normalised to none", cfg: with(base, "tags", []string{}), field: pass, check: func(t *testing.T, c Config) {
			if c.(*DatadogConfig).Tags != nil {
				t.Fatal("empty tags not normalised to nil")
			}
		}},
		{name: "unknown field", cfg: with(base, "apikey", ddKey), field: "apikey"},
		{name: "tags not an array", cfg: with(base, "tags", "env:prod"), field: "tags"},
		{name: "site not a string", cfg: with(base, "site", 1), field: "site"},
	}
	runCases(t, Datadog, cases)
}

// The log intake host per site, as the Send logs API reference lists it.
func TestDatadogIntakeURL(t *testing.T) {
	want := map[string]string{
		"datadoghq.com":     "https://http-intake.logs.datadoghq.com/api/v2/logs",
		"us3.datadoghq.com": "https://http-intake.logs.us3.datadoghq.com/api/v2/logs",
		"us5.datadoghq.com": "https://http-intake.logs.us5.datadoghq.com/api/v2/logs",
		"datadoghq.eu":      "https://http-intake.logs.datadoghq.eu/api/v2/logs",
		"ap1.datadoghq.com": "https://http-intake.logs.ap1.datadoghq.com/api/v2/logs",
		"ap2.datadoghq.com": "https://http-intake.logs.ap2.datadoghq.com/api/v2/logs",
		"uk1.datadoghq.com": "https://http-intake.logs.uk1.datadoghq.com/api/v2/logs",
		"ddog-gov.com":      "https://http-intake.logs.ddog-gov.com/api/v2/logs",
		"us2.ddog-gov.com":  "https://http-intake.logs.us2.ddog-gov.com/api/v2/logs",
	}
	if len(DatadogSites()) != 9 {
		t.Fatalf("DatadogSites() has %d sites, want 9", len(DatadogSites()))
	}
	for _, s := range DatadogSites() {
		c := mustValid(t, Datadog, map[string]any{"site": s, "api_key": ddKey}, prod).(*DatadogConfig)
		if got := c.IntakeURL(); got != want[s] {
			t.Errorf("site %s: IntakeURL() = %q, want %q", s, got, want[s])
		}
	}
}
