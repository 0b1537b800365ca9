package apikey

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/logstream/logstream/shared/ttlcache"
)

// ErrUnauthenticated is returned for a missing, malformed, unknown, revoked or
// wrong key: all answered 401, with no hint which.
var ErrUnauthenticated = errors.New("missing or invalid API key")

// Getter looks keys up by id; every Store is one.
type Getter interface {
	// Get returns one key, revoked or not, or ErrNotFound. A store reads
	// strongly consistently, so a key works as soon as Create returns and a
	// revocation applies as soon as Revoke returns (up to the
	// Authenticator's CacheTTL).
	Get(ctx context.Context, id string) (Key, error)
}

// AdminID is the id of the bootstrap admin key's Key.
const AdminID = "admin"

// Authenticator turns an Authorization header into the Key it presents.
// Use it through a pointer and do not copy it after first use.
type Authenticator struct {
	Keys Getter
	// AdminKeyHash is HashKey of the bootstrap admin key (kept in Secrets
	// Manager in AWS, in the environment locally), or "" for none.
	AdminKeyHash string
	// CacheTTL is how long a lookup, found or not, is reused. It bounds the
	// store reads per key per warm Lambda environment, and is also how long a
	// revoked key may keep working there after Revoke returns. Zero disables
	// the cache.
	CacheTTL time.Duration
	// Now is the clock for the cache; nil means time.Now.
	Now func() time.Time

	once  sync.Once
	cache *ttlcache.Cache[string, lookup]
}

// lookup is a cached store answer; found is false for an unknown id, so
// repeated attempts with the same unknown key do not each cost a read.
type lookup struct {
	key   Key
	found bool
}

// Authenticate checks a "Bearer <key>" Authorization header value (the scheme
// is case-insensitive, RFC 9110 §11.1) and returns the key's Key, which is
// active. It returns ErrUnauthenticated for any header that does not present
// a valid, unrevoked key, and a wrapped store error otherwise. Neither the key
// nor the header ever appears in an error.
func (a *Authenticator) Authenticate(ctx context.Context, authorization string) (Key, error) {
	secret, ok := bearerToken(authorization)
	if !ok {
		return Key{}, ErrUnauthenticated
	}
	hash := HashKey(secret)
	if a.AdminKeyHash != "" && hashesEqual(hash, a.AdminKeyHash) {
		return Key{ID: AdminID, Name: "bootstrap admin key", Projects: []string{AllProjects}, Access: AccessWrite, Admin: true}, nil
	}
	// Only Generate's format can name a stored key: anything else is refused
	// without a read, so junk headers cost no DynamoDB capacity.
	if !secretPattern.MatchString(secret) {
		return Key{}, ErrUnauthenticated
	}
	id := idOf(hash)
	l, err := a.lookupCache().Get(ctx, id, func(ctx context.Context) (lookup, error) {
		k, err := a.Keys.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return lookup{}, nil
		}
		if err != nil {
			return lookup{}, err
		}
		return lookup{key: k, found: true}, nil
	})
	if err != nil {
		return Key{}, fmt.Errorf("authenticate api key %s: %w", id, err)
	}
	// The id is only 80 bits of the hash; the full hash decides.
	if !l.found || !hashesEqual(hash, l.key.Hash) || !l.key.Active() {
		return Key{}, ErrUnauthenticated
	}
	return l.key, nil
}

func (a *Authenticator) lookupCache() *ttlcache.Cache[string, lookup] {
	a.once.Do(func() {
		a.cache = &ttlcache.Cache[string, lookup]{TTL: a.CacheTTL, Now: a.Now}
	})
	return a.cache
}

// bearerToken returns the token of a "Bearer <token>" header value: the
// scheme in any case, one or more spaces, then exactly one token
// (RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token).
func bearerToken(header string) (string, bool) {
	scheme, rest, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token := strings.TrimLeft(rest, " ")
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return "", false
	}
	return token, true
}
