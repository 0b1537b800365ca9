// Package replaystore keeps replay jobs (replay.Jobs) in the streams table,
// through shared/jobstore:
//
//	pk RPJOB#<project>   sk <job id>             a replay job
//	pk RPJOBS            sk <project>#<job id>   a replay job not yet final
package replaystore

import (
	"encoding/json"
	"time"

	"github.com/logstream/logstream/shared/jobstore"
	"github.com/logstream/logstream/shared/replay"
)

// doc is a job as stored: its API fields and the worker's.
type doc struct {
	replay.Job
	Cursor     replay.Cursor `json:"cursor"`
	LeaseUntil time.Time     `json:"lease_until"`
	Failures   int           `json:"failures,omitempty"`
	Key        string        `json:"key,omitempty"`
}

var kind = jobstore.Kind[replay.Job]{
	Prefix: "RPJOB#", Active: "RPJOBS",
	Key:     func(j replay.Job) (string, string) { return j.ProjectID, j.ID },
	Final:   func(j replay.Job) bool { return j.State.Final() },
	Created: func(j replay.Job) time.Time { return j.CreatedAt },
	Version: func(j *replay.Job) *int64 { return &j.Version },
	Encode: func(j replay.Job) ([]byte, error) {
		return json.Marshal(doc{Job: j, Cursor: j.Cursor, LeaseUntil: j.LeaseUntil, Failures: j.Failures, Key: j.Key})
	},
	Decode: func(b []byte) (replay.Job, error) {
		var d doc
		if err := json.Unmarshal(b, &d); err != nil {
			return replay.Job{}, err
		}
		j := d.Job
		j.Cursor, j.LeaseUntil, j.Failures, j.Key = d.Cursor, d.LeaseUntil, d.Failures, d.Key
		return j, nil
	},
	ErrExists: replay.ErrJobExists, ErrNotFound: replay.ErrJobNotFound, ErrConflict: replay.ErrJobConflict,
}

// New returns the replay jobs in table.
func New(client jobstore.API, table string) *jobstore.Store[replay.Job] {
	return &jobstore.Store[replay.Job]{Client: client, Table: table, Kind: kind}
}

var _ replay.Jobs = (*jobstore.Store[replay.Job])(nil)
