package destination

import (
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// runeLen is the length that "characters" limits count.
func runeLen(s string) int { return utf8.RuneCountInString(s) }

// hasControl reports whether s holds a control character (C0, DEL or C1),
// which no field of a destination config needs and which would break the
// headers, labels and log lines the values end up in.
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// checkText validates an optional free-text field: at most max characters,
// no control characters.
func checkText(field, s string, max int) *FieldError {
	if runeLen(s) > max {
		return invalid(field, "must be at most %d characters", max)
	}
	if hasControl(s) {
		return invalid(field, "must not contain control characters")
	}
	return nil
}

// sortedKeys returns m's keys in order, so that of several bad entries the
// same one is reported every time.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validDNSName reports whether s (lower case, no trailing dot) is a DNS host
// name: dot-separated labels of 1–63 letters, digits and inner hyphens, 253
// characters at most (RFC 1123 §2.1).
func validDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// normHost validates a bare host (DNS name, IPv4 address, or IPv6 address
// with or without brackets) and returns it lower-cased, without a trailing
// dot, and with an IPv6 address unbracketed.
func normHost(s string) (string, bool) {
	s = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		a, err := netip.ParseAddr(s[1 : len(s)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", false
		}
		return a.String(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return "", false
		}
		return a.String(), true
	}
	return s, validDNSName(s)
}

// splitHostPort validates "host" or "host:port" ("[v6]:port" for IPv6) and
// returns the normalised host and the port (0 when absent).
func splitHostPort(s string) (host string, port int, ok bool) {
	s = strings.TrimSpace(s)
	h, p := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, false
		}
		h, p = s[:end+1], s[end+1:]
		if p != "" {
			if p[0] != ':' {
				return "", 0, false
			}
			p = p[1:]
			if p == "" {
				return "", 0, false
			}
		}
	case strings.Count(s, ":") == 1:
		i := strings.IndexByte(s, ':')
		h, p = s[:i], s[i+1:]
		if p == "" {
			return "", 0, false
		}
	case strings.Count(s, ":") > 1:
		return "", 0, false // an IPv6 address needs brackets before a port can follow
	}
	host, ok = normHost(h)
	if !ok {
		return "", 0, false
	}
	if p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || p[0] == '0' || p[0] == '+' {
			return "", 0, false
		}
		port = n
	}
	return host, port, true
}

// joinHostPort is the inverse of splitHostPort.
func joinHostPort(host string, port int) string {
	if port == 0 {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// normHostPort normalises a "host[:port]" as Validate stores it, or returns
// the trimmed input when it is not valid (for comparisons only).
func normHostPort(s string) string {
	h, p, ok := splitHostPort(s)
	if !ok {
		return strings.TrimSpace(s)
	}
	return joinHostPort(h, p)
}

// normURL returns u with scheme and host lower-cased, as Validate stores
// URLs, or the trimmed input when it does not parse (for comparisons only).
func normURL(s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	return u.String()
}

// validHeaderName implements RFC 9110 §5.1: a field name is a token,
// one or more tchar.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validHeaderValue implements RFC 9110 §5.5: a field value is visible
// characters, obs-text, spaces and tabs; no CR, LF, NUL or other controls.
// Leading and trailing whitespace is not part of a value, so callers trim.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c >= 0x20 && c != 0x7f {
			continue
		}
		return false
	}
	return true
}

// AWS naming shared by the EventBridge and S3 configs.
var (
	// Region codes: "us-east-1", "eu-central-2", "us-gov-west-1",
	// "cn-northwest-1". The ISO partitions are not supported.
	awsRegionPattern = lazyRegexp(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]{1,2}$`)
	awsAccountID     = lazyRegexp(`^[0-9]{12}$`)
)

// awsPartition returns the ARN partition a region belongs to.
func awsPartition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// checkRegion validates a region code and returns it normalised.
func checkRegion(field, s string) (string, *FieldError) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", invalid(field, "is required")
	}
	if !awsRegionPattern().MatchString(s) {
		return "", invalid(field, "must be an AWS region code such as us-east-1")
	}
	return s, nil
}

// alphanumeric are the ASCII letters and digits.
const alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// charset is a pattern of the form ^[allowed]{1,max}$ without the regexp:
// Go compiles a counted repetition by unrolling it max times, which cost every
// function that links this package 4–5 ms and ~9,500 allocations at cold
// start for three such patterns (GODEBUG=inittrace=1).
type charset struct {
	max     int
	allowed string
}

// MatchString reports whether s is 1 to max bytes long, each byte one of allowed.
func (c charset) MatchString(s string) bool {
	if len(s) == 0 || len(s) > c.max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(c.allowed, s[i]) < 0 {
			return false
		}
	}
	return true
}

// lazyRegexp compiles expr on first use. Only the functions that validate
// destination configs (the API) ever match these, but every function links
// this package: compiled at init, they cost each cold start about a
// millisecond and a thousand allocations for nothing.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
