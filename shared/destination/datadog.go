package destination

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/logstream/logstream/shared/netguard"
)

// Datadog is the type of destinations that send logs to Datadog's HTTP log
// intake.
const Datadog = "datadog"

// datadogKind declares the type: reached over HTTPS with the customer's API
// key, so deploying it needs no AWS permission.
var datadogKind = Kind{Type: Datadog, New: func() Config { return &DatadogConfig{} }}

// DatadogConfig is the config of a "datadog" destination: logs sent to
// Datadog's HTTP log intake.
type DatadogConfig struct {
	// Site is the Datadog site's domain, such as "datadoghq.eu".
	Site string `json:"site"`
	// APIKey is a Datadog API key (secret).
	APIKey string `json:"api_key,omitempty"`
	// Service and Source become the logs' service and ddsource attributes.
	Service string `json:"service,omitempty"`
	Source  string `json:"source,omitempty"`
	// Tags are added to every log, as "key:value" or "value".
	Tags []string `json:"tags,omitempty"`
}

// Type implements Config.
func (c *DatadogConfig) Type() string { return Datadog }

// Secrets implements Config.
func (c *DatadogConfig) Secrets() map[string]*string {
	return map[string]*string{"api_key": &c.APIKey}
}

// SecretBindings implements Config: the API key goes to the site's intake.
func (c *DatadogConfig) SecretBindings() map[string][]string {
	return map[string][]string{"api_key": {"site"}}
}

// IntakeURL returns the site's log intake endpoint. Every site follows the
// pattern "https://http-intake.logs.<site>/api/v2/logs" (Datadog API
// reference, Logs → Send logs, which lists the endpoint for each site).
func (c DatadogConfig) IntakeURL() string {
	return "https://http-intake.logs." + c.Site + "/api/v2/logs"
}

// datadogSites are Datadog's sites: name and site parameter (domain), from
// "Getting Started with Datadog Sites" and the per-site endpoint table of the
// Send logs API reference, where UK1 is uk1.datadoghq.com and US2-FED is
// us2.ddog-gov.com.
var datadogSites = []struct{ name, domain string }{
	{"US1", "datadoghq.com"},
	{"US3", "us3.datadoghq.com"},
	{"US5", "us5.datadoghq.com"},
	{"EU1", "datadoghq.eu"},
	{"AP1", "ap1.datadoghq.com"},
	{"AP2", "ap2.datadoghq.com"},
	{"UK1", "uk1.datadoghq.com"},
	{"US1-FED", "ddog-gov.com"},
	{"US2-FED", "us2.ddog-gov.com"},
}

// DatadogSites returns the site domains a datadog config accepts.
func DatadogSites() []string {
	out := make([]string, len(datadogSites))
	for i, s := range datadogSites {
		out[i] = s.domain
	}
	return out
}

var datadogAPIKey = lazyRegexp(`^[0-9a-fA-F]{32}$`)

const (
	maxDatadogAttr = 100
	// Datadog: "Tags can be up to 200 characters long" (Getting Started
	// with Tags → Define tags).
	maxDatadogTag  = 200
	maxDatadogTags = 50
)

func (c *DatadogConfig) validate(netguard.Policy) *FieldError {
	site := strings.ToLower(strings.TrimSpace(c.Site))
	if site == "" {
		return invalid("site", "is required")
	}
	c.Site = ""
	for _, s := range datadogSites {
		if site == s.domain || site == strings.ToLower(s.name) {
			c.Site = s.domain
		}
	}
	if c.Site == "" {
		return invalid("site", "must be one of %s (or a site name such as US3)", strings.Join(DatadogSites(), ", "))
	}

	c.APIKey = strings.TrimSpace(c.APIKey)
	if c.APIKey == "" {
		return invalid("api_key", "is required")
	}
	// Datadog API keys are 32 hexadecimal characters.
	if !datadogAPIKey().MatchString(c.APIKey) {
		return invalid("api_key", "must be a Datadog API key: 32 hexadecimal characters")
	}

	c.Service = strings.TrimSpace(c.Service)
	if err := checkText("service", c.Service, maxDatadogAttr); err != nil {
		return err
	}
	c.Source = strings.TrimSpace(c.Source)
	if err := checkText("source", c.Source, maxDatadogAttr); err != nil {
		return err
	}

	if len(c.Tags) > maxDatadogTags {
		return invalid("tags", "must hold at most %d tags", maxDatadogTags)
	}
	for i, t := range c.Tags {
		t = strings.TrimSpace(t)
		c.Tags[i] = t
		if msg := datadogTagProblem(t); msg != "" {
			return invalid("tags."+strconv.Itoa(i), "%s", msg)
		}
	}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	return nil
}

// datadogTagProblem checks Datadog's tag rules (Getting Started with Tags →
// Define tags): a tag starts with a letter, then holds letters, digits,
// underscores, minuses, colons, periods and slashes; Unicode letters are
// supported; at most 200 characters; it cannot end with a colon. Datadog
// rewrites other characters to underscores; refusing them instead tells the
// customer now rather than leaving them to search for a tag that never
// arrives under the name they typed — and keeps commas, which separate tags
// in ddtags, out.
func datadogTagProblem(t string) string {
	if t == "" {
		return "must not be empty"
	}
	if runeLen(t) > maxDatadogTag {
		return "must be at most 200 characters"
	}
	for i, r := range t {
		if i == 0 && !unicode.IsLetter(r) {
			return "must start with a letter"
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_-:./", r) {
			return "may hold only letters, digits, and _ - : . /"
		}
	}
	if strings.HasSuffix(t, ":") {
		return "must not end with a colon"
	}
	return ""
}
