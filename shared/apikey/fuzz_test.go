package apikey

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzAuthenticate checks that no header panics and that only the two keys the
// authenticator knows (the active stored key and the admin key) ever
// authenticate — never the revoked key, the key whose id is stored under
// another hash, or anything else. The seed corpus is in
// testdata/fuzz/FuzzAuthenticate.
func FuzzAuthenticate(f *testing.F) {
	for _, h := range []string{
		"", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer x",
		"Bearer " + activeSecret, "bEaReR  " + activeSecret, "Bearer " + activeSecret + " x",
		"Bearer " + revokedSecret, "Bearer " + forgedSecret, "Bearer " + unknownSecret,
		"Bearer " + adminSecret, "Bearer " + HashKey(adminSecret), "Bearer " + activeSecret[:46] + "\x00",
	} {
		f.Add(h)
	}
	now := time.Unix(0, 0)
	a := &Authenticator{Keys: fixtureKeys(), AdminKeyHash: HashKey(adminSecret), CacheTTL: time.Minute,
		Now: func() time.Time { return now }}
	active := stored(activeSecret, nil, "").ID
	f.Fuzz(func(t *testing.T, header string) {
		k, err := a.Authenticate(context.Background(), header)
		if err != nil {
			if !errors.Is(err, ErrUnauthenticated) || k.ID != "" {
				t.Fatalf("Authenticate(%q) = %+v, %v; want only ErrUnauthenticated", header, k, err)
			}
			return
		}
		var want string
		switch k.ID {
		case active:
			want = activeSecret
		case AdminID:
			want = adminSecret
		default:
			t.Fatalf("Authenticate(%q) authenticated unknown key %+v", header, k)
		}
		scheme, rest, _ := strings.Cut(header, " ")
		if !strings.EqualFold(scheme, "bearer") || strings.TrimLeft(rest, " ") != want {
			t.Fatalf("Authenticate(%q) accepted a header that does not present key %s", header, k.ID)
		}
	})
}
