package secret

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Local seals secrets under a master key held in configuration. It is for
// development and tests: whoever can read the configuration can read every
// secret, and nothing records who opened what. Production uses KMS.
type Local struct {
	master cipher.AEAD
}

var _ Sealer = (*Local)(nil)

// localWrapSize is nonce ‖ encrypted data key ‖ tag.
const localWrapSize = nonceSize + keySize + tagSize

// localWrapPrefix separates the key wrap's additional data from any other
// use of the master key.
const localWrapPrefix = "logstream:aad:"

// NewLocal returns a Local sealer for a 32-byte master key in base64,
// standard or URL alphabet, padded or not (GenerateLocalKey and
// `openssl rand -base64 32` both fit). Surrounding whitespace is ignored,
// since keys pasted into env files often carry a newline. Errors never
// repeat the key.
func NewLocal(base64Key string) (*Local, error) {
	s := strings.TrimRight(strings.TrimSpace(base64Key), "=")
	if s == "" {
		return nil, errors.New("local secret key is empty: set a base64 32-byte key (see GenerateLocalKey)")
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	key, err := enc.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("local secret key is not valid base64 (standard or URL alphabet): %w", err)
	}
	defer clear(key)
	if len(key) != keySize {
		return nil, fmt.Errorf("local secret key is %d bytes, want %d: generate one with GenerateLocalKey or `openssl rand -base64 32`", len(key), keySize)
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return &Local{master: aead}, nil
}

// GenerateLocalKey returns a new random master key for NewLocal, in standard
// padded base64, for development setup scripts and docs.
func GenerateLocalKey() string {
	key := make([]byte, keySize)
	rand.Read(key) // never fails since Go 1.24
	return base64.StdEncoding.EncodeToString(key)
}

// Seal encrypts plaintext under a fresh data key wrapped by the master key,
// both bound to aad.
func (l *Local) Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error) {
	return seal(ctx, kindLocal, l, plaintext, aad)
}

// Open decrypts a blob from Seal with the same aad. Blobs that are not this
// key's, or not for this aad, fail with an error wrapping ErrCannotOpen.
func (l *Local) Open(ctx context.Context, sealed, aad []byte) ([]byte, error) {
	return open(ctx, kindLocal, l, sealed, aad)
}

func (l *Local) newDataKey(_ context.Context, aad []byte) (key, wrapped []byte, err error) {
	key = make([]byte, keySize)
	rand.Read(key)
	wrapped = make([]byte, nonceSize, localWrapSize)
	rand.Read(wrapped)
	wrapped = l.master.Seal(wrapped, wrapped[:nonceSize], key, wrapAAD(aad))
	return key, wrapped, nil
}

func (l *Local) unwrap(_ context.Context, wrapped, aad []byte) ([]byte, error) {
	if len(wrapped) != localWrapSize {
		return nil, fmt.Errorf("%w: local wrapped data key is %d bytes, want %d", ErrCannotOpen, len(wrapped), localWrapSize)
	}
	key, err := l.master.Open(nil, wrapped[:nonceSize], wrapped[nonceSize:], wrapAAD(aad))
	if err != nil {
		return nil, fmt.Errorf("%w: data key fails authentication: another master key, another aad, or altered", ErrCannotOpen)
	}
	return key, nil
}

func wrapAAD(aad []byte) []byte {
	out := make([]byte, 0, len(localWrapPrefix)+len(aad))
	return append(append(out, localWrapPrefix...), aad...)
}
