package netguard

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

// specialPurpose is every entry of IANA's IPv4 and IPv6 Special-Purpose
// Address Registries (iana-ipv4-special-registry, iana-ipv6-special-registry,
// as of 2025), with the multicast blocks and the deprecated IPv6 blocks a
// stack still routes. Written out here, not taken from the library Forbidden
// uses, so the test checks the library rather than repeating it.
var specialPurpose = []struct {
	name   string
	prefix string
}{
	{"this network", "0.0.0.0/8"},
	{"this host", "0.0.0.0/32"},
	{"private 10/8", "10.0.0.0/8"},
	{"shared address space (CGNAT)", "100.64.0.0/10"},
	{"loopback", "127.0.0.0/8"},
	{"link local (metadata service)", "169.254.0.0/16"},
	{"private 172.16/12", "172.16.0.0/12"},
	{"IETF protocol assignments", "192.0.0.0/24"},
	{"IPv4 service continuity", "192.0.0.0/29"},
	{"IPv4 dummy address", "192.0.0.8/32"},
	{"PCP anycast", "192.0.0.9/32"},
	{"TURN anycast", "192.0.0.10/32"},
	{"NAT64/DNS64 discovery", "192.0.0.170/31"},
	{"TEST-NET-1", "192.0.2.0/24"},
	{"AS112-v4", "192.31.196.0/24"},
	{"AMT", "192.52.193.0/24"},
	{"6to4 relay anycast", "192.88.99.0/24"},
	{"private 192.168/16", "192.168.0.0/16"},
	{"AS112 direct delegation", "192.175.48.0/24"},
	{"benchmarking", "198.18.0.0/15"},
	{"TEST-NET-2", "198.51.100.0/24"},
	{"TEST-NET-3", "203.0.113.0/24"},
	{"multicast", "224.0.0.0/4"},
	{"reserved", "240.0.0.0/4"},
	{"limited broadcast", "255.255.255.255/32"},

	{"v6 unspecified", "::/128"},
	{"v6 loopback", "::1/128"},
	{"IPv4-compatible (deprecated)", "::/96"},
	{"IPv4-mapped", "::ffff:0:0/96"},
	{"NAT64 well-known", "64:ff9b::/96"},
	{"NAT64 local-use", "64:ff9b:1::/48"},
	{"discard-only", "100::/64"},
	{"dummy prefix", "100:0:0:1::/64"},
	{"IETF protocol assignments v6", "2001::/23"},
	{"Teredo", "2001::/32"},
	{"PCP anycast v6", "2001:1::1/128"},
	{"TURN anycast v6", "2001:1::2/128"},
	{"DNS-SD SRP anycast", "2001:1::3/128"},
	{"benchmarking v6", "2001:2::/48"},
	{"AMT v6", "2001:3::/32"},
	{"AS112-v6", "2001:4:112::/48"},
	{"ORCHID (deprecated)", "2001:10::/28"},
	{"ORCHIDv2", "2001:20::/28"},
	{"drone remote ID", "2001:30::/28"},
	{"documentation 2001:db8", "2001:db8::/32"},
	{"6to4", "2002::/16"},
	{"AS112 direct delegation v6", "2620:4f:8000::/48"},
	{"documentation 3fff", "3fff::/20"},
	{"SRv6 SIDs", "5f00::/16"},
	{"unique local", "fc00::/7"},
	{"link local v6", "fe80::/10"},
	{"site local (deprecated)", "fec0::/10"},
	{"multicast v6", "ff00::/8"},
}

// last is the highest address of p.
func last(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestForbiddenRefusesEverySpecialPurposeRange(t *testing.T) {
	for _, tc := range specialPurpose {
		p := netip.MustParsePrefix(tc.prefix)
		ends := []netip.Addr{p.Masked().Addr()}
		if !p.IsSingleIP() {
			ends = append(ends, last(p))
		}
		for _, ip := range ends {
			t.Run(tc.name+"/"+ip.String(), func(t *testing.T) {
				if !Forbidden(ip) {
					t.Fatalf("Forbidden(%s) = false; %s is %s", ip, tc.prefix, tc.name)
				}
			})
		}
	}
}

// The addresses the outside probe got past both checks, and their kin: each
// embeds or reaches an address the guard refuses.
var bypasses = []struct {
	name, ip string
}{
	{"IPv4-compatible loopback", "::127.0.0.1"},
	{"IPv4-compatible private", "::10.0.0.1"},
	{"IPv4-compatible metadata", "::169.254.169.254"},
	{"IPv4-mapped loopback", "::ffff:127.0.0.1"},
	{"NAT64 loopback", "64:ff9b::7f00:1"},
	{"NAT64 private", "64:ff9b::a00:1"},
	{"NAT64 metadata", "64:ff9b::a9fe:a9fe"},
	{"NAT64 local-use loopback", "64:ff9b:1::7f00:1"},
	{"NAT64 local-use private", "64:ff9b:1:c0a8:101::"},
	{"Teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2"},
	{"Teredo loopback server", "2001:0:7f00:1::1"},
	{"6to4 private", "2002:c0a8:101::1"},
	{"6to4 loopback", "2002:7f00:1::1"},
	{"6to4 metadata", "2002:a9fe:a9fe::1"},
	{"link local with zone", "fe80::1%eth0"},
}

func TestForbiddenRefusesBypasses(t *testing.T) {
	for _, tc := range bypasses {
		t.Run(tc.name, func(t *testing.T) {
			if ip := netip.MustParseAddr(tc.ip); !Forbidden(ip) {
				t.Fatalf("Forbidden(%s) = false", ip)
			}
		})
	}
}

func TestForbiddenAllowsPublicAddresses(t *testing.T) {
	for _, ip := range []string{
		"8.8.8.8", "1.1.1.1", "93.184.215.14", "11.0.0.1", "100.63.255.255", "100.128.0.0",
		"172.32.0.1", "192.0.1.1", "192.167.255.255", "198.17.255.255", "198.20.0.0", "223.255.254.1",
		"2606:4700::1111", "2001:4860:4860::8888", "2001:200::1", "2003::1", "2a00:1450:4001:81a::200e",
	} {
		t.Run(ip, func(t *testing.T) {
			if Forbidden(netip.MustParseAddr(ip)) {
				t.Fatalf("Forbidden(%s) = true for a public address", ip)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		name      string
		url       string
		allow     bool
		wantError bool
	}{
		{"https public", "https://hooks.example.com/x", false, false},
		{"https public v6 literal", "https://[2606:4700::1111]/x", false, false},
		{"http refused", "http://hooks.example.com/x", false, true},
		{"http allowed locally", "http://127.0.0.1:9000/x", true, false},
		{"loopback literal", "https://127.0.0.1/x", false, true},
		{"ipv6 loopback", "https://[::1]/x", false, true},
		{"metadata service", "https://169.254.169.254/latest", false, true},
		{"private literal", "https://10.0.0.5/", false, true},
		{"localhost name", "https://localhost:8443/", false, true},
		{"IPv4-compatible loopback", "https://[::127.0.0.1]/x", false, true},
		{"NAT64 loopback", "https://[64:ff9b::7f00:1]/x", false, true},
		{"NAT64 local-use private", "https://[64:ff9b:1::a00:1]/x", false, true},
		{"Teredo", "https://[2001::1]/x", false, true},
		{"6to4 private", "https://[2002:c0a8:101::1]/x", false, true},
		{"IPv4-compatible loopback allowed locally", "http://[::127.0.0.1]:9000/x", true, false},
		{"credentials in url", "https://u:p@hooks.example.com/", false, true},
		{"relative", "/just/a/path", false, true},
		{"ftp", "ftp://example.com/", false, true},
		{"no host", "https:///x", false, true},
		{"garbage", "https://exa mple.com/%zz", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Policy{AllowPrivate: tc.allow}.CheckURL(tc.url)
			if (err != nil) != tc.wantError {
				t.Fatalf("CheckURL(%q) err = %v, want error %v", tc.url, err, tc.wantError)
			}
		})
	}
}

// The dial-time check sees the address a name resolved to; each bypass must
// be refused there too, and allowed by the local-development switch.
func TestDialerControlRefusesBypasses(t *testing.T) {
	for _, tc := range bypasses {
		t.Run(tc.name, func(t *testing.T) {
			addr := netip.AddrPortFrom(netip.MustParseAddr(tc.ip), 443).String()
			if err := (Policy{}).Dialer().Control("tcp6", addr, nil); !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("dial %s: err = %v, want ErrForbiddenAddress", addr, err)
			}
			if err := (Policy{AllowPrivate: true}).Dialer().Control("tcp6", addr, nil); err != nil {
				t.Fatalf("local development: dial %s: %v", addr, err)
			}
		})
	}
	if err := (Policy{}).Dialer().Control("tcp4", "8.8.8.8:443", nil); err != nil {
		t.Fatalf("public address refused at dial time: %v", err)
	}
}

// The dial-time check is what stops a public name that resolves to a private
// address; a loopback test server stands in for such a name.
func TestClientRefusesAtDialTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	ctx := context.Background()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if _, err := (Policy{}).Client(time.Second).Do(req); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("guarded client reached loopback: err = %v", err)
	}
	resp, err := Policy{AllowPrivate: true}.Client(time.Second).Do(req)
	if err != nil {
		t.Fatalf("local-development client: %v", err)
	}
	resp.Body.Close()
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
	}))
	defer srv.Close()
	resp, err := Policy{AllowPrivate: true}.Client(time.Second).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d: redirect was followed", resp.StatusCode)
	}
}
