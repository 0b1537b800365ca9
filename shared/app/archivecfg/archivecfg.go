// Package archivecfg reads where the event archive is and how long it keeps
// events: the variables the API (which sizes replays) and the replay
// function (which runs them) share.
package archivecfg

import (
	"fmt"
	"time"

	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/topology"
)

// Config is the event archive as a function sees it.
type Config struct {
	Bucket      string
	S3PathStyle bool
	// Retention is how long the archive keeps events; Settle how long after
	// an hour its events may still be arriving in it.
	Retention time.Duration
	Settle    time.Duration
}

// Read reads the event archive's variables.
func Read(v *app.Vars) Config {
	return Config{Bucket: v.String(topology.EnvEventArchiveBucket), S3PathStyle: v.Bool(topology.EnvS3PathStyle),
		Retention: v.Duration(topology.EnvArchiveRetention, topology.DefaultArchiveRetention),
		Settle:    v.Duration(topology.EnvArchiveSettle, topology.DefaultArchiveSettle)}
}

// Validate requires the bucket and a positive retention and settle time.
func (c Config) Validate() error {
	if c.Retention <= 0 || c.Settle <= 0 {
		return fmt.Errorf("config: %s and %s must be positive", topology.EnvArchiveRetention, topology.EnvArchiveSettle)
	}
	return app.Required(c.Bucket, topology.EnvEventArchiveBucket)
}
