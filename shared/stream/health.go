package stream

import "time"

// Health is a stream's delivery record, kept by the delivery functions
// (store.Streams.RecordDelivery and RecordFailure) and answered by the API's
// health route.
type Health struct {
	DeliveredEvents int64      `json:"delivered_events"`
	FailedEvents    int64      `json:"failed_events"`
	LastSuccessAt   *time.Time `json:"last_success_at"`
	LastError       *string    `json:"last_error"`
	LastErrorAt     *time.Time `json:"last_error_at"`
}
