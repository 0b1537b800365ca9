// Package netguard keeps logstream's outbound HTTP away from addresses a
// customer-configured destination must never reach: every block of IANA's
// IPv4 and IPv6 Special-Purpose Address Registries (loopback, private,
// link-local with the instance metadata service at 169.254.169.254,
// carrier-grade NAT, documentation, benchmarking …), multicast, and all IPv6
// outside global unicast 2000::/3, which takes in the forms that embed an IPv4
// address: IPv4-mapped and IPv4-compatible, NAT64 (64:ff9b::/96 and
// 64:ff9b:1::/48), Teredo (2001::/32) and 6to4 (2002::/16).
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

	"code.dny.dev/ssrf"
)

// ErrForbiddenAddress is returned for a destination on a refused network.
var ErrForbiddenAddress = errors.New("destination address is not allowed")

// Policy says which destinations are allowed.
type Policy struct {
	// AllowPrivate admits plain http and loopback, private and link-local
	// addresses: for local development only.
	AllowPrivate bool
}

// guardian holds the address lists: code.dny.dev/ssrf generates them from
// IANA's special-purpose registries, so a block IANA adds arrives with an
// upgrade rather than with an incident. Ports and networks are not its
// business here: destinations listen where they like (Splunk HEC on 8088),
// and the dialer only dials TCP.
var guardian = ssrf.New(ssrf.WithAnyPort(), ssrf.WithAnyNetwork())

// Forbidden reports whether ip is on a network destinations may not reach.
// An IPv4-mapped address (::ffff:a.b.c.d) is refused whatever it maps: Go
// dials an IPv4 address in its IPv4 form, so only a literal written to get
// past an IPv4 check arrives in this one. An address with an IPv6 zone is
// refused too: zones belong to link-local addresses.
func Forbidden(ip netip.Addr) bool {
	return !ip.IsValid() || guardian.SafeAddr(ip) != nil
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
