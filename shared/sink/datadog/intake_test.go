package datadog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// intake is a stand-in for Datadog's log intake that checks a request the
// way Send logs documents it and answers in Datadog's shape. What the real
// service would take but silently damage (a log over 1 MB, which it
// truncates) fails the test instead.
type intake struct {
	t   *testing.T
	key string

	mu       sync.Mutex
	requests int
	bodies   [][]byte                     // decompressed, as sent
	logs     []map[string]json.RawMessage // every accepted entry
}

func newIntake(t *testing.T, key string) (*intake, *httptest.Server) {
	in := &intake{t: t, key: key}
	srv := httptest.NewServer(in)
	t.Cleanup(srv.Close)
	return in, srv
}

// ddError answers the way Datadog's intake does (HTTPLogErrors).
func ddError(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{
		"status": fmt.Sprint(status), "title": http.StatusText(status), "detail": detail,
	}}})
}

func (in *intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in.mu.Lock()
	in.requests++
	in.mu.Unlock()
	if r.Method != http.MethodPost {
		ddError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if r.URL.Path != "/api/v2/logs" {
		ddError(w, http.StatusNotFound, "not found")
		return
	}
	if r.URL.RawQuery != "" {
		in.t.Errorf("query %q: logstream sends none", r.URL.RawQuery)
	}
	switch key := r.Header.Get("DD-API-KEY"); {
	case key == "":
		ddError(w, http.StatusUnauthorized, "API key is missing")
		return
	case key != in.key:
		ddError(w, http.StatusForbidden, "Forbidden")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		ddError(w, http.StatusBadRequest, "unsupported content type "+ct)
		return
	}
	if ua := r.Header.Get("User-Agent"); ua != "logstream/test" {
		in.t.Errorf("User-Agent %q", ua)
	}
	if r.Header.Get("Content-Encoding") != "gzip" {
		in.t.Errorf("Content-Encoding %q, want gzip", r.Header.Get("Content-Encoding"))
		ddError(w, http.StatusBadRequest, "expected gzip")
		return
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		ddError(w, http.StatusBadRequest, "invalid gzip body")
		return
	}
	// 5 MB uncompressed per payload: read one byte more to see an excess.
	body, err := io.ReadAll(io.LimitReader(zr, maxPayloadBytes+1))
	if err != nil {
		ddError(w, http.StatusBadRequest, "invalid gzip body")
		return
	}
	if len(body) > maxPayloadBytes {
		ddError(w, http.StatusRequestEntityTooLarge, "payload is above 5MB uncompressed")
		return
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(body, &entries); err != nil {
		ddError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	if len(entries) > maxEntries {
		ddError(w, http.StatusRequestEntityTooLarge, "more than 1000 logs in the array")
		return
	}
	logs := make([]map[string]json.RawMessage, 0, len(entries))
	for i, e := range entries {
		if len(e) > maxLogBytes {
			in.t.Errorf("log %d is %d bytes: Datadog would truncate it to 1MB", i, len(e))
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(e, &m); err != nil {
			ddError(w, http.StatusBadRequest, fmt.Sprintf("log %d is not an object", i))
			return
		}
		if err := entryContract(e, m); err != nil {
			in.t.Errorf("log %d: %v: %s", i, err, e)
		}
		logs = append(logs, m)
	}
	in.mu.Lock()
	in.bodies = append(in.bodies, body)
	in.logs = append(in.logs, logs...)
	in.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, "{}")
}

// entryContract checks one log entry: no repeated member names, a string
// message (HTTPLogItem's one required field), string ddsource, service,
// ddtags and hostname when present, and the envelope logstream always sets.
func entryContract(raw json.RawMessage, m map[string]json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.Token() // {
	seen := map[string]bool{}
	for dec.More() {
		k, _ := dec.Token()
		if seen[k.(string)] {
			return fmt.Errorf("member %q repeated", k)
		}
		seen[k.(string)] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	for _, name := range []string{"message", "ddsource", "service"} {
		if _, ok := m[name]; !ok {
			return fmt.Errorf("no %s", name)
		}
	}
	if m["hostname"] == nil && m["host"] == nil {
		return fmt.Errorf("no hostname")
	}
	for _, name := range []string{"message", "ddsource", "service", "ddtags", "hostname"} {
		if v, ok := m[name]; ok {
			var s string
			if json.Unmarshal(v, &s) != nil {
				return fmt.Errorf("%s is not a string: %s", name, v)
			}
		}
	}
	return nil
}

func (in *intake) got() (requests int, logs []map[string]json.RawMessage, bodies [][]byte) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.requests, append([]map[string]json.RawMessage(nil), in.logs...), append([][]byte(nil), in.bodies...)
}
