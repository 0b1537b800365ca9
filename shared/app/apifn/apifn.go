// Package apifn wires the management API: API keys, streams with sealed
// secrets, lifecycle events through ingestion's own path, and the test route,
// which invokes the stream's type's delivery function (it links no sender).
package apifn

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/adminkey"
	"github.com/logstream/logstream/shared/app/archivecfg"
	"github.com/logstream/logstream/shared/app/ingestfn"
	"github.com/logstream/logstream/shared/app/piikey"
	"github.com/logstream/logstream/shared/app/sealing"
	"github.com/logstream/logstream/shared/archivestore"
	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/dlstore"
	"github.com/logstream/logstream/shared/ingest"
	"github.com/logstream/logstream/shared/invoke"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/notice"
	"github.com/logstream/logstream/shared/pii"
	"github.com/logstream/logstream/shared/queue"
	"github.com/logstream/logstream/shared/replay"
	"github.com/logstream/logstream/shared/replaystore"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
)

// Config is what the API reads from its environment.
type Config struct {
	Table      string
	AdminKey   adminkey.Config
	MaxStreams int
	Sealing    sealing.Config
	// PIIKey derives the hash keys of the streams lifecycle and test
	// events are masked for.
	PIIKey piikey.Config
	// AllowPrivateEndpoints is the local-development switch destinations
	// are validated against: plain http and private addresses.
	AllowPrivateEndpoints bool
	// QueueURLs are the delivery queues lifecycle events are published to.
	QueueURLs map[string]string
	// DLQURLs are every type's DLQ, whose depth operators read beside its
	// queue's (manage.RouteQueueDepths).
	DLQURLs map[string]string
	// DeliverFunctions name each destination type's delivery function, which
	// sends the test route's event.
	DeliverFunctions map[string]string
	// DeadLettersFunction is the dead-letter function, invoked
	// asynchronously to start a redrive or purge job; Retention is how long
	// a dead letter is kept (its summaries' expiry times).
	DeadLettersFunction string
	Retention           time.Duration
	// LambdaEndpoint is AWS_ENDPOINT_URL_LAMBDA (app.Endpoint), nil in AWS.
	LambdaEndpoint *string
	// Suspension is the delivery functions' suspension policy, which the
	// health route shows (suspends_at).
	Suspension stream.SuspensionPolicy
	// Archive is the event archive the replay routes size windows from
	// (listing only), and ReplayFunction the function that runs replays.
	Archive        archivecfg.Config
	ReplayFunction string
	MaxReplays     int
	// StreamCacheTTL is how long ingestion takes to see a new or enabled
	// stream: a backfill runs until then.
	StreamCacheTTL time.Duration
}

// LoadConfig reads the variables topology gives the API.
func LoadConfig(getenv app.Getenv) (Config, error) {
	v := &app.Vars{Getenv: getenv}
	c := Config{Table: v.String(topology.EnvTable), AdminKey: adminkey.Read(v),
		MaxStreams: v.Positive(topology.EnvMaxStreams, topology.DefaultMaxStreams), Sealing: sealing.Read(v), PIIKey: piikey.Read(v),
		AllowPrivateEndpoints: v.Bool(topology.EnvAllowPrivateEndpoints), QueueURLs: ingestfn.QueueURLs(v),
		DeliverFunctions: map[string]string{}, DLQURLs: map[string]string{}, LambdaEndpoint: app.Endpoint(getenv, "LAMBDA"),
		DeadLettersFunction: v.String(topology.EnvDeadLettersFunction),
		Retention:           v.Duration(topology.EnvDeadLetterRetention, topology.DefaultDeadLetterRetention),
		Suspension: stream.SuspensionPolicy{After: v.Duration(topology.EnvSuspendAfter, topology.DefaultSuspendAfter),
			AfterPermanent: v.Count(topology.EnvSuspendAfterPermanent, topology.DefaultSuspendAfterPermanent)},
		Archive: archivecfg.Read(v), ReplayFunction: v.String(topology.EnvReplayFunction),
		MaxReplays:     v.Positive(topology.EnvMaxReplays, topology.DefaultMaxReplays),
		StreamCacheTTL: v.Duration(topology.EnvStreamCacheTTL, topology.DefaultStreamCacheTTL)}
	for _, d := range destination.Types() {
		if u := v.String(topology.DLQURLEnv(d)); u != "" {
			c.DLQURLs[d] = u
		}
		if name := v.String(topology.DeliverFunctionEnv(d)); name != "" {
			c.DeliverFunctions[d] = name
		}
	}
	return c, v.Err
}

// Validate requires the table, an admin key source, a sealing key, and a
// queue, a DLQ and a delivery function for every destination type.
func (c Config) Validate() error {
	return app.FirstError(
		app.Required(c.Table, topology.EnvTable),
		c.AdminKey.Validate(),
		c.Sealing.Validate(),
		c.PIIKey.Validate(),
		ingestfn.ValidateQueues(c.QueueURLs),
		validateDLQs(c.DLQURLs),
		validateFunctions(c.DeliverFunctions),
		c.Archive.Validate(),
	)
}

func validateDLQs(urls map[string]string) error {
	for _, d := range destination.Types() {
		if err := app.Required(urls[d], topology.DLQURLEnv(d)); err != nil {
			return err
		}
	}
	return nil
}

func validateFunctions(names map[string]string) error {
	for _, d := range destination.Types() {
		if names[d] == "" {
			return fmt.Errorf("config: %s is required", topology.DeliverFunctionEnv(d))
		}
	}
	return nil
}

// New builds the management API handler.
func New(ctx context.Context, getenv app.Getenv) (app.HTTPHandler, error) {
	c, awsCfg, err := app.Setup(ctx, getenv, LoadConfig)
	if err != nil {
		return nil, err
	}
	seal, err := sealing.New(awsCfg, c.Sealing)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg)
	keys := &store.Keys{Client: db, Table: c.Table}
	auth, err := adminkey.New(ctx, awsCfg, c.AdminKey, keys)
	if err != nil {
		return nil, err
	}
	streams := &store.Streams{Client: db, Table: c.Table, Sealer: seal}
	log := app.Logger()
	sqsClient := sqs.NewFromConfig(awsCfg)
	queues := map[string]manage.Queues{}
	for _, d := range destination.Types() {
		queues[d] = manage.Queues{URL: c.QueueURLs[d], DLQURL: c.DLQURLs[d]}
	}
	lambdaClient := lambda.NewFromConfig(awsCfg, func(o *lambda.Options) {
		if c.LambdaEndpoint != nil {
			o.BaseEndpoint = c.LambdaEndpoint
		}
	})
	dl := &dlstore.DeadLetters{Client: db, Table: c.Table, TTLAttribute: topology.TableTTLAttribute}
	deadLetters := &deadletter.Service{Letters: dl, Jobs: dl, Counters: dl, Retention: c.Retention, Log: log}
	if c.DeadLettersFunction != "" {
		deadLetters.Starter = &invoke.Starter{Client: lambdaClient, Function: c.DeadLettersFunction}
	}
	bucket, err := archivestore.New(awsCfg, c.Archive.Bucket, c.Archive.S3PathStyle)
	if err != nil {
		return nil, err
	}
	// The API sizes replays from the archive's listing and stores their
	// jobs; the replay function reads the archive and runs them.
	replays := &replay.Service{Jobs: replaystore.New(db, c.Table), Slots: &replaystore.Slots{Client: db, Table: c.Table}, Archive: bucket, Streams: streams,
		Retention: c.Archive.Retention, Settle: c.Archive.Settle, MaxActive: c.MaxReplays, Log: log}
	if c.ReplayFunction != "" {
		replays.Starter = &invoke.Starter{Client: lambdaClient, Function: c.ReplayFunction}
	}
	// Lifecycle events go through ingestion's own path; no stream cache,
	// so a change is seen by the very next event.
	piiKeys, err := piikey.New(awsCfg, c.PIIKey)
	if err != nil {
		return nil, err
	}
	lifecycle := &ingest.Service{
		Keys:      piiKeys,
		Streams:   &store.Streams{Client: db, Table: c.Table},
		Publisher: &queue.Publisher{Client: sqsClient},
		QueueURLs: c.QueueURLs,
		Limits:    logevent.DefaultLimits,
		Log:       log,
	}
	a := &manage.API{
		DeadLetters:  deadLetters,
		Auth:         auth,
		Keys:         keys,
		MaxStreams:   c.MaxStreams,
		Streams:      streams,
		HealthReader: streams,
		Projects:     streams,
		Tester:       &invoke.Tester{Client: lambdaClient, Functions: c.DeliverFunctions},
		Masker:       &pii.StreamMasker{Keys: piiKeys},
		Depths:       &queue.Depths{Client: sqsClient},
		Queues:       queues,
		Events:       lifecycle,
		// Enabling a suspended stream ends its failure run and tells of it:
		// into the project's flow, and to the operator on the account's
		// default bus.
		Notify:     notice.All{&notice.Lifecycle{Events: lifecycle}, &notice.Operator{Client: eventbridge.NewFromConfig(awsCfg)}},
		Failures:   streams,
		Suspension: c.Suspension,
		Validator:  stream.Validator{Net: netguard.Policy{AllowPrivate: c.AllowPrivateEndpoints}},
		Log:        log,
		Replays:    replays,
		LiveAfter:  c.StreamCacheTTL,
	}
	return a.Handle, nil
}
