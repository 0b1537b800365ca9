package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode"
)

const userAgent = "logstream-cli/0.1"

// maxResponseBytes bounds what is read of an answer. API Gateway caps a
// Lambda integration's response at 6 MB (the Lambda payload quota).
const maxResponseBytes = 6 << 20

// session is a command's resolved configuration and its API client.
type session struct {
	*cli
	api     *client
	base    string
	project string
	json    bool
	// stdinTaken is set once an input flag has read "-".
	stdinTaken bool
}

// session resolves the flags and the environment into a session. Flags win.
func (c *cli) session(g *globals, needProject bool) (*session, error) {
	key := cmpOr(g.key, c.getenv(envKey))
	c.secret = key
	output := cmpOr(g.output, "table")
	if output != "table" && output != "json" {
		return nil, usagef("--output must be table or json, not %q", output)
	}
	raw := cmpOr(cmpOr(g.url, c.getenv(envURL)), defaultURL)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--url must be an http or https URL such as https://api.example.com, not %q", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, usagef("--url must be the API's base URL, without credentials, query or fragment")
	}
	if key == "" {
		return nil, usagef("no API key: set %s (preferred: --key stays in shell history)", envKey)
	}
	project := cmpOr(g.project, c.getenv(envProject))
	if needProject && project == "" {
		return nil, usagef("no project: set %s or --project", envProject)
	}
	if g.timeout <= 0 {
		return nil, usagef("--timeout must be positive")
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		fmt.Fprintf(c.stderr, "warning: %s is plain http to another machine: the API key travels unencrypted\n", u.Redacted())
	}
	base := strings.TrimRight(u.String(), "/")
	transport := c.transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	return &session{
		cli: c, base: base, project: project, json: output == "json",
		api: &client{base: base, key: key, http: &http.Client{Timeout: g.timeout, Transport: transport}},
	}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// client calls the API with the key in the Authorization header.
type client struct {
	base string
	key  string
	http *http.Client
}

// response is a 2xx answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// request is one API call. body nil sends none.
type request struct {
	method string
	path   string // already escaped
	query  url.Values
	header http.Header
	body   []byte
}

// do sends r and returns a 2xx answer, an *apiError for any other status,
// or a *transportError when no answer came.
func (c *client) do(ctx context.Context, r request) (*response, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("build request %s %s: %w", r.method, r.path, err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &transportError{err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, &transportError{fmt.Errorf("read the answer to %s %s: %w", r.method, r.path, err)}
	}
	if len(b) > maxResponseBytes {
		return nil, fmt.Errorf("the answer to %s %s is larger than %d bytes", r.method, r.path, maxResponseBytes)
	}
	if resp.StatusCode/100 != 2 {
		return nil, apiErrorOf(resp.StatusCode, b)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// apiError is an API answer other than 2xx, from its
// {"error":{"code","message","field"}} body.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string {
	s := e.Code + ": " + e.Message
	if e.Field != "" {
		s += " (field: " + e.Field + ")"
	}
	return s
}

func apiErrorOf(status int, body []byte) *apiError {
	var env struct {
		Error *apiError `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil && env.Error.Code != "" {
		env.Error.Status = status
		return env.Error
	}
	// Not the API's own answer: a proxy's or API Gateway's ({"message":…}).
	msg := http.StatusText(status)
	var gw struct{ Message string }
	if json.Unmarshal(body, &gw) == nil && gw.Message != "" {
		msg = gw.Message
	} else if snippet := firstLine(body, 200); snippet != "" {
		msg += ": " + snippet
	}
	return &apiError{Status: status, Code: fmt.Sprintf("http_%d", status), Message: msg}
}

// firstLine returns the first line of b, printable characters only, at most n runes.
func firstLine(b []byte, n int) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	line = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, line)
	if r := []rune(line); len(r) > n {
		line = string(r[:n]) + "…"
	}
	return line
}

// transportError is a request that got no HTTP answer.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// hinted is an error with a hint for the command that met it.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

// printError prints err as "error: …" with a hint where one helps.
func (c *cli) printError(err error, base string) {
	fmt.Fprintf(c.stderr, "error: %s\n", c.redact(err.Error()))
	var ae *apiError
	var te *transportError
	var ne net.Error
	var h hinted
	switch {
	case errors.As(err, &h):
		fmt.Fprintf(c.stderr, "hint: %s\n", h.hint)
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		fmt.Fprintf(c.stderr, "hint: the API did not accept the key; check %s (or --key)\n", envKey)
	case errors.As(err, &ae) && ae.Status == http.StatusPreconditionFailed:
		fmt.Fprintln(c.stderr, "hint: read the stream again ('logstream streams get ID') and retry with its version")
	case errors.As(err, &te) && errors.As(err, &ne) && ne.Timeout():
		fmt.Fprintln(c.stderr, "hint: the API did not answer in time (--timeout); a change may still have been made, so check before retrying one")
	case errors.As(err, &te):
		fmt.Fprintf(c.stderr, "hint: is the API running at %s? check %s or --url\n", base, envURL)
	}
}
