package splunk

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// The contract receiver: an httptest server that checks each request the
// way Splunk's HTTP Event Collector does and answers with HEC's own bodies
// (Splunk, "Troubleshoot HTTP Event Collector" → possible error codes).

const token = "5f0e1c7a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"

// envelope is one decoded HEC event envelope.
type envelope map[string]json.RawMessage

func (e envelope) str(key string) string {
	var s string
	_ = json.Unmarshal(e[key], &s)
	return s
}

// hecRequest is what the collector accepted from one request.
type hecRequest struct {
	header    http.Header
	body      []byte // decompressed
	envelopes []envelope
}

// hec is a fake HTTP Event Collector.
type hec struct {
	t *testing.T
	// indexes the token may write to; an envelope naming another is refused
	// with code 7. The token's default index is always allowed.
	indexes map[string]bool
	// ack is a token with indexer acknowledgement: a channel is required.
	ack bool

	mu       sync.Mutex
	accepted []hecRequest
	requests int
}

// envelopeKeys are the keys of the JSON event protocol ("Format events for
// HTTP Event Collector" → event metadata). HEC ignores others, so an unknown
// key is a bug on our side, reported by the test rather than by an answer.
var envelopeKeys = map[string]bool{"time": true, "host": true, "source": true, "sourcetype": true, "index": true, "event": true, "fields": true}

func newHEC(t *testing.T) (*hec, *httptest.Server) {
	t.Helper()
	h := &hec{t: t, indexes: map[string]bool{"auth": true, "main": true}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func answer(w http.ResponseWriter, status int, text string, code int, extra ...any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	body := fmt.Sprintf(`{"text":%q,"code":%d`, text, code)
	if len(extra) == 1 {
		body += fmt.Sprintf(`,"invalid-event-number":%d`, extra[0])
	}
	io.WriteString(w, body+"}")
}

func (h *hec) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := h.t
	h.mu.Lock()
	h.requests++
	h.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/services/collector/event" || r.URL.RawQuery != "" {
		t.Errorf("request %s %s, want POST /services/collector/event", r.Method, r.URL)
		http.NotFound(w, r)
		return
	}
	auth := r.Header.Get("Authorization")
	switch {
	case auth == "":
		answer(w, http.StatusUnauthorized, "Token is required", 2)
		return
	case !strings.HasPrefix(auth, "Splunk "):
		answer(w, http.StatusUnauthorized, "Invalid authorization", 3)
		return
	case strings.TrimPrefix(auth, "Splunk ") != token:
		answer(w, http.StatusForbidden, "Invalid token", 4)
		return
	}
	channel := r.Header.Get("X-Splunk-Request-Channel")
	if channel == "" && h.ack {
		answer(w, http.StatusBadRequest, "Data channel is missing", 10)
		return
	}
	if _, err := uuid.Parse(channel); channel != "" && err != nil {
		answer(w, http.StatusBadRequest, "Invalid data channel", 11)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "logstream/") {
		t.Errorf("User-Agent %q", ua)
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "gzip" {
		t.Errorf("Content-Encoding %q, want gzip", ce)
	}

	// max_content_length, checked on the wire and after decompression.
	wire, _ := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	zr, err := gzip.NewReader(bytes.NewReader(wire))
	if err != nil {
		answer(w, http.StatusBadRequest, "Invalid data format", 6)
		return
	}
	body, err := io.ReadAll(io.LimitReader(zr, MaxRequestBytes+1))
	if err != nil {
		answer(w, http.StatusBadRequest, "Invalid data format", 6)
		return
	}
	if len(wire) > MaxRequestBytes || len(body) > MaxRequestBytes {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		fmt.Fprintf(w, "Content-Length of %d too large (maximum is %d)", len(body), MaxRequestBytes)
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		answer(w, http.StatusBadRequest, "No data", 5)
		return
	}

	var envs []envelope
	dec := json.NewDecoder(bytes.NewReader(body))
	for n := 0; ; n++ {
		var e envelope
		if err := dec.Decode(&e); err == io.EOF {
			break
		} else if err != nil {
			answer(w, http.StatusBadRequest, "Invalid data format", 6, n)
			return
		}
		ev, ok := e["event"]
		if !ok {
			answer(w, http.StatusBadRequest, "Event field is required", 12, n)
			return
		}
		if s := string(bytes.TrimSpace(ev)); s == `""` || s == "null" {
			answer(w, http.StatusBadRequest, "Event field cannot be blank", 13, n)
			return
		}
		if tm, ok := e["time"]; ok {
			var num json.Number
			if json.Unmarshal(tm, &num) != nil || tm[0] == '"' {
				answer(w, http.StatusBadRequest, "Invalid data format", 6, n)
				return
			}
		}
		if _, ok := e["index"]; ok && !h.indexes[e.str("index")] {
			answer(w, http.StatusBadRequest, "Incorrect index", 7, n)
			return
		}
		for k := range e {
			if !envelopeKeys[k] {
				t.Errorf("envelope %d has key %q, not one of HEC's", n, k)
			}
		}
		// logstream's side of the contract: the event is the stored object.
		var obj map[string]any
		if err := json.Unmarshal(ev, &obj); err != nil || obj["event_id"] == nil {
			t.Errorf("envelope %d: event is not an object with an event_id: %.80s", n, ev)
		}
		envs = append(envs, e)
	}
	if len(envs) > Limits.MaxEvents {
		t.Errorf("%d events in one request, over Limits.MaxEvents %d", len(envs), Limits.MaxEvents)
	}
	h.mu.Lock()
	h.accepted = append(h.accepted, hecRequest{header: r.Header.Clone(), body: body, envelopes: envs})
	h.mu.Unlock()
	answer(w, http.StatusOK, "Success", 0)
}

func (h *hec) got() (accepted []hecRequest, requests int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hecRequest(nil), h.accepted...), h.requests
}

// envelopesOf lists the envelopes of every accepted request.
func envelopesOf(reqs []hecRequest) []envelope {
	var out []envelope
	for _, r := range reqs {
		out = append(out, r.envelopes...)
	}
	return out
}
