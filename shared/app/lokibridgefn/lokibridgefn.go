// Package lokibridgefn wires the Loki-compatible S3 bridge: its credentials,
// its archive bucket and its queue. It needs no table and links no
// destination sender.
package lokibridgefn

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/lokibridge"
	"github.com/logstream/logstream/shared/lokibridge/s3archive"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/topology"
)

// Config is what the bridge reads from its environment.
type Config struct {
	ArchiveBucket string
	// QueueURL is the bridge queue's, where small pushes wait for the Loki
	// archiver.
	QueueURL string
	// CredentialsSecretARN (deployments) or Credentials (local development)
	// hold the basic-auth credentials document.
	CredentialsSecretARN string
	Credentials          string
	// S3PathStyle addresses the bucket in the path, for S3-compatible
	// endpoints without bucket host names.
	S3PathStyle bool
}

// LoadConfig reads the variables topology gives the bridge.
func LoadConfig(getenv app.Getenv) (Config, error) {
	v := &app.Vars{Getenv: getenv}
	c := Config{ArchiveBucket: v.String(topology.EnvArchiveBucket), QueueURL: v.String(topology.QueueURLEnv(topology.BridgeQueue)), CredentialsSecretARN: v.String(topology.EnvBridgeCredentialsSecretARN),
		Credentials: v.String(topology.EnvBridgeCredentials), S3PathStyle: v.Bool(topology.EnvS3PathStyle)}
	return c, v.Err
}

// Validate requires the bucket, the queue and exactly one source of
// credentials.
func (c Config) Validate() error {
	return app.FirstError(app.Required(c.ArchiveBucket, topology.EnvArchiveBucket), app.Required(c.QueueURL, topology.QueueURLEnv(topology.BridgeQueue)),
		app.ExactlyOne(c.CredentialsSecretARN, c.Credentials, topology.EnvBridgeCredentialsSecretARN, topology.EnvBridgeCredentials))
}

// New builds the bridge's handler. Its credentials are read once per cold
// start: after rotating the secret (add the new pair, move clients, drop the
// old), new environments pick it up.
func New(ctx context.Context, getenv app.Getenv) (app.HTTPHandler, error) {
	c, awsCfg, err := app.Setup(ctx, getenv, LoadConfig)
	if err != nil {
		return nil, err
	}
	doc := c.Credentials
	if c.CredentialsSecretARN != "" {
		out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.CredentialsSecretARN)})
		if err != nil {
			return nil, fmt.Errorf("read the bridge credentials secret: %w", err)
		}
		doc = aws.ToString(out.SecretString)
	}
	creds, err := lokibridge.ParseCredentials([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("config: bridge credentials: %w", err)
	}
	store, err := s3archive.New(awsCfg, s3archive.Options{Bucket: c.ArchiveBucket, UsePathStyle: c.S3PathStyle})
	if err != nil {
		return nil, err
	}
	queue, err := lokibridge.NewSQSQueue(awsCfg, c.QueueURL)
	if err != nil {
		return nil, err
	}
	h, err := lokibridge.New(lokibridge.Config{Store: store, Queue: queue, Credentials: creds, Limits: lokipush.DefaultLimits(), Log: app.Logger(),
		Metrics: app.Metrics(topology.FunctionLokiBridge, metrics.DetailOff)})
	if err != nil {
		return nil, err
	}
	return h.Handle, nil
}
