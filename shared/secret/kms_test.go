package secret

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

func TestNewKMSValidates(t *testing.T) {
	if _, err := NewKMS(nil, testKeyID); err == nil {
		t.Error("nil client accepted")
	}
	if _, err := NewKMS(newFakeKMS(), ""); err == nil {
		t.Error("empty key id accepted")
	}
}

func TestKMSRequests(t *testing.T) {
	ctx := context.Background()
	k, f := newTestKMS(t)
	wantContext := map[string]string{EncryptionContextKey: base64.RawURLEncoding.EncodeToString(testAAD)}

	var wrapped []byte
	gen := f.generateDataKey
	f.generateDataKey = func(ctx context.Context, in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		if aws.ToString(in.KeyId) != testKeyID || in.KeySpec != types.DataKeySpecAes256 || in.NumberOfBytes != nil {
			t.Errorf("GenerateDataKey(KeyId %q, KeySpec %q, NumberOfBytes %v)", aws.ToString(in.KeyId), in.KeySpec, in.NumberOfBytes)
		}
		if fmt.Sprint(in.EncryptionContext) != fmt.Sprint(wantContext) {
			t.Errorf("GenerateDataKey context = %v, want %v", in.EncryptionContext, wantContext)
		}
		out, err := gen(ctx, in)
		if err == nil {
			wrapped = bytes.Clone(out.CiphertextBlob)
		}
		return out, err
	}
	dec := f.decrypt
	f.decrypt = func(ctx context.Context, in *kms.DecryptInput) (*kms.DecryptOutput, error) {
		if aws.ToString(in.KeyId) != testKeyID {
			t.Errorf("Decrypt KeyId = %q, want %q", aws.ToString(in.KeyId), testKeyID)
		}
		if fmt.Sprint(in.EncryptionContext) != fmt.Sprint(wantContext) {
			t.Errorf("Decrypt context = %v, want %v", in.EncryptionContext, wantContext)
		}
		if !bytes.Equal(in.CiphertextBlob, wrapped) {
			t.Error("Decrypt got a different CiphertextBlob than GenerateDataKey returned")
		}
		return dec(ctx, in)
	}

	blob, err := k.Seal(ctx, []byte("secret"), testAAD)
	if err != nil {
		t.Fatal(err)
	}
	if n := int(blob[2])<<8 | int(blob[3]); !bytes.Equal(blob[headerSize:headerSize+n], wrapped) {
		t.Fatal("blob does not carry the CiphertextBlob as its wrapped key")
	}
	if got, err := k.Open(ctx, blob, testAAD); err != nil || string(got) != "secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func TestKMSSealZeroesDataKey(t *testing.T) {
	k, f := newTestKMS(t)
	var handedOut []byte
	gen := f.generateDataKey
	f.generateDataKey = func(ctx context.Context, in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		out, err := gen(ctx, in)
		handedOut = out.Plaintext
		return out, err
	}
	if _, err := k.Seal(context.Background(), []byte("x"), testAAD); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(handedOut, make([]byte, keySize)) {
		t.Fatal("plaintext data key left in memory after Seal")
	}
}

func TestKMSOtherKeyFails(t *testing.T) {
	ctx := context.Background()
	k, f := newTestKMS(t)
	blob, err := k.Seal(ctx, []byte("s"), testAAD)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewKMS(f, otherKeyID)
	_, err = other.Open(ctx, blob, testAAD)
	var incorrect *types.IncorrectKeyException
	if !errors.Is(err, ErrCannotOpen) || !errors.As(err, &incorrect) {
		t.Fatalf("Open under another KMS key: %v; want ErrCannotOpen wrapping IncorrectKeyException", err)
	}
}

// KMS failures that are not about the blob must reach the caller as they
// are, retryable, and never as ErrCannotOpen.
func TestKMSErrors(t *testing.T) {
	ctx := context.Background()
	internal := &types.KMSInternalException{Message: aws.String("internal error")}
	network := errors.New("dial tcp: i/o timeout")
	disabled := &types.DisabledException{Message: aws.String("key is disabled")}

	tests := []struct {
		name         string
		generate     func(context.Context, *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error)
		decrypt      func(context.Context, *kms.DecryptInput) (*kms.DecryptOutput, error)
		wantIs       error // errors.Is must hold
		wantOpenable bool  // errors.Is(err, ErrCannotOpen) must be false
	}{
		{
			name: "GenerateDataKey network error",
			generate: func(context.Context, *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
				return nil, network
			},
			wantIs: network, wantOpenable: true,
		},
		{
			name: "GenerateDataKey short key",
			generate: func(context.Context, *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
				return &kms.GenerateDataKeyOutput{Plaintext: make([]byte, 16), CiphertextBlob: []byte{1}}, nil
			},
			wantOpenable: true,
		},
		{
			name: "GenerateDataKey empty CiphertextBlob",
			generate: func(context.Context, *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
				return &kms.GenerateDataKeyOutput{Plaintext: make([]byte, 32)}, nil
			},
			wantOpenable: true,
		},
		{
			name:    "Decrypt internal error",
			decrypt: func(context.Context, *kms.DecryptInput) (*kms.DecryptOutput, error) { return nil, internal },
			wantIs:  internal, wantOpenable: true,
		},
		{
			name:    "Decrypt network error",
			decrypt: func(context.Context, *kms.DecryptInput) (*kms.DecryptOutput, error) { return nil, network },
			wantIs:  network, wantOpenable: true,
		},
		{
			name:    "Decrypt key disabled",
			decrypt: func(context.Context, *kms.DecryptInput) (*kms.DecryptOutput, error) { return nil, disabled },
			wantIs:  disabled, wantOpenable: true,
		},
		{
			name: "Decrypt context canceled",
			decrypt: func(ctx context.Context, _ *kms.DecryptInput) (*kms.DecryptOutput, error) {
				return nil, context.Canceled
			},
			wantIs: context.Canceled, wantOpenable: true,
		},
		{
			name: "Decrypt invalid ciphertext",
			decrypt: func(context.Context, *kms.DecryptInput) (*kms.DecryptOutput, error) {
				return nil, &types.InvalidCiphertextException{}
			},
			wantIs: ErrCannotOpen,
		},
		{
			name: "Decrypt returns something that is not a data key",
			decrypt: func(context.Context, *kms.DecryptInput) (*kms.DecryptOutput, error) {
				return &kms.DecryptOutput{Plaintext: []byte("not a key")}, nil
			},
			wantIs: ErrCannotOpen,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, f := newTestKMS(t)
			blob, err := k.Seal(ctx, []byte("s"), testAAD)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			if tc.generate != nil {
				f.generateDataKey = tc.generate
				got, err = k.Seal(ctx, []byte("s"), testAAD)
			} else {
				f.decrypt = tc.decrypt
				got, err = k.Open(ctx, blob, testAAD)
			}
			if err == nil || got != nil {
				t.Fatalf("got %q, %v; want an error", got, err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("err = %v; want it to wrap %v", err, tc.wantIs)
			}
			if tc.wantOpenable && errors.Is(err, ErrCannotOpen) {
				t.Errorf("err = %v; a KMS call failure must not be ErrCannotOpen", err)
			}
		})
	}
}

func TestKMSCache(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	setup := func(t *testing.T) (*KMS, *fakeKMS, []byte) {
		k, f := newTestKMS(t)
		k.now = func() time.Time { return now }
		blob, err := k.Seal(ctx, []byte("cached secret"), testAAD)
		if err != nil {
			t.Fatal(err)
		}
		return k, f, blob
	}
	open := func(t *testing.T, k *KMS, blob, aad []byte) error {
		t.Helper()
		got, err := k.Open(ctx, blob, aad)
		if err == nil && string(got) != "cached secret" {
			t.Fatalf("Open = %q", got)
		}
		return err
	}

	t.Run("second open skips Decrypt", func(t *testing.T) {
		k, f, blob := setup(t)
		for range 3 {
			if err := open(t, k, blob, testAAD); err != nil {
				t.Fatal(err)
			}
		}
		if n := f.decryptCalls.Load(); n != 1 {
			t.Fatalf("Decrypt calls = %d, want 1", n)
		}
	})
	t.Run("other aad is not served from the cache", func(t *testing.T) {
		k, f, blob := setup(t)
		if err := open(t, k, blob, testAAD); err != nil {
			t.Fatal(err)
		}
		if err := open(t, k, blob, []byte("proj_1/str_2")); !errors.Is(err, ErrCannotOpen) {
			t.Fatalf("err = %v, want ErrCannotOpen", err)
		}
		if n := f.decryptCalls.Load(); n != 2 {
			t.Fatalf("Decrypt calls = %d, want 2", n)
		}
	})
	t.Run("entries expire", func(t *testing.T) {
		k, f, blob := setup(t)
		open(t, k, blob, testAAD)
		now = now.Add(DefaultCacheTTL - time.Second)
		open(t, k, blob, testAAD)
		now = now.Add(time.Second)
		open(t, k, blob, testAAD)
		if n := f.decryptCalls.Load(); n != 2 {
			t.Fatalf("Decrypt calls = %d, want 2 (one before, one after expiry)", n)
		}
	})
	t.Run("zero TTL disables", func(t *testing.T) {
		k, f, blob := setup(t)
		k.CacheTTL = 0
		open(t, k, blob, testAAD)
		open(t, k, blob, testAAD)
		if n := f.decryptCalls.Load(); n != 2 || len(k.cache) != 0 {
			t.Fatalf("Decrypt calls = %d, cache entries = %d; want 2 and 0", n, len(k.cache))
		}
	})
	t.Run("errors are not cached", func(t *testing.T) {
		k, f, blob := setup(t)
		dec := f.decrypt
		f.decrypt = func(context.Context, *kms.DecryptInput) (*kms.DecryptOutput, error) {
			return nil, &types.KMSInternalException{}
		}
		if err := open(t, k, blob, testAAD); err == nil {
			t.Fatal("want an error")
		}
		f.decrypt = dec
		if err := open(t, k, blob, testAAD); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		k, f, _ := setup(t)
		k.CacheSize = 3
		var blobs [][]byte
		for range 10 {
			b, err := k.Seal(ctx, []byte("cached secret"), testAAD)
			if err != nil {
				t.Fatal(err)
			}
			blobs = append(blobs, b)
		}
		for _, b := range blobs {
			if err := open(t, k, b, testAAD); err != nil {
				t.Fatal(err)
			}
			if len(k.cache) > 3 {
				t.Fatalf("cache holds %d entries, bound is 3", len(k.cache))
			}
		}
		if n := f.decryptCalls.Load(); n != 10 {
			t.Fatalf("Decrypt calls = %d, want 10", n)
		}
		// Expired entries go first when the cache is full.
		now = now.Add(DefaultCacheTTL)
		if err := open(t, k, blobs[0], testAAD); err != nil {
			t.Fatal(err)
		}
		if len(k.cache) != 1 {
			t.Fatalf("cache holds %d entries after expiry, want 1", len(k.cache))
		}
	})
	t.Run("concurrent opens", func(t *testing.T) {
		k, _, blob := setup(t)
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for range 50 {
					if got, err := k.Open(ctx, blob, testAAD); err != nil || string(got) != "cached secret" {
						t.Errorf("Open = %q, %v", got, err)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}
