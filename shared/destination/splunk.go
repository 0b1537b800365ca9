package destination

import (
	"strings"

	"github.com/logstream/logstream/shared/netguard"
)

// SplunkHEC is the type of destinations that send events to a Splunk HTTP
// Event Collector.
const SplunkHEC = "splunk_hec"

// splunkHECKind declares the type: reached over HTTPS with the customer's
// token.
var splunkHECKind = Kind{Type: SplunkHEC, New: func() Config { return &SplunkHECConfig{} }}

// SplunkHECConfig is the config of a "splunk_hec" destination: events sent to
// a Splunk HTTP Event Collector. The collector is given either as URL, a base
// URL, or as Host with optional Port and TLS.
type SplunkHECConfig struct {
	// URL is the collector's base URL, such as https://hec.example.com:8088.
	URL string `json:"url,omitempty"`
	// Host, Port (default 8088) and TLS (default true) are the alternative
	// to URL.
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitempty"`
	TLS  *bool  `json:"tls,omitempty"`
	// Token is the HEC token (secret).
	Token string `json:"token,omitempty"`
	// Index, Source and Sourcetype are the events' metadata; empty means the
	// token's defaults.
	Index      string `json:"index,omitempty"`
	Source     string `json:"source,omitempty"`
	Sourcetype string `json:"sourcetype,omitempty"`
}

// Type implements Config.
func (c *SplunkHECConfig) Type() string { return SplunkHEC }

// Secrets implements Config.
func (c *SplunkHECConfig) Secrets() map[string]*string {
	return map[string]*string{"token": &c.Token}
}

// SecretBindings implements Config: the token goes to the collector, given
// by url or by host, port and tls (plain http would show it to the network).
func (c *SplunkHECConfig) SecretBindings() map[string][]string {
	return map[string][]string{"token": {"url", "host", "port", "tls"}}
}

const (
	// SplunkDefaultPort is HEC's default port ("By default, the HTTP Event
	// Collector receives data over HTTPS on TCP port 8088").
	SplunkDefaultPort = 8088
	// SplunkEventPath is HEC's JSON event endpoint.
	SplunkEventPath = "/services/collector/event"
)

// EventURL returns the collector's JSON event endpoint.
func (c SplunkHECConfig) EventURL() string { return c.target() + SplunkEventPath }

// target is the collector's base URL, with the defaults applied.
func (c SplunkHECConfig) target() string {
	if strings.TrimSpace(c.URL) != "" {
		return splunkBase(normURL(c.URL))
	}
	host, _, ok := splitHostPort(c.Host)
	if !ok {
		host = strings.TrimSpace(c.Host)
	}
	port := c.Port
	if port == 0 {
		port = SplunkDefaultPort
	}
	scheme := "https"
	if c.TLS != nil && !*c.TLS {
		scheme = "http"
	}
	return scheme + "://" + joinHostPort(host, port)
}

// splunkBase trims the endpoint paths customers paste along with the base
// URL, so "https://h:8088/services/collector/event" and "https://h:8088"
// name the same collector.
func splunkBase(u string) string {
	// Repeat until nothing changes, so that a stored base trims to itself.
	for {
		before := u
		u = strings.TrimRight(u, "/")
		u = strings.TrimSuffix(u, SplunkEventPath)
		u = strings.TrimSuffix(u, "/services/collector")
		if u == before {
			return u
		}
	}
}

var (
	// "When you use the token management endpoint on the Splunk server to
	// generate a token, it generates the token in the form of a globally
	// unique identifier (GUID)" (Splunk, Format events for HTTP Event
	// Collector → HEC token).
	splunkToken = lazyRegexp(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// indexes.conf.spec: "Index names must consist of only numbers,
	// lowercase letters, underscores, and hyphens. They cannot begin with an
	// underscore or hyphen, or contain the word "kvstore"."
	splunkIndex = lazyRegexp(`^[a-z0-9][a-z0-9_-]*$`)
	// Splunk documents no character set for source types; they name
	// props.conf stanzas and appear in searches as sourcetype=…, so logstream
	// keeps to the characters Splunk's own source types use ("_json",
	// "aws:cloudtrail", "access_combined").
	splunkSourcetype = lazyRegexp(`^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$`)
)

const (
	// Splunk documents no maximum for these; these bounds are logstream's.
	maxSplunkIndex      = 80
	maxSplunkSource     = 256
	maxSplunkSourcetype = 128
)

func (c *SplunkHECConfig) validate(p netguard.Policy) *FieldError {
	c.URL = strings.TrimSpace(c.URL)
	c.Host = strings.TrimSpace(c.Host)
	switch {
	case c.URL != "" && c.Host != "":
		return invalid("host", "set either url or host, not both")
	case c.URL == "" && c.Host == "":
		return invalid("url", "is required (or set host)")
	case c.URL != "":
		if c.Port != 0 {
			return invalid("port", "applies only with host; put the port in url")
		}
		if c.TLS != nil {
			return invalid("tls", "applies only with host; url gives the scheme")
		}
		u, err := p.CheckURL(c.URL)
		if err != nil {
			return invalid("url", "%v", err)
		}
		if u.RawQuery != "" || u.ForceQuery {
			return invalid("url", "must not have a query")
		}
		u.Scheme = strings.ToLower(u.Scheme)
		u.Host = strings.ToLower(u.Host)
		c.URL = splunkBase(u.String())
	default:
		if strings.Contains(c.Host, "://") || strings.ContainsAny(c.Host, "/?#@ ") {
			return invalid("host", "must be a host name only; use url for a full URL")
		}
		host, port, ok := splitHostPort(c.Host)
		if !ok {
			// A bare IPv6 address has colons too.
			host, ok = normHost(c.Host)
		}
		if !ok {
			return invalid("host", "must be a valid host name or IP address")
		}
		if port != 0 {
			return invalid("host", "must not include a port; set port")
		}
		c.Host = host
		if c.Port == 0 {
			c.Port = SplunkDefaultPort
		}
		if c.Port < 1 || c.Port > 65535 {
			return invalid("port", "must be between 1 and 65535")
		}
		if c.TLS == nil {
			t := true
			c.TLS = &t
		}
		if !*c.TLS && !p.AllowPrivate {
			return invalid("tls", "must be true: the token travels with every request (plain http is for local development only)")
		}
		if _, err := p.CheckURL(c.target()); err != nil {
			return invalid("host", "%v", err)
		}
	}

	c.Token = strings.TrimSpace(c.Token)
	if c.Token == "" {
		return invalid("token", "is required")
	}
	if !splunkToken().MatchString(c.Token) {
		return invalid("token", "must be a HEC token: a GUID such as 12345678-9abc-def0-1234-56789abcdef0")
	}

	c.Index = strings.TrimSpace(c.Index)
	if c.Index != "" {
		if len(c.Index) > maxSplunkIndex || !splunkIndex().MatchString(c.Index) || strings.Contains(c.Index, "kvstore") {
			return invalid("index", "must be at most %d lowercase letters, digits, _ and -, not begin with _ or -, and not contain \"kvstore\"", maxSplunkIndex)
		}
	}
	c.Source = strings.TrimSpace(c.Source)
	if err := checkText("source", c.Source, maxSplunkSource); err != nil {
		return err
	}
	c.Sourcetype = strings.TrimSpace(c.Sourcetype)
	if c.Sourcetype != "" && (len(c.Sourcetype) > maxSplunkSourcetype || !splunkSourcetype().MatchString(c.Sourcetype)) {
		return invalid("sourcetype", "must be at most %d letters, digits and _ . : / -, starting with a letter, digit or _", maxSplunkSourcetype)
	}
	return nil
}
