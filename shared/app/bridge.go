package app

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/logstream/logstream/shared/bridge"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/topology"
)

// ValidateBridge requires what the Loki bridge needs: its bucket and exactly
// one source of credentials. It needs no table.
func (c Config) ValidateBridge() error {
	if c.ArchiveBucket == "" {
		return fmt.Errorf("config: %s is required", topology.EnvArchiveBucket)
	}
	if (c.BridgeCredentialsSecretARN == "") == (c.BridgeCredentials == "") {
		return fmt.Errorf("config: set exactly one of %s (deployments) and %s (local development)",
			topology.EnvBridgeCredentialsSecretARN, topology.EnvBridgeCredentials)
	}
	return nil
}

// LokiBridge builds the Loki-compatible S3 bridge's handler. Its credentials
// are read once per cold start: after rotating the secret (add the new pair,
// move clients, drop the old), new environments pick it up.
func LokiBridge(ctx context.Context, getenv Getenv) (HTTPHandler, error) {
	c, awsCfg, err := setup(ctx, getenv, Config.ValidateBridge)
	if err != nil {
		return nil, err
	}
	doc := c.BridgeCredentials
	if c.BridgeCredentialsSecretARN != "" {
		out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.BridgeCredentialsSecretARN)})
		if err != nil {
			return nil, fmt.Errorf("read the bridge credentials secret: %w", err)
		}
		doc = aws.ToString(out.SecretString)
	}
	creds, err := bridge.ParseCredentials([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("config: bridge credentials: %w", err)
	}
	store, err := bridge.NewS3Store(awsCfg, bridge.S3Options{Bucket: c.ArchiveBucket, UsePathStyle: c.S3PathStyle})
	if err != nil {
		return nil, err
	}
	h, err := bridge.New(bridge.Config{Store: store, Credentials: creds, Limits: lokipush.DefaultLimits(), Log: Logger()})
	if err != nil {
		return nil, err
	}
	return h.Handle, nil
}
