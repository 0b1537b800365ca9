// Package console serves logstream's web console: a single page of plain ES
// modules, embedded in the binary, that talks to the management API on the
// same origin with the operator's API key. It holds no AWS client and reads
// no configuration: everything the console can do, the public API does.
//
// The function behind the routes GET /console and GET /console/{proxy+}
// answers from memory: every file is read, hashed and gzipped once in New.
package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
)

// Prefix is the path the console is served under on the HTTP API.
const Prefix = "/console"

// CSP is the Content-Security-Policy of every answer: scripts, styles,
// images and API calls from this origin only, nothing inline, no frames, no
// form posts. data: images are allowed for the favicon-less page.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; " +
	"form-action 'none'; frame-ancestors 'none'"

//go:embed static
var static embed.FS

// file is one embedded asset, ready to answer.
type file struct {
	body        []byte
	gz          []byte // nil when gzip does not make it smaller
	contentType string
	etag        string
}

// Console answers the console's routes from the embedded static files.
type Console struct {
	files map[string]*file // by path relative to static/, e.g. "views/streams.js"
}

// New reads every embedded file once. It panics only if the embedded tree
// cannot be read, which go:embed rules out at build time.
func New() *Console {
	c := &Console{files: map[string]*file{}}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		f := &file{
			body:        body,
			contentType: contentType(p),
			etag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
		}
		if gz := gzipBytes(body); len(gz) < len(body) {
			f.gz = gz
		}
		c.files[strings.TrimPrefix(p, "static/")] = f
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("console: read embedded files: %v", err))
	}
	if c.files["index.html"] == nil {
		panic("console: static/index.html is not embedded")
	}
	return c
}

// Handle answers one request of API Gateway's HTTP API (payload format 2.0).
// It never returns an error: every outcome is an HTTP answer carrying the
// security headers.
func (c *Console) Handle(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	method := req.RequestContext.HTTP.Method
	if method != http.MethodGet && method != http.MethodHead {
		resp := errorResponse(http.StatusMethodNotAllowed, "method_not_allowed", "the console answers GET and HEAD only")
		resp.Headers["allow"] = "GET, HEAD"
		return resp, nil
	}
	raw := req.RawPath
	if raw == "" {
		raw = req.RequestContext.HTTP.Path
	}
	resp := c.route(raw, req.RawQueryString, header(req.Headers, "if-none-match"), acceptsGzip(header(req.Headers, "accept-encoding")))
	if method == http.MethodHead {
		resp.Body, resp.IsBase64Encoded = "", false
	}
	return resp, nil
}

// route maps a raw (still escaped) path to an answer.
func (c *Console) route(raw, query, ifNoneMatch string, gzipOK bool) events.APIGatewayV2HTTPResponse {
	if raw == Prefix {
		// 308 keeps the method. To the page by its file name, so the
		// page's relative URLs resolve under /console/ and the request
		// matches GET /console/{proxy+}: API Gateway's greedy variable
		// takes no empty path, so /console/ may not reach this function
		// (the API's fallback redirects it here too).
		loc := Prefix + "/index.html"
		if query != "" {
			loc += "?" + query
		}
		resp := withSecurity(events.APIGatewayV2HTTPResponse{StatusCode: http.StatusPermanentRedirect, Headers: map[string]string{"location": loc}})
		return resp
	}
	rel, ok := strings.CutPrefix(raw, Prefix+"/")
	if !ok {
		return errorResponse(http.StatusNotFound, "not_found", "no such page")
	}
	name, ok := cleanPath(rel)
	if !ok {
		return errorResponse(http.StatusNotFound, "not_found", "no such file")
	}
	if name == "" {
		name = "index.html"
	}
	f := c.files[name]
	if f == nil {
		// A path without an extension is a page of the single-page app
		// (or a directory, which is never listed): answer the page.
		if path.Ext(name) != "" {
			return errorResponse(http.StatusNotFound, "not_found", "no such file")
		}
		f = c.files["index.html"]
	}
	return f.answer(ifNoneMatch, gzipOK)
}

// cleanPath unescapes the part of the path after /console/ and accepts it
// only if it names a file plainly: no "..", ".", empty or hidden segments, no
// backslashes or control characters, however they were encoded. The answer
// is a key of Console.files ("" for the root).
func cleanPath(rel string) (string, bool) {
	name, err := url.PathUnescape(rel)
	if err != nil {
		return "", false
	}
	// A second round of escapes (%252e) is refused, not decoded: no file
	// name of ours contains '%'.
	if strings.ContainsAny(name, "%\\") {
		return "", false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", false
		}
	}
	name = strings.TrimSuffix(name, "/")
	if name == "" {
		return "", true
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return "", false
		}
	}
	return name, true
}

func (f *file) answer(ifNoneMatch string, gzipOK bool) events.APIGatewayV2HTTPResponse {
	h := map[string]string{
		"content-type": f.contentType,
		"etag":         f.etag,
		// No build step means no fingerprinted names: every file is
		// revalidated (a 304 by ETag is cheap), so a deploy never mixes an
		// old module with a new page.
		"cache-control": "no-cache",
		"vary":          "Accept-Encoding",
	}
	if etagMatches(ifNoneMatch, f.etag) {
		return withSecurity(events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNotModified, Headers: h})
	}
	resp := events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Headers: h}
	if gzipOK && f.gz != nil {
		// HTTP APIs do not compress; a Lambda answer of binary bytes is
		// base64 with isBase64Encoded.
		h["content-encoding"] = "gzip"
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(f.gz), true
	} else if isText(f.contentType) {
		resp.Body = string(f.body)
	} else {
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(f.body), true
	}
	return withSecurity(resp)
}

// withSecurity adds the headers every answer carries, errors included.
func withSecurity(resp events.APIGatewayV2HTTPResponse) events.APIGatewayV2HTTPResponse {
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	for k, v := range SecurityHeaders() {
		resp.Headers[k] = v
	}
	if resp.Headers["cache-control"] == "" {
		resp.Headers["cache-control"] = "no-cache"
	}
	return resp
}

// SecurityHeaders are the headers on every answer of the console, by their
// lower-case names (API Gateway passes header names through as given).
func SecurityHeaders() map[string]string {
	return map[string]string{
		"content-security-policy":      CSP,
		"x-content-type-options":       "nosniff",
		"referrer-policy":              "no-referrer",
		"x-frame-options":              "DENY",
		"cross-origin-opener-policy":   "same-origin",
		"cross-origin-resource-policy": "same-origin",
		"permissions-policy":           "camera=(), microphone=(), geolocation=(), payment=()",
	}
}

// errorResponse answers an error in the API's shape,
// {"error":{"code","message"}}, with the security headers.
func errorResponse(status int, code, message string) events.APIGatewayV2HTTPResponse {
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": message}})
	return withSecurity(events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"content-type": "application/json", "cache-control": "no-store"},
		Body:       string(body),
	})
}

// contentType is the media type of an embedded file, by extension. An
// unknown extension is served as bytes, which nosniff keeps from being run.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js", ".mjs":
		// Module scripts need a JavaScript MIME type (HTML's "strict MIME
		// type checking" for module scripts).
		return "text/javascript; charset=utf-8"
	case ".json":
		return "application/json"
	case ".webmanifest":
		return "application/manifest+json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

func isText(ct string) bool {
	return strings.HasPrefix(ct, "text/") || ct == "application/json" ||
		ct == "application/manifest+json" || ct == "image/svg+xml"
}

// header reads a request header by name; API Gateway lower-cases them, but a
// test or another caller may not.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// acceptsGzip reads Accept-Encoding, honouring an explicit q=0.
func acceptsGzip(ae string) bool {
	for part := range strings.SplitSeq(ae, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// etagMatches implements If-None-Match's weak comparison (RFC 9110 13.1.2).
func etagMatches(inm, etag string) bool {
	if inm == "" {
		return false
	}
	if strings.TrimSpace(inm) == "*" {
		return true
	}
	for tag := range strings.SplitSeq(inm, ",") {
		if strings.TrimPrefix(strings.TrimSpace(tag), "W/") == etag {
			return true
		}
	}
	return false
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}
