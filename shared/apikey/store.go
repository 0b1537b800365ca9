package apikey

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned for a key id that does not exist.
var ErrNotFound = errors.New("api key not found")

// Store is where keys are kept: the port the key routes and the Authenticator
// rely on. shared/store.Keys implements it on the streams table.
type Store interface {
	Getter
	// Create stores a new key (one Generate made); it fails rather than
	// overwrite an existing id.
	Create(ctx context.Context, k Key) error
	// List returns every key, revoked ones included, oldest first.
	List(ctx context.Context) ([]Key, error)
	// Revoke marks a key revoked and returns it, or returns ErrNotFound.
	// Revoking a revoked key succeeds and keeps the first revocation time.
	Revoke(ctx context.Context, id string, now time.Time) (Key, error)
}
