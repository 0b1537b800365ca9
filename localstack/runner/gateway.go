package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/topology"
)

// integrationTimeout is the longest an HTTP API waits for an integration
// (30 s, also the default); then it answers 503 while the function runs on.
const integrationTimeout = 30 * time.Second

// maxRequestBody is API Gateway's payload quota (10 MB for HTTP APIs); larger
// requests are answered 413 before any function runs.
const maxRequestBody = 10 << 20

// gateway emulates an API Gateway HTTP API whose routes use Lambda proxy
// integrations with payload format version 2.0: it turns each request into an
// events.APIGatewayV2HTTPRequest, invokes the route's function, and maps the
// function's response back to HTTP with the gateway's rules.
type gateway struct {
	routes    []gatewayRoute
	fns       map[string]*function // by function ID
	accountID string
	apiID     string
	log       *slog.Logger
	now       func() time.Time
	// invokeCtx parents every invocation. A client that hangs up does not
	// stop a Lambda invocation (only the function's timeout does), so the
	// request's context is not used; the stack cancels this one when it
	// abandons in-flight work at shutdown.
	invokeCtx context.Context
	// integrationTimeout is a field so tests can shorten it.
	integrationTimeout time.Duration
}

type gatewayRoute struct {
	route topology.Route
	segs  []segment
}

// segment is one path template segment: a literal, {name}, or greedy {name+}.
type segment struct {
	literal string
	param   string
	greedy  bool
}

func (s segment) rank() int {
	switch {
	case s.param == "":
		return 0
	case !s.greedy:
		return 1
	}
	return 2
}

func newGateway(routes []topology.Route, fns map[string]*function, accountID, apiID string, log *slog.Logger) (*gateway, error) {
	g := &gateway{fns: fns, accountID: accountID, apiID: apiID, log: log, now: time.Now, invokeCtx: context.Background(), integrationTimeout: integrationTimeout}
	for _, r := range routes {
		if _, ok := fns[r.Function]; !ok {
			return nil, fmt.Errorf("route %s: function %q is not running", r.Key(), r.Function)
		}
		g.routes = append(g.routes, gatewayRoute{route: r, segs: parseTemplate(r.Path)})
	}
	return g, nil
}

// routeKeys returns the route keys the gateway serves.
func (g *gateway) routeKeys() []string {
	keys := make([]string, 0, len(g.routes))
	for _, r := range g.routes {
		keys = append(keys, r.route.Key())
	}
	return keys
}

func parseTemplate(path string) []segment {
	var segs []segment
	for _, s := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			name := s[1 : len(s)-1]
			greedy := strings.HasSuffix(name, "+")
			segs = append(segs, segment{param: strings.TrimSuffix(name, "+"), greedy: greedy})
			continue
		}
		segs = append(segs, segment{literal: s})
	}
	return segs
}

// match finds the route for a request. HTTP APIs pick the most specific match:
// a literal segment beats {param}, which beats a greedy {param+}, and an exact
// method beats ANY. A path that matches with another method is still "no
// route": HTTP APIs answer 404, not 405.
func (g *gateway) match(method, escapedPath string) (*gatewayRoute, map[string]string, bool) {
	parts := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	var best *gatewayRoute
	var bestParams map[string]string
	for i := range g.routes {
		r := &g.routes[i]
		if r.route.Method != method && r.route.Method != "ANY" {
			continue
		}
		params, ok := matchSegments(r.segs, parts)
		if !ok {
			continue
		}
		if best == nil || moreSpecific(r, best) {
			best, bestParams = r, params
		}
	}
	return best, bestParams, best != nil
}

func matchSegments(segs []segment, parts []string) (map[string]string, bool) {
	var params map[string]string
	for i, s := range segs {
		if s.greedy {
			if i >= len(parts) {
				return nil, false
			}
			v, err := url.PathUnescape(strings.Join(parts[i:], "/"))
			if err != nil || v == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[s.param] = v
			return params, true
		}
		if i >= len(parts) {
			return nil, false
		}
		v, err := url.PathUnescape(parts[i])
		if err != nil {
			return nil, false
		}
		if s.param == "" {
			if v != s.literal {
				return nil, false
			}
			continue
		}
		if v == "" {
			return nil, false
		}
		if params == nil {
			params = map[string]string{}
		}
		params[s.param] = v
	}
	return params, len(parts) == len(segs)
}

func moreSpecific(a, b *gatewayRoute) bool {
	for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
		if ra, rb := a.segs[i].rank(), b.segs[i].rank(); ra != rb {
			return ra < rb
		}
	}
	if len(a.segs) != len(b.segs) {
		return len(a.segs) > len(b.segs)
	}
	return a.route.Method != "ANY" && b.route.Method == "ANY"
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	reqID := newGatewayRequestID()
	// HTTP APIs return their request ID on every response.
	w.Header().Set("Apigw-Requestid", reqID)

	rt, params, ok := g.match(r.Method, r.URL.EscapedPath())
	if !ok {
		writeGatewayError(w, http.StatusNotFound, "Not Found")
		return
	}
	fn := g.fns[rt.route.Function]
	log := g.log.With("route", rt.route.Key(), "function", fn.spec.ID, "apigw_request_id", reqID)

	if r.ContentLength > maxRequestBody {
		writeGatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	// Read one byte past the quota so an oversized body without a
	// Content-Length is caught too.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		log.Warn("read request body", "err", err)
		writeGatewayError(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > maxRequestBody {
		writeGatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}

	ev := g.event(r, rt, params, body, start, reqID)
	payload, err := json.Marshal(ev)
	if err != nil {
		log.Error("encode event", "err", err)
		writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	// The event (base64 inflates binary bodies by a third) must also fit
	// Lambda's 6 MB invocation payload; Lambda refuses larger ones with
	// RequestEntityTooLargeException, which the client sees as 413.
	if len(payload) > invokePayloadLimit {
		writeGatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}

	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := fn.invoke(g.invokeCtx, payload)
		done <- result{out, err}
	}()
	timer := time.NewTimer(g.integrationTimeout)
	defer timer.Stop()
	var out []byte
	select {
	case res := <-done:
		out, err = res.out, res.err
	case <-timer.C:
		log.Error("integration timeout; the function is still running", "timeout", g.integrationTimeout)
		writeGatewayError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	if err != nil {
		// A function error, timeout or panic reaches the client as a bare 500.
		log.Error("function invocation failed", "err", err, "ms", g.now().Sub(start).Milliseconds())
		writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	status, err := g.writeResponse(w, out, log)
	if err != nil {
		log.Error("malformed function response", "err", err)
		writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	log.Debug("request served", "status", status, "ms", g.now().Sub(start).Milliseconds())
}

// event builds the payload format 2.0 event: header names lower-cased and
// repeated headers joined with commas; Cookie headers moved to cookies;
// repeated query parameters joined with commas; the body base64-encoded unless
// it is text.
func (g *gateway) event(r *http.Request, rt *gatewayRoute, params map[string]string, body []byte, now time.Time, reqID string) events.APIGatewayV2HTTPRequest {
	sourceIP := r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = host
	}
	headers := map[string]string{}
	var cookies []string
	for name, vals := range r.Header {
		lname := strings.ToLower(name)
		if lname == "cookie" {
			for _, v := range vals {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lname] = strings.Join(vals, ",")
	}
	// Headers API Gateway adds or rewrites on the way to the integration.
	headers["host"] = r.Host
	if xff := headers["x-forwarded-for"]; xff != "" {
		headers["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	headers["x-forwarded-proto"] = "http"
	if r.TLS != nil {
		headers["x-forwarded-proto"] = "https"
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(la.String()); err == nil {
			headers["x-forwarded-port"] = port
		}
	}
	if headers["x-amzn-trace-id"] == "" {
		headers["x-amzn-trace-id"] = newTraceID(now)
	}
	if len(body) > 0 && headers["content-length"] == "" {
		headers["content-length"] = strconv.Itoa(len(body))
	}

	var query map[string]string
	if r.URL.RawQuery != "" {
		// ParseQuery keeps the pairs it could parse; API Gateway passes a
		// malformed query through in rawQueryString only.
		vals, _ := url.ParseQuery(r.URL.RawQuery)
		if len(vals) > 0 {
			query = make(map[string]string, len(vals))
			for k, v := range vals {
				query[k] = strings.Join(v, ",")
			}
		}
	}

	domain := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		domain = h
	}
	prefix, _, _ := strings.Cut(domain, ".")

	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              rt.route.Key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID:    g.accountID,
			APIID:        g.apiID,
			DomainName:   domain,
			DomainPrefix: prefix,
			Stage:        "$default",
			RequestID:    reqID,
			RouteKey:     rt.route.Key(),
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.EscapedPath(),
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isTextBody(r.Header) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// isTextBody reports whether an HTTP API passes a request body to Lambda as a
// plain string. HTTP APIs infer it from the request (there is no
// binaryMediaTypes setting): text/*, application/json, application/xml and
// application/javascript are text; everything else — including a missing
// Content-Type and application/x-www-form-urlencoded — is base64-encoded, and
// so is any body with a Content-Encoding (compressed bytes are binary).
// The caller also base64-encodes a text body that is not valid UTF-8: the
// event is JSON, whose strings hold only UTF-8, so its bytes would reach the
// function as U+FFFD and a bad body would pass for a good one.
func isTextBody(h http.Header) bool {
	if ce := strings.TrimSpace(h.Get("Content-Encoding")); ce != "" && !strings.EqualFold(ce, "identity") {
		return false
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"):
		return true
	case mt == "application/json", mt == "application/xml", mt == "application/javascript":
		return true
	}
	return false
}

// writeResponse maps a function's output to HTTP with the payload format 2.0
// rules: an object with a statusCode is a structured response (statusCode,
// headers, cookies → one Set-Cookie each, body, isBase64Encoded); any other
// valid JSON is a 200 application/json whose body is that JSON.
// multiValueHeaders is not read by HTTP APIs in format 2.0, so it is dropped
// here too (with a warning, since a handler setting it is a bug).
func (g *gateway) writeResponse(w http.ResponseWriter, out []byte, log *slog.Logger) (int, error) {
	out = bytes.TrimSpace(out)
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(out, &probe); err != nil || probe["statusCode"] == nil {
		if !json.Valid(out) {
			return 0, fmt.Errorf("function output is not JSON")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out)
		return http.StatusOK, nil
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return 0, fmt.Errorf("decode response: %w", err)
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return 0, fmt.Errorf("invalid statusCode %d", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return 0, fmt.Errorf("decode base64 body: %w", err)
		}
	}
	if len(resp.MultiValueHeaders) > 0 {
		log.Warn("response multiValueHeaders ignored: HTTP APIs read only headers and cookies in payload format 2.0")
	}
	h := w.Header()
	// Only what the function set: no sniffed Content-Type.
	h["Content-Type"] = nil
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return resp.StatusCode, nil
}

// writeGatewayError writes API Gateway's own error shape, {"message":"…"}.
func writeGatewayError(w http.ResponseWriter, status int, message string) {
	b, _ := json.Marshal(map[string]string{"message": message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// newGatewayRequestID returns an ID shaped like an HTTP API request ID
// (15 base64 characters plus padding, e.g. "JKJaXmPLvHcESHA=").
func newGatewayRequestID() string {
	var b [11]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// newTraceID returns an X-Ray trace header value, the x-amzn-trace-id API
// Gateway adds: Root=1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>.
func newTraceID(now time.Time) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("Root=1-%08x-%s", now.Unix(), hex.EncodeToString(b[:]))
}
