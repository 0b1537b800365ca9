package secret

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KMSAPI is the part of the KMS client the sealer uses.
type KMSAPI interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// EncryptionContextKey is the KMS encryption context key that carries the
// aad. It appears in CloudTrail records of GenerateDataKey and Decrypt, and
// key policies can condition on it (kms:EncryptionContext:logstream:aad).
const EncryptionContextKey = "logstream:aad"

// Defaults for the data-key cache NewKMS turns on.
const (
	DefaultCacheTTL  = 5 * time.Minute
	DefaultCacheSize = 1000
)

// KMS seals secrets with envelope encryption under a KMS key: each Seal asks
// KMS for a new data key, each Open asks KMS to decrypt it.
//
// Opened data keys can be cached in memory for CacheTTL, keyed by the
// wrapped key and the aad, so a warm Lambda that opens a stream's secret for
// every batch calls Decrypt once per TTL rather than once per batch. Since
// every Seal makes its own data key, the cache holds one entry per recently
// opened secret. The price: a plaintext data key stays in memory for up to
// CacheTTL, and disabling the KMS key or revoking the function's access takes
// effect for cached secrets only when their entries expire; CloudTrail shows
// one Decrypt per secret per TTL per Lambda instance. Seal never uses the
// cache: a fresh data key per Seal is what makes GCM nonces safe.
type KMS struct {
	// CacheTTL is how long an opened data key is kept; zero disables the
	// cache. Set before first use.
	CacheTTL time.Duration
	// CacheSize bounds the number of cached data keys (≤ 0 means
	// DefaultCacheSize). Entries are about 300 bytes.
	CacheSize int

	client KMSAPI
	keyID  string
	now    func() time.Time

	mu    sync.Mutex
	cache map[cacheKey]cachedKey
}

var _ Sealer = (*KMS)(nil)

type cacheKey struct{ wrapped, aad string }

type cachedKey struct {
	key     []byte // never handed out: callers get a copy they may zero
	expires time.Time
}

// NewKMS returns a sealer for keyID (a key id, key ARN, alias name
// "alias/…" or alias ARN) with the data-key cache on at DefaultCacheTTL and
// DefaultCacheSize.
//
// KeyID is also passed to Decrypt, so KMS refuses a blob sealed under another
// key instead of decrypting with whatever key the blob names. Prefer the key
// ARN: re-pointing an alias at a new key makes blobs sealed under the old key
// fail to open (re-seal them first); automatic key rotation does not.
func NewKMS(client KMSAPI, keyID string) (*KMS, error) {
	if client == nil {
		return nil, errors.New("secret: KMS client is nil")
	}
	if keyID == "" {
		return nil, errors.New("secret: KMS key id is empty")
	}
	return &KMS{client: client, keyID: keyID, CacheTTL: DefaultCacheTTL, CacheSize: DefaultCacheSize}, nil
}

// Seal encrypts plaintext under a new data key from GenerateDataKey, bound
// to aad through the encryption context and the GCM additional data.
func (k *KMS) Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error) {
	return seal(ctx, kindKMS, k, plaintext, aad)
}

// Open decrypts a blob from Seal with the same aad. Blobs that cannot be
// opened fail with an error wrapping ErrCannotOpen; KMS call failures are
// returned wrapped but unclassified so the caller can retry.
func (k *KMS) Open(ctx context.Context, sealed, aad []byte) ([]byte, error) {
	return open(ctx, kindKMS, k, sealed, aad)
}

// encryptionContext binds the data key to aad inside KMS. base64url keeps
// arbitrary aad bytes a valid KMS string.
func encryptionContext(aad []byte) map[string]string {
	return map[string]string{EncryptionContextKey: base64.RawURLEncoding.EncodeToString(aad)}
}

func (k *KMS) newDataKey(ctx context.Context, aad []byte) (key, wrapped []byte, err error) {
	out, err := k.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(k.keyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: encryptionContext(aad),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("kms GenerateDataKey with %s: %w", k.keyID, err)
	}
	return out.Plaintext, out.CiphertextBlob, nil
}

func (k *KMS) unwrap(ctx context.Context, wrapped, aad []byte) ([]byte, error) {
	ck := cacheKey{wrapped: string(wrapped), aad: string(aad)}
	if key, ok := k.cached(ck); ok {
		return key, nil
	}
	out, err := k.client.Decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob:    wrapped,
		EncryptionContext: encryptionContext(aad),
		KeyId:             aws.String(k.keyID),
	})
	if err != nil {
		// These two say the blob, not the call, is wrong: tampered or
		// foreign wrapped key, another encryption context (aad), or a key
		// other than ours. Everything else (throttling, network, access,
		// disabled key) is the caller's to retry or alert on.
		var invalid *types.InvalidCiphertextException
		var incorrect *types.IncorrectKeyException
		if errors.As(err, &invalid) || errors.As(err, &incorrect) {
			return nil, fmt.Errorf("%w: kms Decrypt: %w", ErrCannotOpen, err)
		}
		return nil, fmt.Errorf("kms Decrypt with %s: %w", k.keyID, err)
	}
	if len(out.Plaintext) != keySize {
		clear(out.Plaintext)
		return nil, fmt.Errorf("%w: kms Decrypt returned %d bytes, not a data key", ErrCannotOpen, len(out.Plaintext))
	}
	k.store(ck, out.Plaintext)
	return out.Plaintext, nil
}

func (k *KMS) clock() time.Time {
	if k.now != nil {
		return k.now()
	}
	return time.Now()
}

// cached returns a copy of a live cached key.
func (k *KMS) cached(ck cacheKey) ([]byte, bool) {
	if k.CacheTTL <= 0 {
		return nil, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.cache[ck]
	if !ok || !k.clock().Before(e.expires) {
		return nil, false
	}
	return append([]byte(nil), e.key...), true
}

// store keeps a copy of key. When the cache is full it drops expired entries
// first, then arbitrary ones: map order is random, which is as good as LRU
// for a cache whose working set normally fits.
func (k *KMS) store(ck cacheKey, key []byte) {
	if k.CacheTTL <= 0 {
		return
	}
	size := k.CacheSize
	if size <= 0 {
		size = DefaultCacheSize
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.clock()
	if k.cache == nil {
		k.cache = make(map[cacheKey]cachedKey)
	}
	// At capacity, expired entries go first, whether or not ck is among them
	// (a refreshed key must not keep other stale keys alive); live entries
	// are evicted only to make room for a new key.
	if len(k.cache) >= size {
		for c, e := range k.cache {
			if !now.Before(e.expires) {
				clear(e.key)
				delete(k.cache, c)
			}
		}
	}
	if _, ok := k.cache[ck]; !ok {
		for c, e := range k.cache {
			if len(k.cache) < size {
				break
			}
			clear(e.key)
			delete(k.cache, c)
		}
	}
	k.cache[ck] = cachedKey{key: append([]byte(nil), key...), expires: now.Add(k.CacheTTL)}
}
