package lokibridge

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseCredentials(t *testing.T) {
	const pw = "0123456789abcdef"
	tests := []struct {
		name, doc string
		users     []string // nil: an error
	}{
		{"list", `{"credentials":[{"username":"loki","password":"` + pw + `"},{"username":"promtail","password":"` + pw + `x"}]}`, []string{"loki", "promtail"}},
		{"rotation: one user, two passwords", `{"credentials":[{"username":"loki","password":"` + pw + `"},{"username":"loki","password":"` + pw + `-new"}]}`, []string{"loki", "loki"}},
		{"single pair, as Secrets Manager generates it", `{"username":"loki","password":"` + pw + `"}`, []string{"loki"}},
		{"tenant characters", `{"username":"Team_a-1.(eu)","password":"` + pw + `"}`, []string{"Team_a-1.(eu)"}},
		{"unicode password counts characters", `{"username":"loki","password":"ääääääääääääääää"}`, []string{"loki"}},
		{"empty document", `{}`, nil},
		{"empty list", `{"credentials":[]}`, nil},
		{"both shapes", `{"credentials":[{"username":"a","password":"` + pw + `"}],"username":"b","password":"` + pw + `"}`, nil},
		{"no username", `{"credentials":[{"password":"` + pw + `"}]}`, nil},
		{"colon in username", `{"credentials":[{"username":"a:b","password":"` + pw + `"}]}`, nil},
		{"username not a tenant ID", `{"credentials":[{"username":"a/b","password":"` + pw + `"}]}`, nil},
		{"username ..", `{"credentials":[{"username":"..","password":"` + pw + `"}]}`, nil},
		{"short password", `{"credentials":[{"username":"loki","password":"0123456789abcde"}]}`, nil},
		{"no password", `{"username":"loki"}`, nil},
		{"unknown field", `{"credentials":[{"user":"loki","password":"` + pw + `"}]}`, nil},
		{"not JSON", `credentials: loki`, nil},
		{"wrong type", `{"credentials":{"username":"loki","password":"` + pw + `"}}`, nil},
		{"two documents", `{"username":"loki","password":"` + pw + `"} {}`, nil},
		{"trailing junk is a syntax error", `{"username":"loki","password":"` + pw + `"`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCredentials([]byte(tc.doc))
			if tc.users == nil {
				if err == nil {
					t.Fatalf("accepted: %v", c.Usernames())
				}
				if strings.Contains(err.Error(), pw[:8]) {
					t.Errorf("error %q quotes the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Usernames(), tc.users) {
				t.Errorf("users %v, want %v", c.Usernames(), tc.users)
			}
		})
	}
}

// TestMatch runs the constant-time comparison over many pairs: each pair
// authenticates as its user, and nothing near a pair does.
func TestMatch(t *testing.T) {
	var pairs []Credential
	for i := range 8 {
		pairs = append(pairs, Credential{Username: fmt.Sprintf("user%d", i%5), Password: fmt.Sprintf("password-%02d-0123456789", i)})
	}
	c, err := NewCredentials(pairs...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		if u, ok := c.match(p.Username, p.Password); !ok || u != p.Username {
			t.Errorf("%s/%s: %q, %v", p.Username, p.Password, u, ok)
		}
		for _, near := range []struct{ user, pass string }{
			{p.Username, p.Password[:len(p.Password)-1]},
			{p.Username, p.Password + "x"},
			{p.Username, strings.ToUpper(p.Password)},
			{p.Username + "x", p.Password},
			{"", p.Password},
			{p.Username, ""},
			{p.Password, p.Username},
		} {
			if u, ok := c.match(near.user, near.pass); ok {
				t.Errorf("%q/%q authenticated as %q", near.user, near.pass, u)
			}
		}
	}
	// Another user's password is no password of this one.
	if _, ok := c.match("user0", pairs[1].Password); ok {
		t.Error("user0 authenticated with user1's password")
	}
	if _, ok := (Credentials{}).match("", ""); ok {
		t.Error("no credentials accepted someone")
	}
}

func TestParseBasic(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		header, user, pass string
		ok                 bool
	}{
		{"Basic " + enc("loki:secret"), "loki", "secret", true},
		{"basic " + enc("loki:secret"), "loki", "secret", true},
		{"BASIC  " + enc("loki:secret") + " ", "loki", "secret", true},
		{"Basic " + enc("loki:pass:with:colons"), "loki", "pass:with:colons", true},
		{"Basic " + enc("loki:"), "loki", "", true},
		{"Basic " + enc("loki"), "", "", false},
		{"Basic " + base64.RawStdEncoding.EncodeToString([]byte("loki:secre")), "", "", false},
		{"Basic", "", "", false},
		{"Bearer " + enc("loki:secret"), "", "", false},
		{"Basic not-base64!", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range tests {
		user, pass, ok := parseBasic(tc.header)
		if user != tc.user || pass != tc.pass || ok != tc.ok {
			t.Errorf("parseBasic(%q) = %q, %q, %v; want %q, %q, %v", tc.header, user, pass, ok, tc.user, tc.pass, tc.ok)
		}
	}
}

func FuzzParseBasic(f *testing.F) {
	f.Add("Basic bG9raTpzZWNyZXQ=")
	f.Add("basic Og==")
	f.Add("Basic")
	f.Fuzz(func(t *testing.T, h string) {
		user, pass, ok := parseBasic(h)
		if !ok {
			return
		}
		if strings.Contains(user, ":") {
			t.Fatalf("user %q has a colon", user)
		}
		// What parses is what a client would have encoded.
		again := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
		if u, p, ok := parseBasic(again); !ok || u != user || p != pass {
			t.Fatalf("round trip of %q: %q %q %v", h, u, p, ok)
		}
	})
}

func FuzzParseCredentials(f *testing.F) {
	f.Add([]byte(`{"credentials":[{"username":"loki","password":"0123456789abcdef"}]}`))
	f.Add([]byte(`{"username":"loki","password":"0123456789abcdef"}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := ParseCredentials(doc)
		if err != nil {
			if c.Len() != 0 {
				t.Fatal("credentials with an error")
			}
			return
		}
		if c.Len() == 0 {
			t.Fatal("no credentials, no error")
		}
	})
}
