// Package ingestfn wires the ingestion function: API keys, stream routing
// from the table and the delivery queues. It links no destination sender and
// cannot open a destination's secrets.
package ingestfn

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/adminkey"
	"github.com/logstream/logstream/shared/app/piikey"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/ingest"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/queue"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/topology"
)

// Config is what ingestion reads from its environment.
type Config struct {
	Table          string
	StreamCacheTTL time.Duration
	AdminKey       adminkey.Config
	QueueURLs      map[string]string // destination type → delivery queue URL
	// ArchiveURL is the archive queue's URL: every accepted event goes
	// there too (shared/eventarchive).
	ArchiveURL string
	PIIKey     piikey.Config // derives the streams' hash keys: masking runs here
	// MetricsDetail adds each project's metric lines (opt-in).
	MetricsDetail metrics.Detail
}

// LoadConfig reads the variables topology gives ingestion.
func LoadConfig(getenv app.Getenv) (Config, error) {
	v := &app.Vars{Getenv: getenv}
	c := Config{Table: v.String(topology.EnvTable), StreamCacheTTL: v.Duration(topology.EnvStreamCacheTTL, topology.DefaultStreamCacheTTL),
		AdminKey: adminkey.Read(v), QueueURLs: QueueURLs(v), ArchiveURL: v.String(topology.QueueURLEnv(topology.ArchiveQueue)), PIIKey: piikey.Read(v),
		MetricsDetail: v.MetricsDetail()}
	return c, v.Err
}

// QueueURLs reads the delivery queue URL of every destination type that has
// one set.
func QueueURLs(v *app.Vars) map[string]string {
	urls := map[string]string{}
	for _, d := range destination.Types() {
		if u := v.String(topology.QueueURLEnv(d)); u != "" {
			urls[d] = u
		}
	}
	return urls
}

// Validate requires the table, an admin key source, a queue for every
// destination type and the archive queue: without it events would be
// accepted that no replay could ever find.
func (c Config) Validate() error {
	return app.FirstError(app.Required(c.Table, topology.EnvTable), c.AdminKey.Validate(), ValidateQueues(c.QueueURLs),
		app.Required(c.ArchiveURL, topology.QueueURLEnv(topology.ArchiveQueue)), c.PIIKey.Validate())
}

// ValidateQueues requires a queue URL for every destination type.
func ValidateQueues(urls map[string]string) error {
	for _, d := range destination.Types() {
		if err := app.Required(urls[d], topology.QueueURLEnv(d)); err != nil {
			return err
		}
	}
	return nil
}

// New builds the ingestion handler.
func New(ctx context.Context, getenv app.Getenv) (app.HTTPHandler, error) {
	c, awsCfg, err := app.Setup(ctx, getenv, LoadConfig)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg)
	auth, err := adminkey.New(ctx, awsCfg, c.AdminKey, &store.Keys{Client: db, Table: c.Table})
	if err != nil {
		return nil, err
	}
	piiKeys, err := piikey.New(awsCfg, c.PIIKey)
	if err != nil {
		return nil, err
	}
	s := &ingest.Service{
		Keys:       piiKeys,
		Auth:       auth,
		Streams:    &store.Streams{Client: db, Table: c.Table}, // routing only: no secrets
		Publisher:  &queue.Publisher{Client: sqs.NewFromConfig(awsCfg)},
		QueueURLs:  c.QueueURLs,
		ArchiveURL: c.ArchiveURL,
		Limits:     logevent.DefaultLimits,
		CacheTTL:   c.StreamCacheTTL,
		Attempts:   Attempts{&store.Attempts{Client: db, Table: c.Table}},
		Log:        app.Logger(),
		Metrics:    app.Metrics(topology.FunctionIngest, c.MetricsDetail),
	}
	return s.Handle, nil
}

// Attempts is store.Attempts as ingest.Attempts: the store speaks its own
// type so that the functions which link it and do not ingest (delivery, dead
// letters) do not link ingestion.
type Attempts struct{ Store *store.Attempts }

var _ ingest.Attempts = Attempts{}

// Get reads the key's attempt.
func (a Attempts) Get(ctx context.Context, projectID, key string) (ingest.Attempt, bool, error) {
	r, ok, err := a.Store.Get(ctx, projectID, key)
	return ingest.Attempt{BodyHash: r.BodyHash, StartedAt: r.StartedAt, ExpiresAt: r.ExpiresAt, Sent: r.Sent, Done: r.Done,
		Result: ingest.Result{Accepted: r.Accepted, Streams: r.Streams, Messages: r.Messages, Filtered: r.Filtered}}, ok, err
}

// Put writes the key's attempt.
func (a Attempts) Put(ctx context.Context, projectID, key string, at ingest.Attempt) error {
	return a.Store.Put(ctx, projectID, key, store.Attempt{BodyHash: at.BodyHash, StartedAt: at.StartedAt, ExpiresAt: at.ExpiresAt,
		Sent: at.Sent, Done: at.Done, Accepted: at.Result.Accepted, Streams: at.Result.Streams, Messages: at.Result.Messages,
		Filtered: at.Result.Filtered})
}
