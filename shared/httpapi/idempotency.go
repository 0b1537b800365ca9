package httpapi

import (
	"fmt"
	"net/http"
)

// IdempotencyHeader names the request header that makes a retried request
// do only what the earlier attempt did not: an ingest, a replay.
const IdempotencyHeader = "Idempotency-Key"

// A key is 8 to 256 characters of [A-Za-z0-9._:-]: room for a UUID, a ULID
// or a "job:batch" name, and short and plain enough to sit in a DynamoDB key
// and a log line. The minimum keeps a counter ("1", "2") from being mistaken
// for a key shared with another client of the project.
const (
	minIdempotencyKey = 8
	maxIdempotencyKey = 256
)

// CheckIdempotencyKey refuses a malformed Idempotency-Key (400
// invalid_idempotency_key); "" (no key) is not one.
func CheckIdempotencyKey(key string) error {
	if key == "" {
		return nil
	}
	ok := len(key) >= minIdempotencyKey && len(key) <= maxIdempotencyKey
	for i := 0; ok && i < len(key); i++ {
		c := key[i]
		ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
	}
	if !ok {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_idempotency_key", Field: IdempotencyHeader,
			Message: fmt.Sprintf("%s must be %d to %d characters of letters, digits, '-', '_', '.' and ':' (a UUID is a good key)",
				IdempotencyHeader, minIdempotencyKey, maxIdempotencyKey)}
	}
	return nil
}
