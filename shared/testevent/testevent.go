// Package testevent is the wire format of the test route's call from the API
// to a delivery function: the invocation payload that names the stream and
// carries the synthetic event, and the destination's verdict the function
// answers. It imports nothing of logstream's, so the API links it without
// linking a sender, and a delivery function without linking the API.
//
// The payload carries no secret: the delivery function loads the stream (and
// opens its secrets) itself.
package testevent

import "encoding/json"

// Member is the payload's one top-level member, which tells a test
// invocation apart from the SQS event a delivery function is otherwise
// invoked with (whose one member is "Records").
const Member = "logstream_test"

// Payload is what the API invokes a delivery function with.
type Payload struct {
	Test *Request `json:"logstream_test"`
}

// Request names the stream to test and carries the event to send it.
type Request struct {
	ProjectID string `json:"project_id"`
	StreamID  string `json:"stream_id"`
	// Version is the stream's version the API read; the function refuses to
	// test an older one (a read that has not caught up with an update).
	Version int64 `json:"version,omitempty"`
	// Event is the synthetic event, one JSON object.
	Event json.RawMessage `json:"event"`
}

// Result is the destination's verdict on the test event: the function's
// answer, and the test route's (manage.TestResult).
type Result struct {
	OK         bool   `json:"ok"`
	StatusCode int    `json:"status_code,omitempty"`
	Message    string `json:"message"`
}
