package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/destination"
)

// testKey must never appear in anything the CLI prints.
const testKey = "lsk_unit_SECRET_0123456789abcdef0123456789abcdef"

const (
	streamID   = "str_0190c0ffee0000000000000000000001"
	streamJSON = `{"id":"` + streamID + `","project_id":"demo","name":"SIEM","destination_type":"http",` +
		`"destination_config":{"authorization_last_four":"wxyz","content_format":"JSONLINES","endpoint":"https://siem.example.com/in","signing_secret_last_four":""},` +
		`"status":"active","created_at":"2026-01-02T03:04:05.123456Z","updated_at":"2026-01-02T03:04:06.5Z","version":3}`
	stream2JSON = `{"id":"str_0190c0ffee0000000000000000000002","project_id":"demo","name":"Loki\tprod","destination_type":"grafana_loki",` +
		`"destination_config":{"url":"https://loki.example.com"},"status":"paused","created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-03T00:00:00Z","version":7}`
	presetJSON = `{"name":"okta.sign-in","vendor":"Okta","description":"Okta sign-ins",` +
		`"filters":{"include":[{"field":"eventType","match":"user.session.*"}]}}`
	keyJSON = `{"id":"key_00112233445566778899","name":"ci","projects":["demo","staging"],"access":"write","admin":false,` +
		`"created_at":"2026-01-02T03:04:05Z","last_four":"9xyz"}`
	revokedKeyJSON = `{"id":"key_aabbccddeeff00112233","name":"old","projects":["*"],"access":"read","admin":false,` +
		`"created_at":"2026-01-02T03:04:05Z","revoked_at":"2026-02-01T10:00:00.25Z","last_four":"abcd"}`
	newSecret  = "lsk_NEWSECRET_shown_once_0123456789"
	queuesJSON = `{"queues":[{"destination_type":"datadog","queue":{"messages":0,"in_flight":3,"delayed":0},` +
		`"dead_letter_queue":{"messages":0,"in_flight":0,"delayed":0}},` +
		`{"destination_type":"http","queue":{"messages":12,"in_flight":10,"delayed":2},"dead_letter_queue":{"messages":4,"in_flight":1,"delayed":0}}]}`
)

// exchange is one request the fake API expects and its answer.
type exchange struct {
	method, path, query string
	header              map[string]string // each must be present with this value
	absent              []string          // headers that must not be sent
	present             []string          // headers that must be sent, with any value
	repeated            []string          // headers that must be sent as in the request before
	body                string            // JSON compared by meaning; "" expects no body
	rawBody             bool              // compare body byte for byte instead
	status              int
	answer              string
	answerHeader        map[string]string
}

// fakeAPI answers a script of exchanges, checking each request against it.
type fakeAPI struct {
	t    *testing.T
	mu   sync.Mutex
	want []exchange
	n    int
	prev http.Header // the request before, for exchange.repeated
	srv  *httptest.Server
}

func newFakeAPI(t *testing.T, want []exchange) *fakeAPI {
	f := &fakeAPI{t: t, want: want}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.t
	if f.n >= len(f.want) {
		t.Errorf("unexpected request %d: %s %s", f.n+1, r.Method, r.URL)
		w.WriteHeader(http.StatusTeapot)
		return
	}
	x := f.want[f.n]
	f.n++
	if r.Method != x.method || r.URL.EscapedPath() != x.path || r.URL.RawQuery != x.query {
		t.Errorf("request %d: got %s %s?%s, want %s %s?%s", f.n, r.Method, r.URL.EscapedPath(), r.URL.RawQuery, x.method, x.path, x.query)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testKey {
		t.Errorf("request %d: Authorization %q", f.n, got)
	}
	for k, v := range x.header {
		if got := r.Header.Get(k); got != v {
			t.Errorf("request %d: header %s = %q, want %q", f.n, k, got, v)
		}
	}
	for _, k := range x.absent {
		if got, ok := r.Header[http.CanonicalHeaderKey(k)]; ok {
			t.Errorf("request %d: header %s = %q sent, want none", f.n, k, got)
		}
	}
	for _, k := range x.present {
		if r.Header.Get(k) == "" {
			t.Errorf("request %d: header %s not sent", f.n, k)
		}
	}
	for _, k := range x.repeated {
		if got := r.Header.Get(k); got == "" || f.prev == nil || got != f.prev.Get(k) {
			t.Errorf("request %d: header %s = %q, want the previous request's %q", f.n, k, got, f.prev.Get(k))
		}
	}
	f.prev = r.Header.Clone()
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Errorf("request %d: body is not gzip: %v", f.n, err)
		} else if body, err = io.ReadAll(zr); err != nil {
			t.Errorf("request %d: body is not gzip: %v", f.n, err)
		}
	}
	switch {
	case x.body == "" && len(body) > 0:
		t.Errorf("request %d: unexpected body %s", f.n, body)
	case x.rawBody && string(body) != x.body:
		t.Errorf("request %d: body\n%s\nwant\n%s", f.n, body, x.body)
	case !x.rawBody && x.body != "" && !jsonEqual(body, []byte(x.body)):
		t.Errorf("request %d: body\n%s\nwant (as JSON)\n%s", f.n, body, x.body)
	}
	for k, v := range x.answerHeader {
		w.Header().Set(k, v)
	}
	if x.answer != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(x.status)
	io.WriteString(w, x.answer)
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func apiErr(code, msg, field string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": msg, "field": field}})
	return string(b)
}

func ok(method, path, answer string) exchange {
	return exchange{method: method, path: path, status: http.StatusOK, answer: answer}
}

const streamsPath = "/v1/projects/demo/streams"

func TestCommands(t *testing.T) {
	jsonCT := map[string]string{"Content-Type": "application/json"}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("{\"a\":1}\n{\"a\":2}\n"))
	zw.Close()

	tests := []struct {
		name   string
		args   []string
		env    map[string]string // replaces the default environment when set
		stdin  string
		files  map[string]string // written to a temp dir; "{dir}" in args names it
		calls  []exchange
		code   int
		stdout []string // substrings, in order
		exact  *string  // the whole of stdout
		stderr []string
	}{
		// streams list
		{name: "list table", args: []string{"streams", "list"},
			calls:  []exchange{ok("GET", streamsPath, `{"data":[`+streamJSON+`,`+stream2JSON+`]}`)},
			stdout: []string{"ID", "NAME", "TYPE", "STATUS", "VERSION", "UPDATED", streamID, "SIEM", "http", "active", "3", "2026-01-02T03:04:06Z", "Loki prod", "paused"}},
		{name: "list limit json exact", args: []string{"streams", "list", "--limit", "5", "--output", "json"},
			calls: []exchange{{method: "GET", path: streamsPath, query: "limit=5", status: 200, answer: `{"data":[` + streamJSON + `],"next_cursor":"c1"}`}},
			exact: ptr(`{"data":[` + streamJSON + `],"next_cursor":"c1"}` + "\n")},
		{name: "list more pages note", args: []string{"streams", "list"},
			calls:  []exchange{ok("GET", streamsPath, `{"data":[`+streamJSON+`],"next_cursor":"c1"}`)},
			stdout: []string{streamID}, stderr: []string{"--all"}},
		{name: "list all follows cursor", args: []string{"streams", "list", "--all", "--limit", "1"},
			calls: []exchange{
				{method: "GET", path: streamsPath, query: "limit=1", status: 200, answer: `{"data":[` + streamJSON + `],"next_cursor":"c/1+"}`},
				{method: "GET", path: streamsPath, query: "cursor=c%2F1%2B&limit=1", status: 200, answer: `{"data":[` + stream2JSON + `]}`},
			},
			stdout: []string{streamID, "str_0190c0ffee0000000000000000000002"}},
		{name: "list all json joins pages", args: []string{"--output", "json", "streams", "list", "--all"},
			calls: []exchange{
				ok("GET", streamsPath, `{"data":[`+streamJSON+`],"next_cursor":"c1"}`),
				{method: "GET", path: streamsPath, query: "cursor=c1", status: 200, answer: `{"data":[` + stream2JSON + `]}`},
			},
			exact: ptr(`{"data":[` + streamJSON + `,` + stream2JSON + `]}` + "\n")},
		{name: "list all stops on a repeated cursor", args: []string{"streams", "list", "--all"},
			calls: []exchange{
				ok("GET", streamsPath, `{"data":[],"next_cursor":"c1"}`),
				{method: "GET", path: streamsPath, query: "cursor=c1", status: 200, answer: `{"data":[],"next_cursor":"c1"}`},
			},
			code: 1, stderr: []string{"same next_cursor"}},
		{name: "list bad limit from the API", args: []string{"streams", "list", "--limit", "500"},
			calls: []exchange{{method: "GET", path: streamsPath, query: "limit=500", status: 400,
				answer: apiErr("invalid_request", "limit: must be a whole number from 1 to 100", "limit")}},
			code: 1, stderr: []string{"error: invalid_request: limit: must be a whole number from 1 to 100 (field: limit)"}},

		// streams get
		{name: "get table", args: []string{"streams", "get", streamID},
			calls:  []exchange{{method: "GET", path: streamsPath + "/" + streamID, status: 200, answer: streamJSON, answerHeader: map[string]string{"ETag": `"3"`}}},
			stdout: []string{streamID, "destination_config:", `"authorization_last_four": "wxyz"`}},
		{name: "get flags after the id", args: []string{"streams", "get", streamID, "--output", "json"},
			calls: []exchange{ok("GET", streamsPath+"/"+streamID, streamJSON)},
			exact: ptr(streamJSON + "\n")},
		{name: "get escapes the path", args: []string{"streams", "get", "a/b?c", "--project", "p.1"},
			calls: []exchange{{method: "GET", path: "/v1/projects/p.1/streams/a%2Fb%3Fc", status: 404, answer: apiErr("not_found", "stream not found", "")}},
			code:  1, stderr: []string{"error: not_found: stream not found\n"}},

		// streams create
		{name: "create from stdin with filters and pii", stdin: `{"endpoint":"https://siem.example.com/in","authorization":"Bearer s3cret"}`,
			files: map[string]string{"filters.json": `{"event_types":["user.session.start"]}`, "pii.json": `{"redact":["actor.alternateId"]}`},
			args: []string{"streams", "create", "--name", "SIEM", "--type", "http", "--config", "-", "--paused",
				"--filters", "{dir}/filters.json", "--pii", "{dir}/pii.json"},
			calls: []exchange{{method: "POST", path: streamsPath, header: jsonCT,
				body: `{"name":"SIEM","destination_type":"http","status":"paused",` +
					`"destination_config":{"endpoint":"https://siem.example.com/in","authorization":"Bearer s3cret"},` +
					`"filters":{"event_types":["user.session.start"]},"pii":{"redact":["actor.alternateId"]}}`,
				status: 201, answer: streamJSON, answerHeader: map[string]string{"ETag": `"1"`}}},
			stdout: []string{streamID, "SIEM"}},
		{name: "create with a preset's filters", stdin: `{"endpoint":"https://x.example.com"}`,
			args: []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-", "--preset", "okta.sign-in"},
			calls: []exchange{ok("GET", "/v1/filter-presets/okta.sign-in", presetJSON),
				{method: "POST", path: streamsPath, header: jsonCT,
					body:   `{"name":"x","destination_type":"http","destination_config":{"endpoint":"https://x.example.com"},"filters":{"include":[{"field":"eventType","match":"user.session.*"}]}}`,
					status: 201, answer: streamJSON}},
			stdout: []string{streamID}},
		{name: "create with its own suspension policy", stdin: `{"endpoint":"https://x.example.com"}`,
			args: []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-", "--suspend-after", "168h", "--suspend-after-permanent", "0"},
			calls: []exchange{{method: "POST", path: streamsPath, header: jsonCT,
				body:   `{"name":"x","destination_type":"http","destination_config":{"endpoint":"https://x.example.com"},"suspension":{"after":"168h","after_permanent_failures":0}}`,
				status: 201, answer: streamJSON}},
			stdout: []string{streamID}},
		{name: "create with a suspension window that is no duration", stdin: `{"endpoint":"https://x.example.com"}`,
			args: []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-", "--suspend-after", "a week"},
			code: 2, stderr: []string{"--suspend-after \"a week\" is not a duration"}},
		{name: "create with two presets", stdin: `{"endpoint":"https://x.example.com"}`,
			args: []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-", "--preset", "okta.sign-in", "--preset", "okta.security"},
			code: 2, stderr: []string{"given twice"}},
		{name: "create with an unknown preset", stdin: `{"endpoint":"https://x.example.com"}`,
			args:  []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-", "--preset", "nope"},
			calls: []exchange{{method: "GET", path: "/v1/filter-presets/nope", status: 404, answer: apiErr("not_found", "no filter preset", "")}},
			code:  1, stderr: []string{"--preset nope", "not_found"}},
		{name: "create with a preset and filters", files: map[string]string{"f.json": `{}`}, stdin: `{}`,
			args: []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-", "--preset", "okta.sign-in", "--filters", "{dir}/f.json"},
			code: 2, stderr: []string{"--filters and --preset"}},

		// presets
		{name: "presets list", args: []string{"presets", "list"},
			calls:  []exchange{ok("GET", "/v1/filter-presets", `{"data":[`+presetJSON+`]}`)},
			stdout: []string{"NAME", "VENDOR", "okta.sign-in", "Okta", "Okta sign-ins"}},
		{name: "presets show prints the filters alone", args: []string{"presets", "show", "okta.sign-in"},
			calls: []exchange{ok("GET", "/v1/filter-presets/okta.sign-in", presetJSON)},
			exact: ptr("{\n  \"include\": [\n    {\n      \"field\": \"eventType\",\n      \"match\": \"user.session.*\"\n    }\n  ]\n}\n")},
		{name: "presets show json", args: []string{"presets", "show", "okta.sign-in", "--output", "json"},
			calls: []exchange{ok("GET", "/v1/filter-presets/okta.sign-in", presetJSON)},
			exact: ptr(presetJSON + "\n")},

		{name: "create from a file, active", files: map[string]string{"c.json": `{"endpoint":"https://x.example.com"}`},
			args: []string{"streams", "create", "--name", "x", "--type", "http", "--config", "{dir}/c.json", "--output", "json"},
			calls: []exchange{{method: "POST", path: streamsPath, header: jsonCT,
				body:   `{"name":"x","destination_type":"http","destination_config":{"endpoint":"https://x.example.com"}}`,
				status: 201, answer: streamJSON}},
			exact: ptr(streamJSON + "\n")},
		{name: "create reveals a generated secret once", stdin: `{"endpoint":"https://x.example.com","generate_signing_secret":true}`,
			args: []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-"},
			calls: []exchange{{method: "POST", path: streamsPath, header: jsonCT,
				body:   `{"name":"x","destination_type":"http","destination_config":{"endpoint":"https://x.example.com","generate_signing_secret":true}}`,
				status: 201, answer: strings.Replace(streamJSON, `"signing_secret_last_four":""`, `"signing_secret":"whsec_abc","signing_secret_last_four":"_abc"`, 1)}},
			stdout: []string{`"signing_secret": "whsec_abc"`},
			stderr: []string{"note: destination_config.signing_secret is shown once"}},
		{name: "create refused", stdin: `{"endpoint":"ftp://x"}`,
			args: []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-"},
			calls: []exchange{{method: "POST", path: streamsPath, header: jsonCT,
				body:   `{"name":"x","destination_type":"http","destination_config":{"endpoint":"ftp://x"}}`,
				status: 400, answer: apiErr("invalid_request", "destination_config.endpoint: must be an https URL", "destination_config.endpoint")}},
			code: 1, stderr: []string{"error: invalid_request: destination_config.endpoint: must be an https URL (field: destination_config.endpoint)\n"}},
		{name: "create at the limit", stdin: `{}`,
			args: []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-"},
			calls: []exchange{{method: "POST", path: streamsPath, body: `{"name":"x","destination_type":"http","destination_config":{}}`,
				status: 409, answer: apiErr("stream_limit_reached", "the project has 25 streams, the most it may have; delete one first", "")}},
			code: 1, stderr: []string{"error: stream_limit_reached: the project has 25 streams"}},

		// streams update / replace
		{name: "update with if-match", stdin: `{"name":"SIEM (prod)","destination_config":{"authorization":null}}`,
			args: []string{"streams", "update", streamID, "--patch", "-", "--if-match", "3"},
			calls: []exchange{{method: "PATCH", path: streamsPath + "/" + streamID,
				header: map[string]string{"Content-Type": "application/json", "If-Match": `"3"`},
				body:   `{"name":"SIEM (prod)","destination_config":{"authorization":null}}`, status: 200, answer: streamJSON}},
			stdout: []string{streamID}},
		{name: "update without if-match", stdin: `{"status":"paused"}`,
			args: []string{"streams", "update", streamID, "--patch", "-"},
			calls: []exchange{{method: "PATCH", path: streamsPath + "/" + streamID, header: jsonCT, absent: []string{"If-Match"},
				body: `{"status":"paused"}`, status: 200, answer: streamJSON}},
			stdout: []string{streamID}},
		{name: "update stale version", stdin: `{"name":"n"}`,
			args: []string{"streams", "update", streamID, "--patch", "-", "--if-match", `"2"`},
			calls: []exchange{{method: "PATCH", path: streamsPath + "/" + streamID, header: map[string]string{"If-Match": `"2"`},
				body: `{"name":"n"}`, status: 412, answer: apiErr("precondition_failed", "the stream has changed since the version in If-Match; read it again and retry", "")}},
			code: 1, stderr: []string{"error: precondition_failed: the stream has changed", "hint: read the stream again"}},
		{name: "replace from a file", files: map[string]string{"s.json": `{"name":"n","destination_type":"http","destination_config":{"endpoint":"https://e.example.com"}}`},
			args: []string{"streams", "replace", streamID, "--body", "{dir}/s.json", "--if-match", "*"},
			calls: []exchange{{method: "PUT", path: streamsPath + "/" + streamID, header: map[string]string{"Content-Type": "application/json", "If-Match": "*"},
				body: `{"name":"n","destination_type":"http","destination_config":{"endpoint":"https://e.example.com"}}`, status: 200, answer: streamJSON}},
			stdout: []string{streamID}},

		// streams delete / enable / disable
		{name: "delete", args: []string{"streams", "delete", streamID},
			calls:  []exchange{{method: "DELETE", path: streamsPath + "/" + streamID, absent: []string{"If-Match"}, status: 204}},
			stdout: []string{"deleted " + streamID}},
		{name: "delete with if-match", args: []string{"streams", "delete", streamID, "--if-match", "1"},
			calls:  []exchange{{method: "DELETE", path: streamsPath + "/" + streamID, header: map[string]string{"If-Match": `"1"`}, status: 204}},
			stdout: []string{"deleted " + streamID}},
		{name: "delete stale version", args: []string{"streams", "delete", streamID, "--if-match", "2"},
			calls: []exchange{{method: "DELETE", path: streamsPath + "/" + streamID, header: map[string]string{"If-Match": `"2"`}, status: 412,
				answer: apiErr("precondition_failed", "the stream has changed since the version in If-Match; read it again and retry", "")}},
			code: 1, stderr: []string{"error: precondition_failed", "hint: read the stream again"}},
		{name: "delete json prints nothing", args: []string{"streams", "delete", streamID, "--output", "json"},
			calls: []exchange{{method: "DELETE", path: streamsPath + "/" + streamID, status: 204}},
			exact: ptr("")},
		{name: "enable", args: []string{"streams", "enable", streamID},
			calls:  []exchange{ok("POST", streamsPath+"/"+streamID+"/enable", streamJSON)},
			stdout: []string{streamID, "active"}},
		{name: "disable", args: []string{"streams", "disable", streamID, "--output", "json"},
			calls: []exchange{ok("POST", streamsPath+"/"+streamID+"/disable", stream2JSON)},
			exact: ptr(stream2JSON + "\n")},
		{name: "enable with if-match", args: []string{"streams", "enable", streamID, "--if-match", "3"},
			calls:  []exchange{{method: "POST", path: streamsPath + "/" + streamID + "/enable", header: map[string]string{"If-Match": `"3"`}, status: 200, answer: streamJSON}},
			stdout: []string{streamID, "active"}},
		{name: "disable with if-match", args: []string{"streams", "disable", streamID, "--if-match", `"7"`, "--output", "json"},
			calls: []exchange{{method: "POST", path: streamsPath + "/" + streamID + "/disable", header: map[string]string{"If-Match": `"7"`}, status: 200, answer: stream2JSON}},
			exact: ptr(stream2JSON + "\n")},

		// streams health / test
		{name: "health", args: []string{"streams", "health", streamID},
			calls: []exchange{ok("GET", streamsPath+"/"+streamID+"/health",
				`{"stream_id":"`+streamID+`","status":"active","delivered_events":1042,"failed_events":3,"retried_attempts":17,"last_success_at":"2026-03-01T12:00:00.999Z","last_error":"endpoint answered 503","last_error_at":"2026-03-01T11:00:00Z",`+
					`"failing_since":"2026-03-01T12:30:00Z","suspends_at":"2026-03-04T12:30:00Z",`+
					`"dead_letters":{"rejected":{"count":1,"oldest_at":"2026-03-01T10:00:00Z","newest_at":"2026-03-01T10:00:00Z"},"exhausted":{"count":2,"oldest_at":"2026-03-01T10:30:00Z","newest_at":"2026-03-01T11:00:00Z"}}}`)},
			stdout: []string{"STREAM", streamID, "DELIVERED", "1042", "FAILED", "3", "RETRIED", "17", "DEAD LETTERS", "exhausted 2, rejected 1",
				"2026-03-01T12:00:00Z", "endpoint answered 503", "FAILING SINCE", "2026-03-01T12:30:00Z", "SUSPENDS AT", "2026-03-04T12:30:00Z"}},
		{name: "health never delivered", args: []string{"streams", "health", streamID},
			calls: []exchange{ok("GET", streamsPath+"/"+streamID+"/health",
				`{"stream_id":"`+streamID+`","status":"paused","delivered_events":0,"failed_events":0,"retried_attempts":0,"last_success_at":null,"last_error":null,"last_error_at":null,"dead_letters":{}}`)},
			stdout: []string{"LAST SUCCESS", "-"}},
		{name: "test accepted", args: []string{"streams", "test", streamID},
			calls:  []exchange{ok("POST", streamsPath+"/"+streamID+"/test", `{"ok":true,"message":"the destination accepted the test event"}`)},
			stdout: []string{"OK", "true", "the destination accepted the test event"}},
		{name: "test refused exits 1", args: []string{"streams", "test", streamID, "--output", "json"},
			calls: []exchange{ok("POST", streamsPath+"/"+streamID+"/test", `{"ok":false,"status_code":401,"message":"endpoint answered 401"}`)},
			code:  1, exact: ptr(`{"ok":false,"status_code":401,"message":"endpoint answered 401"}` + "\n"),
			stderr: []string{"error: the destination did not accept the test event"}},

		// keys
		{name: "keys create", args: []string{"keys", "create", "--name", "ci", "--project", "demo", "--project", "staging", "--access", "write"},
			calls: []exchange{{method: "POST", path: "/v1/keys", header: jsonCT,
				body:   `{"name":"ci","projects":["demo","staging"],"access":"write"}`,
				status: 201, answer: `{"key":` + keyJSON + `,"secret":"` + newSecret + `"}`}},
			stdout: []string{"ID", "NAME", "ACCESS", "PROJECTS", "REVOKED", "key_00112233445566778899", "ci", "write", "demo,staging", "secret: " + newSecret},
			stderr: []string{"shown once"}},
		{name: "keys create json, projects by comma", args: []string{"keys", "create", "--name", "ci", "--project", "demo,staging", "--access", "read", "--output", "json"},
			calls: []exchange{{method: "POST", path: "/v1/keys", header: jsonCT,
				body:   `{"name":"ci","projects":["demo","staging"],"access":"read"}`,
				status: 201, answer: `{"key":` + keyJSON + `,"secret":"` + newSecret + `"}`}},
			exact:  ptr(`{"key":` + keyJSON + `,"secret":"` + newSecret + `"}` + "\n"),
			stderr: []string{"shown once"}},
		{name: "keys create needs the admin key", args: []string{"keys", "create", "--name", "ci", "--project", "demo", "--access", "read"},
			calls: []exchange{{method: "POST", path: "/v1/keys", body: `{"name":"ci","projects":["demo"],"access":"read"}`,
				status: 403, answer: apiErr("forbidden", "this route needs the admin key", "")}},
			code: 1, stderr: []string{"error: forbidden: this route needs the admin key"}},
		{name: "keys list", args: []string{"keys", "list"},
			calls:  []exchange{ok("GET", "/v1/keys", `{"data":[`+keyJSON+`,`+revokedKeyJSON+`]}`)},
			stdout: []string{"key_00112233445566778899", "demo,staging", "-", "key_aabbccddeeff00112233", "read", "*", "2026-02-01T10:00:00Z"}},
		{name: "keys list without a project set", args: []string{"keys", "list", "--output", "json"},
			env:   map[string]string{envKey: testKey},
			calls: []exchange{ok("GET", "/v1/keys", `{"data":[]}`)},
			exact: ptr(`{"data":[]}` + "\n")},
		{name: "keys revoke", args: []string{"keys", "revoke", "key_aabbccddeeff00112233"},
			calls:  []exchange{ok("DELETE", "/v1/keys/key_aabbccddeeff00112233", revokedKeyJSON)},
			stdout: []string{"key_aabbccddeeff00112233", "2026-02-01T10:00:00Z"}},
		{name: "keys revoke unknown", args: []string{"keys", "revoke", "key_nope"},
			calls: []exchange{{method: "DELETE", path: "/v1/keys/key_nope", status: 404, answer: apiErr("not_found", "api key not found", "")}},
			code:  1, stderr: []string{"error: not_found: api key not found"}},

		// admin queues
		{name: "admin queues", args: []string{"admin", "queues"},
			calls: []exchange{ok("GET", "/v1/admin/queues", queuesJSON)},
			stdout: []string{"TYPE     QUEUED  IN FLIGHT  DELAYED  DLQ  DLQ IN FLIGHT  DLQ DELAYED",
				"datadog  0       3          0        0    0              0",
				"http     12      10         2        4    1              0"}},
		{name: "admin queues json", args: []string{"admin", "queues", "--output", "json"},
			env:   map[string]string{envKey: testKey},
			calls: []exchange{ok("GET", "/v1/admin/queues", queuesJSON)},
			exact: ptr(queuesJSON + "\n")},
		{name: "admin queues with a project key", args: []string{"admin", "queues"},
			calls: []exchange{{method: "GET", path: "/v1/admin/queues", status: 403, answer: apiErr("forbidden", "this route needs the admin key", "")}},
			code:  1, stderr: []string{"error: forbidden: this route needs the admin key"}},
		{name: "admin queues SQS unavailable", args: []string{"admin", "queues"},
			calls: []exchange{{method: "GET", path: "/v1/admin/queues", status: 503,
				answer: apiErr("queues_unavailable", "the queues' depths could not be read from SQS; try again", "")}},
			code: 1, stderr: []string{"error: queues_unavailable: the queues' depths could not be read from SQS"}},

		// events send
		{name: "events array from a file", files: map[string]string{"e.json": "[{\"a\":1},{\"a\":2}]"},
			args: []string{"events", "send", "{dir}/e.json"},
			calls: []exchange{{method: "POST", path: "/v1/projects/demo/events", present: []string{"Idempotency-Key"},
				header: map[string]string{"Content-Type": "application/json"}, absent: []string{"Content-Encoding"},
				body: "[{\"a\":1},{\"a\":2}]", rawBody: true, status: 202, answer: `{"accepted":2,"streams":1,"messages":1}`}},
			stdout: []string{"ACCEPTED", "STREAMS", "MESSAGES", "2", "1", "1"}},
		{name: "events ndjson from stdin", stdin: "{\"a\":1}\n{\"a\":2}\n",
			args: []string{"events", "send", "-", "--output", "json"},
			calls: []exchange{{method: "POST", path: "/v1/projects/demo/events",
				header: map[string]string{"Content-Type": "application/x-ndjson"}, absent: []string{"Content-Encoding"},
				body: "{\"a\":1}\n{\"a\":2}\n", rawBody: true, status: 202, answer: `{"accepted":2,"streams":1,"messages":1}`}},
			exact: ptr(`{"accepted":2,"streams":1,"messages":1}` + "\n")},
		{name: "events gzip", stdin: "[{\"a\":1}]",
			args: []string{"events", "send", "-", "--gzip"},
			calls: []exchange{{method: "POST", path: "/v1/projects/demo/events",
				header: map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"},
				body:   "[{\"a\":1}]", rawBody: true, status: 202, answer: `{"accepted":1,"streams":2,"messages":2}`}},
			stdout: []string{"1", "2"}},
		{name: "events already gzipped", stdin: gz.String(),
			args: []string{"events", "send", "-"},
			calls: []exchange{{method: "POST", path: "/v1/projects/demo/events",
				header: map[string]string{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"},
				body:   "{\"a\":1}\n{\"a\":2}\n", rawBody: true, status: 202, answer: `{"accepted":2,"streams":1,"messages":1}`}},
			stdout: []string{"2"}},
		{name: "events from --file", files: map[string]string{"e.ndjson": "{\"a\":1}\n"},
			args: []string{"events", "send", "--file", "{dir}/e.ndjson"},
			calls: []exchange{{method: "POST", path: "/v1/projects/demo/events", header: map[string]string{"Content-Type": "application/x-ndjson"},
				body: "{\"a\":1}\n", rawBody: true, status: 202, answer: `{"accepted":1,"streams":1,"messages":1}`}},
			stdout: []string{"ACCEPTED", "1"}},
		{name: "events from --file - (stdin)", stdin: "[{\"a\":1}]",
			args: []string{"events", "send", "--project", "demo", "--file", "-", "--gzip"},
			calls: []exchange{{method: "POST", path: "/v1/projects/demo/events",
				header: map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"},
				body:   "[{\"a\":1}]", rawBody: true, status: 202, answer: `{"accepted":1,"streams":1,"messages":1}`}},
			stdout: []string{"ACCEPTED", "1"}},
		{name: "events to no stream", stdin: `{"a":1}`,
			args: []string{"events", "send", "-"},
			calls: []exchange{{method: "POST", path: "/v1/projects/demo/events", header: map[string]string{"Content-Type": "application/x-ndjson"},
				body: `{"a":1}`, rawBody: true, status: 202, answer: `{"accepted":1,"streams":0,"messages":0}`}},
			stderr: []string{"no active stream"}},
		{name: "events cut off, then retried with the same key", stdin: `[{"a":1}]`,
			args: []string{"events", "send", "-"},
			calls: []exchange{
				{method: "POST", path: "/v1/projects/demo/events", body: `[{"a":1}]`, rawBody: true, present: []string{"Idempotency-Key"},
					status: 503, answer: apiErr("enqueue_failed", "the events could not all be queued for delivery (1 messages were); retry the request", "")},
				{method: "POST", path: "/v1/projects/demo/events", body: `[{"a":1}]`, rawBody: true, repeated: []string{"Idempotency-Key"},
					status: 202, answer: `{"accepted":1,"streams":2,"messages":2}`}},
			stdout: []string{"ACCEPTED", "1", "2"}, stderr: []string{"trying again with the same Idempotency-Key (attempt 2 of 3)"}},
		{name: "events still failing name the key to finish with", stdin: `[{"a":1}]`,
			args: []string{"events", "send", "-", "--idempotency-key", "job-42:batch-7"},
			calls: []exchange{
				{method: "POST", path: "/v1/projects/demo/events", body: `[{"a":1}]`, rawBody: true, header: map[string]string{"Idempotency-Key": "job-42:batch-7"},
					status: 503, answer: apiErr("enqueue_failed", "not all queued", "")},
				{method: "POST", path: "/v1/projects/demo/events", body: `[{"a":1}]`, rawBody: true, header: map[string]string{"Idempotency-Key": "job-42:batch-7"},
					status: 500, answer: apiErr("internal", "internal error", "")},
				{method: "POST", path: "/v1/projects/demo/events", body: `[{"a":1}]`, rawBody: true, header: map[string]string{"Idempotency-Key": "job-42:batch-7"},
					status: 503, answer: apiErr("enqueue_failed", "not all queued", "")}},
			code: 1, stderr: []string{"error: enqueue_failed", "--idempotency-key job-42:batch-7"}},
		{name: "events key reused is not retried", stdin: `[{"a":1}]`,
			args: []string{"events", "send", "-", "--idempotency-key", "job-42:batch-7"},
			calls: []exchange{{method: "POST", path: "/v1/projects/demo/events", body: `[{"a":1}]`, rawBody: true,
				status: 422, answer: apiErr("idempotency_key_reused", "this Idempotency-Key was used for a request with another body", "Idempotency-Key")}},
			code: 1, stderr: []string{"error: idempotency_key_reused"}},
		{name: "events refused", stdin: `[{"a":`,
			args: []string{"events", "send", "-"},
			calls: []exchange{{method: "POST", path: "/v1/projects/demo/events", body: `[{"a":`, rawBody: true,
				status: 400, answer: apiErr("invalid_json", "event 1: unexpected end of JSON input", "")}},
			code: 1, stderr: []string{"error: invalid_json: event 1"}},
		{name: "events too large", stdin: `[{"a":1}]`,
			args: []string{"events", "send", "-"},
			calls: []exchange{{method: "POST", path: "/v1/projects/demo/events", body: `[{"a":1}]`, rawBody: true,
				status: 413, answer: apiErr("payload_too_large", "request body is 5000000 bytes; the limit is 4194304", "")}},
			code: 1, stderr: []string{"error: payload_too_large", "--gzip"}},

		// errors and configuration
		{name: "401 hints at the key", args: []string{"streams", "list"},
			calls: []exchange{{method: "GET", path: streamsPath, status: 401,
				answer: apiErr("unauthenticated", "send a valid API key: Authorization: Bearer <key>", ""), answerHeader: map[string]string{"WWW-Authenticate": `Bearer realm="logstream"`}}},
			code: 1, stderr: []string{"error: unauthenticated: send a valid API key", "hint:", "LOGSTREAM_KEY"}},
		{name: "key from the flag", args: []string{"streams", "list", "--key", testKey},
			env:    map[string]string{envProject: "demo"},
			calls:  []exchange{ok("GET", streamsPath, `{"data":[]}`)},
			stdout: []string{"ID"}},
		{name: "flags win over the environment", args: []string{"--project", "other", "streams", "list"},
			calls:  []exchange{ok("GET", "/v1/projects/other/streams", `{"data":[]}`)},
			stdout: []string{"ID"}},
		{name: "a gateway error that is not the API's", args: []string{"streams", "list"},
			calls: []exchange{{method: "GET", path: streamsPath, status: 503, answer: `{"message":"Service Unavailable"}`}},
			code:  1, stderr: []string{"error: http_503: Service Unavailable"}},
		{name: "an HTML error page", args: []string{"streams", "list"},
			calls: []exchange{{method: "GET", path: streamsPath, status: 502, answer: "<html>\nbad gateway</html>"}},
			code:  1, stderr: []string{"error: http_502: Bad Gateway: <html>\n"}},
		{name: "an echoed key is redacted", args: []string{"streams", "list"},
			calls: []exchange{{method: "GET", path: streamsPath, status: 400, answer: apiErr("bad", "you sent Bearer "+testKey, "")}},
			code:  1, stderr: []string{"you sent Bearer [redacted]"}},

		// usage errors: exit 2, nothing sent
		{name: "no arguments", args: []string{}, code: 2, stderr: []string{"usage: logstream"}},
		{name: "unknown group", args: []string{"stream", "list"}, code: 2, stderr: []string{`unknown command "stream"`}},
		{name: "unknown command", args: []string{"streams", "lsit"}, code: 2, stderr: []string{`unknown command "streams lsit"`, "streams list"}},
		{name: "group alone", args: []string{"keys"}, code: 2, stderr: []string{"keys create"}},
		{name: "missing id", args: []string{"streams", "get"}, code: 2, stderr: []string{"takes ID", "usage: logstream streams get ID"}},
		{name: "extra argument", args: []string{"streams", "delete", "a", "b"}, code: 2, stderr: []string{"takes ID, got 2"}},
		{name: "unknown flag", args: []string{"streams", "list", "--al"}, code: 2, stderr: []string{"flag provided but not defined: -al"}},
		{name: "bad output", args: []string{"streams", "list", "--output", "yaml"}, code: 2, stderr: []string{"--output must be table or json"}},
		{name: "url with credentials", args: []string{"streams", "list", "--url", "https://u:p@api.example.com"}, code: 2, stderr: []string{"without credentials"}},
		{name: "url not http", args: []string{"streams", "list", "--url", "api.example.com"}, code: 2, stderr: []string{"--url must be an http or https URL"}},
		{name: "no key", args: []string{"streams", "list"}, env: map[string]string{envProject: "demo"}, code: 2, stderr: []string{"no API key", envKey}},
		{name: "no project", args: []string{"streams", "list"}, env: map[string]string{envKey: testKey}, code: 2, stderr: []string{"no project", envProject}},
		{name: "create without name", stdin: `{}`, args: []string{"streams", "create", "--type", "http", "--config", "-"}, code: 2, stderr: []string{"--name is required"}},
		{name: "create without config", args: []string{"streams", "create", "--name", "x", "--type", "http"}, code: 2, stderr: []string{"--config is required"}},
		{name: "create with a config that is not JSON", stdin: `{"endpoint":`, args: []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-"},
			code: 2, stderr: []string{"--config: stdin is not valid JSON"}},
		{name: "create with a missing file", args: []string{"streams", "create", "--name", "x", "--type", "http", "--config", "{dir}/nope.json"},
			code: 2, stderr: []string{"--config: open", "nope.json"}},
		{name: "two inputs from stdin", stdin: `{}`, args: []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-", "--filters", "-"},
			code: 2, stderr: []string{"only one input can come from stdin"}},
		{name: "bad if-match", stdin: `{}`, args: []string{"streams", "update", streamID, "--patch", "-", "--if-match", "W/3"}, code: 2, stderr: []string{"--if-match must be a stream version"}},
		{name: "update without patch", args: []string{"streams", "update", streamID}, code: 2, stderr: []string{"--patch is required"}},
		{name: "negative limit", args: []string{"streams", "list", "--limit", "-1"}, code: 2, stderr: []string{"--limit"}},
		{name: "keys create without project", args: []string{"keys", "create", "--name", "ci", "--access", "read"}, code: 2, stderr: []string{"--project is required"}},
		{name: "keys create bad access", args: []string{"keys", "create", "--name", "ci", "--project", "p", "--access", "admin"}, code: 2, stderr: []string{"--access must be read or write"}},
		{name: "events empty", stdin: " \n", args: []string{"events", "send", "-"}, code: 2, stderr: []string{"no events"}},
		{name: "events not json", stdin: "hello", args: []string{"events", "send", "-"}, code: 2, stderr: []string{"neither a JSON array"}},
		{name: "events without file", args: []string{"events", "send"}, code: 2, stderr: []string{"a FILE, - for stdin, or --file"}},
		{name: "events from a file and --file", args: []string{"events", "send", "a.json", "--file", "b.json"}, code: 2, stderr: []string{"either FILE or --file, not both"}},
		{name: "events with two files", args: []string{"events", "send", "a.json", "b.json"}, code: 2, stderr: []string{"takes [FILE|-], got 2"}},
		{name: "delete bad if-match", args: []string{"streams", "delete", streamID, "--if-match", "W/1"}, code: 2, stderr: []string{"--if-match must be a stream version"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t, tc.calls)
			dir := t.TempDir()
			for name, content := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			env := map[string]string{envURL: api.srv.URL, envKey: testKey, envProject: "demo"}
			if tc.env != nil {
				env = map[string]string{envURL: api.srv.URL}
				for k, v := range tc.env {
					env[k] = v
				}
			}
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "{dir}", dir)
			}
			var stdout, stderr bytes.Buffer
			c := &cli{stdin: strings.NewReader(tc.stdin), stdout: &stdout, stderr: &stderr,
				getenv: func(k string) string { return env[k] },
				// events send waits before it tries again; not here.
				sleep: func(context.Context, time.Duration) error { return nil }}
			code := c.main(args)

			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), stderr.String())
			}
			api.mu.Lock()
			if api.n != len(tc.calls) {
				t.Errorf("%d requests made, want %d", api.n, len(tc.calls))
			}
			api.mu.Unlock()
			if tc.exact != nil && stdout.String() != *tc.exact {
				t.Errorf("stdout\n%q\nwant\n%q", stdout.String(), *tc.exact)
			}
			containsInOrder(t, "stdout", stdout.String(), tc.stdout)
			containsInOrder(t, "stderr", stderr.String(), tc.stderr)
			for name, out := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
				if strings.Contains(out, testKey) {
					t.Errorf("the API key appears in %s:\n%s", name, out)
				}
			}
		})
	}
}

func containsInOrder(t *testing.T, name, out string, want []string) {
	t.Helper()
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("%s lacks %q (in order):\n%s", name, w, out)
			return
		}
		rest = rest[i+len(w):]
	}
}

func ptr(s string) *string { return &s }

// Every command answers -h and "help" with its usage and examples, exit 0,
// without needing any configuration, and never shows the key.
func TestHelp(t *testing.T) {
	env := map[string]string{envKey: testKey}
	for _, cmd := range commands {
		group, verb, _ := strings.Cut(cmd.name, " ")
		for _, args := range [][]string{{group, verb, "-h"}, {group, verb, "--help"}, {"help", group, verb}, {"--key", testKey, group, verb, "-h"}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}
				if code := c.main(args); code != exitOK {
					t.Fatalf("exit %d: %s", code, stderr.String())
				}
				out := stdout.String()
				containsInOrder(t, "help", out, []string{"usage: logstream " + cmd.name, "Example", "--url"})
				if strings.Contains(out+stderr.String(), testKey) {
					t.Error("help shows the key")
				}
			})
		}
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"help", "streams"}, {"streams", "-h"}, {"keys", "--help"}, {"help", "events"}, {"dlq", "-h"}, {"help", "dlq"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
			if code := c.main(args); code != exitOK || !strings.Contains(stdout.String(), "usage: logstream") {
				t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
			}
		})
	}
	var stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := c.main([]string{"help", "streams", "nope"}); code != exitUsage {
		t.Errorf("help for an unknown command: exit %d", code)
	}
}

// The create command's help and its --type flag list every destination
// type, and nothing else: they are derived from destination.Types, and this
// fails if a hand-written list comes back and misses one.
func TestHelpListsEveryDestinationType(t *testing.T) {
	listed := func(t *testing.T, where, list string) {
		t.Helper()
		list = strings.TrimSuffix(strings.TrimSpace(list), ".")
		got := strings.FieldsFunc(strings.ReplaceAll(list, " or ", ", "), func(r rune) bool { return r == ',' || r == ' ' })
		if !slices.Equal(got, destination.Types()) {
			t.Errorf("%s lists %q, want %q", where, got, destination.Types())
		}
	}
	var create *command
	for _, cmd := range commands {
		if cmd.name == "streams create" {
			create = cmd
		}
	}
	if create == nil {
		t.Fatal("no streams create command")
	}
	_, after, ok := strings.Cut(create.help, "one of:\n")
	line, _, _ := strings.Cut(after, "\n")
	if !ok {
		t.Fatalf("help lists no types:\n%s", create.help)
	}
	listed(t, "help", line)

	fs := flag.NewFlagSet("create", flag.ContinueOnError)
	create.setup(fs)
	f := fs.Lookup("type")
	if f == nil {
		t.Fatal("no --type flag")
	}
	_, types, ok := strings.Cut(f.Usage, "`TYPE`: ")
	types, _, _ = strings.Cut(types, " (")
	if !ok {
		t.Fatalf("--type usage %q lists no types", f.Usage)
	}
	listed(t, "--type", types)
}

func TestTransportErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(block)

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unreachable", []string{"--url", closed.URL, "streams", "list"}, []string{"error: ", "connection refused", "hint: is the API running at " + closed.URL}},
		{"timeout", []string{"--url", slow.URL, "--timeout", "100ms", "streams", "create", "--name", "x", "--type", "http", "--config", "-"},
			[]string{"error: ", "hint: the API did not answer in time", "check before retrying"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			env := map[string]string{envKey: testKey, envProject: "demo"}
			c := &cli{stdin: strings.NewReader("{}"), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}
			start := time.Now()
			if code := c.main(tc.args); code != exitAPI {
				t.Fatalf("exit %d, want %d: %s", code, exitAPI, stderr.String())
			}
			if time.Since(start) > 10*time.Second {
				t.Error("--timeout was not honoured")
			}
			containsInOrder(t, "stderr", stderr.String(), tc.want)
			if strings.Contains(stdout.String()+stderr.String(), testKey) {
				t.Error("the key was printed")
			}
		})
	}
}

func TestPlainHTTPWarning(t *testing.T) {
	tests := []struct {
		url  string
		warn bool
	}{
		{"http://127.0.0.1:1", false}, {"http://localhost:1", false}, {"http://[::1]:1", false},
		{"https://api.example.com", false}, {"http://api.example.com", true},
	}
	for _, tc := range tests {
		var stderr bytes.Buffer
		c := &cli{stderr: &stderr, getenv: func(string) string { return "" }}
		if _, err := c.session(&globals{url: tc.url, key: testKey, timeout: time.Second}, false); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(stderr.String(), "unencrypted"); got != tc.warn {
			t.Errorf("%s: warning %v, want %v", tc.url, got, tc.warn)
		}
	}
}

func TestEventsBody(t *testing.T) {
	tests := []struct {
		name, in        string
		gzip            bool
		wantBody, ctype string
		wantErr         string
	}{
		{name: "array", in: "[{\"a\":1}]", wantBody: "[{\"a\":1}]", ctype: "application/json"},
		{name: "array after a BOM and blanks", in: "\ufeff\n [{\"a\":1}]", wantBody: "\ufeff\n [{\"a\":1}]", ctype: "application/json"},
		{name: "ndjson", in: "{\"a\":1}\n{\"a\":2}", wantBody: "{\"a\":1}\n{\"a\":2}", ctype: "application/x-ndjson"},
		{name: "one object on one line", in: "{\"a\":1}\n", wantBody: "{\"a\":1}\n", ctype: "application/x-ndjson"},
		{name: "one pretty object is compacted", in: "{\n  \"a\": 1,\n  \"b\": [2]\n}\n", wantBody: `{"a":1,"b":[2]}`, ctype: "application/x-ndjson"},
		{name: "gzip", in: "[{\"a\":1}]", gzip: true, wantBody: "[{\"a\":1}]", ctype: "application/json"},
		{name: "empty", in: "\n\t ", wantErr: "no events"},
		{name: "text", in: "user logged in", wantErr: "neither"},
		{name: "bad gzip", in: "\x1f\x8bnot really", wantErr: "not valid gzip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, ctype, enc, err := eventsBody([]byte(tc.in), tc.gzip)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.gzip {
				if enc != "gzip" {
					t.Fatalf("encoding %q", enc)
				}
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				body, _ = io.ReadAll(zr)
			} else if enc != "" {
				t.Fatalf("encoding %q", enc)
			}
			if string(body) != tc.wantBody || ctype != tc.ctype {
				t.Errorf("got %q %s, want %q %s", body, ctype, tc.wantBody, tc.ctype)
			}
		})
	}
}

func TestEntityTag(t *testing.T) {
	tests := []struct{ in, want string }{
		{"3", `"3"`}, {`"3"`, `"3"`}, {" 12 ", `"12"`}, {"*", "*"},
		{"0", ""}, {"-1", ""}, {"W/\"3\"", ""}, {"three", ""}, {"", ""},
	}
	for _, tc := range tests {
		got, err := entityTag(tc.in)
		if (err != nil) != (tc.want == "") || got != tc.want {
			t.Errorf("entityTag(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// roundTripFunc is a fake transport: it sees the request the CLI would send.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Without LOGSTREAM_URL or --url the CLI talks to the local stack `make dev`
// serves; either one still wins.
func TestDefaultURL(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{name: "nothing set: the local stack", env: map[string]string{},
			want: "http://127.0.0.1:8080/v1/projects/demo/streams"},
		{name: "the environment", env: map[string]string{envURL: "https://api.example.com/"},
			want: "https://api.example.com/v1/projects/demo/streams"},
		{name: "the flag over the environment", env: map[string]string{envURL: "https://api.example.com"},
			args: []string{"--url", "http://localhost:9090"}, want: "http://localhost:9090/v1/projects/demo/streams"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{envKey: testKey, envProject: "demo"}
			for k, v := range tc.env {
				env[k] = v
			}
			var got string
			var stdout, stderr bytes.Buffer
			c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] },
				transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
					got = r.URL.String()
					return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
						Body: io.NopCloser(strings.NewReader(`{"data":[]}`)), Request: r}, nil
				})}
			if code := c.main(append(tc.args, "streams", "list")); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if got != tc.want {
				t.Errorf("requested %s, want %s", got, tc.want)
			}
		})
	}
}

// A synopsis names the command's arguments, and nothing for a command
// without any.
func TestSynopsis(t *testing.T) {
	for name, want := range map[string]string{
		"keys list":   "logstream keys list",
		"dlq jobs":    "logstream dlq jobs [--limit N] [JOB_ID]",
		"streams get": "logstream streams get ID",
	} {
		if got := lookup(name).synopsis(); got != want {
			t.Errorf("%s: synopsis %q, want %q", name, got, want)
		}
	}
}
