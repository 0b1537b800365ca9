// Package apifn wires the management API: API keys, streams with sealed
// secrets, lifecycle events through ingestion's own path, and the test
// route's senders.
package apifn

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/adminkey"
	"github.com/logstream/logstream/shared/app/deliverfn"
	"github.com/logstream/logstream/shared/app/ingestfn"
	"github.com/logstream/logstream/shared/app/pipeline"
	"github.com/logstream/logstream/shared/app/sealing"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/event"
	"github.com/logstream/logstream/shared/ingest"
	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/queue"
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
	// Senders shapes the test route's senders and the endpoint policy
	// destinations are validated against.
	Senders deliverfn.SenderConfig
	// QueueURLs are the delivery queues lifecycle events are published to.
	QueueURLs map[string]string
}

// LoadConfig reads the variables topology gives the API.
func LoadConfig(getenv app.Getenv) (Config, error) {
	v := &app.Vars{Getenv: getenv}
	c := Config{Table: v.String(topology.EnvTable), AdminKey: adminkey.Read(v),
		MaxStreams: v.Positive(topology.EnvMaxStreams, topology.DefaultMaxStreams), Sealing: sealing.Read(v),
		Senders: deliverfn.ReadSenderConfig(v), QueueURLs: ingestfn.QueueURLs(v)}
	return c, v.Err
}

// Validate requires the table, an admin key source, a sealing key, a positive
// delivery timeout and a queue for every destination type.
func (c Config) Validate() error {
	return app.FirstError(
		app.Required(c.Table, topology.EnvTable),
		c.Senders.Validate(),
		c.AdminKey.Validate(),
		c.Sealing.Validate(),
		ingestfn.ValidateQueues(c.QueueURLs),
	)
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
	clients := deliverfn.NewClients(awsCfg, c.Senders)
	senders := map[string]deliver.Sender{}
	for _, p := range pipeline.All() {
		senders[p.Type] = p.Sender(clients)
	}
	log := app.Logger()
	a := &manage.API{
		Auth:         auth,
		Keys:         keys,
		MaxStreams:   c.MaxStreams,
		Streams:      streams,
		HealthReader: streams,
		Senders:      senders,
		// Lifecycle events go through ingestion's own path; no stream cache,
		// so a change is seen by the very next event.
		Events: &ingest.Service{
			Streams:   &store.Streams{Client: db, Table: c.Table},
			Publisher: &queue.Publisher{Client: sqs.NewFromConfig(awsCfg)},
			QueueURLs: c.QueueURLs,
			Limits:    event.DefaultLimits,
			Log:       log,
		},
		Validator: stream.Validator{Net: netguard.Policy{AllowPrivate: c.Senders.AllowPrivateEndpoints}},
		Log:       log,
	}
	return a.Handle, nil
}
