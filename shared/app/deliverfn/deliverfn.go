// Package deliverfn wires a delivery function: the delivery core of one
// destination type, with that type's own sender (a Pipeline) and no other.
// Each destination type's Pipeline lives in its own package
// (shared/app/pipeline/<type>), so a delivery function links its own sender
// and its own AWS client only.
package deliverfn

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/piikey"
	"github.com/logstream/logstream/shared/app/sealing"
	"github.com/logstream/logstream/shared/deliver"
	desttype "github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/ingest"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/notice"
	"github.com/logstream/logstream/shared/queue"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
)

// Pipeline is one destination type's sender and the limits it sends within.
type Pipeline struct {
	Type   string // the destination type, one of topology.Destinations
	Limits deliver.Limits
	// Sender builds the sender from the function's clients. An AWS
	// destination builds its own AWS client here, and no other.
	Sender func(Clients) deliver.Sender
}

// SenderConfig is what shapes the clients senders are built from.
type SenderConfig struct {
	DeliveryTimeout time.Duration
	// AllowPrivateEndpoints is the local-development switch: plain http and
	// private, loopback and link-local destinations. Off in every deployment.
	AllowPrivateEndpoints bool
	// S3PathStyle addresses S3 buckets in the path, for S3-compatible
	// endpoints without bucket host names.
	S3PathStyle bool
}

// ReadSenderConfig reads the variables that shape the senders.
func ReadSenderConfig(v *app.Vars) SenderConfig {
	return SenderConfig{DeliveryTimeout: v.Duration(topology.EnvDeliveryTimeout, topology.DefaultDeliveryTimeout),
		AllowPrivateEndpoints: v.Bool(topology.EnvAllowPrivateEndpoints), S3PathStyle: v.Bool(topology.EnvS3PathStyle)}
}

// Validate requires a positive delivery timeout.
func (c SenderConfig) Validate() error {
	if c.DeliveryTimeout <= 0 {
		return fmt.Errorf("config: %s must be positive", topology.EnvDeliveryTimeout)
	}
	return nil
}

// Clients are what a sender is built from. Building them makes no AWS client.
type Clients struct {
	// HTTP enforces the outbound address policy and the delivery timeout.
	HTTP      *http.Client
	UserAgent string
	// AWS is the function's AWS configuration for senders: its timeout, one
	// quick retry in the SDK (the delivery core's backoff does the rest), and
	// a transport that lets the test route report the status of a success.
	AWS         aws.Config
	S3PathStyle bool
}

// NewClients builds the clients senders are built from.
func NewClients(awsCfg aws.Config, c SenderConfig) Clients {
	awsCfg = awsCfg.Copy()
	awsCfg.HTTPClient = sink.StatusRecordingClient{Client: awshttp.NewBuildableClient().WithTimeout(c.DeliveryTimeout)}
	awsCfg.RetryMaxAttempts = 2
	return Clients{HTTP: netguard.Policy{AllowPrivate: c.AllowPrivateEndpoints}.Client(c.DeliveryTimeout),
		UserAgent: app.UserAgent, AWS: awsCfg, S3PathStyle: c.S3PathStyle}
}

// Config is what a delivery function reads from its environment.
type Config struct {
	Destination    string
	Table          string
	StreamCacheTTL time.Duration
	Senders        SenderConfig
	Sealing        sealing.Config
	PIIKey         piikey.Config // masks the suspension notices
	// QueueURL is the function's own queue, to delay retries; DLQURL its
	// dead-letter queue, to park what cannot be delivered.
	QueueURL, DLQURL string
	// RetryBase and RetryMax shape the delay before a failed delivery is
	// retried (deliver.Backoff).
	RetryBase, RetryMax time.Duration
	// MaxReceiveCount is the queue's maxReceiveCount: on a message's last
	// receive the core parks what it cannot deliver, with the reason
	// (deliver.Core.MaxReceives).
	MaxReceiveCount int
	// Suspension is when a stream that keeps failing is suspended.
	Suspension stream.SuspensionPolicy
	// QueueURLs are every type's delivery queue, where the lifecycle event
	// of a suspension is published (the project's flow).
	QueueURLs map[string]string
	// MetricsDetail adds each project's (and stream's) metric lines
	// (opt-in).
	MetricsDetail metrics.Detail
}

// LoadConfig reads the variables topology gives destination's function.
func LoadConfig(getenv app.Getenv, destination string) (Config, error) {
	v := &app.Vars{Getenv: getenv}
	c := Config{
		Destination:    destination,
		Table:          v.String(topology.EnvTable),
		StreamCacheTTL: v.Duration(topology.EnvStreamCacheTTL, topology.DefaultStreamCacheTTL),
		Senders:        ReadSenderConfig(v),
		Sealing:        sealing.Read(v),
		PIIKey:         piikey.Read(v),
		QueueURL:       v.String(topology.QueueURLEnv(destination)),
		DLQURL:         v.String(topology.DLQURLEnv(destination)),
		RetryBase:      v.Duration(topology.EnvRetryBase, topology.DefaultRetryBase),
		RetryMax:       v.Duration(topology.EnvRetryMax, topology.DefaultRetryMax),
		// Unset is 0, which Validate refuses.
		MaxReceiveCount: v.Positive(topology.EnvMaxReceiveCount, 0),
		Suspension: stream.SuspensionPolicy{After: v.Duration(topology.EnvSuspendAfter, topology.DefaultSuspendAfter),
			AfterPermanent: v.Count(topology.EnvSuspendAfterPermanent, topology.DefaultSuspendAfterPermanent)},
		QueueURLs:     map[string]string{},
		MetricsDetail: v.MetricsDetail(),
	}
	for _, d := range desttype.Types() {
		if u := v.String(topology.QueueURLEnv(d)); u != "" {
			c.QueueURLs[d] = u
		}
	}
	return c, v.Err
}

// Validate requires the table, a positive timeout, a sealing key, the
// function's queue and DLQ with its maxReceiveCount, and a backoff that
// grows.
func (c Config) Validate() error {
	if c.RetryMax < c.RetryBase {
		return fmt.Errorf("config: %s must be at least %s", topology.EnvRetryMax, topology.EnvRetryBase)
	}
	return app.FirstError(
		app.Required(c.Table, topology.EnvTable),
		c.Senders.Validate(),
		c.Sealing.Validate(),
		c.PIIKey.Validate(),
		app.Required(c.QueueURL, topology.QueueURLEnv(c.Destination)),
		app.Required(c.DLQURL, topology.DLQURLEnv(c.Destination)),
		c.requireMaxReceiveCount(),
	)
}

// requireMaxReceiveCount refuses an unset maxReceiveCount (LoadConfig reads
// it as 0): the core would leave every exhausted message to SQS redrive,
// which records no reason.
func (c Config) requireMaxReceiveCount() error {
	if c.MaxReceiveCount < 1 {
		return fmt.Errorf("config: %s is required (the delivery queue's maxReceiveCount)", topology.EnvMaxReceiveCount)
	}
	return nil
}

// New builds the delivery handler of p's destination type: its delivery
// core, and the Tester that serves the API's test route with the same
// sender.
func New(ctx context.Context, getenv app.Getenv, p Pipeline) (func(context.Context, Invocation) (any, error), error) {
	c, awsCfg, err := app.Setup(ctx, getenv, func(getenv app.Getenv) (Config, error) { return LoadConfig(getenv, p.Type) })
	if err != nil {
		return nil, err
	}
	seal, err := sealing.New(awsCfg, c.Sealing)
	if err != nil {
		return nil, err
	}
	ddb := dynamodb.NewFromConfig(awsCfg)
	streams := &store.Streams{Client: ddb, Table: c.Table, Sealer: seal}
	sender := p.Sender(NewClients(awsCfg, c.Senders))
	log := app.Logger().With("destination_type", p.Type)
	sqsClient := sqs.NewFromConfig(awsCfg)
	q := &queue.Redelivery{Client: sqsClient, QueueURL: c.QueueURL, DLQURL: c.DLQURL}
	// A suspension is told into the project's flow through ingestion's own
	// path (no stream cache: the suspended stream is already left out),
	// and to the operator on the account's default event bus.
	piiKeys, err := piikey.New(awsCfg, c.PIIKey)
	if err != nil {
		return nil, err
	}
	notify := notice.All{
		&notice.Lifecycle{Events: &ingest.Service{Streams: streams, Publisher: &queue.Publisher{Client: sqsClient},
			QueueURLs: c.QueueURLs, Limits: logevent.DefaultLimits, Log: log, Keys: piiKeys}},
		&notice.Operator{Client: eventbridge.NewFromConfig(awsCfg)},
	}
	h := &Handler{
		Core: &deliver.Core{
			Streams: streams,
			Health:  streams,
			Suspend: streams,
			// Suspends a stream that keeps failing, and tells of it.
			Suspension: c.Suspension,
			Notify:     notify,
			Sender:     sender,
			Limits:     p.Limits,
			Queue:      q,
			// What a destination accepted of a message is never sent
			// again: the rest goes back as a new message (issue 12).
			Requeue: q,
			// On the last receive the core parks with the reason; SQS
			// redrive only moves what a crash left.
			MaxReceives: c.MaxReceiveCount,
			Backoff:     deliver.Backoff{Base: c.RetryBase, Max: c.RetryMax},
			// A dead endpoint costs three slow invocations among all the
			// function's containers, then a probe per open period on the
			// retry schedule, shorter while it keeps timing out (issue 11).
			Breaker: &deliver.Breaker{Base: c.RetryBase, Max: c.RetryMax, MaxProbeTimeout: c.Senders.DeliveryTimeout,
				Shared: &store.Circuits{Client: ddb, Table: c.Table}},
			// One request at the full timeout and room for the rest: a
			// slow stream retries what it could not send in time, and
			// never holds the invocation for the others.
			StreamTimeout:   2 * c.Senders.DeliveryTimeout,
			CacheTTL:        c.StreamCacheTTL,
			Log:             log,
			Metrics:         app.Metrics(topology.DeliverFunctionID(p.Type), c.MetricsDetail),
			DestinationType: p.Type,
		},
		// store.Streams itself, not the core's cache: Get is a consistent
		// read.
		Test: &Tester{Type: p.Type, Streams: streams, Sender: sender, Log: log},
	}
	return h.Handle, nil
}
