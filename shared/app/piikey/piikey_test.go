package piikey

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/logstream/logstream/shared/pii"
)

var localKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		c       Config
		wantErr string
	}{
		{"none", Config{}, ""},
		{"kms", Config{KMSKeyID: "arn:aws:kms:k"}, ""},
		{"local", Config{LocalKey: localKey}, ""},
		{"both", Config{KMSKeyID: "k", LocalKey: localKey}, "at most one"},
		{"short local", Config{LocalKey: base64.StdEncoding.EncodeToString([]byte("short"))}, "32 bytes"},
		{"not base64", Config{LocalKey: "%%%"}, "base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// fakeMAC is KMS GenerateMac over an HMAC key held here.
type fakeMAC struct {
	key   []byte
	calls int
	in    *kms.GenerateMacInput
	err   error
}

func (f *fakeMAC) GenerateMac(_ context.Context, in *kms.GenerateMacInput, _ ...func(*kms.Options)) (*kms.GenerateMacOutput, error) {
	f.calls++
	f.in = in
	if f.err != nil {
		return nil, f.err
	}
	m := hmac.New(sha256.New, f.key)
	m.Write(in.Message)
	return &kms.GenerateMacOutput{Mac: m.Sum(nil)}, nil
}

// The KMS derivation asks for HMAC_SHA_256 of the stream's label under the
// configured key, and gives what the local derivation gives under the same
// key material: a stream's hashes do not depend on where they are made.
func TestKMSKeysMatchLocalKeys(t *testing.T) {
	raw := bytes.Repeat([]byte{9}, 32)
	f := &fakeMAC{key: raw}
	c := &pii.Cache{Keys: &KMSKeys{Client: f, KeyID: "arn:aws:kms:k"}}
	got, err := c.StreamKey(context.Background(), "proj_a", "str_b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StreamKey(context.Background(), "proj_a", "str_b"); err != nil || f.calls != 1 {
		t.Errorf("KMS asked %d times for one stream, want once (err %v)", f.calls, err)
	}
	if *f.in.KeyId != "arn:aws:kms:k" || f.in.MacAlgorithm != types.MacAlgorithmSpecHmacSha256 || string(f.in.Message) != string(pii.Label("proj_a", "str_b")) {
		t.Errorf("GenerateMac input %+v", f.in)
	}
	l, _ := pii.NewLocalKeys(localKey)
	want, _ := l.StreamKey(context.Background(), "proj_a", "str_b")
	if !bytes.Equal(got, want) {
		t.Error("the KMS and local derivations differ under the same key")
	}
	other, _ := c.StreamKey(context.Background(), "proj_a", "str_c")
	if bytes.Equal(got, other) {
		t.Error("two streams got the same key")
	}
}

func TestKMSKeysErrors(t *testing.T) {
	f := &fakeMAC{err: errors.New("ThrottlingException")}
	c := &pii.Cache{Keys: &KMSKeys{Client: f, KeyID: "k"}}
	for range 2 {
		if _, err := c.StreamKey(context.Background(), "p", "s"); err == nil || !strings.Contains(err.Error(), "Throttling") {
			t.Errorf("StreamKey = %v, want KMS's error", err)
		}
	}
	if f.calls != 2 {
		t.Errorf("a failure was cached: %d calls, want 2", f.calls)
	}
}
