package lokipush

import (
	"errors"
	"fmt"
	"net/http"
)

// The classes of Parse's errors; test them with errors.Is and answer them
// with StatusOf. An error's text is the message for the client, worded as
// Loki words it where Loki has the same check.
var (
	// ErrTooLarge: the body, its decoded form, a line or the number of
	// entries is over a limit (413).
	ErrTooLarge = errors.New("lokipush: push request over a limit")
	// ErrUnsupportedMediaType: a Content-Type or Content-Encoding Parse
	// does not read (415).
	ErrUnsupportedMediaType = errors.New("lokipush: unsupported media type")
	// ErrBadRequest: a malformed body, label set or Content-Type (400).
	ErrBadRequest = errors.New("lokipush: malformed push request")
)

// Loki's own messages, where Parse makes the same check (Loki v3.5.3).
const (
	// pkg/util/http.go, messageSizeLargerErrFmt.
	msgMessageTooLarge = "received message larger than max (%d vs %d)"
	// pkg/loghttp/push/push.go, ParseLokiRequest.
	msgEncodingNotSupported = "Content-Encoding %q not supported"
	msgCouldNotParseLabels  = "couldn't parse labels: "
	// pkg/distributor/http.go logs a body it cannot parse with this prefix;
	// Parse puts it on the message, which Loki sends bare ("unexpected EOF").
	msgBadPush = "couldn't parse push request: "
	// pkg/validation/validate.go.
	msgLineTooLong    = "Max entry size '%d' bytes exceeded for stream '%s' while adding an entry with length '%d' bytes"
	msgMissingLabels  = "error at least one label pair is required per stream"
	msgDuplicateLabel = "stream '%s' has duplicate label name: '%s'"
)

// parseError is an error of one class, with the client's message as its text
// and, when there is one, the error that caused it.
type parseError struct {
	class error
	msg   string
	cause error
}

func (e *parseError) Error() string { return e.msg }

// Unwrap lets errors.Is match both the class and the cause.
func (e *parseError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.class}
	}
	return []error{e.class, e.cause}
}

func tooLarge(format string, args ...any) error {
	return &parseError{class: ErrTooLarge, msg: fmt.Sprintf(format, args...)}
}

func unsupported(format string, args ...any) error {
	return &parseError{class: ErrUnsupportedMediaType, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return &parseError{class: ErrBadRequest, msg: fmt.Sprintf(format, args...)}
}

// malformed is a 400 whose message is prefix and cause's text, as Loki
// answers a body its decoders refuse (err.Error() at pkg/distributor/http.go).
func malformed(prefix string, cause error) error {
	return &parseError{class: ErrBadRequest, msg: prefix + cause.Error(), cause: cause}
}

// StatusOf is the HTTP status a push endpoint answers for err: 204 for nil
// (what Loki answers a push it took), 413, 415 or 400 for Parse's errors, and
// 500 for any error Parse did not classify.
//
// Loki itself answers 400 for every parse error (pkg/distributor/http.go);
// the 413 and 415 follow RFC 9110 §15.5.14 and §15.5.16 so a client can
// tell "too big, split it" and "wrong format" from "broken".
func StatusOf(err error) int {
	switch {
	case err == nil:
		return http.StatusNoContent
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnsupportedMediaType):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}
