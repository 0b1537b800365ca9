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

func TestForbidden(t *testing.T) {
	tests := []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true}, {"10.1.2.3", true}, {"172.16.0.1", true}, {"192.168.1.1", true},
		{"169.254.169.254", true}, {"100.64.0.1", true}, {"0.0.0.0", true}, {"::1", true},
		{"fe80::1", true}, {"fc00::1", true}, {"::ffff:127.0.0.1", true}, {"224.0.0.1", true},
		{"255.255.255.255", true}, {"64:ff9b::a00:1", true},
		{"93.184.215.14", false}, {"8.8.8.8", false}, {"2606:4700::1111", false}, {"203.0.113.9", false},
	}
	for _, tc := range tests {
		t.Run(tc.ip, func(t *testing.T) {
			if got := Forbidden(netip.MustParseAddr(tc.ip)); got != tc.want {
				t.Fatalf("Forbidden(%s) = %v, want %v", tc.ip, got, tc.want)
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
		{"http refused", "http://hooks.example.com/x", false, true},
		{"http allowed locally", "http://127.0.0.1:9000/x", true, false},
		{"loopback literal", "https://127.0.0.1/x", false, true},
		{"ipv6 loopback", "https://[::1]/x", false, true},
		{"metadata service", "https://169.254.169.254/latest", false, true},
		{"private literal", "https://10.0.0.5/", false, true},
		{"localhost name", "https://localhost:8443/", false, true},
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
