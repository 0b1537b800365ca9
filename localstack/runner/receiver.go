package runner

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
)

// receiverMaxBody caps what the receiver reads, before and after gunzip.
const receiverMaxBody = 10 << 20

// ReceiverLockedPath is a path of the receiver that takes only requests
// carrying ReceiverLockedToken (Authorization: Bearer …) and answers 401 to
// every other: a destination to park events at on purpose, and fix.
const (
	ReceiverLockedPath  = "/locked"
	ReceiverLockedToken = "let-me-in"
)

// NewReceiver returns a tiny HTTP destination for local delivery: it accepts
// any POST/PUT (on ReceiverLockedPath, only with its token), answers 204,
// and writes every received event to out as one compact JSON line. A body may be one JSON value, a JSON array (one line per
// element) or newline-delimited JSON, optionally gzip-encoded. Anything that is
// not JSON is written as one quoted JSON string per line so nothing is lost.
func NewReceiver(out io.Writer, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return &receiver{out: out, log: log}
}

type receiver struct {
	mu  sync.Mutex // one request's lines stay together
	out io.Writer
	log *slog.Logger
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == ReceiverLockedPath && r.Header.Get("Authorization") != "Bearer "+ReceiverLockedToken {
		http.Error(w, "this endpoint takes Authorization: Bearer "+ReceiverLockedToken, http.StatusUnauthorized)
		return
	}
	body, err := readReceiverBody(r)
	if err != nil {
		rc.log.Warn("receiver: unreadable body", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	lines := receivedLines(body)
	rc.mu.Lock()
	for _, l := range lines {
		_, _ = fmt.Fprintf(rc.out, "%s\n", l)
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func readReceiverBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = io.LimitReader(r.Body, receiverMaxBody+1)
	if strings.EqualFold(strings.TrimSpace(r.Header.Get("Content-Encoding")), "gzip") {
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		rd = io.LimitReader(zr, receiverMaxBody+1)
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	if len(b) > receiverMaxBody {
		return nil, fmt.Errorf("body larger than %d bytes", receiverMaxBody)
	}
	return b, nil
}

// receivedLines splits a body into one compact JSON document per event.
func receivedLines(body []byte) [][]byte {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	var arr []json.RawMessage
	if body[0] == '[' && json.Unmarshal(body, &arr) == nil {
		var lines [][]byte
		for _, el := range arr {
			lines = append(lines, compactJSON(el))
		}
		return lines
	}
	if json.Valid(body) {
		return [][]byte{compactJSON(body)}
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), receiverMaxBody)
	for sc.Scan() {
		l := bytes.TrimSpace(sc.Bytes())
		if len(l) == 0 {
			continue
		}
		if json.Valid(l) {
			lines = append(lines, compactJSON(l))
		} else {
			q, _ := json.Marshal(string(l))
			lines = append(lines, q)
		}
	}
	return lines
}

func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}
