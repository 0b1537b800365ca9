package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"
)

// IfMatch reports whether an If-Match header value admits the current entity
// tag. An absent header admits anything. RFC 9110 §13.1.1: "*" matches any
// current representation; otherwise the list is compared with the strong
// comparison, so weak tags (W/"…") never match.
func IfMatch(header, etag string) bool {
	header = strings.TrimSpace(header)
	if header == "" || header == "*" {
		return true
	}
	for _, tag := range strings.Split(header, ",") {
		if strings.TrimSpace(tag) == etag {
			return true
		}
	}
	return false
}

// ErrPreconditionFailed is answered when If-Match names another version.
var ErrPreconditionFailed = &Error{Status: http.StatusPreconditionFailed, Code: "precondition_failed",
	Message: "the stream has changed since the version in If-Match; read it again and retry"}

// MergePatch applies an RFC 7396 JSON merge patch to a JSON object: members
// of the patch replace those of the document, null removes them, and objects
// merge recursively.
func MergePatch(doc, patch []byte) ([]byte, error) {
	var d, p any
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	// encoding/json would replace invalid UTF-8 with U+FFFD and the merged
	// document would pass every later check.
	if !utf8.Valid(patch) {
		return nil, errors.New("body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(patch))
	if err := dec.Decode(&p); err != nil || dec.More() {
		return nil, errors.New("body is not one JSON value")
	}
	if _, ok := p.(map[string]any); !ok {
		return nil, errors.New("a merge patch must be a JSON object")
	}
	return json.Marshal(merge(d, p))
}

func merge(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = merge(tm[k], v)
	}
	return tm
}
