// Package replayfn wires the replay function: replay jobs in the table,
// the event archive (read), every delivery queue (where replays go) and the
// PII hash keys (a replay masks as ingestion does). It opens no destination
// secret and writes nothing to the archive.
package replayfn

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/archivecfg"
	"github.com/logstream/logstream/shared/app/ingestfn"
	"github.com/logstream/logstream/shared/app/piikey"
	"github.com/logstream/logstream/shared/archivestore"
	"github.com/logstream/logstream/shared/queue"
	"github.com/logstream/logstream/shared/replay"
	"github.com/logstream/logstream/shared/replaystore"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/topology"
)

// Handler is the replay function's handler type: a job to run, or the
// schedule's event (anything else) for a tick (replay.Service.Handle).
type Handler = func(context.Context, json.RawMessage) error

// Config is what the replay function reads from its environment.
type Config struct {
	Table     string
	Archive   archivecfg.Config
	Lease     time.Duration
	QueueURLs map[string]string // destination type → delivery queue URL
	PIIKey    piikey.Config
}

// LoadConfig reads the variables topology gives the replay function.
func LoadConfig(getenv app.Getenv) (Config, error) {
	v := &app.Vars{Getenv: getenv}
	c := Config{Table: v.String(topology.EnvTable), Archive: archivecfg.Read(v),
		Lease:     v.Duration(topology.EnvReplayLease, topology.DefaultReplayLease),
		QueueURLs: ingestfn.QueueURLs(v), PIIKey: piikey.Read(v)}
	return c, v.Err
}

// Validate requires the table, the archive, a positive lease, every
// delivery queue and a PII key source.
func (c Config) Validate() error {
	if c.Lease <= 0 {
		return fmt.Errorf("config: %s must be positive", topology.EnvReplayLease)
	}
	return app.FirstError(app.Required(c.Table, topology.EnvTable), c.Archive.Validate(),
		ingestfn.ValidateQueues(c.QueueURLs), c.PIIKey.Validate())
}

// New builds the replay function's handler.
func New(ctx context.Context, getenv app.Getenv) (Handler, error) {
	c, awsCfg, err := app.Setup(ctx, getenv, LoadConfig)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg)
	bucket, err := archivestore.New(awsCfg, c.Archive.Bucket, c.Archive.S3PathStyle)
	if err != nil {
		return nil, err
	}
	keys, err := piikey.New(awsCfg, c.PIIKey)
	if err != nil {
		return nil, err
	}
	svc := &replay.Service{
		Jobs: replaystore.New(db, c.Table),
		// A job that ends frees its project's replay slot.
		Slots:   &replaystore.Slots{Client: db, Table: c.Table},
		Archive: bucket,
		Reader:  bucket,
		// A replay reads a stream's type, status, filters and masking
		// rules: no Sealer, so this function cannot open its secrets.
		Streams:   &store.Streams{Client: db, Table: c.Table},
		Publisher: &queue.Publisher{Client: sqs.NewFromConfig(awsCfg)},
		QueueURLs: c.QueueURLs,
		Keys:      keys,
		Retention: c.Archive.Retention,
		Settle:    c.Archive.Settle,
		Lease:     c.Lease,
		Log:       app.Logger(),
	}
	return svc.Handle, nil
}
