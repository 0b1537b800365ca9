package docs_test

// These tests hold docs/openapi.yaml to the code: the document must be valid
// OpenAPI 3.1, name exactly the routes topology deploys, and describe every
// request the scenarios send and every response the real handlers answer
// (status, headers and body), with auth running through a real
// apikey.Authenticator and storage replaced by in-memory fakes.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
	"github.com/logstream/logstream/shared/stream"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/content"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/topology"
)

// unproducible are documented statuses no handler answers by itself: API
// Gateway's throttling, and failures of the platform or of storage.
var unproducible = map[string]string{
	"429": "API Gateway throttling",
	"500": "a failing store or function",
}

// spec is the parsed document and the validators built from it, shared by
// the tests (building them compiles every schema once).
type spec struct {
	doc   libopenapi.Document
	model *v3.Document
	// requests checks requests as clients send them: security included.
	requests validator.Validator
	// responses checks responses in strict mode, so a member or header the
	// handlers answer but the document does not declare is an error even
	// where the schema stays open for future additions.
	responses validator.Validator
	schemas   schema_validation.SchemaValidator
}

var (
	loadOnce   sync.Once
	loadedSpec *spec
	loadErr    error
)

func loadSpec(t *testing.T) *spec {
	t.Helper()
	loadOnce.Do(func() {
		b, err := os.ReadFile("openapi.yaml")
		if err != nil {
			loadErr = err
			return
		}
		doc, err := libopenapi.NewDocument(b)
		if err != nil {
			loadErr = err
			return
		}
		m, err := doc.BuildV3Model()
		if err != nil {
			loadErr = fmt.Errorf("build model: %w", err)
			return
		}
		opts := []config.Option{config.WithFormatAssertions()}
		for _, mt := range ndjsonTypes {
			opts = append(opts, config.WithBodyDecoder(mt, ndjsonDecoder))
		}
		reqV, errs := validator.NewValidator(doc, opts...)
		if errs != nil {
			loadErr = fmt.Errorf("request validator: %v", errs)
			return
		}
		// Responses carry no NDJSON: text/plain is the Loki bridge's text.
		respOpts := []config.Option{config.WithFormatAssertions(), config.WithStrictMode(), config.WithBodyDecoder("text/plain", textDecoder)}
		respV, errs := validator.NewValidator(doc, respOpts...)
		if errs != nil {
			loadErr = fmt.Errorf("response validator: %v", errs)
			return
		}
		loadedSpec = &spec{doc: doc, model: &m.Model, requests: reqV, responses: respV,
			schemas: schema_validation.NewSchemaValidator(config.WithFormatAssertions())}
	})
	if loadErr != nil {
		t.Fatalf("load openapi.yaml: %v", loadErr)
	}
	return loadedSpec
}

// ndjsonTypes are the media types ingestion reads as one event per line.
var ndjsonTypes = []string{"application/x-ndjson", "application/ndjson", "application/jsonl",
	"application/x-jsonlines", "application/jsonlines", "text/plain"}

// ndjsonDecoder reads an NDJSON body for the validator: the document types it
// as a string (OpenAPI 3.1 has no per-line schema), and each non-blank line
// must be one JSON object.
var ndjsonDecoder = content.DecoderFunc(func(in *content.DecodeInput) (any, error) {
	b, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		var obj map[string]any
		if line != "" && json.Unmarshal([]byte(line), &obj) != nil {
			return nil, fmt.Errorf("line %d is not a JSON object", i+1)
		}
	}
	return string(b), nil
})

// textDecoder reads a plain-text body as the string the document types it as.
var textDecoder = content.DecoderFunc(func(in *content.DecodeInput) (any, error) {
	b, err := io.ReadAll(in.Body)
	return string(b), err
})

// operations returns the document's operations by route key ("METHOD /path"),
// the form topology and API Gateway use.
func (s *spec) operations() map[string]*v3.Operation {
	ops := map[string]*v3.Operation{}
	for path, item := range s.model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			ops[strings.ToUpper(method)+" "+path] = op
		}
	}
	return ops
}

func TestDocumentIsValidOpenAPI31(t *testing.T) {
	s := loadSpec(t)
	if v := s.doc.GetVersion(); v != "3.1.0" {
		t.Fatalf("openapi version %q, want 3.1.0", v)
	}
	ok, errs := s.requests.ValidateDocument()
	if !ok {
		t.Fatalf("openapi.yaml is not valid OpenAPI 3.1:\n%s", describe(errs))
	}
	for key, op := range s.operations() {
		if op.OperationId == "" || op.Responses == nil || op.Responses.Codes.Len() == 0 {
			t.Errorf("%s: needs an operationId and documented responses", key)
		}
	}
}

func TestRoutes(t *testing.T) {
	s := loadSpec(t)
	ops := s.operations()
	served := map[string]bool{}
	for _, r := range topology.New("logstream").Routes {
		if r.Fallback() {
			continue // no OpenAPI path: TestFallbackRoutes
		}
		if r.Function == topology.FunctionConsole {
			continue // the web console's files, no API: shared/console's tests
		}
		served[r.Key()] = true
		if ops[r.Key()] == nil {
			t.Errorf("topology route %s has no operation in openapi.yaml", r.Key())
		}
	}
	for key := range ops {
		if !served[key] {
			t.Errorf("openapi.yaml documents %s, which topology does not deploy", key)
		}
	}
}

// TestFallbackRoutes holds the fallback routes, which OpenAPI cannot list as
// paths, to what the document says of them: 404 route_not_found, as
// StytchError under /pwa/ and below a project's event_log_streaming, as Error
// elsewhere.
func TestFallbackRoutes(t *testing.T) {
	s := loadSpec(t)
	fallbacks := map[string]topology.Route{}
	for _, r := range topology.New("logstream").Routes {
		if r.Fallback() {
			fallbacks[r.Key()] = r
		}
	}
	tests := []struct {
		route, method, path, schema string
	}{
		{"ANY /pwa/{proxy+}", "GET", "/pwa/v3/projects/acme", "StytchError"},
		{"ANY /pwa/{proxy+}", "PATCH", "/pwa/v3/projects/acme/environments/production/event_log_streaming/DATADOG", "StytchError"},
		{"ANY /{proxy+}", "PATCH", "/v1/projects/proj_a/event_log_streaming/DATADOG", "StytchError"},
		{"ANY /{proxy+}", "GET", "/v1/nowhere", "Error"},
		{"ANY /{proxy+}", "DELETE", "/v1/projects/proj_a/streams", "Error"},
	}
	env := newEnvironment(t)
	functions := map[string]string{}
	for key, r := range fallbacks {
		functions[key] = r.Function
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			if _, ok := fallbacks[tc.route]; !ok {
				t.Fatalf("topology has no fallback route %s", tc.route)
			}
			f := env.fixture(t, functions)
			ev := call{}.apiGateway(tc.route)
			ev.RawPath, ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = tc.path, tc.method, tc.path
			ev.PathParameters = map[string]string{"proxy": strings.TrimPrefix(strings.TrimPrefix(tc.path, "/pwa"), "/")}
			resp, err := f.handlers[functions[tc.route]](context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			r := newResult(t, resp)
			proxy, ok := s.model.Components.Schemas.Get(tc.schema)
			if !ok {
				t.Fatalf("no schema %s", tc.schema)
			}
			if code, _ := r.errorCode(); r.status != 404 || code != "route_not_found" {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if ok, errs := s.schemas.ValidateSchemaBytes(proxy.Schema(), r.body); !ok {
				t.Errorf("%s is not a %s:\n%s", r.body, tc.schema, describe(errs))
			}
		})
	}
}

// TestScenariosCoverDocumentedStatuses makes every status an operation
// documents the expectation of some scenario, so no documented answer goes
// unchecked against a real handler.
func TestScenariosCoverDocumentedStatuses(t *testing.T) {
	s := loadSpec(t)
	covered := map[string]map[string]bool{}
	for _, sc := range scenarios() {
		if covered[sc.route] == nil {
			covered[sc.route] = map[string]bool{}
		}
		covered[sc.route][strconv.Itoa(sc.status)] = true
	}
	for key, op := range s.operations() {
		if covered[key] == nil {
			t.Errorf("%s has no scenario", key)
			continue
		}
		for code := range op.Responses.Codes.KeysFromOldest() {
			if !covered[key][code] && unproducible[code] == "" {
				t.Errorf("%s documents %s, which no scenario expects", key, code)
			}
		}
		for code := range covered[key] {
			if _, ok := op.Responses.Codes.Get(code); !ok {
				t.Errorf("%s: a scenario expects %s, which the operation does not document", key, code)
			}
		}
	}
	for key := range covered {
		if s.operations()[key] == nil {
			t.Errorf("scenarios exercise %s, which is not documented", key)
		}
	}
}

// TestHandlersMatchDocument runs every scenario through the real handler of
// its route and validates the request and the response against the document.
func TestHandlersMatchDocument(t *testing.T) {
	s := loadSpec(t)
	functions := map[string]string{}
	for _, r := range topology.New("logstream").Routes {
		functions[r.Key()] = r.Function
	}
	env := newEnvironment(t)
	for _, sc := range scenarios() {
		t.Run(sc.route+" "+sc.name, func(t *testing.T) {
			f := env.fixture(t, functions)
			if sc.setup != nil {
				sc.setup(f)
			}
			c := sc.call(f)
			r := f.do(sc.route, c)

			// The document must accept the request exactly when it is a
			// request clients may send: the scenarios that test refusals
			// send what the document forbids too.
			ok, errs := s.requests.ValidateHttpRequest(c.httpRequest(sc.route))
			switch {
			case sc.invalid && ok:
				t.Errorf("openapi.yaml accepts this request, which the scenario means as invalid")
			case !sc.invalid && !ok:
				t.Errorf("openapi.yaml rejects the request:\n%s", describe(errs))
			}

			if r.status != sc.status {
				t.Fatalf("status %d, want %d; body %s", r.status, sc.status, r.body)
			}
			if ok, errs := s.responses.ValidateHttpResponse(c.httpRequest(sc.route), r.httpResponse()); !ok {
				t.Errorf("the response does not match openapi.yaml:\nheaders %v\nbody %s\n%s", r.headers, r.body, describe(errs))
			}
			if sc.code != "" || sc.field != "" {
				code, field := r.errorCode()
				want := sc.code
				if strings.Contains(sc.route, "/event_log_streaming") {
					want = manage.StytchErrorType(want) // Stytch's names on its routes
				}
				if code != want || field != sc.field {
					t.Errorf("error code %q field %q, want %q %q; body %s", code, field, want, sc.field, r.body)
				}
			}
			s.checkDestinationConfigs(t, r)
			if sc.check != nil {
				sc.check(t, f, r)
			}
		})
	}
}

// checkDestinationConfigs validates each stream's destination_config against
// the public schema of its own destination_type: the document's oneOf only
// says it is one of the six.
func (s *spec) checkDestinationConfigs(t *testing.T, r *result) {
	t.Helper()
	var one struct {
		DestinationType   string          `json:"destination_type"`
		DestinationConfig json.RawMessage `json:"destination_config"`
	}
	var list struct {
		Data []json.RawMessage `json:"data"`
	}
	if r.status >= 300 || len(r.body) == 0 {
		return
	}
	docs := []json.RawMessage{r.body}
	if json.Unmarshal(r.body, &list) == nil && list.Data != nil {
		docs = list.Data
	}
	for _, d := range docs {
		if json.Unmarshal(d, &one) != nil || one.DestinationType == "" || one.DestinationConfig == nil {
			continue
		}
		name := publicSchemas[one.DestinationType]
		proxy, ok := s.model.Components.Schemas.Get(name)
		if name == "" || !ok {
			t.Errorf("no public schema for destination type %q", one.DestinationType)
			continue
		}
		if ok, errs := s.schemas.ValidateSchemaBytes(proxy.Schema(), one.DestinationConfig); !ok {
			t.Errorf("destination_config of a %s stream does not match %s: %s\n%s", one.DestinationType, name, one.DestinationConfig, describe(errs))
		}
	}
}

var publicSchemas = map[string]string{
	"datadog": "DatadogConfigPublic", "grafana_loki": "GrafanaLokiConfigPublic", "splunk_hec": "SplunkHECConfigPublic",
	"http": "HTTPConfigPublic", "eventbridge": "EventBridgeConfigPublic", "s3": "S3ConfigPublic",
}

func describe(errs []*liberrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  - %s: %s\n", e.Message, e.Reason)
		for _, se := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "      %s %s: %s\n", se.KeywordLocation, se.FieldPath, se.Reason)
		}
	}
	return b.String()
}

// apiHost stands for the deployed HTTP API; the validator matches paths only.
const apiHost = "https://k7q2m9x4ve.execute-api.us-east-1.amazonaws.com"

// call is one request, described once and rendered both as the API Gateway
// event a function receives and as the *http.Request a client sends.
type call struct {
	params  map[string]string // path parameters
	query   url.Values
	auth    string // the bearer key; "" sends no Authorization
	headers map[string]string
	body    []byte
	// gzip sends the body gzip-compressed with Content-Encoding: gzip; API
	// Gateway hands such a binary body to the function base64-encoded.
	gzip bool
	// binary hands the body to the function base64-encoded, as API Gateway
	// does with a binary body (protobuf).
	binary bool
}

// path fills the route's template with the call's parameters.
func (c call) path(route string) (method, path string) {
	method, path, _ = strings.Cut(route, " ")
	for k, v := range c.params {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
	}
	return method, path
}

func (c call) allHeaders() map[string]string {
	h := map[string]string{}
	if c.auth != "" {
		h["authorization"] = "Bearer " + c.auth
	}
	if c.gzip {
		h["content-encoding"] = "gzip"
	}
	for k, v := range c.headers {
		h[strings.ToLower(k)] = v
	}
	return h
}

// apiGateway renders the call as API Gateway's payload format 2.0 event.
func (c call) apiGateway(route string) events.APIGatewayV2HTTPRequest {
	method, path := c.path(route)
	req := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: route, RawPath: path, RawQueryString: c.query.Encode(),
		Headers: c.allHeaders(), PathParameters: c.params, Body: string(c.body),
		RequestContext: events.APIGatewayV2HTTPRequestContext{RouteKey: route, RequestID: "req-test", Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1"}},
	}
	if len(c.query) > 0 {
		// API Gateway joins repeated query parameters with commas.
		req.QueryStringParameters = map[string]string{}
		for k, vs := range c.query {
			req.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}
	if c.gzip {
		req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString(gzipped(c.body)), true
	}
	if c.binary {
		req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString(c.body), true
	}
	return req
}

// httpRequest renders the call as a client's request. A gzip body is given
// decoded: the document describes the representation, not its encoding.
func (c call) httpRequest(route string) *http.Request {
	method, path := c.path(route)
	u := apiHost + path
	if len(c.query) > 0 {
		u += "?" + c.query.Encode()
	}
	var body io.Reader = http.NoBody
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req := httptest.NewRequest(method, u, body)
	for k, v := range c.allHeaders() {
		req.Header.Set(k, v)
	}
	return req
}

// result is a handler's answer.
type result struct {
	status  int
	headers http.Header
	body    []byte
}

func newResult(t *testing.T, resp events.APIGatewayV2HTTPResponse) *result {
	t.Helper()
	r := &result{status: resp.StatusCode, headers: http.Header{}, body: []byte(resp.Body)}
	for k, v := range resp.Headers {
		r.headers.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			r.headers.Add(k, v)
		}
	}
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			t.Fatalf("response body is not base64: %v", err)
		}
		r.body = b
	}
	return r
}

func (r *result) httpResponse() *http.Response {
	return &http.Response{StatusCode: r.status, Status: strconv.Itoa(r.status) + " " + http.StatusText(r.status),
		Header: r.headers.Clone(), Body: io.NopCloser(bytes.NewReader(r.body)), ContentLength: int64(len(r.body))}
}

func (r *result) errorCode() (code, field string) {
	var e struct {
		Error struct {
			Code  string `json:"code"`
			Field string `json:"field"`
		} `json:"error"`
		ErrorType string `json:"error_type"` // Stytch's shape
	}
	_ = json.Unmarshal(r.body, &e)
	if e.ErrorType != "" {
		return e.ErrorType, ""
	}
	return e.Error.Code, e.Error.Field
}

// json decodes the body into a generic value, for checks.
func (r *result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// handlerFunc is a function's Lambda handler.
type handlerFunc func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// dig returns the value at a dotted path of a decoded JSON object.
func dig(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// The health schema names every reason a stored dead letter can have, and
// no other: the reasons are declared once, in shared/stream, and health
// reads them from the dead-letter store (crash-moved and undecodable
// messages included).
func TestHealthSchemaNamesEveryDeadLetterReason(t *testing.T) {
	s := loadSpec(t)
	h, ok := s.model.Components.Schemas.Get("Health")
	if !ok {
		t.Fatal("no Health schema")
	}
	dl, ok := h.Schema().Properties.Get("dead_letters")
	if !ok {
		t.Fatal("Health has no dead_letters")
	}
	var got []string
	for name := range dl.Schema().Properties.KeysFromOldest() {
		got = append(got, name)
	}
	var want []string
	for _, r := range stream.StoredDeadLetterReasons {
		want = append(want, string(r))
	}
	if !slices.Equal(got, want) {
		t.Errorf("dead_letters documents %v, the store counts %v", got, want)
	}
	reason, ok := s.model.Components.Schemas.Get("DeadLetterReason")
	if !ok {
		t.Fatal("no DeadLetterReason schema")
	}
	var listed []string
	for _, v := range reason.Schema().Enum {
		listed = append(listed, v.Value)
	}
	if !slices.Equal(listed, want) {
		t.Errorf("DeadLetterReason lists %v, the store has %v", listed, want)
	}
}
