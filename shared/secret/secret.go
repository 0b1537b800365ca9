package secret

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// Sealer encrypts small secrets at rest. aad (additional authenticated data)
// binds a ciphertext to its owner, e.g. "project_id/stream_id": a blob copied
// to another stream fails to open.
type Sealer interface {
	Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, sealed, aad []byte) ([]byte, error)
}

// ErrCannotOpen is wrapped by Open's error when the blob is truncated,
// altered, bound to another aad, sealed under another key or by the other
// kind of Sealer. Retrying cannot help; errors reaching KMS are not wrapped
// with it.
var ErrCannotOpen = errors.New("secret: cannot open sealed value")

// errNoAAD guards against a caller forgetting the owner: a blob bound to an
// empty aad could be pasted into any record.
var errNoAAD = errors.New("secret: aad must identify the owner, e.g. project_id/stream_id")

const (
	formatV1 = 0x01

	kindKMS   = 0x01
	kindLocal = 0x02

	headerSize = 4  // version, kind, uint16 length of the wrapped key
	keySize    = 32 // AES-256
	nonceSize  = 12 // the GCM standard nonce
	tagSize    = 16 // the GCM tag

	// maxWrappedKey is what the uint16 length prefix can say. KMS documents
	// 6144 bytes as the largest CiphertextBlob, well inside it.
	maxWrappedKey = 1<<16 - 1
)

func kindName(k byte) string {
	switch k {
	case kindKMS:
		return "AWS KMS"
	case kindLocal:
		return "a local master key"
	default:
		return fmt.Sprintf("unknown key kind 0x%02x", k)
	}
}

// keyWrapper is the one thing the two Sealers do differently: where a data
// key comes from and how it is recovered. Returned keys belong to the caller,
// which zeroes them after use.
type keyWrapper interface {
	// newDataKey returns a fresh data key and its wrapped form bound to aad.
	newDataKey(ctx context.Context, aad []byte) (key, wrapped []byte, err error)
	// unwrap recovers the data key. A wrapped key that cannot be recovered
	// yields an error wrapping ErrCannotOpen; a failure to ask (KMS
	// unreachable) does not.
	unwrap(ctx context.Context, wrapped, aad []byte) (key []byte, err error)
}

// seal writes a version 1 envelope; see the package documentation.
func seal(ctx context.Context, kind byte, w keyWrapper, plaintext, aad []byte) ([]byte, error) {
	if len(aad) == 0 {
		return nil, errNoAAD
	}
	key, wrapped, err := w.newDataKey(ctx, aad)
	if err != nil {
		return nil, err
	}
	// Best effort: the AES key schedule and any copies the runtime made
	// still hold the key until collected, but no long-lived slice does.
	defer clear(key)
	if len(key) != keySize {
		return nil, fmt.Errorf("secret: data key is %d bytes, want %d", len(key), keySize)
	}
	if len(wrapped) == 0 || len(wrapped) > maxWrappedKey {
		return nil, fmt.Errorf("secret: wrapped data key is %d bytes, want 1 to %d", len(wrapped), maxWrappedKey)
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, headerSize, headerSize+len(wrapped)+nonceSize+len(plaintext)+tagSize)
	out[0], out[1] = formatV1, kind
	binary.BigEndian.PutUint16(out[2:4], uint16(len(wrapped)))
	out = append(out, wrapped...)
	nonce := make([]byte, nonceSize)
	rand.Read(nonce) // never fails since Go 1.24; it crashes the program instead
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, payloadAAD(out[:2], aad)), nil
}

// open parses and opens a version 1 envelope sealed by the same kind.
func open(ctx context.Context, kind byte, w keyWrapper, sealed, aad []byte) ([]byte, error) {
	if len(aad) == 0 {
		return nil, errNoAAD
	}
	env, err := parse(sealed)
	if err != nil {
		return nil, err
	}
	if env.kind != kind {
		return nil, fmt.Errorf("%w: sealed by %s, this sealer uses %s", ErrCannotOpen, kindName(env.kind), kindName(kind))
	}
	key, err := w.unwrap(ctx, env.wrapped, aad)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	if len(key) != keySize {
		return nil, fmt.Errorf("%w: data key is %d bytes, want %d", ErrCannotOpen, len(key), keySize)
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	plaintext, err := aead.Open(nil, env.nonce, env.ciphertext, payloadAAD(sealed[:2], aad))
	if err != nil {
		return nil, fmt.Errorf("%w: secret fails authentication: altered, or bound to another aad", ErrCannotOpen)
	}
	if plaintext == nil {
		plaintext = []byte{} // an empty secret opens as empty, not as nil
	}
	return plaintext, nil
}

type envelope struct {
	kind                       byte
	wrapped, nonce, ciphertext []byte
}

// parse splits a blob without trusting any length in it.
func parse(b []byte) (envelope, error) {
	if len(b) < headerSize {
		return envelope{}, fmt.Errorf("%w: %d bytes is shorter than the header", ErrCannotOpen, len(b))
	}
	if b[0] != formatV1 {
		return envelope{}, fmt.Errorf("%w: unknown format version 0x%02x", ErrCannotOpen, b[0])
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n == 0 {
		return envelope{}, fmt.Errorf("%w: empty wrapped data key", ErrCannotOpen)
	}
	rest := b[headerSize:]
	if len(rest) < n+nonceSize+tagSize {
		return envelope{}, fmt.Errorf("%w: truncated: %d bytes after the header, need at least %d", ErrCannotOpen, len(rest), n+nonceSize+tagSize)
	}
	return envelope{
		kind:       b[1],
		wrapped:    rest[:n:n],
		nonce:      rest[n : n+nonceSize : n+nonceSize],
		ciphertext: rest[n+nonceSize:],
	}, nil
}

// payloadAAD authenticates the version and kind bytes along with the
// caller's aad. The header has a fixed size, so the concatenation is
// unambiguous.
func payloadAAD(header, aad []byte) []byte {
	out := make([]byte, 0, len(header)+len(aad))
	return append(append(out, header...), aad...)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return aead, nil
}
