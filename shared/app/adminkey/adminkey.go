// Package adminkey wires the API key check of the functions that take API
// keys (the API and ingestion): the bootstrap admin key, from Secrets Manager
// or the environment, in front of the keys in the streams table.
package adminkey

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/topology"
)

// Config is where the admin key comes from and how long a checked key is
// trusted.
type Config struct {
	SecretARN string // deployments
	Key       string // local development
	CacheTTL  time.Duration
}

// Read reads the admin key's variables.
func Read(v *app.Vars) Config {
	return Config{SecretARN: v.String(topology.EnvAdminKeySecretARN), Key: v.String(topology.EnvAdminKey),
		CacheTTL: v.Duration(topology.EnvAuthCacheTTL, topology.DefaultAuthCacheTTL)}
}

// Validate requires exactly one source of the admin key.
func (c Config) Validate() error {
	return app.ExactlyOne(c.SecretARN, c.Key, topology.EnvAdminKeySecretARN, topology.EnvAdminKey)
}

// minLength keeps the bootstrap key as unguessable as the keys it creates: it
// is compared by hash, so its entropy is all that protects it.
const minLength = 32

// New builds the API key check over the stored keys (store.Keys in the
// functions). The admin key is read once per cold start: after rotating the
// secret, the functions use the new key as their environments are replaced.
func New(ctx context.Context, awsCfg aws.Config, c Config, keys apikey.Getter) (*apikey.Authenticator, error) {
	admin := c.Key
	if c.SecretARN != "" {
		out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.SecretARN)})
		if err != nil {
			return nil, fmt.Errorf("read the admin key secret: %w", err)
		}
		admin = aws.ToString(out.SecretString)
	}
	if len(admin) < minLength {
		return nil, fmt.Errorf("config: the admin key must be at least %d characters", minLength)
	}
	return &apikey.Authenticator{Keys: keys, AdminKeyHash: apikey.HashKey(admin), CacheTTL: c.CacheTTL}, nil
}
