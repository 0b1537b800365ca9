package deadletter

import (
	"encoding/json"
	"time"
)

// Summary is a project's dead letters by stream, reason and age, as they
// stand now: letters past their expiry are left out (the sweep removes and
// counts them, ExpiredEvents).
type Summary struct {
	ProjectID string `json:"project_id"`
	Events    int    `json:"events"`
	Letters   int    `json:"letters"`
	// Reasons are the project's dead letters by reason, across its streams.
	Reasons []ReasonSummary `json:"reasons"`
	// Age counts events by how long ago they were parked.
	Age AgeSummary `json:"age"`
	// ExpiringWithin24h counts events that expire in the next 24 hours.
	ExpiringWithin24h int `json:"expiring_within_24h"`
	// ExpiredEvents counts the events that expired unredriven, ever.
	ExpiredEvents int64           `json:"expired_events"`
	RetentionDays float64         `json:"retention_days"`
	Streams       []StreamSummary `json:"streams"`
}

// StreamSummary is one stream's share of a Summary.
type StreamSummary struct {
	StreamID        string          `json:"stream_id"`
	DestinationType string          `json:"destination_type"`
	Events          int             `json:"events"`
	Letters         int             `json:"letters"`
	Reasons         []ReasonSummary `json:"reasons"`
	ExpiredEvents   int64           `json:"expired_events"`
}

// ReasonSummary counts the dead letters of one reason.
type ReasonSummary struct {
	Reason   Reason    `json:"reason"`
	Events   int       `json:"events"`
	Letters  int       `json:"letters"`
	OldestAt time.Time `json:"oldest_at"`
	NewestAt time.Time `json:"newest_at"`
}

// AgeSummary counts events by the age of their parking.
type AgeSummary struct {
	Under1h  int `json:"under_1h"`
	Under24h int `json:"1h_to_24h"`
	Under7d  int `json:"1d_to_7d"`
	Over7d   int `json:"over_7d"`
}

// PeekedEvent is one dead event with what is known of its parking.
type PeekedEvent struct {
	LetterID        string          `json:"letter_id"`
	StreamID        string          `json:"stream_id"`
	DestinationType string          `json:"destination_type"`
	Reason          Reason          `json:"reason"`
	Error           string          `json:"error"`
	ReceiveCount    int             `json:"receive_count"`
	ParkedAt        time.Time       `json:"parked_at"`
	ExpiresAt       time.Time       `json:"expires_at"`
	Event           json.RawMessage `json:"event"`
}

// Page is a page of peeked events.
type Page struct {
	Data       []PeekedEvent `json:"data"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// JobRequest is the body of a redrive or purge request.
type JobRequest struct {
	Filter Filter `json:"filter"`
	DryRun bool   `json:"dry_run"`
	// Rate is a redrive's bound in events per second (nil: DefaultRate;
	// 1 to MaxRate); a purge has none. A pointer, so that 0 is refused
	// rather than taken for "the default".
	Rate *int `json:"rate,omitempty"`
}

// JobList is a project's jobs, newest first.
type JobList struct {
	Data []Job `json:"data"`
}

// Waiting is what enabling a stream tells of its dead letters: how many
// events wait, and the redrive it started if asked to.
type Waiting struct {
	Events  int  `json:"events"`
	Letters int  `json:"letters"`
	Redrive *Job `json:"redrive_job,omitempty"`
}

// Overview is the operators' view: the dead letters of every destination
// type and every project. (What sits in each SQS DLQ right now, not yet
// drained into the store, the API adds.)
type Overview struct {
	Events   int           `json:"events"`
	Types    []TypeSummary `json:"types"`
	Projects []Summary     `json:"projects"`
}

// TypeSummary counts one destination type's dead letters across projects.
type TypeSummary struct {
	DestinationType string `json:"destination_type"`
	Events          int    `json:"events"`
	Letters         int    `json:"letters"`
	Projects        int    `json:"projects"`
}
