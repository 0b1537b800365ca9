// Package lokiarchiverfn wires the Loki archiver: the bridge queue's small
// pushes into the bridge's bucket, a tenant's hour of each batch as one
// object (shared/lokibridge/coalesce, shared/lokibridge/s3archive). It reads
// no table and no secret, and links nothing of the bridge's HTTP side.
package lokiarchiverfn

import (
	"context"

	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/lokibridge/coalesce"
	"github.com/logstream/logstream/shared/lokibridge/s3archive"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/topology"
)

// Config is what the Loki archiver reads from its environment.
type Config struct {
	ArchiveBucket string
	S3PathStyle   bool
}

// LoadConfig reads the variables topology gives the Loki archiver.
func LoadConfig(getenv app.Getenv) (Config, error) {
	v := &app.Vars{Getenv: getenv}
	c := Config{ArchiveBucket: v.String(topology.EnvArchiveBucket), S3PathStyle: v.Bool(topology.EnvS3PathStyle)}
	return c, v.Err
}

// Validate requires the bucket.
func (c Config) Validate() error { return app.Required(c.ArchiveBucket, topology.EnvArchiveBucket) }

// New builds the Loki archiver's handler.
func New(ctx context.Context, getenv app.Getenv) (app.SQSHandler, error) {
	c, awsCfg, err := app.Setup(ctx, getenv, LoadConfig)
	if err != nil {
		return nil, err
	}
	store, err := s3archive.New(awsCfg, s3archive.Options{Bucket: c.ArchiveBucket, UsePathStyle: c.S3PathStyle})
	if err != nil {
		return nil, err
	}
	w := &coalesce.Writer{Store: store, Log: app.Logger(), Metrics: app.Metrics(topology.FunctionLokiArchiver, metrics.DetailOff)}
	return w.Handle, nil
}
