package loki

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
)

// receiver is a Loki distributor behind an authenticating gateway, as far as
// a push client can tell: it decodes both push formats the way Loki's
// ParseLokiRequest does (pkg/loghttp/push/push.go), validates like its
// distributor with the default limits_config (pkg/distributor/validator.go),
// stores entries with Loki's de-duplication, and answers with Loki's status
// codes and texts. Anything a real Loki would take but logstream must never
// send (several streams, unsorted entries, a line that is not the event)
// fails the test.
type receiver struct {
	t *testing.T
	// Basic auth the gateway wants (Grafana Cloud: instance id and token);
	// empty for none.
	user, pass string
	// Tenant Loki runs with auth_enabled: true for; empty for single-tenant.
	tenant string
	// now is Loki's clock, for reject_old_samples_max_age and
	// creation_grace_period.
	now time.Time
	// noMetadata is limits_config.allow_structured_metadata: false.
	noMetadata bool
	// maxBody is the gateway's body limit (nginx client_max_body_size).
	maxBody int

	mu       sync.Mutex
	requests []received
	stored   map[string][]stored // by label string
}

// received is one request that reached the distributor.
type received struct {
	header  http.Header
	streams []push.Stream
	labels  []map[string]string // each stream's labels, parsed strictly
}

type stored struct {
	ts   time.Time
	line string
	meta map[string]string
}

// Loki's defaults (pkg/validation/limits.go).
const (
	defaultMaxLineSize        = 256 << 10 // max_line_size 256KB
	defaultMaxLabelNames      = 15        // max_label_names_per_series
	defaultMaxLabelValue      = 2048      // max_label_value_length
	defaultMaxLabelName       = 1024      // max_label_name_length
	defaultMaxMetadataSize    = 64 << 10  // max_structured_metadata_size 64kb
	defaultMaxMetadataEntries = 128       // max_structured_metadata_entries_count
	defaultGracePeriod        = 10 * time.Minute
	defaultMaxAge             = 7 * 24 * time.Hour // reject_old_samples_max_age 7d
	// The Loki Helm chart's gateway sets client_max_body_size 4M.
	gatewayMaxBody = 4 << 20
	// What the receiver decompresses at most; Loki's own bound is MaxInt32.
	maxDecoded = 64 << 20
)

var receiverNow = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

func newReceiver(t *testing.T, user, pass, tenant string) (*receiver, *httptest.Server) {
	t.Helper()
	r := &receiver{t: t, user: user, pass: pass, tenant: tenant, now: receiverNow, maxBody: gatewayMaxBody, stored: map[string][]stored{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

func (r *receiver) entries(labels string) []stored {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.stored[labels])
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	t := r.t
	if req.URL.Path != "/loki/api/v1/push" || req.URL.RawQuery != "" {
		t.Errorf("push to %s?%s, want /loki/api/v1/push", req.URL.Path, req.URL.RawQuery)
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	if req.Method != http.MethodPost {
		t.Errorf("method %s", req.Method)
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !strings.HasPrefix(req.Header.Get("User-Agent"), "logstream/") {
		t.Errorf("User-Agent %q", req.Header.Get("User-Agent"))
	}
	// The gateway: Grafana Cloud's answers to missing and wrong credentials.
	if r.user != "" {
		u, p, ok := req.BasicAuth()
		if !ok {
			http.Error(w, `{"status":"error","error":"no credentials provided"}`, http.StatusUnauthorized)
			return
		}
		if u != r.user || p != r.pass {
			http.Error(w, `{"status":"error","error":"authentication error: invalid token"}`, http.StatusUnauthorized)
			return
		}
	} else if req.Header.Get("Authorization") != "" {
		t.Errorf("Authorization sent to a Loki without credentials")
	}
	// Loki with auth_enabled: dskit's middleware.AuthenticateUser.
	if r.tenant != "" {
		org := req.Header.Get("X-Scope-OrgID")
		if org == "" {
			http.Error(w, "no org id", http.StatusUnauthorized)
			return
		}
		if org != r.tenant {
			t.Errorf("X-Scope-OrgID %q, want %q", org, r.tenant)
		}
	} else if v := req.Header.Get("X-Scope-OrgID"); v != "" {
		t.Errorf("X-Scope-OrgID %q without a tenant", v)
	}
	compressed, err := io.ReadAll(io.LimitReader(req.Body, int64(r.maxBody)+1))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if len(compressed) > r.maxBody {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		io.WriteString(w, "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
		return
	}

	// ParseLokiRequest.
	streams, labels, err := r.parse(req, compressed)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.requests = append(r.requests, received{header: req.Header.Clone(), streams: streams, labels: labels})
	r.mu.Unlock()
	r.checkContract(streams, labels)

	// Distributor.Push: validate, keep the valid entries, list the others.
	if len(streams) == 0 {
		http.Error(w, "error at least one valid stream is required for ingestion", http.StatusUnprocessableEntity)
		return
	}
	var errs []string
	for i, s := range streams {
		errs = append(errs, r.store(s, labels[i])...)
	}
	if len(errs) > 0 {
		http.Error(w, groupErrors(errs), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// parse decodes the body as ParseLokiRequest does: Content-Encoding first,
// then the body by Content-Type, protobuf unless application/json.
func (r *receiver) parse(req *http.Request, body []byte) ([]push.Stream, []map[string]string, error) {
	t := r.t
	var rd io.Reader = bytes.NewReader(body)
	switch enc := req.Header.Get("Content-Encoding"); enc {
	case "", "snappy":
	case "gzip":
		gz, err := gzip.NewReader(rd)
		if err != nil {
			return nil, nil, err
		}
		rd = gz
	case "deflate":
		rd = flate.NewReader(rd)
	default:
		return nil, nil, fmt.Errorf("Content-Encoding %q not supported", enc)
	}
	ct, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil {
		return nil, nil, err
	}
	if ct == "application/json" {
		if req.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("JSON push with Content-Encoding %q, want gzip", req.Header.Get("Content-Encoding"))
		}
		return r.parseJSON(rd)
	}
	if ct != "application/x-protobuf" || req.Header.Get("Content-Encoding") != "" {
		t.Errorf("protobuf push as %q / %q", req.Header.Get("Content-Type"), req.Header.Get("Content-Encoding"))
	}
	raw, err := io.ReadAll(rd)
	if err != nil {
		return nil, nil, err
	}
	// util.ParseProtoReader with RawSnappy: the decoded length is checked
	// before decoding. golang/snappy's Decode is what Loki runs; s2's
	// decoder accepts more (its extensions), so both must agree.
	n, err := snappy.DecodedLen(raw)
	if err != nil {
		return nil, nil, err
	}
	if n > maxDecoded {
		return nil, nil, fmt.Errorf("received message larger than max (%d vs %d)", n, maxDecoded)
	}
	strict, err := snappy.DecodeStrict(nil, raw)
	if err != nil {
		return nil, nil, err
	}
	loose, err := s2.Decode(nil, raw)
	if err != nil || !bytes.Equal(strict, loose) {
		t.Errorf("s2.Decode disagrees with strict Snappy: %v", err)
	}
	var pr push.PushRequest
	if err := pr.Unmarshal(strict); err != nil {
		return nil, nil, err
	}
	labels := make([]map[string]string, len(pr.Streams))
	for i, s := range pr.Streams {
		ls, err := parseLabels(s.Labels)
		if err != nil {
			return nil, nil, fmt.Errorf("couldn't parse labels: %w", err)
		}
		labels[i] = ls
	}
	return pr.Streams, labels, nil
}

// parseJSON reads the v1 JSON body as loghttp.Stream and loghttp.Entry
// unmarshal it: values are [ts, line] or [ts, line, {metadata}], with the
// timestamp a string of epoch nanoseconds.
func (r *receiver) parseJSON(rd io.Reader) ([]push.Stream, []map[string]string, error) {
	raw, err := io.ReadAll(io.LimitReader(rd, maxDecoded+1))
	if err != nil {
		return nil, nil, err
	}
	if len(raw) > maxDecoded {
		return nil, nil, fmt.Errorf("decompressed body larger than %d", maxDecoded)
	}
	var body struct {
		Streams []struct {
			Stream map[string]string   `json:"stream"`
			Values [][]json.RawMessage `json:"values"`
		} `json:"streams"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields() // stricter than Loki: logstream sends nothing else
	if err := dec.Decode(&body); err != nil {
		return nil, nil, err
	}
	var streams []push.Stream
	var labels []map[string]string
	for _, s := range body.Streams {
		names := make([]string, 0, len(s.Stream))
		for k := range s.Stream {
			if !labelName.MatchString(k) {
				return nil, nil, fmt.Errorf("couldn't parse labels: invalid label name %q", k)
			}
			names = append(names, k)
		}
		slices.Sort(names)
		ls := make([]label, len(names))
		for i, k := range names {
			ls[i] = label{Name: k, Value: s.Stream[k]}
		}
		ps := push.Stream{Labels: string(appendLabelString(nil, ls))}
		for _, v := range s.Values {
			if len(v) != 2 && len(v) != 3 {
				return nil, nil, fmt.Errorf("entry has %d elements", len(v))
			}
			var tsText, line string
			if err := json.Unmarshal(v[0], &tsText); err != nil {
				return nil, nil, fmt.Errorf("timestamp: %w", err)
			}
			ns, err := strconv.ParseInt(tsText, 10, 64)
			if err != nil {
				return nil, nil, err
			}
			if err := json.Unmarshal(v[1], &line); err != nil {
				return nil, nil, fmt.Errorf("line: %w", err)
			}
			e := push.Entry{Timestamp: time.Unix(0, ns).UTC(), Line: line}
			if len(v) == 3 {
				var meta map[string]string
				if err := json.Unmarshal(v[2], &meta); err != nil || meta == nil {
					return nil, nil, fmt.Errorf("structured metadata must be an object of strings: %s", v[2])
				}
				for _, k := range slices.Sorted(maps.Keys(meta)) {
					e.StructuredMetadata = append(e.StructuredMetadata, push.LabelAdapter{Name: k, Value: meta[k]})
				}
			}
			ps.Entries = append(ps.Entries, e)
		}
		streams = append(streams, ps)
		labels = append(labels, s.Stream)
	}
	return streams, labels, nil
}

// checkContract fails the test for what logstream promises beyond Loki:
// one stream per request, entries sorted, each line one JSON event whose
// ids match the entry's structured metadata.
func (r *receiver) checkContract(streams []push.Stream, labels []map[string]string) {
	t := r.t
	if len(streams) != 1 {
		t.Errorf("%d streams in one push, want 1", len(streams))
	}
	for i, s := range streams {
		if labels[i][LabelSource] != SourceValue || labels[i][LabelService] == "" {
			t.Errorf("labels %v lack source and service", labels[i])
		}
		if !slices.IsSortedFunc(s.Entries, func(a, b push.Entry) int { return a.Timestamp.Compare(b.Timestamp) }) {
			t.Errorf("entries of %s are not sorted by timestamp", s.Labels)
		}
		for _, e := range s.Entries {
			var ev struct {
				EventID   any `json:"event_id"`
				RequestID any `json:"request_id"`
			}
			if err := json.Unmarshal([]byte(e.Line), &ev); err != nil {
				t.Errorf("line is not a JSON event: %v: %.80s", err, e.Line)
				continue
			}
			for _, m := range e.StructuredMetadata {
				want := map[string]any{MetadataEventID: ev.EventID, MetadataRequestID: ev.RequestID}[m.Name]
				if want != m.Value {
					t.Errorf("structured metadata %s=%q, line has %v", m.Name, m.Value, want)
				}
			}
		}
	}
}

// store validates a stream's entries as Distributor.Push and
// Validator.ValidateEntry do, stores the valid ones (skipping exact
// duplicates, as the ingester's head block does) and returns the errors.
func (r *receiver) store(s push.Stream, labels map[string]string) []string {
	if len(labels) == 0 {
		return []string{"error at least one label pair is required per stream"}
	}
	ls := s.Labels
	if n := len(labels); n > defaultMaxLabelNames {
		return []string{fmt.Sprintf("entry for stream '%s' has %d label names; limit %d", ls, n, defaultMaxLabelNames)}
	}
	for k, v := range labels {
		if len(k) > defaultMaxLabelName {
			return []string{fmt.Sprintf("stream '%s' has label name too long: '%s'", ls, k)}
		}
		if len(v) > defaultMaxLabelValue {
			return []string{fmt.Sprintf("stream '%s' has label value too long: '%s'", ls, v)}
		}
	}
	var errs []string
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range s.Entries {
		metaSize := 0
		for _, m := range e.StructuredMetadata {
			metaSize += len(m.Name) + len(m.Value)
		}
		switch {
		case e.Timestamp.Before(r.now.Add(-defaultMaxAge)):
			errs = append(errs, fmt.Sprintf("entry for stream '%s' has timestamp too old: %v, oldest acceptable timestamp is: %v",
				ls, e.Timestamp.Format(time.RFC3339), r.now.Add(-defaultMaxAge).Format(time.RFC3339)))
			continue
		case e.Timestamp.After(r.now.Add(defaultGracePeriod)):
			errs = append(errs, fmt.Sprintf("entry for stream '%s' has timestamp too new: %v", ls, e.Timestamp.Format(time.RFC3339)))
			continue
		case len(e.Line) > defaultMaxLineSize:
			errs = append(errs, fmt.Sprintf("Max entry size '%d' bytes exceeded for stream '%s' while adding an entry with length '%d' bytes", defaultMaxLineSize, ls, len(e.Line)))
			continue
		case len(e.StructuredMetadata) > 0 && r.noMetadata:
			errs = append(errs, fmt.Sprintf("stream '%s' includes structured metadata, but this feature is disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki administrator to enable it.", ls))
			continue
		case metaSize > defaultMaxMetadataSize:
			errs = append(errs, fmt.Sprintf("stream '%s' has structured metadata too large: '%d' bytes, limit: '%d' bytes. Please see `limits_config.max_structured_metadata_size` or contact your Loki administrator to increase it.", ls, metaSize, defaultMaxMetadataSize))
			continue
		case len(e.StructuredMetadata) > defaultMaxMetadataEntries:
			errs = append(errs, fmt.Sprintf("stream '%s' has too many structured metadata labels: '%d', limit: '%d'. Please see `limits_config.max_structured_metadata_entries_count` or contact your Loki administrator to increase it.", ls, len(e.StructuredMetadata), defaultMaxMetadataEntries))
			continue
		}
		dup := slices.ContainsFunc(r.stored[ls], func(o stored) bool { return o.ts.Equal(e.Timestamp) && o.line == e.Line })
		if dup {
			continue
		}
		meta := map[string]string{}
		for _, m := range e.StructuredMetadata {
			meta[m.Name] = m.Value
		}
		r.stored[ls] = append(r.stored[ls], stored{ts: e.Timestamp, line: e.Line, meta: meta})
	}
	return errs
}

// groupErrors joins errors as util.GroupedErrors does.
func groupErrors(errs []string) string {
	counts := map[string]int{}
	var order []string
	for _, e := range errs {
		if counts[e] == 0 {
			order = append(order, e)
		}
		counts[e]++
	}
	var b strings.Builder
	for i, e := range order {
		if i > 0 {
			b.WriteString("; ")
		}
		if len(order) > 1 || counts[e] > 1 {
			fmt.Fprintf(&b, "%d errors like: ", counts[e])
		}
		b.WriteString(e)
	}
	return b.String()
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// parseLabels parses a stream's label string strictly: `{name="value", …}`
// with Prometheus label names and double-quoted Go string literals, as
// promql's ParseMetric (under Loki's syntax.ParseLabels) takes them, minus
// what logstream never sends (a metric name, other quote styles); no
// duplicate names, nothing after the closing brace.
func parseLabels(s string) (map[string]string, error) {
	errAt := func(i int, msg string) error { return fmt.Errorf("1:%d: parse error: %s", i+1, msg) }
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	skip()
	if i >= len(s) || s[i] != '{' {
		return nil, errAt(i, "expected {")
	}
	i++
	out := map[string]string{}
	for {
		skip()
		if i < len(s) && s[i] == '}' {
			i++
			break
		}
		start := i
		for i < len(s) && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || i > start && s[i] >= '0' && s[i] <= '9') {
			i++
		}
		name := s[start:i]
		if name == "" {
			return nil, errAt(i, "expected label name")
		}
		skip()
		if i >= len(s) || s[i] != '=' {
			return nil, errAt(i, "expected =")
		}
		i++
		skip()
		if i >= len(s) || s[i] != '"' {
			return nil, errAt(i, "expected a double-quoted value")
		}
		start = i
		for i++; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' {
				i++
			}
		}
		if i >= len(s) {
			return nil, errAt(start, "unterminated quoted string")
		}
		i++
		value, err := strconv.Unquote(s[start:i])
		if err != nil {
			return nil, errAt(start, "invalid quoted string "+s[start:i])
		}
		if _, dup := out[name]; dup {
			return nil, errAt(start, "duplicate label name "+name)
		}
		out[name] = value
		skip()
		if i < len(s) && s[i] == ',' {
			i++
			continue
		}
		skip()
		if i >= len(s) || s[i] != '}' {
			return nil, errAt(i, "expected , or }")
		}
		i++
		break
	}
	skip()
	if i != len(s) {
		return nil, errAt(i, "unexpected text after }")
	}
	return out, nil
}
