package console

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
	samples "github.com/logstream/logstream/events"
)

func get(t *testing.T, c *Console, method, rawPath string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	req := events.APIGatewayV2HTTPRequest{
		RawPath: rawPath,
		Headers: headers,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: rawPath},
		},
	}
	resp, err := c.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("%s %s: error %v", method, rawPath, err)
	}
	return resp
}

// body decodes an answer's body as the gateway would send it.
func body(t *testing.T, resp events.APIGatewayV2HTTPResponse) []byte {
	t.Helper()
	b := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if b, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			t.Fatalf("base64 body: %v", err)
		}
	}
	if resp.Headers["content-encoding"] == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatalf("gzip body: %v", err)
		}
	}
	return b
}

func embedded(t *testing.T, name string) []byte {
	t.Helper()
	b, err := static.ReadFile("static/" + name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return b
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	c := New()
	index := get(t, c, http.MethodGet, "/console/", nil)
	cases := []struct {
		name, method, path string
		headers            map[string]string
		status             int
	}{
		{"redirect", http.MethodGet, "/console", nil, http.StatusPermanentRedirect},
		{"index", http.MethodGet, "/console/", nil, http.StatusOK},
		{"index gzip", http.MethodGet, "/console/", map[string]string{"accept-encoding": "gzip, br"}, http.StatusOK},
		{"app page", http.MethodGet, "/console/p/proj_a", nil, http.StatusOK},
		{"asset", http.MethodGet, "/console/app.js", nil, http.StatusOK},
		{"head", http.MethodHead, "/console/app.css", nil, http.StatusOK},
		{"not modified", http.MethodGet, "/console/", map[string]string{"if-none-match": index.Headers["etag"]}, http.StatusNotModified},
		{"missing asset", http.MethodGet, "/console/nope.js", nil, http.StatusNotFound},
		{"traversal", http.MethodGet, "/console/%2e%2e/console.go", nil, http.StatusNotFound},
		{"outside prefix", http.MethodGet, "/v1/streams", nil, http.StatusNotFound},
		{"post", http.MethodPost, "/console/", nil, http.StatusMethodNotAllowed},
		{"delete", http.MethodDelete, "/console/app.js", nil, http.StatusMethodNotAllowed},
	}
	want := map[string]string{
		"content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
			"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		"x-content-type-options": "nosniff",
		"referrer-policy":        "no-referrer",
		"x-frame-options":        "DENY",
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, c, tc.method, tc.path, tc.headers)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			for k, v := range want {
				if got := resp.Headers[k]; got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if resp.Headers["cache-control"] == "" {
				t.Error("no cache-control")
			}
		})
	}
}

func TestRouting(t *testing.T) {
	c := New()
	index := embedded(t, "index.html")
	cases := []struct {
		name, method, path string
		status             int
		contentType        string
		body               []byte // nil: not compared
		location           string
	}{
		{name: "bare prefix redirects", method: "GET", path: "/console", status: 308, location: "/console/index.html"},
		{name: "root is the page", method: "GET", path: "/console/", status: 200, contentType: "text/html; charset=utf-8", body: index},
		{name: "index by name", method: "GET", path: "/console/index.html", status: 200, contentType: "text/html; charset=utf-8", body: index},
		{name: "route without extension is the page", method: "GET", path: "/console/p/proj_a/s/str_1", status: 200, contentType: "text/html; charset=utf-8", body: index},
		{name: "directory is the page, not a listing", method: "GET", path: "/console/views", status: 200, contentType: "text/html; charset=utf-8", body: index},
		{name: "directory with slash is the page", method: "GET", path: "/console/views/", status: 200, contentType: "text/html; charset=utf-8", body: index},
		{name: "script", method: "GET", path: "/console/app.js", status: 200, contentType: "text/javascript; charset=utf-8", body: embedded(t, "app.js")},
		{name: "module in a folder", method: "GET", path: "/console/views/signin.js", status: 200, contentType: "text/javascript; charset=utf-8", body: embedded(t, "views/signin.js")},
		{name: "stylesheet", method: "GET", path: "/console/app.css", status: 200, contentType: "text/css; charset=utf-8", body: embedded(t, "app.css")},
		{name: "icon", method: "GET", path: "/console/favicon.svg", status: 200, contentType: "image/svg+xml", body: embedded(t, "favicon.svg")},
		{name: "escaped name", method: "GET", path: "/console/app%2Ejs", status: 200, contentType: "text/javascript; charset=utf-8", body: embedded(t, "app.js")},
		{name: "missing asset", method: "GET", path: "/console/missing.css", status: 404, contentType: "application/json"},
		{name: "missing module", method: "GET", path: "/console/views/missing.js", status: 404, contentType: "application/json"},
		{name: "not the console", method: "GET", path: "/consoleX", status: 404, contentType: "application/json"},
		{name: "post", method: "POST", path: "/console/app.js", status: 405, contentType: "application/json"},
		{name: "head has no body", method: "HEAD", path: "/console/", status: 200, contentType: "text/html; charset=utf-8", body: []byte{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, c, tc.method, tc.path, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (body %s)", resp.StatusCode, tc.status, resp.Body)
			}
			if tc.contentType != "" && resp.Headers["content-type"] != tc.contentType {
				t.Errorf("content-type %q, want %q", resp.Headers["content-type"], tc.contentType)
			}
			if tc.location != "" && resp.Headers["location"] != tc.location {
				t.Errorf("location %q, want %q", resp.Headers["location"], tc.location)
			}
			if tc.body != nil && !bytes.Equal(body(t, resp), tc.body) {
				t.Errorf("body differs from the embedded file (%d bytes, want %d)", len(body(t, resp)), len(tc.body))
			}
			if tc.status >= 400 {
				var e struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal([]byte(resp.Body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
					t.Errorf("error body %q is not {\"error\":{\"code\",\"message\"}}: %v", resp.Body, err)
				}
			}
		})
	}
	t.Run("405 says what is allowed", func(t *testing.T) {
		if got := get(t, c, "PUT", "/console/", nil).Headers["allow"]; got != "GET, HEAD" {
			t.Errorf("allow = %q", got)
		}
	})
	t.Run("redirect keeps the query", func(t *testing.T) {
		resp, _ := c.Handle(context.Background(), events.APIGatewayV2HTTPRequest{
			RawPath: "/console", RawQueryString: "a=b",
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}},
		})
		if resp.Headers["location"] != "/console/index.html?a=b" {
			t.Errorf("location %q", resp.Headers["location"])
		}
	})
}

func TestCaching(t *testing.T) {
	c := New()
	first := get(t, c, "GET", "/console/app.js", nil)
	etag := first.Headers["etag"]
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("etag %q", etag)
	}
	if first.Headers["cache-control"] != "no-cache" {
		t.Errorf("cache-control %q, want no-cache", first.Headers["cache-control"])
	}
	if got := get(t, c, "GET", "/console/", nil).Headers["cache-control"]; got != "no-cache" {
		t.Errorf("index cache-control %q, want no-cache", got)
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		resp := get(t, c, "GET", "/console/app.js", map[string]string{"If-None-Match": inm})
		if resp.StatusCode != 304 || resp.Body != "" {
			t.Errorf("If-None-Match %s: status %d body %d bytes, want 304 empty", inm, resp.StatusCode, len(resp.Body))
		}
	}
	if resp := get(t, c, "GET", "/console/app.js", map[string]string{"if-none-match": `"other"`}); resp.StatusCode != 200 {
		t.Errorf("stale etag: status %d, want 200", resp.StatusCode)
	}
	if other := get(t, c, "GET", "/console/app.css", nil).Headers["etag"]; other == etag {
		t.Error("two files share an etag")
	}
}

func TestGzip(t *testing.T) {
	c := New()
	cases := []struct {
		ae   string
		gzip bool
	}{
		{"", false},
		{"gzip", true},
		{"br, gzip, deflate", true},
		{"GZIP;q=0.5", true},
		{"gzip;q=0", false},
		{"identity", false},
		{"x-gzip-not", false},
	}
	want := embedded(t, "index.html")
	for _, tc := range cases {
		t.Run(tc.ae, func(t *testing.T) {
			resp := get(t, c, "GET", "/console/", map[string]string{"accept-encoding": tc.ae})
			if got := resp.Headers["content-encoding"] == "gzip"; got != tc.gzip {
				t.Fatalf("gzip %v, want %v", got, tc.gzip)
			}
			if tc.gzip && !resp.IsBase64Encoded {
				t.Error("gzip body not base64-encoded")
			}
			if !bytes.Equal(body(t, resp), want) {
				t.Error("decoded body differs from index.html")
			}
			if resp.Headers["vary"] != "Accept-Encoding" {
				t.Errorf("vary %q", resp.Headers["vary"])
			}
		})
	}
}

func TestTraversalRefused(t *testing.T) {
	c := New()
	paths := []string{
		"/console/../console.go",
		"/console/..",
		"/console/%2e%2e/console.go",
		"/console/%2E%2E%2Fconsole.go",
		"/console/views/..%2f..%2fconsole.go",
		"/console/views/%2e%2e/index.html",
		"/console/%252e%252e/console.go",
		"/console/..%5cconsole.go",
		"/console/views\\..\\index.html",
		"/console/./app.js",
		"/console//app.js",
		"/console/.hidden",
		"/console/app.js%00.html",
		"/console/%zz",
		"/console/static/index.html",
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			resp := get(t, c, "GET", p, nil)
			// Every one of these is refused or answered with the page itself:
			// never a file from outside static/, never a listing.
			if resp.StatusCode == 200 {
				if b := body(t, resp); !bytes.Equal(b, embedded(t, "index.html")) {
					t.Fatalf("answered 200 with something other than the page: %.80q", b)
				}
				return
			}
			if resp.StatusCode != 404 {
				t.Fatalf("status %d, want 404", resp.StatusCode)
			}
		})
	}
	t.Run("dot segments are refused outright", func(t *testing.T) {
		for _, p := range []string{"/console/../console.go", "/console/%2e%2e/console.go", "/console/views/..%2f..%2fconsole.go", "/console/./app.js", "/console/%252e%252e/x"} {
			if got := get(t, c, "GET", p, nil).StatusCode; got != 404 {
				t.Errorf("%s: status %d, want 404", p, got)
			}
		}
	})
}

// TestBundleSize is the budget: everything the console ships,
// gzipped file by file as it is served, stays under 150 KB.
func TestBundleSize(t *testing.T) {
	const budget = 150 * 1024
	total, raw := 0, 0
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		gz := len(gzipBytes(b))
		t.Logf("%-28s %7d bytes, %6d gzipped", strings.TrimPrefix(p, "static/"), len(b), gz)
		total += gz
		raw += len(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("total: %d bytes, %d gzipped (%.1f KB of the %d KB budget)", raw, total, float64(total)/1024, budget/1024)
	if total >= budget {
		t.Fatalf("console bundle is %d bytes gzipped, budget %d", total, budget)
	}
	if total == 0 {
		t.Fatal("no files embedded")
	}
}

// FuzzHandle: whatever the path, the answer carries the security headers,
// and a 200 is one of the embedded files, never anything else.
func FuzzHandle(f *testing.F) {
	for _, seed := range []string{
		"/console", "/console/", "/console/app.js", "/console/views/stream.js", "/console/p/proj_a/s/str_1",
		"/console/../console.go", "/console/%2e%2e/x", "/console/%252e%252e/x", "/console/..%5c..%5cgo.mod",
		"/console//app.js", "/console/.git/config", "/console/app.js%00", "/console/%zz", "/consolex", "",
	} {
		f.Add(seed)
	}
	c := New()
	embeddedBodies := map[string]bool{}
	for _, file := range c.files {
		embeddedBodies[string(file.body)] = true
	}
	f.Fuzz(func(t *testing.T, rawPath string) {
		resp, err := c.Handle(context.Background(), events.APIGatewayV2HTTPRequest{
			RawPath:        rawPath,
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}},
		})
		if err != nil {
			t.Fatalf("%q: error %v", rawPath, err)
		}
		for k, v := range SecurityHeaders() {
			if resp.Headers[k] != v {
				t.Fatalf("%q: %s = %q", rawPath, k, resp.Headers[k])
			}
		}
		if resp.StatusCode == http.StatusOK && !embeddedBodies[string(body(t, resp))] {
			t.Fatalf("%q: 200 with a body that is no embedded file", rawPath)
		}
	})
}

// The console's sample requests (events/apigw), as API Gateway hands them
// to the function: the page's redirect, and a script, gzipped for a browser
// that takes it.
func TestSampleRequests(t *testing.T) {
	c := New()
	for _, tc := range []struct {
		name   string
		status int
	}{{"apigw/console.json", http.StatusPermanentRedirect}, {"apigw/console-file.json", http.StatusOK}} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := samples.FS.ReadFile(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			var req events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(b, &req); err != nil {
				t.Fatal(err)
			}
			resp, err := c.Handle(context.Background(), req)
			if err != nil || resp.StatusCode != tc.status || resp.Headers["content-security-policy"] != CSP {
				t.Fatalf("%d %v (%v)", resp.StatusCode, resp.Headers, err)
			}
			if tc.status == http.StatusOK && (resp.Headers["content-encoding"] != "gzip" || !resp.IsBase64Encoded) {
				t.Errorf("a script for a browser that takes gzip: %v, base64 %v", resp.Headers, resp.IsBase64Encoded)
			}
		})
	}
}
