package destination

import (
	"crypto/rand"
	"encoding/base64"
	"strings"

	"github.com/logstream/logstream/shared/netguard"
)

// HTTP is the type of destinations that POST events to a customer's
// endpoint (a webhook).
const HTTP = "http"

// httpKind declares the type: reached over HTTPS, signed with the stream's
// own secret.
var httpKind = Kind{Type: HTTP, New: func() Config { return &HTTPConfig{} }}

// HTTPConfig is the config of an "http" destination: events POSTed to a
// customer's endpoint, as Auth0's custom webhook log streams do, optionally
// signed the Standard Webhooks way.
type HTTPConfig struct {
	// Endpoint is the https URL events are POSTed to.
	Endpoint string `json:"endpoint"`
	// Authorization is the whole Authorization header value (secret).
	Authorization string `json:"authorization,omitempty"`
	// ContentFormat is the body layout: "JSONLINES" (the default),
	// "JSONARRAY" or "JSONOBJECT".
	ContentFormat string `json:"content_format"`
	// CustomHeaders are sent with every request. Their values are stored and
	// shown in clear: credentials belong in Authorization.
	CustomHeaders map[string]string `json:"custom_headers,omitempty"`
	// SigningSecret signs each request with Standard Webhooks headers
	// (secret), "whsec_" and base64.
	SigningSecret string `json:"signing_secret,omitempty"`
	// GenerateSigningSecret, in a request only, asks Validate to generate
	// SigningSecret. Validate clears it; it is never stored or shown.
	GenerateSigningSecret bool `json:"generate_signing_secret,omitempty"`
}

// Type implements Config.
func (c *HTTPConfig) Type() string { return HTTP }

// Secrets implements Config.
func (c *HTTPConfig) Secrets() map[string]*string {
	return map[string]*string{"authorization": &c.Authorization, "signing_secret": &c.SigningSecret}
}

// SecretBindings implements Config: the Authorization header goes to the
// endpoint. The signing secret is never sent, only an HMAC made with it,
// which does not reveal it, so moving the endpoint may keep it.
func (c *HTTPConfig) SecretBindings() map[string][]string {
	return map[string][]string{"authorization": {"endpoint"}}
}

// HTTP body layouts, named as in Auth0's custom webhook log stream.
const (
	ContentFormatJSONLines  = "JSONLINES"
	ContentFormatJSONArray  = "JSONARRAY"
	ContentFormatJSONObject = "JSONOBJECT"
)

const (
	maxCustomHeaders = 20
	maxHeaderValue   = 4096
	// Standard Webhooks spec, Signature scheme: the symmetric signing secret
	// is "Random. At least 24 bytes (192 bits, 512 maximum)", serialised as
	// base64 and prefixed with "whsec_".
	signingSecretPrefix   = "whsec_"
	minSigningSecretBytes = 24
	maxSigningSecretBytes = 64
	newSigningSecretBytes = 32
)

// Headers a custom header may not set: those that belong to the transport or
// to logstream's encoding of the body (RFC 9110 §7.6.1 connection-specific
// fields among them), Authorization, which has its own secret field, and the
// Standard Webhooks signature headers logstream computes.
var reservedHeaders = map[string]bool{
	"host": true, "content-length": true, "content-type": true, "content-encoding": true,
	"transfer-encoding": true, "connection": true, "keep-alive": true, "upgrade": true,
	"te": true, "trailer": true, "authorization": true,
	"webhook-id": true, "webhook-timestamp": true, "webhook-signature": true,
}

var signingSecretShape = lazyRegexp(`^whsec_[A-Za-z0-9+/]+={0,2}$`)

// NewSigningSecret returns a new random Standard Webhooks signing secret:
// "whsec_" and the base64 of 32 random bytes.
func NewSigningSecret() string {
	b := make([]byte, newSigningSecretBytes)
	// crypto/rand.Read never fails: it crashes the program instead.
	_, _ = rand.Read(b)
	return signingSecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// validSigningSecret reports whether s is "whsec_" and the canonical
// base64 of 24 to 64 bytes.
func validSigningSecret(s string) bool {
	if !signingSecretShape().MatchString(s) {
		return false
	}
	key, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(s, signingSecretPrefix))
	return err == nil && len(key) >= minSigningSecretBytes && len(key) <= maxSigningSecretBytes
}

func (c *HTTPConfig) validate(p netguard.Policy) *FieldError {
	c.Endpoint = strings.TrimSpace(c.Endpoint)
	if c.Endpoint == "" {
		return invalid("endpoint", "is required")
	}
	u, err := p.CheckURL(c.Endpoint)
	if err != nil {
		return invalid("endpoint", "%v", err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	c.Endpoint = u.String()

	c.Authorization = strings.TrimSpace(c.Authorization)
	if len(c.Authorization) > maxHeaderValue || !validHeaderValue(c.Authorization) {
		return invalid("authorization", "must be a single line of at most %d bytes", maxHeaderValue)
	}

	c.ContentFormat = strings.ToUpper(strings.TrimSpace(c.ContentFormat))
	if c.ContentFormat == "" {
		c.ContentFormat = ContentFormatJSONLines
	}
	switch c.ContentFormat {
	case ContentFormatJSONLines, ContentFormatJSONArray, ContentFormatJSONObject:
	default:
		return invalid("content_format", "must be %s, %s or %s", ContentFormatJSONLines, ContentFormatJSONArray, ContentFormatJSONObject)
	}

	if len(c.CustomHeaders) > maxCustomHeaders {
		return invalid("custom_headers", "must hold at most %d headers", maxCustomHeaders)
	}
	seen := map[string]string{}
	for _, name := range sortedKeys(c.CustomHeaders) {
		field := "custom_headers." + name
		lower := strings.ToLower(name)
		switch {
		case !validHeaderName(name):
			return invalid(field, "is not a valid HTTP header name")
		case reservedHeaders[lower] || strings.HasPrefix(lower, "proxy-"):
			if lower == "authorization" {
				return invalid(field, "is configured with the authorization field")
			}
			return invalid(field, "is set by logstream and cannot be configured")
		case seen[lower] != "":
			return invalid(field, "repeats %s: header names are case-insensitive", seen[lower])
		}
		seen[lower] = name
		v := strings.TrimSpace(c.CustomHeaders[name])
		c.CustomHeaders[name] = v
		if len(v) > maxHeaderValue || !validHeaderValue(v) {
			return invalid(field, "value must be a single line of at most %d bytes", maxHeaderValue)
		}
	}
	if len(c.CustomHeaders) == 0 {
		c.CustomHeaders = nil
	}

	c.SigningSecret = strings.TrimSpace(c.SigningSecret)
	if c.GenerateSigningSecret {
		if c.SigningSecret != "" {
			return invalid("generate_signing_secret", "cannot be combined with signing_secret")
		}
		c.SigningSecret = NewSigningSecret()
		c.GenerateSigningSecret = false
	}
	if c.SigningSecret != "" && !validSigningSecret(c.SigningSecret) {
		return invalid("signing_secret", "must be a Standard Webhooks secret: whsec_ and the base64 of 24 to 64 random bytes")
	}
	return nil
}
