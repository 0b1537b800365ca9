package manage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/stream"
)

// memStreams is an in-memory Streams.
type memStreams struct{ m map[string]stream.Stream }

func (f *memStreams) Create(_ context.Context, s stream.Stream, limit int) error {
	n := 0
	for _, x := range f.m {
		if x.ProjectID == s.ProjectID {
			n++
		}
	}
	if n >= limit {
		return stream.ErrLimitReached
	}
	f.m[s.ProjectID+"/"+s.ID] = s
	return nil
}
func (f *memStreams) Get(_ context.Context, p, id string) (stream.Stream, error) {
	s, ok := f.m[p+"/"+id]
	if !ok {
		return s, stream.ErrNotFound
	}
	return s, nil
}
func (f *memStreams) List(_ context.Context, p string, limit int, cursor string) ([]stream.Stream, string, error) {
	if cursor == "bad" {
		return nil, "", &stream.ValidationError{Field: "cursor", Msg: "bad"}
	}
	var out []stream.Stream
	for _, s := range f.m {
		if s.ProjectID == p && len(out) < limit {
			out = append(out, s)
		}
	}
	return out, "", nil
}
func (f *memStreams) Update(_ context.Context, s stream.Stream, expected int64) error {
	cur, ok := f.m[s.ProjectID+"/"+s.ID]
	if !ok {
		return stream.ErrNotFound
	}
	if cur.Version != expected {
		return stream.ErrConflict
	}
	f.m[s.ProjectID+"/"+s.ID] = s
	return nil
}
func (f *memStreams) Delete(_ context.Context, p, id string) error {
	if _, ok := f.m[p+"/"+id]; !ok {
		return stream.ErrNotFound
	}
	delete(f.m, p+"/"+id)
	return nil
}

func call(t *testing.T, a *API, route, project, streamID, query, body string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	params := map[string]string{"project_id": project}
	if streamID != "" {
		params["stream_id"] = streamID
	}
	qs := map[string]string{}
	if query != "" {
		k, v, _ := strings.Cut(query, "=")
		qs[k] = v
	}
	resp, err := a.Handle(context.Background(), events.APIGatewayV2HTTPRequest{RouteKey: route, PathParameters: params,
		QueryStringParameters: qs, Body: body, Headers: map[string]string{"content-type": "application/json"}})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func errCode(t *testing.T, resp events.APIGatewayV2HTTPResponse) (string, string) {
	t.Helper()
	var eb struct {
		Error struct{ Code, Field string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &eb); err != nil {
		t.Fatalf("not a JSON error: %s", resp.Body)
	}
	return eb.Error.Code, eb.Error.Field
}

const createBody = `{"name":"SIEM","destination_type":"http","destination_config":{"endpoint":"https://hooks.example.com/x","authorization":"Bearer super-secret-token"}}`

func TestLifecycle(t *testing.T) {
	a := &API{Auth: adminAuth{}, Streams: &memStreams{m: map[string]stream.Stream{}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	resp := call(t, a, RouteCreate, "proj_a", "", "", createBody)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Body)
	}
	var created stream.Stream
	json.Unmarshal([]byte(resp.Body), &created)
	if resp.Headers["location"] != "/v1/projects/proj_a/streams/"+created.ID || created.Status != stream.StatusActive {
		t.Fatalf("created %+v, location %q", created, resp.Headers["location"])
	}
	for name, r := range map[string]events.APIGatewayV2HTTPResponse{
		"create": resp, "get": call(t, a, RouteGet, "proj_a", created.ID, "", ""), "list": call(t, a, RouteList, "proj_a", "", "limit=5", ""),
	} {
		if r.StatusCode/100 != 2 || strings.Contains(r.Body, "super-secret") || !strings.Contains(r.Body, created.ID) {
			t.Errorf("%s: %d %s", name, r.StatusCode, r.Body)
		}
	}
	if r := call(t, a, RouteGet, "proj_b", created.ID, "", ""); r.StatusCode != 404 {
		t.Errorf("another project read the stream: %d", r.StatusCode)
	}
	if r := call(t, a, RouteList, "proj_b", "", "", ""); strings.Contains(r.Body, created.ID) {
		t.Errorf("another project listed the stream: %s", r.Body)
	}
	if r := call(t, a, RouteDelete, "proj_a", created.ID, "", ""); r.StatusCode != 204 {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if r := call(t, a, RouteDelete, "proj_a", created.ID, "", ""); r.StatusCode != 404 {
		t.Fatalf("second delete: %d", r.StatusCode)
	}
}

func TestErrors(t *testing.T) {
	a := &API{Auth: adminAuth{}, Streams: &memStreams{m: map[string]stream.Stream{}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tests := []struct {
		name                  string
		route, project, id, q string
		body                  string
		wantStatus            int
		wantCode, wantField   string
	}{
		{"unknown field", RouteCreate, "p", "", "", `{"name":"x","bogus":1}`, 400, "invalid_request", "bogus"},
		{"bad url", RouteCreate, "p", "", "", `{"name":"x","destination_type":"http","destination_config":{"endpoint":"ftp://x"}}`, 400, "invalid_request", "destination_config.endpoint"},
		{"not json", RouteCreate, "p", "", "", `{`, 400, "invalid_request", ""},
		{"too large", RouteCreate, "p", "", "", `{"name":"` + strings.Repeat("x", maxBodyBytes) + `"}`, 413, "payload_too_large", ""},
		{"bad project", RouteList, "a b", "", "", "", 400, "invalid_request", "project_id"},
		{"bad limit", RouteList, "p", "", "limit=0", "", 400, "invalid_request", "limit"},
		{"bad cursor", RouteList, "p", "", "cursor=bad", "", 400, "invalid_request", "cursor"},
		{"malformed stream id", RouteGet, "p", "nope", "", "", 404, "not_found", ""},
		{"unknown stream", RouteGet, "p", stream.NewID(), "", "", 404, "not_found", ""},
		{"unknown route", "PATCH /x", "p", "", "", "", 404, "route_not_found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, a, tc.route, tc.project, tc.id, tc.q, tc.body)
			code, field := errCode(t, r)
			if r.StatusCode != tc.wantStatus || code != tc.wantCode || field != tc.wantField {
				t.Fatalf("got %d %s %q, want %d %s %q: %s", r.StatusCode, code, field, tc.wantStatus, tc.wantCode, tc.wantField, r.Body)
			}
		})
	}
}

type failingStreams struct{ memStreams }

func (failingStreams) Create(context.Context, stream.Stream, int) error {
	return fmt.Errorf("put: %w", errors.New("ProvisionedThroughputExceeded"))
}

func TestStoreFailureIsA500WithoutDetails(t *testing.T) {
	a := &API{Auth: adminAuth{}, Streams: &failingStreams{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r := call(t, a, RouteCreate, "p", "", "", createBody)
	if code, _ := errCode(t, r); r.StatusCode != 500 || code != "internal" || strings.Contains(r.Body, "Provisioned") {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
}

// The API Gateway samples in events/ work against the handler as they are.
func TestSampleRequests(t *testing.T) {
	a := &API{Auth: sampleKey{}, Streams: &memStreams{m: map[string]stream.Stream{}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	a.Validator.Deliverable = func(string) bool { return true } // a full deployment
	// In order: each family of Stytch samples creates, reads, toggles and
	// deletes one stream.
	for _, tc := range []struct {
		name string
		want int
	}{
		{"apigw/create-stream.json", 201}, {"apigw/list-streams.json", 200}, {"apigw/get-stream.json", 404},
		{"apigw/delete-stream.json", 404}, {"apigw/patch-stream.json", 404}, {"apigw/put-stream.json", 404},
		{"apigw/enable-stream.json", 404}, {"apigw/disable-stream.json", 404}, {"apigw/stream-health.json", 404},
		{"apigw/test-stream.json", 404}, {"apigw/stytch-create.json", 200}, {"apigw/stytch-get.json", 200},
		{"apigw/stytch-disable.json", 200}, {"apigw/stytch-enable.json", 200}, {"apigw/stytch-delete.json", 200},
		{"apigw/stytch-update.json", 404}, {"apigw/stytch-v3-create.json", 200}, {"apigw/stytch-v3-get.json", 200},
		{"apigw/stytch-v3-update.json", 200}, {"apigw/stytch-v3-disable.json", 200}, {"apigw/stytch-v3-enable.json", 200},
		{"apigw/stytch-v3-delete.json", 200}, {"apigw/stytch-fallback.json", 404}, {"apigw/fallback.json", 404},
		{"apigw/whoami.json", 200}, {"apigw/list-projects.json", 200},
	} {
		name, want := tc.name, tc.want
		t.Run(name, func(t *testing.T) {
			b, err := samples.FS.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			var req events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(b, &req); err != nil {
				t.Fatal(err)
			}
			resp, _ := a.Handle(context.Background(), req)
			if resp.StatusCode != want {
				t.Fatalf("%d %s, want %d", resp.StatusCode, resp.Body, want)
			}
		})
	}
}

// sampleKey is adminAuth with the id of the workspace key the v3 samples
// present: Basic base64("key_5a3c0e9b1f7d2c4e6a80:lsk_<a project key>").
type sampleKey struct{}

func (sampleKey) Authenticate(ctx context.Context, authorization string) (apikey.Key, error) {
	k, err := adminAuth{}.Authenticate(ctx, authorization)
	k.ID = "key_5a3c0e9b1f7d2c4e6a80"
	return k, err
}

func callWith(t *testing.T, a *API, route, project, id, body string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	h := map[string]string{"content-type": "application/json"}
	for k, v := range headers {
		h[k] = v
	}
	resp, err := a.Handle(context.Background(), events.APIGatewayV2HTTPRequest{RouteKey: route,
		PathParameters: map[string]string{"project_id": project, "stream_id": id}, Body: body, Headers: h})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func decodeStream(t *testing.T, r events.APIGatewayV2HTTPResponse) stream.Stream {
	t.Helper()
	var s stream.Stream
	if err := json.Unmarshal([]byte(r.Body), &s); err != nil {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	return s
}

func newAPI() *API {
	return &API{Auth: adminAuth{}, Streams: &memStreams{m: map[string]stream.Stream{}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestUpdates(t *testing.T) {
	a := newAPI()
	created := decodeStream(t, call(t, a, RouteCreate, "p", "", "", createBody))
	id := created.ID
	steps := []struct {
		name       string
		route      string
		body       string
		headers    map[string]string
		wantStatus int
		check      func(t *testing.T, s stream.Stream)
	}{
		{"patch renames and keeps the rest", RoutePatch, `{"name":"renamed"}`, nil, 200, func(t *testing.T, s stream.Stream) {
			if s.Name != "renamed" || s.Version != 2 || s.DestinationType != "http" || s.Status != stream.StatusActive {
				t.Fatalf("%+v", s)
			}
		}},
		{"patch with the current etag", RoutePatch, `{"filters":{"include":[{"field":"eventType","match":"user.*"}]}}`, map[string]string{"if-match": `"2"`}, 200,
			func(t *testing.T, s stream.Stream) {
				if s.Filters == nil || s.Filters.Include[0].Match != "user.*" || s.Version != 3 {
					t.Fatalf("%+v", s)
				}
			}},
		{"patch with a stale etag", RoutePatch, `{"name":"lost"}`, map[string]string{"if-match": `"2"`}, 412, nil},
		{"patch removing filters with null", RoutePatch, `{"filters":null}`, nil, 200, func(t *testing.T, s stream.Stream) {
			if s.Filters != nil {
				t.Fatalf("filters kept: %+v", s.Filters)
			}
		}},
		{"patch cannot change the type", RoutePatch, `{"destination_type":"datadog"}`, nil, 400, nil},
		{"patch cannot suspend", RoutePatch, `{"status":"suspended"}`, nil, 400, nil},
		{"patch with an unknown field", RoutePatch, `{"colour":"red"}`, nil, 400, nil},
		{"patch with a non-object", RoutePatch, `[1]`, nil, 400, nil},
		{"disable", RouteDisable, ``, nil, 200, func(t *testing.T, s stream.Stream) {
			if s.Status != stream.StatusPaused {
				t.Fatalf("%+v", s)
			}
		}},
		{"disable again changes nothing", RouteDisable, ``, nil, 200, func(t *testing.T, s stream.Stream) {
			if s.Version != 5 {
				t.Fatalf("version %d", s.Version)
			}
		}},
		{"enable", RouteEnable, ``, nil, 200, func(t *testing.T, s stream.Stream) {
			if s.Status != stream.StatusActive || s.Version != 6 {
				t.Fatalf("%+v", s)
			}
		}},
		{"put moving the endpoint must repeat the authorization", RoutePut, `{"name":"put","destination_type":"http","destination_config":{"endpoint":"https://other.example.com/"}}`, nil, 400, nil},
		{"put replaces, keeping the type", RoutePut, `{"name":"put","destination_type":"http","destination_config":{"endpoint":"https://other.example.com/","authorization":"Bearer other-secret-token"}}`, nil, 200,
			func(t *testing.T, s stream.Stream) {
				if s.Name != "put" || !strings.Contains(string(s.DestinationConfig), "other.example.com") || s.Status != stream.StatusActive {
					t.Fatalf("%+v", s)
				}
			}},
		{"put without a config", RoutePut, `{"name":"x","destination_type":"http"}`, nil, 400, nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := callWith(t, a, st.route, "p", id, st.body, st.headers)
			if r.StatusCode != st.wantStatus {
				t.Fatalf("%d %s, want %d", r.StatusCode, r.Body, st.wantStatus)
			}
			if st.check != nil {
				s := decodeStream(t, r)
				if r.Headers["etag"] != s.ETag() {
					t.Fatalf("etag %q for version %d", r.Headers["etag"], s.Version)
				}
				st.check(t, s)
			}
		})
	}
	if r := callWith(t, a, RoutePatch, "other", id, `{"name":"x"}`, nil); r.StatusCode != 404 {
		t.Fatalf("another project patched the stream: %d", r.StatusCode)
	}
}

// racingStreams lets another writer change the stream between the API's
// read and its write, the first races times.
type racingStreams struct {
	*memStreams
	races int
}

func (r *racingStreams) Update(ctx context.Context, s stream.Stream, expected int64) error {
	if r.races > 0 {
		r.races--
		cur := r.m[s.ProjectID+"/"+s.ID]
		cur.Name, cur.Version = "changed elsewhere", cur.Version+1
		r.m[s.ProjectID+"/"+s.ID] = cur
	}
	return r.memStreams.Update(ctx, s, expected)
}

func TestConcurrentUpdate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ifMatch    string
		wantStatus int
	}{{"with If-Match the loser gets 412", `"1"`, 412}, {"without, it is retried on the new version", "", 200}} {
		t.Run(tc.name, func(t *testing.T) {
			mem := &memStreams{m: map[string]stream.Stream{}}
			a := &API{Auth: adminAuth{}, Streams: &racingStreams{memStreams: mem, races: 1}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			id := decodeStream(t, call(t, a, RouteCreate, "p", "", "", createBody)).ID
			r := callWith(t, a, RoutePatch, "p", id, `{"status":"paused"}`, map[string]string{"if-match": tc.ifMatch})
			if r.StatusCode != tc.wantStatus {
				t.Fatalf("%d %s", r.StatusCode, r.Body)
			}
			if tc.wantStatus == 200 {
				if s := decodeStream(t, r); s.Name != "changed elsewhere" || s.Status != stream.StatusPaused || s.Version != 3 {
					t.Fatalf("lost an update: %+v", s)
				}
			}
		})
	}
}

func TestStreamLimit(t *testing.T) {
	a := newAPI()
	a.MaxStreams = 2
	for i, want := range []int{201, 201, 409} {
		r := call(t, a, RouteCreate, "p", "", "", createBody)
		if r.StatusCode != want {
			t.Fatalf("create %d: %d %s", i, r.StatusCode, r.Body)
		}
	}
	if r := call(t, a, RouteCreate, "q", "", "", createBody); r.StatusCode != 201 {
		t.Fatalf("the limit is per project: %d", r.StatusCode)
	}
}
