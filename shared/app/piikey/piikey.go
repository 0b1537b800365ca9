// Package piikey wires what derives each stream's PII hash key, for the
// functions that enqueue events (and mask them as they do): a KMS HMAC key
// in deployments, a local key in development. Both derive a stream's key
// the same way (KMSKeys, pii.LocalKeys).
package piikey

import (
	"errors"
	"fmt"

	"context"
	"crypto/sha256"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/pii"
	"github.com/logstream/logstream/shared/topology"
)

// Config is the PII hash key: a KMS key, a local one, or none.
type Config struct {
	KMSKeyID string // deployments: an HMAC_256 KMS key
	LocalKey string // local development: at least 32 bytes, base64
}

// Read reads the PII key variables.
func Read(v *app.Vars) Config {
	return Config{KMSKeyID: v.String(topology.EnvPIIKeyID), LocalKey: v.String(topology.EnvLocalPIIKey)}
}

// Validate allows at most one key. None is allowed so that a stack which
// never hashes (a load run) needs no key: a stream with a hash rule then
// gets no events and its requests fail (ingest.Service.Keys), rather than
// plaintext going out.
func (c Config) Validate() error {
	if c.KMSKeyID != "" && c.LocalKey != "" {
		return fmt.Errorf("config: set at most one of %s (deployments) and %s (local development)", topology.EnvPIIKeyID, topology.EnvLocalPIIKey)
	}
	if c.LocalKey != "" {
		if _, err := pii.NewLocalKeys(c.LocalKey); err != nil {
			return errors.Join(fmt.Errorf("config: %s", topology.EnvLocalPIIKey), err)
		}
	}
	return nil
}

// New builds the key source, cached for the life of the process; nil when
// no key is configured. Only the KMS one uses an AWS client.
func New(awsCfg aws.Config, c Config) (pii.Keys, error) {
	switch {
	case c.KMSKeyID != "":
		return &pii.Cache{Keys: &KMSKeys{Client: kms.NewFromConfig(awsCfg), KeyID: c.KMSKeyID}}, nil
	case c.LocalKey != "":
		l, err := pii.NewLocalKeys(c.LocalKey)
		if err != nil {
			return nil, err
		}
		return &pii.Cache{Keys: l}, nil
	}
	return nil, nil
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

// StreamKey asks KMS for the stream's key: one call, which pii.Cache keeps.
func (k *KMSKeys) StreamKey(ctx context.Context, projectID, streamID string) ([]byte, error) {
	out, err := k.Client.GenerateMac(ctx, &kms.GenerateMacInput{
		KeyId: &k.KeyID, MacAlgorithm: types.MacAlgorithmSpecHmacSha256, Message: pii.Label(projectID, streamID)})
	if err != nil {
		return nil, fmt.Errorf("derive PII hash key of stream %s: %w", streamID, err)
	}
	if len(out.Mac) != sha256.Size {
		return nil, fmt.Errorf("derive PII hash key of stream %s: KMS answered %d bytes, want %d", streamID, len(out.Mac), sha256.Size)
	}
	return out.Mac, nil
}
