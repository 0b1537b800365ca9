package pii

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// A stream's hash key is a MAC of its label under the deployment's PII key,
// so that one deployment secret gives every stream a key of its own:
// a hash leaked from one stream cannot be matched against another's, and
// the deployment key itself never leaves KMS.
//
// The label is versioned so the derivation can change without reusing keys.
func label(projectID, streamID string) []byte {
	return []byte("logstream:pii-hash:v1:" + projectID + "/" + streamID)
}

// Keys derives a stream's hash key.
type Keys interface {
	StreamKey(ctx context.Context, projectID, streamID string) ([]byte, error)
}

// MACAPI is the part of the KMS client KMSKeys calls.
type MACAPI interface {
	GenerateMac(ctx context.Context, in *kms.GenerateMacInput, opts ...func(*kms.Options)) (*kms.GenerateMacOutput, error)
}

// KMSKeys derives stream keys with KMS GenerateMac under an HMAC_256 key:
// the function that masks needs kms:GenerateMac on that one key, nothing
// more, and the key material cannot be read out of KMS.
type KMSKeys struct {
	Client MACAPI
	KeyID  string
}

// StreamKey asks KMS for the stream's key: one call, which Cache keeps.
func (k *KMSKeys) StreamKey(ctx context.Context, projectID, streamID string) ([]byte, error) {
	out, err := k.Client.GenerateMac(ctx, &kms.GenerateMacInput{
		KeyId: &k.KeyID, MacAlgorithm: types.MacAlgorithmSpecHmacSha256, Message: label(projectID, streamID)})
	if err != nil {
		return nil, fmt.Errorf("derive PII hash key of stream %s: %w", streamID, err)
	}
	if len(out.Mac) != sha256.Size {
		return nil, fmt.Errorf("derive PII hash key of stream %s: KMS answered %d bytes, want %d", streamID, len(out.Mac), sha256.Size)
	}
	return out.Mac, nil
}

// LocalKeys derives stream keys with HMAC-SHA256 under a key held in the
// function's configuration: the local stack's stand-in for KMSKeys, the
// same derivation (KMS's HMAC_SHA_256 is RFC 2104 HMAC-SHA256), so hashes
// are made the same way with either.
type LocalKeys struct {
	key []byte
}

// NewLocalKeys reads a base64 key of at least 32 bytes.
func NewLocalKeys(base64Key string) (*LocalKeys, error) {
	k, err := base64.StdEncoding.DecodeString(base64Key)
	if err != nil {
		return nil, fmt.Errorf("local PII key: not base64: %w", err)
	}
	if len(k) < 32 {
		return nil, errors.New("local PII key: must be at least 32 bytes")
	}
	return &LocalKeys{key: k}, nil
}

// StreamKey computes the stream's key.
func (l *LocalKeys) StreamKey(_ context.Context, projectID, streamID string) ([]byte, error) {
	m := hmac.New(sha256.New, l.key)
	m.Write(label(projectID, streamID))
	return m.Sum(nil), nil
}

// Cache keeps each stream's key for the life of the process: a key never
// changes, so KMS is asked once per stream per cold start. Failures are not
// kept.
type Cache struct {
	Keys Keys

	mu   sync.Mutex
	keys map[string][]byte
}

// StreamKey returns the stream's key, derived once.
func (c *Cache) StreamKey(ctx context.Context, projectID, streamID string) ([]byte, error) {
	id := projectID + "/" + streamID
	c.mu.Lock()
	k, ok := c.keys[id]
	c.mu.Unlock()
	if ok {
		return k, nil
	}
	k, err := c.Keys.StreamKey(ctx, projectID, streamID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.keys == nil {
		c.keys = map[string][]byte{}
	}
	c.keys[id] = k
	c.mu.Unlock()
	return k, nil
}
