package secret

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// Fixed keys, so blobs sealed in one process open in another (fuzz workers,
// golden files).
const (
	testLocalKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // bytes 0..31
	testKeyID    = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
	otherKeyID   = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000"
)

var testAAD = []byte("proj_1/str_1")

func newTestLocal(t testing.TB) *Local {
	t.Helper()
	l, err := NewLocal(testLocalKey)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func newTestKMS(t testing.TB) (*KMS, *fakeKMS) {
	t.Helper()
	f := newFakeKMS(testKeyID, otherKeyID)
	k, err := NewKMS(f, testKeyID)
	if err != nil {
		t.Fatal(err)
	}
	return k, f
}

type namedSealer struct {
	name string
	kind byte
	s    Sealer
}

func sealers(t testing.TB) []namedSealer {
	k, _ := newTestKMS(t)
	k.CacheTTL = 0 // tampering tests must reach the fake KMS every time
	return []namedSealer{{"local", kindLocal, newTestLocal(t)}, {"kms", kindKMS, k}}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	plaintexts := []struct {
		name string
		p    []byte
	}{
		{"empty", []byte{}},
		{"nil", nil},
		{"one byte", []byte{0x42}},
		{"api key", []byte("dd_api_key_0123456789abcdef")},
		{"4 KiB", bytes.Repeat([]byte{0xA5}, 4096)},
	}
	for _, s := range sealers(t) {
		for _, pc := range plaintexts {
			t.Run(s.name+"/"+pc.name, func(t *testing.T) {
				blob, err := s.s.Seal(ctx, pc.p, testAAD)
				if err != nil {
					t.Fatal(err)
				}
				if blob[0] != formatV1 || blob[1] != s.kind {
					t.Fatalf("header = % x, want version %d kind %d", blob[:2], formatV1, s.kind)
				}
				if len(pc.p) >= 8 && bytes.Contains(blob, pc.p) { // shorter ones occur by chance
					t.Fatal("plaintext appears in the sealed blob")
				}
				got, err := s.s.Open(ctx, blob, testAAD)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, pc.p) || got == nil {
					t.Fatalf("Open = %q (nil %v), want %q", got, got == nil, pc.p)
				}
				again, err := s.s.Seal(ctx, pc.p, testAAD)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Equal(again, blob) {
					t.Fatal("sealing twice gave the same blob: data key or nonce reused")
				}
			})
		}
	}
}

func TestWrongAADFails(t *testing.T) {
	ctx := context.Background()
	for _, s := range sealers(t) {
		blob, err := s.s.Seal(ctx, []byte("hunter2"), testAAD)
		if err != nil {
			t.Fatal(err)
		}
		for _, aad := range []string{"proj_1/str_2", "proj_2/str_1", "proj_1/str_1 ", "proj_1/str_"} {
			t.Run(s.name+"/"+aad, func(t *testing.T) {
				got, err := s.s.Open(ctx, blob, []byte(aad))
				if !errors.Is(err, ErrCannotOpen) || got != nil {
					t.Fatalf("Open with aad %q = %q, %v; want ErrCannotOpen", aad, got, err)
				}
			})
		}
	}
}

func TestEmptyAADRefused(t *testing.T) {
	ctx := context.Background()
	for _, s := range sealers(t) {
		t.Run(s.name, func(t *testing.T) {
			if _, err := s.s.Seal(ctx, []byte("x"), nil); err == nil {
				t.Fatal("Seal accepted an empty aad")
			}
			blob, err := s.s.Seal(ctx, []byte("x"), testAAD)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.s.Open(ctx, blob, []byte{}); err == nil {
				t.Fatal("Open accepted an empty aad")
			}
		})
	}
}

func TestTamperedBlobFails(t *testing.T) {
	ctx := context.Background()
	// Each case alters a copy of a valid blob whose wrapped key is n bytes.
	tests := []struct {
		name   string
		tamper func(b []byte, n int) []byte
	}{
		{"version", func(b []byte, _ int) []byte { b[0] = 0x02; return b }},
		{"version zero", func(b []byte, _ int) []byte { b[0] = 0x00; return b }},
		{"unknown kind", func(b []byte, _ int) []byte { b[1] = 0x7f; return b }},
		{"other kind", func(b []byte, _ int) []byte { b[1] ^= kindKMS ^ kindLocal; return b }},
		{"length plus one", func(b []byte, n int) []byte { b[3]++; return b }},
		{"length minus one", func(b []byte, n int) []byte { b[3]--; return b }},
		{"length zero", func(b []byte, n int) []byte { b[2], b[3] = 0, 0; return b }},
		{"length max", func(b []byte, n int) []byte { b[2], b[3] = 0xff, 0xff; return b }},
		{"wrapped key first byte", func(b []byte, n int) []byte { b[headerSize] ^= 1; return b }},
		{"wrapped key last byte", func(b []byte, n int) []byte { b[headerSize+n-1] ^= 0x80; return b }},
		{"nonce", func(b []byte, n int) []byte { b[headerSize+n] ^= 1; return b }},
		{"nonce last byte", func(b []byte, n int) []byte { b[headerSize+n+nonceSize-1] ^= 1; return b }},
		{"ciphertext", func(b []byte, n int) []byte { b[headerSize+n+nonceSize] ^= 1; return b }},
		{"tag", func(b []byte, _ int) []byte { b[len(b)-1] ^= 1; return b }},
		{"trailing byte", func(b []byte, _ int) []byte { return append(b, 0) }},
		{"nonce and ciphertext swapped with another blob's", nil}, // filled in below
	}
	for _, s := range sealers(t) {
		blob, err := s.s.Seal(ctx, []byte("webhook-signing-secret"), testAAD)
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.s.Seal(ctx, []byte("webhook-signing-secret"), testAAD)
		if err != nil {
			t.Fatal(err)
		}
		n := int(blob[2])<<8 | int(blob[3])
		tests[len(tests)-1].tamper = func(b []byte, n int) []byte {
			// A valid wrapped key with another blob's payload: the data
			// keys differ, so authentication fails.
			return append(b[:headerSize+n], other[headerSize+n:]...)
		}
		for _, tc := range tests {
			t.Run(s.name+"/"+tc.name, func(t *testing.T) {
				bad := tc.tamper(bytes.Clone(blob), n)
				got, err := s.s.Open(ctx, bad, testAAD)
				if !errors.Is(err, ErrCannotOpen) || got != nil {
					t.Fatalf("Open(tampered) = %q, %v; want ErrCannotOpen", got, err)
				}
			})
		}
	}
}

func TestTruncatedBlobFails(t *testing.T) {
	ctx := context.Background()
	for _, s := range sealers(t) {
		t.Run(s.name, func(t *testing.T) {
			blob, err := s.s.Seal(ctx, []byte("password"), testAAD)
			if err != nil {
				t.Fatal(err)
			}
			for i := range len(blob) {
				got, err := s.s.Open(ctx, blob[:i], testAAD)
				if !errors.Is(err, ErrCannotOpen) || got != nil {
					t.Fatalf("Open(first %d of %d bytes) = %q, %v; want ErrCannotOpen", i, len(blob), got, err)
				}
			}
		})
	}
}

func TestLocalOtherMasterKeyFails(t *testing.T) {
	ctx := context.Background()
	blob, err := newTestLocal(t).Seal(ctx, []byte("token"), testAAD)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewLocal(GenerateLocalKey())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := other.Open(ctx, blob, testAAD); !errors.Is(err, ErrCannotOpen) {
		t.Fatalf("Open under another master key = %q, %v; want ErrCannotOpen", got, err)
	}
}

func TestCrossImplementationFails(t *testing.T) {
	ctx := context.Background()
	local := newTestLocal(t)
	k, f := newTestKMS(t)

	localBlob, err := local.Seal(ctx, []byte("s"), testAAD)
	if err != nil {
		t.Fatal(err)
	}
	kmsBlob, err := k.Seal(ctx, []byte("s"), testAAD)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("local blob opened by kms", func(t *testing.T) {
		_, err := k.Open(ctx, localBlob, testAAD)
		if !errors.Is(err, ErrCannotOpen) {
			t.Fatalf("err = %v, want ErrCannotOpen", err)
		}
		if n := f.decryptCalls.Load(); n != 0 {
			t.Fatalf("Decrypt called %d times for a local blob", n)
		}
	})
	t.Run("kms blob opened by local", func(t *testing.T) {
		if _, err := local.Open(ctx, kmsBlob, testAAD); !errors.Is(err, ErrCannotOpen) {
			t.Fatalf("err = %v, want ErrCannotOpen", err)
		}
	})
	t.Run("local blob relabelled as kms", func(t *testing.T) {
		// The kind byte is authenticated, and the local wrap is no KMS
		// ciphertext: relabelling fails either way.
		b := bytes.Clone(localBlob)
		b[1] = kindKMS
		if _, err := k.Open(ctx, b, testAAD); !errors.Is(err, ErrCannotOpen) {
			t.Fatalf("err = %v, want ErrCannotOpen", err)
		}
	})
}

func TestNewLocal(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(0xf0 + i) // high bytes make '+', '/', '-' and '_' appear
	}
	std := base64.StdEncoding.EncodeToString(key)
	tests := []struct {
		name    string
		in      string
		wantErr string // substring; "" for success
	}{
		{"std padded", std, ""},
		{"std unpadded", base64.RawStdEncoding.EncodeToString(key), ""},
		{"url padded", base64.URLEncoding.EncodeToString(key), ""},
		{"url unpadded", base64.RawURLEncoding.EncodeToString(key), ""},
		{"trailing newline", std + "\n", ""},
		{"surrounding spaces", "  " + std + " ", ""},
		{"empty", "", "empty"},
		{"blank", " \n", "empty"},
		{"16 bytes", base64.StdEncoding.EncodeToString(key[:16]), "16 bytes, want 32"},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(key, 1)), "33 bytes, want 32"},
		{"not base64", "this is not base64 at all!", "not valid base64"},
		{"mixed alphabets", strings.Replace(base64.RawURLEncoding.EncodeToString(key), "-", "+", 1), "not valid base64"},
		{"hex", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "48 bytes, want 32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewLocal(tc.in)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				// Every spelling of the key is the same key.
				blob, err := l.Seal(context.Background(), []byte("x"), testAAD)
				if err != nil {
					t.Fatal(err)
				}
				std, _ := NewLocal(std)
				if _, err := std.Open(context.Background(), blob, testAAD); err != nil {
					t.Fatalf("key decoded differently from the standard spelling: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewLocal err = %v, want it to mention %q", err, tc.wantErr)
			}
			if s := strings.TrimSpace(tc.in); len(s) > 8 && strings.Contains(err.Error(), s[:8]) {
				t.Fatalf("error repeats the key: %v", err)
			}
		})
	}
}

func TestGenerateLocalKey(t *testing.T) {
	a, b := GenerateLocalKey(), GenerateLocalKey()
	if a == b {
		t.Fatal("two generated keys are equal")
	}
	raw, err := base64.StdEncoding.DecodeString(a)
	if err != nil || len(raw) != 32 {
		t.Fatalf("GenerateLocalKey() = %q: %d bytes, %v", a, len(raw), err)
	}
	if _, err := NewLocal(a); err != nil {
		t.Fatal(err)
	}
}
