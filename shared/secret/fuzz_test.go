package secret

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.hex golden blobs")

// goldenPlaintext is sealed in every golden blob and fuzz seed. A fuzz input
// that opens must yield it: the keys are fixed, so a blob sealed by another
// fuzz worker process opens here too, and anything else that opened would be
// a forgery.
const goldenPlaintext = "golden: dd_api_key_0123456789abcdef"

var goldenFiles = []struct {
	file string
	kind byte
}{
	{"v1_local.hex", kindLocal},
	{"v1_kms.hex", kindKMS},
}

// TestGoldenBlobsOpen keeps format version 1 readable: these blobs are at
// rest in DynamoDB, so a change that stops them opening is a data loss, not
// a refactor. Regenerate only for a deliberate new version, with -update.
func TestGoldenBlobsOpen(t *testing.T) {
	ctx := context.Background()
	local := newTestLocal(t)
	k, _ := newTestKMS(t)
	byKind := map[byte]Sealer{kindLocal: local, kindKMS: k}
	for _, g := range goldenFiles {
		t.Run(g.file, func(t *testing.T) {
			path := filepath.Join("testdata", g.file)
			if *update {
				blob, err := byKind[g.kind].Seal(ctx, []byte(goldenPlaintext), testAAD)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(hex.EncodeToString(blob)+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			blob := readGolden(t, path)
			got, err := byKind[g.kind].Open(ctx, blob, testAAD)
			if err != nil || string(got) != goldenPlaintext {
				t.Fatalf("Open(golden) = %q, %v", got, err)
			}
		})
	}
}

func readGolden(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return blob
}

// FuzzOpen feeds arbitrary blobs to both sealers. Open must never panic,
// must fail only with ErrCannotOpen (the fake KMS never has transport
// trouble), and may succeed only for a blob sealed with goldenPlaintext.
func FuzzOpen(f *testing.F) {
	ctx := context.Background()
	local := newTestLocal(f)
	k, _ := newTestKMS(f)
	k.CacheTTL = 0 // every input reaches the fake KMS's own checks

	for _, g := range goldenFiles {
		f.Add(readGolden(f, filepath.Join("testdata", g.file)))
	}
	for _, s := range []Sealer{local, k} {
		blob, err := s.Seal(ctx, []byte(goldenPlaintext), testAAD)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(blob)
		f.Add(blob[:len(blob)-1])
		f.Add(append(bytes.Clone(blob), 0))
	}
	f.Add([]byte{})
	f.Add([]byte{formatV1})
	f.Add([]byte{formatV1, kindLocal, 0, 0})
	f.Add([]byte{formatV1, kindKMS, 0xff, 0xff})
	f.Add([]byte{formatV1, kindLocal, 0, localWrapSize})
	f.Add(append([]byte{formatV1, kindLocal, 0, localWrapSize}, make([]byte, localWrapSize+nonceSize+tagSize)...))

	f.Fuzz(func(t *testing.T, blob []byte) {
		for name, s := range map[string]Sealer{"local": local, "kms": k} {
			got, err := s.Open(ctx, blob, testAAD)
			if err != nil {
				if !errors.Is(err, ErrCannotOpen) {
					t.Fatalf("%s: Open failed without ErrCannotOpen: %v", name, err)
				}
				if got != nil {
					t.Fatalf("%s: Open returned plaintext with an error", name)
				}
				continue
			}
			if string(got) != goldenPlaintext {
				t.Fatalf("%s: Open returned %q for a blob it did not seal", name, got)
			}
		}
	})
}
