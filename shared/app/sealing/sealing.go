// Package sealing wires what seals destination secrets, for the functions
// that write or send them (the API and the delivery functions): KMS envelope
// encryption in deployments, a local key in development.
package sealing

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/secret"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/topology"
)

// Config is the sealing key: a KMS key or a local one.
type Config struct {
	KMSKeyID       string // deployments
	LocalSecretKey string // local development: 32 bytes, base64
}

// Read reads the sealing variables.
func Read(v *app.Vars) Config {
	return Config{KMSKeyID: v.String(topology.EnvKMSKeyID), LocalSecretKey: v.String(topology.EnvLocalSecretKey)}
}

// Validate requires exactly one way to seal.
func (c Config) Validate() error {
	return app.ExactlyOne(c.KMSKeyID, c.LocalSecretKey, topology.EnvKMSKeyID, topology.EnvLocalSecretKey)
}

// New builds the sealer; only the KMS one uses an AWS client.
func New(awsCfg aws.Config, c Config) (store.Sealer, error) {
	if c.KMSKeyID != "" {
		return secret.NewKMS(kms.NewFromConfig(awsCfg), c.KMSKeyID)
	}
	return secret.NewLocal(c.LocalSecretKey)
}
