package runner

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/logstream/logstream/shared/topology"
)

// capture is an HTTP handler that records the event it got and answers resp.
type capture struct {
	mu    sync.Mutex
	event events.APIGatewayV2HTTPRequest
	ctx   context.Context
	resp  events.APIGatewayV2HTTPResponse
}

func (c *capture) handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.event, c.ctx = req, ctx
	if c.resp.StatusCode == 0 {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	}
	return c.resp, nil
}

func (c *capture) got() events.APIGatewayV2HTTPRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.event
}

// newTestGateway serves the production routes, all integrated with handler;
// configure runs before the server starts.
func newTestGateway(t *testing.T, timeout time.Duration, handler any, configure ...func(*gateway)) (*gateway, *httptest.Server) {
	t.Helper()
	spec := topology.New("gw")
	fns := map[string]*function{}
	for _, r := range spec.Routes {
		if fns[r.Function] == nil {
			fns[r.Function] = testFunction(t, r.Function, timeout, handler)
		}
	}
	g, err := newGateway(spec.Routes, fns, "123456789012", "api1", testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range configure {
		c(g)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGatewayRequestEvent(t *testing.T) {
	gz := gzipped(t, `{"a":1}`)
	tests := []struct {
		name    string
		method  string
		target  string // path and query
		headers [][2]string
		body    []byte
		check   func(t *testing.T, ev events.APIGatewayV2HTTPRequest)
	}{
		{
			name: "route key, raw path and path parameters", method: "GET",
			target: "/v1/projects/p1/streams/s%201",
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				eq(t, "version", ev.Version, "2.0")
				eq(t, "routeKey", ev.RouteKey, "GET /v1/projects/{project_id}/streams/{stream_id}")
				eq(t, "requestContext.routeKey", ev.RequestContext.RouteKey, ev.RouteKey)
				eq(t, "rawPath", ev.RawPath, "/v1/projects/p1/streams/s%201")
				eq(t, "pathParameters", ev.PathParameters, map[string]string{"project_id": "p1", "stream_id": "s 1"})
				eq(t, "queryStringParameters", ev.QueryStringParameters, map[string]string(nil))
				eq(t, "body", ev.Body, "")
				eq(t, "isBase64Encoded", ev.IsBase64Encoded, false)
			},
		},
		{
			name: "headers lower-cased, repeated values joined with commas", method: "GET",
			target:  "/v1/projects/p1/streams",
			headers: [][2]string{{"X-Custom", "a"}, {"X-Custom", "b"}, {"User-Agent", "ua/1"}, {"X-Forwarded-For", "203.0.113.9"}},
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				eq(t, "x-custom", ev.Headers["x-custom"], "a,b")
				eq(t, "user-agent", ev.Headers["user-agent"], "ua/1")
				eq(t, "x-forwarded-for", ev.Headers["x-forwarded-for"], "203.0.113.9, 127.0.0.1")
				eq(t, "x-forwarded-proto", ev.Headers["x-forwarded-proto"], "http")
				if !strings.HasPrefix(ev.Headers["host"], "127.0.0.1:") {
					t.Errorf("host = %q", ev.Headers["host"])
				}
				if !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`).MatchString(ev.Headers["x-amzn-trace-id"]) {
					t.Errorf("x-amzn-trace-id = %q", ev.Headers["x-amzn-trace-id"])
				}
				for k := range ev.Headers {
					if k != strings.ToLower(k) {
						t.Errorf("header %q is not lower-case", k)
					}
				}
			},
		},
		{
			name: "query parameters: raw string kept, repeated values joined", method: "GET",
			target: "/v1/projects/p1/streams?a=1&b=x%20y&a=2&empty=",
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				eq(t, "rawQueryString", ev.RawQueryString, "a=1&b=x%20y&a=2&empty=")
				eq(t, "queryStringParameters", ev.QueryStringParameters, map[string]string{"a": "1,2", "b": "x y", "empty": ""})
			},
		},
		{
			name: "cookies move from the Cookie header to cookies", method: "GET",
			target:  "/v1/projects/p1/streams",
			headers: [][2]string{{"Cookie", "a=1; b=2"}, {"Cookie", "c=3"}},
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				eq(t, "cookies", ev.Cookies, []string{"a=1", "b=2", "c=3"})
				if _, ok := ev.Headers["cookie"]; ok {
					t.Errorf("cookie header still in headers")
				}
			},
		},
		{
			name: "JSON body passes as text", method: "POST",
			target:  "/v1/projects/p1/events",
			headers: [][2]string{{"Content-Type", "application/json; charset=utf-8"}},
			body:    []byte(`{"msg":"héllo"}`),
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				eq(t, "body", ev.Body, `{"msg":"héllo"}`)
				eq(t, "isBase64Encoded", ev.IsBase64Encoded, false)
				eq(t, "content-length", ev.Headers["content-length"], "16")
			},
		},
		{
			// A JSON event can carry only valid UTF-8 as a string: the bytes
			// would arrive as U+FFFD, and the function could not refuse them.
			name: "a text body that is not UTF-8 is base64-encoded, bytes intact", method: "POST",
			target:  "/v1/projects/p1/events",
			headers: [][2]string{{"Content-Type", "application/json"}},
			body:    []byte("[{\"msg\":\"h\xffllo\"}]"),
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				eq(t, "body", ev.Body, base64.StdEncoding.EncodeToString([]byte("[{\"msg\":\"h\xffllo\"}]")))
				eq(t, "isBase64Encoded", ev.IsBase64Encoded, true)
			},
		},
		{
			name: "text/plain body passes as text", method: "POST",
			target:  "/v1/projects/p1/events",
			headers: [][2]string{{"Content-Type", "text/plain"}},
			body:    []byte("line 1\nline 2"),
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				eq(t, "body", ev.Body, "line 1\nline 2")
				eq(t, "isBase64Encoded", ev.IsBase64Encoded, false)
			},
		},
		{
			name: "binary content type is base64-encoded", method: "POST",
			target:  "/v1/projects/p1/events",
			headers: [][2]string{{"Content-Type", "application/x-protobuf"}},
			body:    []byte{0xff, 0x00, 0x01},
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				eq(t, "body", ev.Body, base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 0x01}))
				eq(t, "isBase64Encoded", ev.IsBase64Encoded, true)
			},
		},
		{
			name: "gzip-encoded JSON is base64-encoded", method: "POST",
			target:  "/v1/projects/p1/events",
			headers: [][2]string{{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}},
			body:    gz,
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				eq(t, "isBase64Encoded", ev.IsBase64Encoded, true)
				raw, err := base64.StdEncoding.DecodeString(ev.Body)
				if err != nil {
					t.Fatal(err)
				}
				zr, err := gzip.NewReader(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				plain, _ := io.ReadAll(zr)
				eq(t, "gunzipped body", string(plain), `{"a":1}`)
				eq(t, "content-encoding", ev.Headers["content-encoding"], "gzip")
			},
		},
		{
			name: "form bodies and bodies without Content-Type are base64-encoded", method: "POST",
			target:  "/v1/projects/p1/events",
			headers: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}},
			body:    []byte("a=1&b=2"),
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				eq(t, "body", ev.Body, base64.StdEncoding.EncodeToString([]byte("a=1&b=2")))
				eq(t, "isBase64Encoded", ev.IsBase64Encoded, true)
			},
		},
		{
			name: "request context", method: "DELETE",
			target:  "/v1/projects/p1/streams/s1",
			headers: [][2]string{{"User-Agent", "curl/8"}},
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				rc := ev.RequestContext
				eq(t, "accountId", rc.AccountID, "123456789012")
				eq(t, "apiId", rc.APIID, "api1")
				eq(t, "stage", rc.Stage, "$default")
				eq(t, "domainName", rc.DomainName, "127.0.0.1")
				eq(t, "domainPrefix", rc.DomainPrefix, "127")
				eq(t, "time", rc.Time, "24/Nov/2026:10:11:12 +0000")
				eq(t, "timeEpoch", rc.TimeEpoch, time.Date(2026, 11, 24, 10, 11, 12, 0, time.UTC).UnixMilli())
				eq(t, "http", rc.HTTP, events.APIGatewayV2HTTPRequestContextHTTPDescription{
					Method: "DELETE", Path: "/v1/projects/p1/streams/s1", Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "curl/8",
				})
				if !regexp.MustCompile(`^[A-Za-z0-9+/]{15}=$`).MatchString(rc.RequestID) {
					t.Errorf("requestId = %q", rc.RequestID)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &capture{}
			_, srv := newTestGateway(t, 5*time.Second, c.handle, func(g *gateway) {
				g.now = func() time.Time { return time.Date(2026, 11, 24, 10, 11, 12, 0, time.UTC) }
			})
			req, err := http.NewRequest(tc.method, srv.URL+tc.target, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range tc.headers {
				req.Header.Add(h[0], h[1])
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if resp.Header.Get("Apigw-Requestid") != c.got().RequestContext.RequestID {
				t.Errorf("apigw-requestid %q != requestContext.requestId %q", resp.Header.Get("Apigw-Requestid"), c.got().RequestContext.RequestID)
			}
			tc.check(t, c.got())
		})
	}
}

func TestGatewayResponse(t *testing.T) {
	tests := []struct {
		name       string
		output     string // the function's JSON output
		wantStatus int
		wantHeader http.Header // checked keys only; nil value = absent
		wantBody   string
	}{
		{
			name:       "status, headers and body",
			output:     `{"statusCode":201,"headers":{"content-type":"application/json","x-id":"a,b"},"body":"{\"id\":\"s1\"}"}`,
			wantStatus: 201,
			wantHeader: http.Header{"Content-Type": {"application/json"}, "X-Id": {"a,b"}},
			wantBody:   `{"id":"s1"}`,
		},
		{
			name:       "each cookie becomes a set-cookie header",
			output:     `{"statusCode":200,"cookies":["a=1; Path=/","b=2; HttpOnly"],"body":"ok"}`,
			wantStatus: 200,
			wantHeader: http.Header{"Set-Cookie": {"a=1; Path=/", "b=2; HttpOnly"}},
			wantBody:   "ok",
		},
		{
			name:       "base64 body is decoded",
			output:     `{"statusCode":200,"headers":{"content-type":"application/octet-stream"},"isBase64Encoded":true,"body":"` + base64.StdEncoding.EncodeToString([]byte{0, 1, 0xfe}) + `"}`,
			wantStatus: 200,
			wantHeader: http.Header{"Content-Type": {"application/octet-stream"}},
			wantBody:   string([]byte{0, 1, 0xfe}),
		},
		{
			name:       "multiValueHeaders is not read in format 2.0",
			output:     `{"statusCode":200,"headers":{"x-one":"1"},"multiValueHeaders":{"x-many":["a","b"]},"body":""}`,
			wantStatus: 200,
			wantHeader: http.Header{"X-One": {"1"}, "X-Many": nil},
		},
		{
			name:       "no content-type unless the function sets one",
			output:     `{"statusCode":204,"body":""}`,
			wantStatus: 204,
			wantHeader: http.Header{"Content-Type": nil},
		},
		{
			name:       "JSON without statusCode is a 200 application/json body",
			output:     `{"hello":"world"}`,
			wantStatus: 200,
			wantHeader: http.Header{"Content-Type": {"application/json"}},
			wantBody:   `{"hello":"world"}`,
		},
		{
			name:       "statusCode out of range is a malformed response",
			output:     `{"statusCode":0,"body":"x"}`,
			wantStatus: 500,
			wantBody:   `{"message":"Internal Server Error"}`,
		},
		{
			name:       "invalid base64 body is a malformed response",
			output:     `{"statusCode":200,"isBase64Encoded":true,"body":"%%%"}`,
			wantStatus: 500,
			wantBody:   `{"message":"Internal Server Error"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := func(context.Context, events.APIGatewayV2HTTPRequest) (json.RawMessage, error) {
				return json.RawMessage(tc.output), nil
			}
			_, srv := newTestGateway(t, 5*time.Second, h)
			resp, err := srv.Client().Get(srv.URL + "/v1/projects/p/streams")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			eq(t, "status", resp.StatusCode, tc.wantStatus)
			eq(t, "body", string(body), tc.wantBody)
			for k, want := range tc.wantHeader {
				eq(t, "header "+k, resp.Header.Values(k), []string(want))
			}
			if resp.Header.Get("Apigw-Requestid") == "" {
				t.Errorf("no apigw-requestid header")
			}
		})
	}
}

func TestGatewayErrors(t *testing.T) {
	ok := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "ok"}, nil
	}
	tests := []struct {
		name       string
		handler    any
		method     string
		path       string
		body       io.Reader
		header     http.Header
		integTime  time.Duration // shortens the 30 s integration timeout
		wantStatus int
		wantBody   string
	}{
		// Every other path reaches a fallback route (TestGatewayProductionRoutes).
		{name: "no route for the path", handler: ok, method: "GET", path: "/", wantStatus: 404, wantBody: `{"message":"Not Found"}`},
		{
			name: "function error", method: "GET", path: "/v1/projects/p/streams", wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`,
			handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{}, errors.New("boom")
			},
		},
		{
			name: "function panic", method: "GET", path: "/v1/projects/p/streams", wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`,
			handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				panic("boom")
			},
		},
		{
			name: "function timeout, handler ignoring its context", method: "GET", path: "/v1/projects/p/streams", wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`,
			handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				time.Sleep(3 * time.Second) // would answer 200 if the 1 s timeout did not fire
				return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
			},
		},
		{
			name: "integration timeout before the function timeout", method: "GET", path: "/v1/projects/p/streams",
			integTime: 100 * time.Millisecond, wantStatus: 503, wantBody: `{"message":"Service Unavailable"}`,
			handler: func(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				<-ctx.Done()
				return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
			},
		},
		{
			name: "body over 10 MB with Content-Length", handler: ok, method: "POST", path: "/v1/projects/p/events",
			body: bytes.NewReader(make([]byte, maxRequestBody+1)), header: http.Header{"Content-Type": {"application/json"}},
			wantStatus: 413, wantBody: `{"message":"Request Entity Too Large"}`,
		},
		{
			name: "body over 10 MB, chunked", handler: ok, method: "POST", path: "/v1/projects/p/events",
			body: io.MultiReader(strings.NewReader(strings.Repeat("a", maxRequestBody)), strings.NewReader("b")), header: http.Header{"Content-Type": {"text/plain"}},
			wantStatus: 413, wantBody: `{"message":"Request Entity Too Large"}`,
		},
		{
			name: "binary body whose base64 event exceeds Lambda's 6 MB", handler: ok, method: "POST", path: "/v1/projects/p/events",
			body: bytes.NewReader(make([]byte, 5<<20)), header: http.Header{"Content-Type": {"application/octet-stream"}},
			wantStatus: 413, wantBody: `{"message":"Request Entity Too Large"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := newTestGateway(t, time.Second, tc.handler, func(g *gateway) {
				if tc.integTime > 0 {
					g.integrationTimeout = tc.integTime
				}
			})
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			eq(t, "status", resp.StatusCode, tc.wantStatus)
			eq(t, "body", string(body), tc.wantBody)
			eq(t, "content-type", resp.Header.Get("Content-Type"), "application/json")
		})
	}
}

func TestGatewayInvocationContext(t *testing.T) {
	const timeout = 3 * time.Second
	c := &capture{}
	g, srv := newTestGateway(t, timeout, c.handle)
	before := time.Now()
	resp, err := srv.Client().Get(srv.URL + "/v1/projects/p/streams")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	c.mu.Lock()
	ctx := c.ctx
	c.mu.Unlock()
	deadline, ok := ctx.Deadline()
	if !ok {
		t.Fatal("handler context has no deadline")
	}
	if deadline.Before(before.Add(timeout-100*time.Millisecond)) || deadline.After(time.Now().Add(timeout)) {
		t.Errorf("deadline %s is not the function timeout %s from the invocation", deadline.Sub(before), timeout)
	}
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok {
		t.Fatal("no lambdacontext in the handler context")
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(lc.AwsRequestID) {
		t.Errorf("AwsRequestID = %q, want a UUID", lc.AwsRequestID)
	}
	eq(t, "InvokedFunctionArn", lc.InvokedFunctionArn, g.fns[topology.FunctionAPI].arn)
	eq(t, "InvokedFunctionArn", lc.InvokedFunctionArn, "arn:aws:lambda:us-east-1:000000000000:function:test-api")
}

// The production routes, as the gateway matches them: Stytch's v3 paths name
// their project and environment, and what no route serves reaches the
// fallback of its family with the rest of the path as proxy.
func TestGatewayProductionRoutes(t *testing.T) {
	c := &capture{}
	_, srv := newTestGateway(t, time.Second, c.handle)
	const v3 = "/pwa/v3/projects/{project_slug}/environments/{environment_slug}/event_log_streaming"
	tests := []struct {
		method, path string
		route        string
		params       map[string]string
	}{
		{"POST", "/pwa/v3/projects/acme/environments/production/event_log_streaming", "POST " + v3,
			map[string]string{"project_slug": "acme", "environment_slug": "production"}},
		{"GET", "/pwa/v3/projects/acme/environments/test/event_log_streaming/DATADOG", "GET " + v3 + "/{destination_type}",
			map[string]string{"project_slug": "acme", "environment_slug": "test", "destination_type": "DATADOG"}},
		{"POST", "/pwa/v3/projects/acme/environments/production/event_log_streaming/GRAFANA_LOKI/disable", "POST " + v3 + "/{destination_type}/disable",
			map[string]string{"project_slug": "acme", "environment_slug": "production", "destination_type": "GRAFANA_LOKI"}},
		{"PATCH", "/pwa/v3/projects/acme/environments/production/event_log_streaming/DATADOG", "ANY /pwa/{proxy+}",
			map[string]string{"proxy": "v3/projects/acme/environments/production/event_log_streaming/DATADOG"}},
		{"GET", "/pwa/v3/projects/acme", "ANY /pwa/{proxy+}", map[string]string{"proxy": "v3/projects/acme"}},
		{"GET", "/v1/nowhere", "ANY /{proxy+}", map[string]string{"proxy": "v1/nowhere"}},
		{"PUT", "/v1/projects/p/streams", "ANY /{proxy+}", map[string]string{"proxy": "v1/projects/p/streams"}},
		{"GET", "/v1/projects//streams", "ANY /{proxy+}", map[string]string{"proxy": "v1/projects//streams"}},
		{"GET", "/v1/projects/p/streams", "GET /v1/projects/{project_id}/streams", map[string]string{"project_id": "p"}},
		{"POST", "/loki/api/v1/push", "POST /loki/api/v1/push", nil},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			ev := c.got()
			eq(t, "status", resp.StatusCode, 200)
			eq(t, "routeKey", ev.RouteKey, tc.route)
			eq(t, "pathParameters", ev.PathParameters, tc.params)
		})
	}
}

func TestGatewayRouteSpecificity(t *testing.T) {
	routes := []topology.Route{
		{Method: "GET", Path: "/a/{x}", Function: "param"},
		{Method: "GET", Path: "/a/b", Function: "literal"},
		{Method: "ANY", Path: "/a/b", Function: "any"},
		{Method: "GET", Path: "/{proxy+}", Function: "greedy"},
	}
	g := &gateway{}
	for _, r := range routes {
		g.routes = append(g.routes, gatewayRoute{route: r, segs: parseTemplate(r.Path)})
	}
	tests := []struct {
		method, path string
		want         string
		params       map[string]string
	}{
		{"GET", "/a/b", "literal", nil},
		{"POST", "/a/b", "any", nil},
		{"GET", "/a/c", "param", map[string]string{"x": "c"}},
		{"GET", "/a/c/d", "greedy", map[string]string{"proxy": "a/c/d"}},
		{"POST", "/a/c", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r, params, ok := g.match(tc.method, tc.path)
			got := ""
			if ok {
				got = r.route.Function
			}
			eq(t, "route", got, tc.want)
			eq(t, "params", params, tc.params)
		})
	}
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}
