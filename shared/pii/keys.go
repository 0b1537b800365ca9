package pii

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"

	"github.com/logstream/logstream/shared/stream"
)

// Label is what a stream's hash key is the MAC of, under the deployment's
// PII key: one deployment secret gives every stream a key of its own, so a
// hash from one stream cannot be matched against another's, and the
// deployment key itself never leaves KMS. It is versioned so the
// derivation can change without reusing keys.
func Label(projectID, streamID string) []byte {
	return []byte("logstream:pii-hash:v1:" + projectID + "/" + streamID)
}

// Keys derives a stream's hash key.
type Keys interface {
	StreamKey(ctx context.Context, projectID, streamID string) ([]byte, error)
}

// LocalKeys derives stream keys with HMAC-SHA256 under a key held in the
// function's configuration: the local stack's stand-in for the KMS one
// (shared/app/piikey), with the same derivation (KMS's HMAC_SHA_256 is
// RFC 2104 HMAC-SHA256), so hashes are made the same way with either.
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
	m.Write(Label(projectID, streamID))
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

// StreamMasker masks one event for a stream, compiling its rules for the
// call: for the rare event that does not pass through ingestion (the test
// route's). The key comes from Keys, cached there.
type StreamMasker struct {
	Keys Keys // nil: a stream with a hash rule cannot be masked
}

// MaskFor masks event by s's rules.
func (sm *StreamMasker) MaskFor(ctx context.Context, s stream.Stream, event []byte) ([]byte, error) {
	var key []byte
	if NeedsKey(s.PII) {
		if sm.Keys == nil {
			return nil, errors.New("a rule hashes and this function has no PII hash key")
		}
		k, err := sm.Keys.StreamKey(ctx, s.ProjectID, s.ID)
		if err != nil {
			return nil, err
		}
		key = k
	}
	m, err := Compile(s.PII, key)
	if err != nil {
		return nil, err
	}
	return m.Mask(event)
}
