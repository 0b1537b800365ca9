// Package deadlettersfn wires the dead-letter function: the dead-letter
// store in the table, every destination type's DLQ (drained into the store)
// and delivery queue (where redrives go). It links no sender and opens no
// destination secret: a redrive only needs a stream's type and status.
package deadlettersfn

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/dlqueue"
	"github.com/logstream/logstream/shared/dlstore"
	"github.com/logstream/logstream/shared/queue"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/topology"
)

// Handler is the dead-letter function's handler type: a job to run, or the
// schedule's event (anything else) for a tick (deadletter.Service.Handle).
type Handler = func(context.Context, json.RawMessage) error

// Config is what the dead-letter function reads from its environment.
type Config struct {
	Table     string
	Retention time.Duration
	// Lease is how long a job's worker holds it between checkpoints.
	Lease     time.Duration
	DLQURLs   map[string]string // destination type → DLQ URL
	QueueURLs map[string]string // destination type → delivery queue URL
}

// LoadConfig reads the variables topology gives the dead-letter function.
func LoadConfig(getenv app.Getenv) (Config, error) {
	v := &app.Vars{Getenv: getenv}
	c := Config{Table: v.String(topology.EnvTable),
		Retention: v.Duration(topology.EnvDeadLetterRetention, topology.DefaultDeadLetterRetention),
		Lease:     v.Duration(topology.EnvDeadLetterLease, topology.DefaultDeadLetterLease),
		DLQURLs:   map[string]string{}, QueueURLs: map[string]string{}}
	for _, d := range destination.Types() {
		if u := v.String(topology.DLQURLEnv(d)); u != "" {
			c.DLQURLs[d] = u
		}
		if u := v.String(topology.QueueURLEnv(d)); u != "" {
			c.QueueURLs[d] = u
		}
	}
	return c, v.Err
}

// Validate requires the table, a positive retention and lease, and every destination
// type's DLQ and delivery queue: a DLQ left out would never be drained, and
// its events never reach the store, with nothing to say so.
func (c Config) Validate() error {
	if err := app.Required(c.Table, topology.EnvTable); err != nil {
		return err
	}
	if c.Retention <= 0 {
		return fmt.Errorf("config: %s must be positive", topology.EnvDeadLetterRetention)
	}
	if c.Lease <= 0 {
		return fmt.Errorf("config: %s must be positive", topology.EnvDeadLetterLease)
	}
	for _, d := range destination.Types() {
		if err := app.FirstError(app.Required(c.DLQURLs[d], topology.DLQURLEnv(d)), app.Required(c.QueueURLs[d], topology.QueueURLEnv(d))); err != nil {
			return err
		}
	}
	return nil
}

// New builds the dead-letter function's handler.
func New(ctx context.Context, getenv app.Getenv) (Handler, error) {
	c, awsCfg, err := app.Setup(ctx, getenv, LoadConfig)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg)
	q := sqs.NewFromConfig(awsCfg)
	// The table's TTL attribute: the store marks what a crash could orphan
	// (events, guards) for DynamoDB to delete in the end.
	letters := &dlstore.DeadLetters{Client: db, Table: c.Table, TTLAttribute: topology.TableTTLAttribute}
	svc := &deadletter.Service{
		Letters:  letters,
		Jobs:     letters,
		Counters: letters,
		// A redrive reads a stream's type and status only: no Sealer, so
		// this function cannot open a destination's secrets.
		Streams:   &store.Streams{Client: db, Table: c.Table},
		Redriver:  &dlqueue.Redriver{Publisher: &queue.Publisher{Client: q}, QueueURLs: c.QueueURLs},
		DLQ:       &dlqueue.DLQ{Client: q},
		DLQURLs:   c.DLQURLs,
		Retention: c.Retention,
		Lease:     c.Lease,
		Log:       app.Logger(),
	}
	return svc.Handle, nil
}
