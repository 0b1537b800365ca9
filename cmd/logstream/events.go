package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/logstream/logstream/shared/ingest"
)

// sendAttempts is how often events send tries one request: a 429, a 5xx
// (503 enqueue_failed: SQS took part of it) or no answer is tried again
// with the same Idempotency-Key, so what was queued is not queued twice.
const sendAttempts = 3

// maxDecodedEvents is the most the ingestion API reads of a request after
// decompression (event.DefaultLimits.MaxDecodedBytes, 32 MiB).
const maxDecodedEvents = 32 << 20

func eventsSend(fs *flag.FlagSet) action {
	compress := fs.Bool("gzip", false, "compress the body with gzip (Content-Encoding: gzip)")
	file := fs.String("file", "", "read the events from `FILE`, or from stdin with -")
	idemKey := fs.String("idempotency-key", "", "send `KEY` as the Idempotency-Key (default: a new one for this send); "+
		"give the key a failed send printed to finish it without queueing twice")
	return func(ctx context.Context, s *session, args []string) error {
		name := *file
		switch {
		case len(args) == 1 && name != "":
			return usagef("give the events either FILE or --file, not both")
		case len(args) == 1:
			name = args[0]
		case name == "":
			return usagef("events send needs the events: a FILE, - for stdin, or --file")
		}
		in, err := s.readInput("FILE", name)
		if err != nil {
			return err
		}
		body, contentType, encoding, err := eventsBody(in, *compress)
		if err != nil {
			return usagef("%s: %v", displayName(name), err)
		}
		h := http.Header{"Content-Type": {contentType}}
		if encoding != "" {
			h.Set("Content-Encoding", encoding)
		}
		// One key per logical request, the same on every attempt: the API
		// then queues only what an earlier attempt did not.
		key := *idemKey
		if key == "" {
			key = "cli-" + uuid.NewString()
		}
		h.Set(ingest.IdempotencyHeader, key)
		path := "/v1/projects/" + url.PathEscape(s.project) + "/events"
		var resp *response
		for attempt := 1; ; attempt++ {
			resp, err = s.api.do(ctx, request{method: http.MethodPost, path: path, header: h, body: body})
			if err == nil || !transient(err) || attempt == sendAttempts {
				break
			}
			fmt.Fprintf(s.stderr, "note: %v; trying again with the same Idempotency-Key (attempt %d of %d)\n", err, attempt+1, sendAttempts)
			if werr := s.wait(ctx, time.Duration(attempt)*time.Second); werr != nil {
				break
			}
		}
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusRequestEntityTooLarge && encoding == "" {
			return hinted{err, "split the events into smaller files, or send them with --gzip"}
		}
		if err != nil && transient(err) {
			return hinted{err, fmt.Sprintf("send the same events again with --idempotency-key %s within 24 h: only what was not queued is queued", key)}
		}
		if err != nil {
			return err
		}
		var r ingest.Result
		if err := json.Unmarshal(resp.body, &r); err != nil {
			return fmt.Errorf("read the ingestion result: %w", err)
		}
		if s.json {
			err = s.printRaw(resp.body)
		} else {
			err = table(s.stdout, []string{"ACCEPTED", "STREAMS", "MESSAGES"},
				[]string{strconv.Itoa(r.Accepted), strconv.Itoa(r.Streams), strconv.Itoa(r.Messages)})
		}
		if err == nil && r.Streams == 0 {
			fmt.Fprintln(s.stderr, "note: the project has no active stream, so these events went nowhere")
		}
		return err
	}
}

// eventsBody prepares the request body and picks its Content-Type from the
// content, as the API reads it: a body starting with "[" is a JSON array
// (application/json), anything else NDJSON, one object a line
// (application/x-ndjson). One JSON object spread over several lines is
// compacted to one line, or the API would read each line as an event. A
// gzip file is sent as it is, with Content-Encoding: gzip.
func eventsBody(in []byte, compress bool) (body []byte, contentType, encoding string, err error) {
	plain := in
	gzipped := len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b // RFC 1952 §2.3.1 magic
	if gzipped {
		zr, err := gzip.NewReader(bytes.NewReader(in))
		if err != nil {
			return nil, "", "", fmt.Errorf("not valid gzip: %w", err)
		}
		plain, err = io.ReadAll(io.LimitReader(zr, maxDecodedEvents+1))
		if err != nil {
			return nil, "", "", fmt.Errorf("not valid gzip: %w", err)
		}
		if len(plain) > maxDecodedEvents {
			return nil, "", "", fmt.Errorf("decompressed, more than the %d bytes the API accepts a request; split it", maxDecodedEvents)
		}
	}
	t := bytes.TrimLeft(plain, " \t\r\n\ufeff")
	switch {
	case len(t) == 0:
		return nil, "", "", errors.New("no events: the input is empty")
	case t[0] == '[':
		contentType = "application/json"
	case t[0] == '{':
		contentType = "application/x-ndjson"
		if !gzipped && bytes.ContainsAny(bytes.TrimSpace(t), "\r\n") && json.Valid(t) {
			var b bytes.Buffer
			if err := json.Compact(&b, t); err == nil {
				in = b.Bytes()
			}
		}
	default:
		return nil, "", "", errors.New("neither a JSON array of events nor NDJSON (one JSON object a line)")
	}
	if gzipped {
		return in, contentType, "gzip", nil
	}
	if !compress {
		return in, contentType, "", nil
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(in); err != nil {
		return nil, "", "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", "", err
	}
	return b.Bytes(), contentType, "gzip", nil
}
