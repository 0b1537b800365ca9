package secret

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// fakeKMS is a KMSAPI with function fields; tests replace one to inject a
// failure. newFakeKMS fills them with an in-memory KMS.
type fakeKMS struct {
	generateDataKey func(context.Context, *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error)
	decrypt         func(context.Context, *kms.DecryptInput) (*kms.DecryptOutput, error)

	generateCalls, decryptCalls atomic.Int32
}

func (f *fakeKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	f.generateCalls.Add(1)
	return f.generateDataKey(ctx, in)
}

func (f *fakeKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	f.decryptCalls.Add(1)
	return f.decrypt(ctx, in)
}

// newFakeKMS behaves like KMS for the given key ids: each has its own real
// AES key (derived from the id, so blobs stay valid across processes, which
// the fuzzer and the golden files rely on), data keys are wrapped with
// AES-GCM with the encryption context as additional data, and Decrypt
// refuses a wrong context or key with KMS's own exception types.
//
// CiphertextBlob: len(keyID) ‖ keyID ‖ nonce ‖ GCM(key, data key, context).
func newFakeKMS(keyIDs ...string) *fakeKMS {
	keys := map[string][]byte{}
	for _, id := range keyIDs {
		k := sha256.Sum256([]byte("fake kms key:" + id))
		keys[id] = k[:]
	}
	f := &fakeKMS{}
	f.generateDataKey = func(_ context.Context, in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		id := aws.ToString(in.KeyId)
		master, ok := keys[id]
		if !ok {
			return nil, &types.NotFoundException{Message: aws.String("key " + id + " not found")}
		}
		if in.KeySpec != types.DataKeySpecAes256 {
			return nil, errors.New("ValidationException: want KeySpec AES_256")
		}
		aead, _ := newGCM(master)
		dataKey := make([]byte, keySize)
		rand.Read(dataKey)
		blob := append([]byte{byte(len(id))}, id...)
		nonce := make([]byte, nonceSize)
		rand.Read(nonce)
		blob = append(blob, nonce...)
		blob = aead.Seal(blob, nonce, dataKey, canonicalContext(in.EncryptionContext))
		return &kms.GenerateDataKeyOutput{KeyId: aws.String(id), Plaintext: dataKey, CiphertextBlob: blob}, nil
	}
	f.decrypt = func(_ context.Context, in *kms.DecryptInput) (*kms.DecryptOutput, error) {
		invalid := &types.InvalidCiphertextException{Message: aws.String("invalid ciphertext")}
		b := in.CiphertextBlob
		if len(b) < 1 || len(b) < 1+int(b[0])+nonceSize {
			return nil, invalid
		}
		id := string(b[1 : 1+b[0]])
		master, ok := keys[id]
		if !ok {
			return nil, invalid
		}
		if in.KeyId != nil && aws.ToString(in.KeyId) != id {
			return nil, &types.IncorrectKeyException{Message: aws.String("incorrect key")}
		}
		aead, _ := newGCM(master)
		rest := b[1+b[0]:]
		dataKey, err := aead.Open(nil, rest[:nonceSize], rest[nonceSize:], canonicalContext(in.EncryptionContext))
		if err != nil {
			return nil, invalid
		}
		return &kms.DecryptOutput{KeyId: aws.String(id), Plaintext: dataKey}, nil
	}
	return f
}

// canonicalContext serialises an encryption context unambiguously.
func canonicalContext(ec map[string]string) []byte {
	var out []byte
	for _, k := range slices.Sorted(maps.Keys(ec)) {
		out = append(out, byte(len(k)>>8), byte(len(k)))
		out = append(out, k...)
		out = append(out, byte(len(ec[k])>>8), byte(len(ec[k])))
		out = append(out, ec[k]...)
	}
	return out
}
