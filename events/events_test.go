package events

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/logstream/logstream/shared/destination"
	envelopepkg "github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/stream"
	"io"
	"io/fs"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"

	"github.com/logstream/logstream/shared/topology"
)

// The project and the stream every sample belongs to.
const demoProject = "proj_demo"

// Limits of the fields logstream owns (shared/event): a sample that breaks
// them would be refused at ingestion.
const maxEventIDBytes = 128

func TestEveryFileIsValidJSON(t *testing.T) {
	n := 0
	err := fs.WalkDir(FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		data := mustRead(t, name)
		switch path.Ext(name) {
		case ".json":
			if !json.Valid(data) {
				t.Errorf("%s: not valid JSON", name)
			}
		case ".ndjson":
			if _, err := ndjsonObjects(data); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		default:
			t.Errorf("%s: samples are .json or .ndjson", name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("FS embeds no files")
	}
}

func TestAuthSamples(t *testing.T) {
	tests := []struct {
		name string
		file string
		min  int
	}{
		{"stytch", "auth/stytch.json", 15},
		{"auth0", "auth/auth0.json", 15},
		{"okta", "auth/okta.json", 15},
		{"mixed NDJSON", "auth/mixed.ndjson", 50},
	}
	seen := map[string]string{} // event_id → file
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := mustRead(t, tt.file)
			var evs []map[string]json.RawMessage
			var err error
			if path.Ext(tt.file) == ".ndjson" {
				evs, err = ndjsonObjects(data)
			} else {
				err = json.Unmarshal(data, &evs) // fails unless every element is an object
			}
			if err != nil {
				t.Fatalf("events must be JSON objects: %v", err)
			}
			if len(evs) < tt.min {
				t.Fatalf("%d events, want at least %d", len(evs), tt.min)
			}
			withID := 0
			for i, ev := range evs {
				if ev == nil {
					t.Fatalf("event %d is null, want an object", i)
				}
				id, err := checkOwnedFields(ev, false)
				if err != nil {
					t.Errorf("event %d: %v", i, err)
				}
				if id == "" {
					continue
				}
				withID++
				if prev, dup := seen[id]; dup {
					t.Errorf("event %d: event_id %s also appears in %s", i, id, prev)
				}
				seen[id] = tt.file
			}
			// Both cases of the ingestion contract: ids kept and ids assigned.
			if withID == 0 || withID == len(evs) {
				t.Errorf("%d of %d events carry event_id; want some, not all", withID, len(evs))
			}
		})
	}
}

func TestAPIGatewaySamples(t *testing.T) {
	routes := map[string]topology.Route{}
	for _, r := range topology.New("logstream").Routes {
		routes[r.Key()] = r
	}
	covered := map[string]bool{}
	names, err := fs.Glob(FS, "apigw/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("no apigw samples (%v)", err)
	}
	sawGzip := false
	for _, name := range names {
		t.Run(path.Base(name), func(t *testing.T) {
			var req awsevents.APIGatewayV2HTTPRequest
			dec := json.NewDecoder(bytes.NewReader(mustRead(t, name)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				t.Fatalf("decode strictly into events.APIGatewayV2HTTPRequest: %v", err)
			}
			route, ok := routes[req.RouteKey]
			if !ok {
				t.Fatalf("routeKey %q is not a route of topology.New", req.RouteKey)
			}
			covered[req.RouteKey] = true
			rc := req.RequestContext
			if req.Version != "2.0" || rc.Stage != "$default" || rc.RouteKey != req.RouteKey {
				t.Errorf("version %q, stage %q, requestContext.routeKey %q; want 2.0, $default, %q",
					req.Version, rc.Stage, rc.RouteKey, req.RouteKey)
			}
			if rc.HTTP.Method != route.Method && route.Method != "ANY" {
				t.Errorf("http.method %q, want %q", rc.HTTP.Method, route.Method)
			}
			wantPath, err := expand(route.Path, req.PathParameters)
			if err != nil {
				t.Errorf("pathParameters: %v", err)
			}
			if id, ok := req.PathParameters["stream_id"]; ok && !stream.ValidStreamID(id) {
				t.Errorf("stream_id %q is not of the form stream.NewID makes", id)
			}
			if req.RawPath != wantPath || rc.HTTP.Path != wantPath {
				t.Errorf("rawPath %q, http.path %q; want %q", req.RawPath, rc.HTTP.Path, wantPath)
			}
			if err := checkQuery(req.RawQueryString, req.QueryStringParameters); err != nil {
				t.Error(err)
			}
			for k := range req.Headers {
				if k != strings.ToLower(k) {
					t.Errorf("header %q: HTTP APIs pass header names in lower case", k)
				}
			}
			if req.Headers["x-forwarded-for"] != rc.HTTP.SourceIP || req.Headers["user-agent"] != rc.HTTP.UserAgent {
				t.Errorf("x-forwarded-for/user-agent headers disagree with requestContext.http")
			}
			at, err := time.Parse("02/Jan/2006:15:04:05 -0700", rc.Time)
			if err != nil || at.Unix() != rc.TimeEpoch/1000 {
				t.Errorf("requestContext.time %q does not match timeEpoch %d", rc.Time, rc.TimeEpoch)
			}

			body := []byte(req.Body)
			if req.IsBase64Encoded {
				if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
					t.Fatalf("isBase64Encoded but body is not base64: %v", err)
				}
			}
			if req.Body == "" {
				// Creating and ingesting carry a body; the enable/disable, test
				// and cancel actions do not.
				if route.Method == "POST" && !strings.HasSuffix(route.Path, "/enable") && !strings.HasSuffix(route.Path, "/disable") &&
					!strings.HasSuffix(route.Path, "/test") && !strings.HasSuffix(route.Path, "/cancel") {
					t.Fatalf("%s needs a body", req.RouteKey)
				}
				return
			}
			if got, want := req.Headers["content-length"], strconv.Itoa(len(body)); got != want {
				t.Errorf("content-length %q, body is %s bytes", got, want)
			}
			if req.Headers["content-encoding"] == "gzip" {
				if !req.IsBase64Encoded {
					t.Error("a gzip body reaches Lambda base64-encoded")
				}
				sawGzip = true
				if body, err = gunzip(body); err != nil {
					t.Fatalf("content-encoding gzip: %v", err)
				}
			}
			switch route.Function {
			case topology.FunctionIngest:
				evs, err := ingestBody(req.Headers["content-type"], body)
				if err != nil {
					t.Fatalf("ingestion body: %v", err)
				}
				for i, ev := range evs {
					if _, err := checkOwnedFields(ev, false); err != nil {
						t.Errorf("event %d: %v", i, err)
					}
				}
			default:
				var obj map[string]any
				if err := json.Unmarshal(body, &obj); err != nil {
					t.Errorf("body is not a JSON object: %v", err)
				}
			}
		})
	}
	for key := range routes {
		if !covered[key] {
			t.Errorf("no apigw sample for route %s", key)
		}
	}
	if !sawGzip {
		t.Error("no gzip-encoded ingestion sample")
	}
}

// envelope is the body of a delivery message. Decoded strictly into the
// product's own type, the sample cannot drift from the wire format.
type envelope = envelopepkg.Envelope

func TestSQSSample(t *testing.T) {
	queue, ok := topology.New("logstream").Queue(destination.HTTP)
	if !ok {
		t.Fatal("topology has no http delivery queue")
	}
	var sqs awsevents.SQSEvent
	dec := json.NewDecoder(bytes.NewReader(mustRead(t, "sqs/deliver-http-batch.json")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sqs); err != nil {
		t.Fatalf("decode strictly into events.SQSEvent: %v", err)
	}
	if len(sqs.Records) == 0 {
		t.Fatal("no records")
	}
	for i, m := range sqs.Records {
		t.Run(fmt.Sprintf("record %d", i), func(t *testing.T) {
			if m.EventSource != "aws:sqs" || !strings.HasSuffix(m.EventSourceARN, ":"+queue.Name) ||
				!strings.Contains(m.EventSourceARN, ":"+m.AWSRegion+":") {
				t.Errorf("eventSource %q, eventSourceARN %q, awsRegion %q: want aws:sqs from queue %s in that region",
					m.EventSource, m.EventSourceARN, m.AWSRegion, queue.Name)
			}
			if n, err := strconv.Atoi(m.Attributes["ApproximateReceiveCount"]); err != nil || n < 1 {
				t.Errorf("ApproximateReceiveCount %q", m.Attributes["ApproximateReceiveCount"])
			}
			if sum := md5.Sum([]byte(m.Body)); m.Md5OfBody != hex.EncodeToString(sum[:]) {
				t.Errorf("md5OfBody %s does not match the body", m.Md5OfBody)
			}
			var env envelope
			dec := json.NewDecoder(strings.NewReader(m.Body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&env); err != nil {
				t.Fatalf("body is not an envelope: %v", err)
			}
			if env.V != envelopepkg.Version || env.ProjectID != demoProject || !stream.ValidStreamID(env.StreamID) || len(env.Events) == 0 {
				t.Fatalf("envelope v=%d project_id=%q stream_id=%q with %d events; want v=1, %s, a stream, events",
					env.V, env.ProjectID, env.StreamID, len(env.Events), demoProject)
			}
			for j, raw := range env.Events {
				var ev map[string]json.RawMessage
				if err := json.Unmarshal(raw, &ev); err != nil || ev == nil {
					t.Errorf("event %d is not a JSON object", j)
					continue
				}
				// Events are stamped at ingestion, so both fields are always there.
				if _, err := checkOwnedFields(ev, true); err != nil {
					t.Errorf("event %d: %v", j, err)
				}
			}
		})
	}
}

// TestSamplesAreFictitious keeps real people and networks out of the samples:
// every IP address is in a documentation range and every mailbox is at an
// example domain, including inside JSON carried as a string (bodies).
func TestSamplesAreFictitious(t *testing.T) {
	docRanges := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("2001:db8::/32"),
	}
	email := regexp.MustCompile(`[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})`)
	exampleDomain := regexp.MustCompile(`(^|\.)example\.(com|org|net)$`)
	check := func(name, s string) {
		for _, part := range strings.Split(s, ",") {
			if ip, err := netip.ParseAddr(strings.TrimSpace(part)); err == nil {
				in := false
				for _, p := range docRanges {
					in = in || p.Contains(ip)
				}
				if !in {
					t.Errorf("%s: IP %s is outside the documentation ranges", name, ip)
				}
			}
		}
		for _, m := range email.FindAllStringSubmatch(s, -1) {
			if !exampleDomain.MatchString(strings.ToLower(m[1])) {
				t.Errorf("%s: mailbox %s is not at an example domain", name, m[0])
			}
		}
	}
	err := fs.WalkDir(FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data := mustRead(t, name)
		if path.Ext(name) == ".ndjson" {
			objs, err := ndjsonObjects(data)
			if err != nil {
				return err
			}
			for _, o := range objs {
				walkStrings(o, func(s string) { check(name, s) })
			}
			return nil
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		walkStrings(v, func(s string) { check(name, s) })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	data, err := FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// ndjsonObjects decodes one JSON object per non-blank line.
func ndjsonObjects(data []byte) ([]map[string]json.RawMessage, error) {
	var out []map[string]json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(line, &obj); err != nil || obj == nil {
			return nil, fmt.Errorf("line %d is not a JSON object", n)
		}
		out = append(out, obj)
	}
	return out, sc.Err()
}

// ingestBody decodes an ingestion body the way its Content-Type announces it.
func ingestBody(contentType string, body []byte) ([]map[string]json.RawMessage, error) {
	var evs []map[string]json.RawMessage
	switch contentType {
	case "application/json":
		if err := json.Unmarshal(body, &evs); err != nil {
			return nil, fmt.Errorf("want a JSON array of objects: %w", err)
		}
	case "application/x-ndjson":
		var err error
		if evs, err = ndjsonObjects(body); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("content-type %q", contentType)
	}
	if len(evs) == 0 {
		return nil, errors.New("no events")
	}
	return evs, nil
}

// checkOwnedFields checks event_id and timestamp against logstream's contract
// and returns the event_id, if any. required demands both.
func checkOwnedFields(ev map[string]json.RawMessage, required bool) (string, error) {
	var id, ts string
	if raw, ok := ev["event_id"]; ok {
		if err := json.Unmarshal(raw, &id); err != nil || id == "" || len(id) > maxEventIDBytes {
			return "", fmt.Errorf("event_id %s: want a non-empty string of at most %d bytes", raw, maxEventIDBytes)
		}
	}
	if raw, ok := ev["timestamp"]; ok {
		if err := json.Unmarshal(raw, &ts); err != nil {
			return "", fmt.Errorf("timestamp %s: want an RFC 3339 string", raw)
		}
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			return "", fmt.Errorf("timestamp %q: want RFC 3339", ts)
		}
	}
	if required && (id == "" || ts == "") {
		return "", errors.New("want both event_id and timestamp")
	}
	return id, nil
}

// expand fills an API Gateway path template ("/a/{x}/b") from params, which
// must name exactly the template's variables.
func expand(template string, params map[string]string) (string, error) {
	used := 0
	segs := strings.Split(template, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
			continue
		}
		name, greedy := strings.CutSuffix(s[1:len(s)-1], "+")
		v, ok := params[name]
		if !ok || v == "" {
			return "", fmt.Errorf("no value for %s", s)
		}
		segs[i] = url.PathEscape(v)
		if greedy { // {name+} takes the rest of the path, slashes and all
			parts := strings.Split(v, "/")
			for j, p := range parts {
				parts[j] = url.PathEscape(p)
			}
			segs[i] = strings.Join(parts, "/")
		}
		used++
	}
	if used != len(params) {
		return "", fmt.Errorf("%d parameters for %d variables of %s", len(params), used, template)
	}
	return strings.Join(segs, "/"), nil
}

func checkQuery(raw string, params map[string]string) error {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return fmt.Errorf("rawQueryString %q: %v", raw, err)
	}
	if len(q) != len(params) {
		return fmt.Errorf("rawQueryString %q and queryStringParameters %v disagree", raw, params)
	}
	for k, v := range params {
		if got := strings.Join(q[k], ","); got != v {
			return fmt.Errorf("query parameter %s: rawQueryString has %q, queryStringParameters %q", k, got, v)
		}
	}
	return nil
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(zr)
}

// walkStrings calls fn for every string in v, descending into strings that
// hold JSON themselves (request and message bodies).
func walkStrings(v any, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			fn(k)
			walkStrings(e, fn)
		}
	case map[string]json.RawMessage:
		for k, e := range x {
			fn(k)
			var d any
			if json.Unmarshal(e, &d) == nil {
				walkStrings(d, fn)
			}
		}
	case []any:
		for _, e := range x {
			walkStrings(e, fn)
		}
	case string:
		fn(x)
		if t := strings.TrimSpace(x); len(t) > 1 && (t[0] == '{' || t[0] == '[') && json.Valid([]byte(t)) {
			var d any
			_ = json.Unmarshal([]byte(t), &d)
			walkStrings(d, fn)
		}
	}
}
