// Package archiverfn wires the archiver: the archive queue's messages into
// the event archive's bucket (shared/eventarchive, shared/archivestore). It
// reads no table, opens no secret and masks nothing: it stores what
// ingestion accepted, as received.
package archiverfn

import (
	"context"

	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/archivestore"
	"github.com/logstream/logstream/shared/eventarchive"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/topology"
)

// Config is what the archiver reads from its environment.
type Config struct {
	Bucket      string
	S3PathStyle bool
}

// LoadConfig reads the variables topology gives the archiver.
func LoadConfig(getenv app.Getenv) (Config, error) {
	v := &app.Vars{Getenv: getenv}
	c := Config{Bucket: v.String(topology.EnvEventArchiveBucket), S3PathStyle: v.Bool(topology.EnvS3PathStyle)}
	return c, v.Err
}

// Validate requires the bucket.
func (c Config) Validate() error { return app.Required(c.Bucket, topology.EnvEventArchiveBucket) }

// New builds the archiver's handler.
func New(ctx context.Context, getenv app.Getenv) (app.SQSHandler, error) {
	c, awsCfg, err := app.Setup(ctx, getenv, LoadConfig)
	if err != nil {
		return nil, err
	}
	bucket, err := archivestore.New(awsCfg, c.Bucket, c.S3PathStyle)
	if err != nil {
		return nil, err
	}
	w := &eventarchive.Writer{Store: bucket, Log: app.Logger(), Metrics: app.Metrics(topology.FunctionArchiver, metrics.DetailOff)}
	return w.Handle, nil
}
