// Package netguard keeps logstream's outbound HTTP away from addresses a
// customer-configured destination must never reach: loopback, private,
// link-local (including the instance metadata service at 169.254.169.254),
// carrier-grade NAT, multicast and unspecified addresses.
//
// The check runs twice: on write, against the endpoint's host when it is a
// literal address or "localhost"; and at dial time, against every address the
// name resolved to, so DNS rebinding cannot slip past the first check.
// Policy.AllowPrivate is the local-development switch that lets a stack on one
// machine deliver to a receiver on 127.0.0.1.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress is returned for a destination on a refused network.
var ErrForbiddenAddress = errors.New("destination address is not allowed")

// Policy says which destinations are allowed.
type Policy struct {
	// AllowPrivate admits plain http and loopback, private and link-local
	// addresses: for local development only.
	AllowPrivate bool
}

var refused = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking (RFC 2544)
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),  // NAT64 can reach IPv4 private space
	netip.MustParsePrefix("2002::/16"),     // 6to4 embeds IPv4 addresses
}

// Forbidden reports whether ip is on a network destinations may not reach.
func Forbidden(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range refused {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// CheckURL validates a destination URL on write: an absolute https URL (http
// too under AllowPrivate) with a host, no credentials in it, and no literal
// address or localhost name that Forbidden refuses.
func (p Policy) CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a valid URL: %v", err)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && p.AllowPrivate:
	case u.Scheme == "http":
		return nil, errors.New("must use https")
	default:
		return nil, fmt.Errorf("must be an https URL, not %q", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("must be an absolute URL with a host")
	}
	if u.User != nil {
		return nil, errors.New("must not carry credentials; use the authorization header instead")
	}
	if u.Fragment != "" {
		return nil, errors.New("must not have a fragment")
	}
	if p.AllowPrivate {
		return u, nil
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return nil, fmt.Errorf("host %q: %w", host, ErrForbiddenAddress)
	}
	if ip, err := netip.ParseAddr(host); err == nil && Forbidden(ip) {
		return nil, fmt.Errorf("host %s: %w", host, ErrForbiddenAddress)
	}
	return u, nil
}

// control runs after name resolution, on the address about to be dialled.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	if p.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, ErrForbiddenAddress)
	}
	if Forbidden(ap.Addr()) {
		return fmt.Errorf("dial %s: %w", ap.Addr(), ErrForbiddenAddress)
	}
	return nil
}

// Dialer returns a dialer that refuses forbidden addresses at connect time.
func (p Policy) Dialer() *net.Dialer {
	return &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: p.control}
}

// Client returns an HTTP client for destination traffic. It ignores proxy
// environment variables (a proxy would dial on our behalf and bypass the
// check) and does not follow redirects (a redirect could point anywhere).
func (p Policy) Client(timeout time.Duration) *http.Client {
	d := p.Dialer()
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) },
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
