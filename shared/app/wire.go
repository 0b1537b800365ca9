package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/event"
	"github.com/logstream/logstream/shared/ingest"
	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/queue"
	"github.com/logstream/logstream/shared/secret"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/sink/datadog"
	"github.com/logstream/logstream/shared/sink/eventbridge"
	"github.com/logstream/logstream/shared/sink/loki"
	"github.com/logstream/logstream/shared/sink/s3archive"
	"github.com/logstream/logstream/shared/sink/splunk"
	"github.com/logstream/logstream/shared/sink/webhook"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
)

// userAgent identifies logstream to receivers.
const userAgent = "logstream/0.1 (+https://github.com/logstream/logstream)"

// Logger is the functions' logger: Lambda's JSON log format with the request
// id of the invocation in every line (aws-lambda-go's lambdacontext handler).
func Logger() *slog.Logger { return lambdacontext.NewLogger() }

// loadAWS builds the AWS configuration once per cold start. Endpoints come
// from AWS_ENDPOINT_URL_* in the process environment, as the SDK reads them.
func loadAWS(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}

// setup reads and checks the configuration, then loads the AWS configuration:
// the first steps of every function's cold start.
func setup(ctx context.Context, getenv Getenv, validate func(Config) error) (Config, aws.Config, error) {
	c, err := LoadConfig(getenv)
	if err == nil {
		err = validate(c)
	}
	if err != nil {
		return Config{}, aws.Config{}, err
	}
	awsCfg, err := loadAWS(ctx)
	return c, awsCfg, err
}

// minAdminKeyLength keeps the bootstrap key as unguessable as the keys it
// creates: it is compared by hash, so its entropy is all that protects it.
const minAdminKeyLength = 32

// authenticator builds the API key check. The admin key is read once per cold
// start: after rotating the secret, the functions use the new key as their
// environments are replaced.
func authenticator(ctx context.Context, awsCfg aws.Config, c Config) (*apikey.Authenticator, *apikey.Store, error) {
	admin := c.AdminKey
	if c.AdminKeySecretARN != "" {
		out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.AdminKeySecretARN)})
		if err != nil {
			return nil, nil, fmt.Errorf("read the admin key secret: %w", err)
		}
		admin = aws.ToString(out.SecretString)
	}
	if len(admin) < minAdminKeyLength {
		return nil, nil, fmt.Errorf("config: the admin key must be at least %d characters", minAdminKeyLength)
	}
	keys := &apikey.Store{Client: dynamodb.NewFromConfig(awsCfg), Table: c.Table}
	return &apikey.Authenticator{Keys: keys, AdminKeyHash: apikey.HashKey(admin), CacheTTL: c.AuthCacheTTL}, keys, nil
}

// sealer builds what seals destination secrets: KMS envelope encryption in
// deployments, a local key in development.
func sealer(awsCfg aws.Config, c Config) (store.Sealer, error) {
	if c.KMSKeyID != "" {
		return secret.NewKMS(kms.NewFromConfig(awsCfg), c.KMSKeyID)
	}
	return secret.NewLocal(c.LocalSecretKey)
}

func streamsStore(awsCfg aws.Config, c Config, s store.Sealer) *store.Streams {
	return &store.Streams{Client: dynamodb.NewFromConfig(awsCfg), Table: c.Table, Sealer: s}
}

// pipeline is one destination type's sender and the limits it sends within.
type pipeline struct {
	sender deliver.Sender
	limits deliver.Limits
}

// pipelines are the destination senders, by destination type. HTTP senders
// get a client that enforces the outbound address policy and the timeout;
// the AWS ones use the function's own credentials (or a role the stream
// names) and take their endpoints from the AWS configuration.
func pipelines(awsCfg aws.Config, c Config) map[string]pipeline {
	client := netguard.Policy{AllowPrivate: c.AllowPrivateEndpoints}.Client(c.DeliveryTimeout)
	awsCfg = awsCfg.Copy()
	// The wrapper lets the test route report the status of a success.
	awsCfg.HTTPClient = sink.StatusRecordingClient{Client: awshttp.NewBuildableClient().WithTimeout(c.DeliveryTimeout)}
	// One quick retry in the SDK; the delivery core's backoff does the rest.
	awsCfg.RetryMaxAttempts = 2
	s3 := s3archive.New(awsCfg)
	s3.UsePathStyle = c.S3PathStyle
	return map[string]pipeline{
		topology.DestinationDatadog:     {&datadog.Sender{Client: client, UserAgent: userAgent}, datadog.Limits},
		topology.DestinationGrafanaLoki: {&loki.Sender{Client: client, UserAgent: userAgent}, loki.Limits},
		topology.DestinationSplunkHEC:   {&splunk.Sender{Client: client, UserAgent: userAgent}, splunk.Limits},
		topology.DestinationHTTP:        {&webhook.Sender{Client: client, UserAgent: userAgent}, webhook.Limits},
		topology.DestinationEventBridge: {eventbridge.New(awsCfg), eventbridge.Limits},
		topology.DestinationS3:          {s3, s3archive.Limits},
	}
}

func senders(awsCfg aws.Config, c Config) map[string]deliver.Sender {
	out := map[string]deliver.Sender{}
	for typ, p := range pipelines(awsCfg, c) {
		out[typ] = p.sender
	}
	return out
}

// API builds the management API handler.
func API(ctx context.Context, getenv Getenv) (HTTPHandler, error) {
	c, awsCfg, err := setup(ctx, getenv, func(c Config) error { return errors.Join(c.ValidateIngest(), c.ValidateSealing()) })
	if err != nil {
		return nil, err
	}
	seal, err := sealer(awsCfg, c)
	if err != nil {
		return nil, err
	}
	auth, keys, err := authenticator(ctx, awsCfg, c)
	if err != nil {
		return nil, err
	}
	streams := streamsStore(awsCfg, c, seal)
	log := Logger()
	a := &manage.API{
		Auth:         auth,
		Keys:         keys,
		MaxStreams:   c.MaxStreams,
		Streams:      streams,
		HealthReader: streams,
		Senders:      senders(awsCfg, c),
		// Lifecycle events go through ingestion's own path; no stream cache,
		// so a change is seen by the very next event.
		Events: &ingest.Service{
			Streams:   streamsStore(awsCfg, c, nil),
			Publisher: &queue.Publisher{Client: sqs.NewFromConfig(awsCfg)},
			QueueURLs: c.QueueURLs,
			Limits:    event.DefaultLimits,
			Log:       log,
		},
		Validator: stream.Validator{Net: netguard.Policy{AllowPrivate: c.AllowPrivateEndpoints}},
		Log:       Logger(),
	}
	return a.Handle, nil
}

// Ingest builds the ingestion handler.
func Ingest(ctx context.Context, getenv Getenv) (HTTPHandler, error) {
	c, awsCfg, err := setup(ctx, getenv, Config.ValidateIngest)
	if err != nil {
		return nil, err
	}
	auth, _, err := authenticator(ctx, awsCfg, c)
	if err != nil {
		return nil, err
	}
	s := &ingest.Service{
		Auth:      auth,
		Streams:   streamsStore(awsCfg, c, nil), // routing only: no secrets
		Publisher: &queue.Publisher{Client: sqs.NewFromConfig(awsCfg)},
		QueueURLs: c.QueueURLs,
		Limits:    event.DefaultLimits,
		CacheTTL:  c.StreamCacheTTL,
		Log:       Logger(),
	}
	return s.Handle, nil
}

// Deliver builds the delivery handler of a destination type.
func Deliver(ctx context.Context, destination string, getenv Getenv) (SQSHandler, error) {
	c, awsCfg, err := setup(ctx, getenv, func(c Config) error { return c.ValidateDeliver(destination) })
	if err != nil {
		return nil, err
	}
	seal, err := sealer(awsCfg, c)
	if err != nil {
		return nil, err
	}
	p, ok := pipelines(awsCfg, c)[destination]
	if !ok {
		return nil, fmt.Errorf("app: no sender for destination type %q", destination)
	}
	streams := streamsStore(awsCfg, c, seal)
	core := &deliver.Core{
		Streams: streams,
		Health:  streams,
		Suspend: streams,
		Sender:  p.sender,
		Limits:  p.limits,
		Queue: &queue.Redelivery{Client: sqs.NewFromConfig(awsCfg),
			QueueURL: c.QueueURLs[destination], DLQURL: c.DLQURLs[destination]},
		Backoff:  deliver.Backoff{Base: c.RetryBase, Max: c.RetryMax},
		CacheTTL: c.StreamCacheTTL,
		Log:      Logger().With("destination_type", destination),
	}
	return core.Handle, nil
}

// The adapters the delivery core is wired with.
var (
	_ deliver.Queue     = (*queue.Redelivery)(nil)
	_ deliver.Suspender = (*store.Streams)(nil)
	_ deliver.Health    = (*store.Streams)(nil)
)
