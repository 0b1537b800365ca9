package apikey

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestHashKey(t *testing.T) {
	// FIPS 180-2 test vector.
	if got, want := HashKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("HashKey(abc) = %s, want %s", got, want)
	}
}

func projectList(n int) []string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("proj-%d", i)
	}
	return ps
}

func TestGenerateValidation(t *testing.T) {
	tests := []struct {
		name      string
		keyName   string
		projects  []string
		access    Access
		wantField string // "" when valid
	}{
		{"valid read", "ci", []string{"proj_a"}, AccessRead, ""},
		{"valid write all projects", "ops", []string{"*"}, AccessWrite, ""},
		{"name at limit", strings.Repeat("é", 100), []string{"p"}, AccessRead, ""},
		{"hundred projects", "n", projectList(100), AccessRead, ""},
		{"project id at limit", "n", []string{"a" + strings.Repeat("b", 127)}, AccessRead, ""},
		{"project id with dots and dashes", "n", []string{"A1.b_c-d"}, AccessRead, ""},
		{"empty name", "", []string{"p"}, AccessRead, "name"},
		{"blank name", "   ", []string{"p"}, AccessRead, "name"},
		{"long name", strings.Repeat("x", 101), []string{"p"}, AccessRead, "name"},
		{"control character in name", "a\nb", []string{"p"}, AccessRead, "name"},
		{"invalid UTF-8 name", "a\xffb", []string{"p"}, AccessRead, "name"},
		{"nil projects", "n", nil, AccessRead, "projects"},
		{"empty projects", "n", []string{}, AccessRead, "projects"},
		{"too many projects", "n", projectList(101), AccessRead, "projects"},
		{"empty project id", "n", []string{""}, AccessRead, "projects"},
		{"project id starting with a dash", "n", []string{"-p"}, AccessRead, "projects"},
		{"project id too long", "n", []string{"a" + strings.Repeat("b", 128)}, AccessRead, "projects"},
		{"project id with slash", "n", []string{"a/b"}, AccessRead, "projects"},
		{"star among others", "n", []string{"*", "p"}, AccessRead, "projects"},
		{"duplicate project", "n", []string{"p", "p"}, AccessRead, "projects"},
		{"empty access", "n", []string{"p"}, "", "access"},
		{"unknown access", "n", []string{"p"}, "admin", "access"},
		{"upper-case access", "n", []string{"p"}, "READ", "access"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			secret, k, err := Generate(tc.keyName, tc.projects, tc.access, time.Now())
			if tc.wantField == "" {
				if err != nil || secret == "" || k.ID == "" {
					t.Fatalf("Generate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.wantField {
				t.Fatalf("Generate error = %v, want a validation error on %q", err, tc.wantField)
			}
			if secret != "" || k.ID != "" {
				t.Fatal("Generate returned a key with an error")
			}
		})
	}
}

func TestGenerateFormat(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	projects := []string{"proj_a", "proj_b"}
	secret, k, err := Generate("  deploy bot ", projects, AccessWrite, now)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(secret, "lsk_"))
	if !strings.HasPrefix(secret, "lsk_") || err != nil || len(raw) != 32 || !secretPattern.MatchString(secret) {
		t.Fatalf("secret %q is not lsk_ + base64url of 32 bytes (%v)", secret, err)
	}
	hash := HashKey(secret)
	want := Key{ID: "key_" + hash[:20], Name: "deploy bot", Projects: projects, Access: AccessWrite,
		CreatedAt: now.UTC(), LastFour: secret[len(secret)-4:], Hash: hash}
	if k.ID != want.ID || k.Name != want.Name || k.Access != want.Access || k.Admin || k.RevokedAt != nil ||
		k.LastFour != want.LastFour || k.Hash != want.Hash || !k.CreatedAt.Equal(now) || k.CreatedAt.Location() != time.UTC ||
		strings.Join(k.Projects, ",") != "proj_a,proj_b" {
		t.Fatalf("Generate = %+v, want %+v", k, want)
	}
	if !ValidID(k.ID) || len(k.Hash) != 64 {
		t.Fatalf("id %q or hash %q malformed", k.ID, k.Hash)
	}
	projects[0] = "changed"
	if k.Projects[0] != "proj_a" {
		t.Fatal("Key shares the caller's projects slice")
	}
	body, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), hash) || strings.Contains(string(body), `"hash"`) || strings.Contains(string(body), secret) {
		t.Fatalf("JSON of a Key exposes its hash or secret: %s", body)
	}
}

func TestGenerateUnique(t *testing.T) {
	secrets, ids := map[string]bool{}, map[string]bool{}
	for range 1000 {
		s, k, err := Generate("n", []string{"p"}, AccessRead, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if secrets[s] || ids[k.ID] {
			t.Fatalf("repeated secret or id after %d keys", len(secrets))
		}
		secrets[s], ids[k.ID] = true, true
	}
}

func TestAllows(t *testing.T) {
	revokedAt := time.Unix(1, 0)
	read := Key{Projects: []string{"a", "b"}, Access: AccessRead}
	write := Key{Projects: []string{"a"}, Access: AccessWrite}
	all := Key{Projects: []string{"*"}, Access: AccessRead}
	admin := Key{Admin: true}
	revoked := Key{Projects: []string{"*"}, Access: AccessWrite, Admin: true, RevokedAt: &revokedAt}
	bogus := Key{Projects: []string{"a"}, Access: "superuser"}
	tests := []struct {
		name        string
		key         Key
		project     string
		need        Access
		want        bool
		wantProject bool
	}{
		{"read key reads its project", read, "a", AccessRead, true, true},
		{"read key reads its other project", read, "b", AccessRead, true, true},
		{"read key cannot write", read, "a", AccessWrite, false, true},
		{"read key cannot read another project", read, "c", AccessRead, false, false},
		{"project ids are case-sensitive", read, "A", AccessRead, false, false},
		{"write key writes", write, "a", AccessWrite, true, true},
		{"write implies read", write, "a", AccessRead, true, true},
		{"write key cannot write another project", write, "b", AccessWrite, false, false},
		{"star reads any project", all, "zzz", AccessRead, true, true},
		{"star read key cannot write", all, "zzz", AccessWrite, false, true},
		{"star is not a project id", all, "*", AccessRead, false, false},
		{"empty project", all, "", AccessRead, false, false},
		{"invalid need", write, "a", "delete", false, true},
		{"empty need", write, "a", "", false, true},
		{"admin writes anywhere", admin, "x", AccessWrite, true, true},
		{"revoked admin can do nothing", revoked, "x", AccessRead, false, false},
		{"unknown stored access allows nothing", bogus, "a", AccessRead, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.key.Allows(tc.project, tc.need); got != tc.want {
				t.Errorf("Allows(%q, %q) = %v, want %v", tc.project, tc.need, got, tc.want)
			}
			if got := tc.key.HasProject(tc.project); got != tc.wantProject {
				t.Errorf("HasProject(%q) = %v, want %v", tc.project, got, tc.wantProject)
			}
		})
	}
}

func TestActive(t *testing.T) {
	now := time.Now()
	if !(Key{}).Active() || (Key{RevokedAt: &now}).Active() {
		t.Fatal("Active must be true exactly when RevokedAt is nil")
	}
}
