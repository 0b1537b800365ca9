package apikey

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeKeys is an in-memory Getter that counts reads.
type fakeKeys struct {
	mu    sync.Mutex
	keys  map[string]Key
	err   error // returned by every Get when set
	reads int
}

func (f *fakeKeys) Get(_ context.Context, id string) (Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.err != nil {
		return Key{}, f.err
	}
	k, ok := f.keys[id]
	if !ok {
		return Key{}, ErrNotFound
	}
	return k, nil
}

func (f *fakeKeys) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func (f *fakeKeys) put(k Key) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[k.ID] = k
}

// testSecret is a fixed key in Generate's format, so fuzz seeds can name it.
func testSecret(b byte) string {
	return "lsk_" + base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat(string(rune(b)), 32)))
}

// stored returns the Key the store would hold for secret.
func stored(secret string, projects []string, access Access) Key {
	hash := HashKey(secret)
	return Key{ID: idOf(hash), Name: "test", Projects: projects, Access: access, CreatedAt: time.Unix(0, 0).UTC(),
		LastFour: secret[len(secret)-4:], Hash: hash}
}

// Fixtures shared by the table test and the fuzz test.
var (
	activeSecret  = testSecret(1) // lsk_AQEB…
	revokedSecret = testSecret(2)
	// forgedSecret's id is in the store, but under another hash: what a key
	// whose first 80 hash bits collide with a real key's would find.
	forgedSecret  = testSecret(3)
	unknownSecret = testSecret(4)
	adminSecret   = "operator-chosen-admin-key-0123456789abcdef" // not Generate's format, on purpose
)

func fixtureKeys() *fakeKeys {
	f := &fakeKeys{keys: map[string]Key{}}
	f.put(stored(activeSecret, []string{"proj_a"}, AccessWrite))
	revoked := stored(revokedSecret, []string{"proj_a"}, AccessWrite)
	at := time.Unix(100, 0).UTC()
	revoked.RevokedAt = &at
	f.put(revoked)
	forged := stored(forgedSecret, []string{"*"}, AccessWrite)
	forged.Hash = forged.Hash[:20] + strings.Repeat("0", 44) // same id prefix, different hash
	f.put(forged)
	return f
}

func TestAuthenticate(t *testing.T) {
	active := stored(activeSecret, nil, "").ID
	tests := []struct {
		name   string
		header string
		wantID string // "" for ErrUnauthenticated
	}{
		{"missing header", "", ""},
		{"basic scheme", "Basic dXNlcjpwYXNz", ""},
		{"basic scheme with a key", "Basic " + activeSecret, ""},
		{"bare key", activeSecret, ""},
		{"bearer without token", "Bearer", ""},
		{"bearer with empty token", "Bearer ", ""},
		{"bearer with spaces only", "Bearer    ", ""},
		{"extra token", "Bearer " + activeSecret + " extra", ""},
		{"trailing space", "Bearer " + activeSecret + " ", ""},
		{"tab separator", "Bearer\t" + activeSecret, ""},
		{"trailing tab", "Bearer " + activeSecret + "\t", ""},
		{"leading space", " Bearer " + activeSecret, ""},
		{"scheme prefix only", "Bear " + activeSecret, ""},
		{"malformed token", "Bearer not-a-key", ""},
		{"truncated key", "Bearer " + activeSecret[:46], ""},
		{"unknown key", "Bearer " + unknownSecret, ""},
		{"same id, wrong hash", "Bearer " + forgedSecret, ""},
		{"revoked key", "Bearer " + revokedSecret, ""},
		{"admin key hash is not the key", "Bearer " + HashKey(adminSecret), ""},
		{"valid key", "Bearer " + activeSecret, active},
		{"lower-case scheme", "bearer " + activeSecret, active},
		{"upper-case scheme", "BEARER " + activeSecret, active},
		{"several spaces", "Bearer   " + activeSecret, active},
		{"admin key", "Bearer " + adminSecret, AdminID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &Authenticator{Keys: fixtureKeys(), AdminKeyHash: HashKey(adminSecret)}
			k, err := a.Authenticate(context.Background(), tc.header)
			if tc.wantID == "" {
				if !errors.Is(err, ErrUnauthenticated) || k.ID != "" {
					t.Fatalf("Authenticate(%q) = %+v, %v; want ErrUnauthenticated", tc.header, k, err)
				}
				return
			}
			if err != nil || k.ID != tc.wantID || !k.Active() {
				t.Fatalf("Authenticate(%q) = %+v, %v; want key %s", tc.header, k, err, tc.wantID)
			}
		})
	}
}

func TestAuthenticateAdminKey(t *testing.T) {
	a := &Authenticator{Keys: fixtureKeys(), AdminKeyHash: HashKey(adminSecret)}
	k, err := a.Authenticate(context.Background(), "Bearer "+adminSecret)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Admin || k.Access != AccessWrite || len(k.Projects) != 1 || k.Projects[0] != AllProjects || !k.Allows("any", AccessWrite) {
		t.Fatalf("admin key = %+v", k)
	}
	// A Generate-format admin key is recognised before any store read.
	f := fixtureKeys()
	a = &Authenticator{Keys: f, AdminKeyHash: HashKey(unknownSecret)}
	if k, err := a.Authenticate(context.Background(), "Bearer "+unknownSecret); err != nil || !k.Admin || f.readCount() != 0 {
		t.Fatalf("admin key in Generate's format: %+v, %v, %d reads", k, err, f.readCount())
	}
}

func TestAuthenticateWithoutAdminKey(t *testing.T) {
	// With no admin key configured, no header, however odd, is the admin.
	a := &Authenticator{Keys: fixtureKeys()}
	for _, h := range []string{"Bearer " + adminSecret, "Bearer ", "Bearer x", ""} {
		if _, err := a.Authenticate(context.Background(), h); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("Authenticate(%q): %v", h, err)
		}
	}
}

func TestAuthenticateStoreError(t *testing.T) {
	f := fixtureKeys()
	f.err = errors.New("ProvisionedThroughputExceededException")
	a := &Authenticator{Keys: f, CacheTTL: time.Minute}
	for range 2 {
		_, err := a.Authenticate(context.Background(), "Bearer "+activeSecret)
		if err == nil || errors.Is(err, ErrUnauthenticated) || !errors.Is(err, f.err) {
			t.Fatalf("store failure: %v; want it wrapped, not ErrUnauthenticated", err)
		}
		if strings.Contains(err.Error(), activeSecret) {
			t.Fatalf("error %q contains the key", err)
		}
	}
	if f.readCount() != 2 {
		t.Fatalf("store errors were cached: %d reads for 2 calls", f.readCount())
	}
	f.err = nil
	if _, err := a.Authenticate(context.Background(), "Bearer "+activeSecret); err != nil {
		t.Fatalf("after the store recovers: %v", err)
	}
}

func TestAuthenticateCache(t *testing.T) {
	now := time.Unix(1000, 0)
	f := fixtureKeys()
	a := &Authenticator{Keys: f, CacheTTL: time.Minute, Now: func() time.Time { return now }}
	ctx := context.Background()
	auth := func(secret string) error { _, err := a.Authenticate(ctx, "Bearer "+secret); return err }
	steps := []struct {
		name      string
		do        func()
		secret    string
		wantErr   error
		wantReads int
	}{
		{"first use reads", nil, activeSecret, nil, 1},
		{"second use is cached", nil, activeSecret, nil, 1},
		{"unknown key reads", nil, unknownSecret, ErrUnauthenticated, 2},
		{"unknown key is cached too", nil, unknownSecret, ErrUnauthenticated, 2},
		{"wrong hash reads", nil, forgedSecret, ErrUnauthenticated, 3},
		{"wrong hash stays refused from the cache", nil, forgedSecret, ErrUnauthenticated, 3},
		{"malformed keys never read", nil, "junk", ErrUnauthenticated, 3},
		{"revocation is not seen within the TTL", func() {
			k := stored(activeSecret, []string{"proj_a"}, AccessWrite)
			at := now
			k.RevokedAt = &at
			f.put(k)
			now = now.Add(59 * time.Second)
		}, activeSecret, nil, 3},
		{"revocation applies after the TTL", func() { now = now.Add(2 * time.Second) }, activeSecret, ErrUnauthenticated, 4},
		{"a fresh miss reads", nil, unknownSecret, ErrUnauthenticated, 5},
		{"a key created after a miss waits for the TTL", func() {
			f.put(stored(unknownSecret, []string{"p"}, AccessRead))
		}, unknownSecret, ErrUnauthenticated, 5},
		{"expired miss is read again", func() { now = now.Add(time.Minute) }, unknownSecret, nil, 6},
	}
	for _, s := range steps {
		if s.do != nil {
			s.do()
		}
		err := auth(s.secret)
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
			t.Fatalf("%s: err = %v, want %v", s.name, err, s.wantErr)
		}
		if got := f.readCount(); got != s.wantReads {
			t.Fatalf("%s: %d store reads, want %d", s.name, got, s.wantReads)
		}
	}
}

func TestAuthenticateZeroTTLReadsEveryTime(t *testing.T) {
	f := fixtureKeys()
	a := &Authenticator{Keys: f}
	for range 3 {
		if _, err := a.Authenticate(context.Background(), "Bearer "+activeSecret); err != nil {
			t.Fatal(err)
		}
	}
	if f.readCount() != 3 {
		t.Fatalf("%d reads for 3 calls without a cache", f.readCount())
	}
}

func TestAuthenticateConcurrent(t *testing.T) {
	f := fixtureKeys()
	a := &Authenticator{Keys: f, CacheTTL: time.Minute}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			secret := activeSecret
			if i%2 == 1 {
				secret = unknownSecret
			}
			_, err := a.Authenticate(context.Background(), "Bearer "+secret)
			if (secret == activeSecret) != (err == nil) {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Authenticate: %v", err)
	}
	if f.readCount() > 4 {
		t.Errorf("%d store reads for two keys under a cache", f.readCount())
	}
}
