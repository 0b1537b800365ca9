package destination

import (
	"strings"

	"github.com/logstream/logstream/shared/netguard"
)

// GrafanaLoki is the type of destinations that push logs to a Loki.
const GrafanaLoki = "grafana_loki"

// grafanaLokiKind declares the type: reached over HTTPS with the customer's
// credentials.
var grafanaLokiKind = Kind{Type: GrafanaLoki, New: func() Config { return &GrafanaLokiConfig{} }}

// GrafanaLokiConfig is the config of a "grafana_loki" destination: logs
// pushed to a Loki (Grafana Cloud Logs or self-hosted) over https at the fixed
// path /loki/api/v1/push.
type GrafanaLokiConfig struct {
	// Hostname is the Loki host, with an optional port: no scheme, no path.
	Hostname string `json:"hostname,omitempty"`
	// Username and Password are the HTTP basic credentials; Password is secret.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// TenantID is sent as X-Scope-OrgID when set.
	TenantID string `json:"tenant_id,omitempty"`
	// Format is the push body encoding: "protobuf" (the default) or "json".
	Format string `json:"format"`
	// Labels are stream labels added to every entry.
	Labels map[string]string `json:"labels,omitempty"`
	// URL overrides the push URL; local development only.
	URL string `json:"url,omitempty"`
}

// Type implements Config.
func (c *GrafanaLokiConfig) Type() string { return GrafanaLoki }

// Secrets implements Config.
func (c *GrafanaLokiConfig) Secrets() map[string]*string {
	return map[string]*string{"password": &c.Password}
}

// SecretBindings implements Config: the password goes, in Basic
// authentication, to the push URL (url, or hostname) and is used there for
// the tenant in X-Scope-OrgID: another tenant of a shared Loki is another
// recipient.
func (c *GrafanaLokiConfig) SecretBindings() map[string][]string {
	return map[string][]string{"password": {"url", "hostname", "tenant_id"}}
}

// LokiPushPath is Loki's push endpoint (Loki HTTP API, POST /loki/api/v1/push).
const LokiPushPath = "/loki/api/v1/push"

// PushURL returns the URL entries are pushed to.
func (c GrafanaLokiConfig) PushURL() string {
	if c.URL != "" {
		return c.URL
	}
	return "https://" + c.Hostname + LokiPushPath
}

// Loki push body formats.
const (
	LokiFormatProtobuf = "protobuf"
	LokiFormatJSON     = "json"
)

var (
	// Prometheus data model: label names match [a-zA-Z_][a-zA-Z0-9_]*, and
	// names beginning with __ are reserved for internal use.
	lokiLabelName = lazyRegexp(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	// Loki, like Mimir and Cortex, takes its tenant ID rules from dskit's
	// tenant.ValidTenantID: at most 150 bytes of letters, digits and
	// ! - _ . * ' ( ), and never "." or ".." ("Manage tenant isolation",
	// Grafana Enterprise Logs docs; "About tenant IDs", Mimir docs).
	lokiTenantID = charset{max: 150, allowed: alphanumeric + "!-_.*'()"}
)

// Labels logstream sets on every stream itself; a customer label of the same
// name would collide with it.
var lokiReservedLabels = map[string]bool{"source": true, "service": true}

const (
	// Loki's default limits.max_label_names_per_series is 15, and every
	// stream also carries source and service: 13 are left for the customer.
	maxLokiLabels     = 13
	maxLokiLabelName  = 128
	maxLokiLabelValue = 128
	maxLokiUsername   = 256
	maxLokiPassword   = 1024
)

func (c *GrafanaLokiConfig) validate(p netguard.Policy) *FieldError {
	c.URL = strings.TrimSpace(c.URL)
	if c.URL != "" {
		if !p.AllowPrivate {
			return invalid("url", "is for local development only; set hostname instead")
		}
		u, err := p.CheckURL(c.URL)
		if err != nil {
			return invalid("url", "%v", err)
		}
		u.Scheme = strings.ToLower(u.Scheme)
		u.Host = strings.ToLower(u.Host)
		c.URL = u.String()
	}

	c.Hostname = strings.TrimSpace(c.Hostname)
	switch {
	case c.Hostname == "" && c.URL == "":
		return invalid("hostname", "is required")
	case c.Hostname != "":
		if strings.Contains(c.Hostname, "://") || strings.ContainsAny(c.Hostname, "/?#@ ") {
			return invalid("hostname", "must be a host name only, such as logs-prod-eu-west-0.grafana.net: no scheme or path (https and %s are fixed)", LokiPushPath)
		}
		host, port, ok := splitHostPort(c.Hostname)
		if !ok {
			return invalid("hostname", "must be a valid host name, optionally with :port")
		}
		c.Hostname = joinHostPort(host, port)
		if _, err := p.CheckURL("https://" + c.Hostname + LokiPushPath); err != nil {
			return invalid("hostname", "%v", err)
		}
	}

	c.Username = strings.TrimSpace(c.Username)
	c.Password = strings.TrimSpace(c.Password)
	// Credentials are required for a real Loki; a local one (url override)
	// may run without, but then neither is set.
	if c.URL == "" || c.Username != "" || c.Password != "" {
		if c.Username == "" {
			return invalid("username", "is required")
		}
		if c.Password == "" {
			return invalid("password", "is required")
		}
	}
	if err := checkText("username", c.Username, maxLokiUsername); err != nil {
		return err
	}
	// RFC 7617 §2: the user-id of Basic authentication cannot contain a colon.
	if strings.Contains(c.Username, ":") {
		return invalid("username", "must not contain a colon")
	}
	if err := checkText("password", c.Password, maxLokiPassword); err != nil {
		return err
	}

	c.TenantID = strings.TrimSpace(c.TenantID)
	if c.TenantID != "" && (!lokiTenantID.MatchString(c.TenantID) || c.TenantID == "." || c.TenantID == "..") {
		return invalid("tenant_id", "must be at most 150 letters, digits or ! - _ . * ' ( ), and not \".\" or \"..\"")
	}

	c.Format = strings.ToLower(strings.TrimSpace(c.Format))
	if c.Format == "" {
		c.Format = LokiFormatProtobuf
	}
	if c.Format != LokiFormatProtobuf && c.Format != LokiFormatJSON {
		return invalid("format", "must be %q or %q", LokiFormatProtobuf, LokiFormatJSON)
	}

	if len(c.Labels) > maxLokiLabels {
		return invalid("labels", "must hold at most %d labels", maxLokiLabels)
	}
	for _, name := range sortedKeys(c.Labels) {
		field := "labels." + name
		switch {
		case !lokiLabelName().MatchString(name) || len(name) > maxLokiLabelName:
			return invalid(field, "label names must match [a-zA-Z_][a-zA-Z0-9_]* and be at most %d characters", maxLokiLabelName)
		case strings.HasPrefix(name, "__"):
			return invalid(field, "label names beginning with __ are reserved by Loki")
		case lokiReservedLabels[name]:
			return invalid(field, "is set by logstream and cannot be configured")
		}
		v := strings.TrimSpace(c.Labels[name])
		c.Labels[name] = v
		if v == "" {
			// An empty label value is the same as no label at all in Loki.
			return invalid(field, "must not be empty")
		}
		if err := checkText(field, v, maxLokiLabelValue); err != nil {
			return err
		}
	}
	if len(c.Labels) == 0 {
		c.Labels = nil
	}
	return nil
}
