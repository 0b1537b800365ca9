package manage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/logstream/logstream/localstack/standin/table"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/secret"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/stream"
)

// admin lets every request through as the admin key.
type admin struct{}

func (admin) Authenticate(context.Context, string) (apikey.Key, error) {
	return apikey.Key{ID: apikey.AdminID, Admin: true, Projects: []string{apikey.AllProjects}, Access: apikey.AccessWrite}, nil
}

// newStoreAPI is the management API on the real store, in a table of the
// DynamoDB stand-in made for this test.
func newStoreAPI(t *testing.T, maxStreams int) (*manage.API, *store.Streams) {
	t.Helper()
	cfg, tableName := table.New(t)
	sealer, err := secret.NewLocal(secret.GenerateLocalKey())
	if err != nil {
		t.Fatal(err)
	}
	streams := &store.Streams{Client: dynamodb.NewFromConfig(cfg), Table: tableName, Sealer: sealer}
	return &manage.API{Auth: admin{}, Streams: streams, MaxStreams: maxStreams,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, streams
}

func do(t *testing.T, a *manage.API, route, project, streamID, body string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	params := map[string]string{"project_id": project}
	if streamID != "" {
		params["stream_id"] = streamID
	}
	resp, err := a.Handle(context.Background(), events.APIGatewayV2HTTPRequest{RouteKey: route, PathParameters: params,
		Body: body, Headers: map[string]string{"content-type": "application/json", "authorization": "Bearer k"}})
	if err != nil {
		t.Errorf("%s: %v", route, err)
	}
	return resp
}

func errorCode(resp events.APIGatewayV2HTTPResponse) string {
	var eb struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &eb)
	return eb.Error.Code
}

func countStreams(t *testing.T, s *store.Streams, project string) int {
	t.Helper()
	page, _, err := s.List(context.Background(), project, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	return len(page)
}

// The probe made 38–49 streams with 60 parallel creates against a limit of
// 25: the limit was counted, then written. Exactly the limit must hold.
func TestStreamLimitHoldsUnderConcurrentCreates(t *testing.T) {
	const limit = 25
	for _, parallel := range []int{60, 80} {
		t.Run(fmt.Sprintf("%d creates", parallel), func(t *testing.T) {
			a, s := newStoreAPI(t, limit)
			const project = "proj_limit"
			body := `{"name":"n","destination_type":"http","destination_config":{"endpoint":"https://hooks.example.com/x"}}`
			var mu sync.Mutex
			answers := map[string]int{}
			var created []string
			var wg sync.WaitGroup
			for range parallel {
				wg.Go(func() {
					resp := do(t, a, manage.RouteCreate, project, "", body)
					var st stream.Stream
					_ = json.Unmarshal([]byte(resp.Body), &st)
					mu.Lock()
					defer mu.Unlock()
					answers[fmt.Sprintf("%d %s", resp.StatusCode, errorCode(resp))]++
					if resp.StatusCode == 201 {
						created = append(created, st.ID)
					}
				})
			}
			wg.Wait()
			want := map[string]int{"201 ": limit, "409 stream_limit_reached": parallel - limit}
			if fmt.Sprint(answers) != fmt.Sprint(want) {
				t.Fatalf("answers %v, want %v", answers, want)
			}
			if n := countStreams(t, s, project); n != limit {
				t.Fatalf("the project has %d streams, want %d", n, limit)
			}
			// A delete frees exactly one place.
			if resp := do(t, a, manage.RouteDelete, project, created[0], ""); resp.StatusCode != 204 {
				t.Fatalf("delete: %d %s", resp.StatusCode, resp.Body)
			}
			if resp := do(t, a, manage.RouteCreate, project, "", body); resp.StatusCode != 201 {
				t.Fatalf("create after a delete: %d %s", resp.StatusCode, resp.Body)
			}
			if resp := do(t, a, manage.RouteCreate, project, "", body); resp.StatusCode != 409 || errorCode(resp) != "stream_limit_reached" {
				t.Fatalf("create past the limit after a delete: %d %s", resp.StatusCode, resp.Body)
			}
			if n := countStreams(t, s, project); n != limit {
				t.Fatalf("the project has %d streams, want %d", n, limit)
			}
		})
	}
}

// The probe's 20 parallel PATCHes, each adding its own header, left 7–8
// headers: the rest were answered 409 after three quick attempts. Without
// If-Match, concurrent changes of different fields all take effect.
func TestConcurrentPatchesAllTakeEffect(t *testing.T) {
	a, _ := newStoreAPI(t, 0)
	const project, parallel = "proj_patch", 20
	resp := do(t, a, manage.RouteCreate, project, "",
		`{"name":"n","destination_type":"http","destination_config":{"endpoint":"https://hooks.example.com/x"}}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Body)
	}
	var st stream.Stream
	_ = json.Unmarshal([]byte(resp.Body), &st)
	var mu sync.Mutex
	answers := map[int]int{}
	var wg sync.WaitGroup
	for i := range parallel {
		wg.Go(func() {
			resp := do(t, a, manage.RoutePatch, project, st.ID,
				fmt.Sprintf(`{"destination_config":{"custom_headers":{"X-Header-%02d":"v%d"}}}`, i, i))
			mu.Lock()
			defer mu.Unlock()
			answers[resp.StatusCode]++
		})
	}
	wg.Wait()
	if answers[200] != parallel {
		t.Errorf("answers by status: %v, want %d × 200", answers, parallel)
	}
	got := do(t, a, manage.RouteGet, project, st.ID, "")
	var cfg struct {
		DestinationConfig struct {
			CustomHeaders map[string]string `json:"custom_headers"`
		} `json:"destination_config"`
	}
	if err := json.Unmarshal([]byte(got.Body), &cfg); err != nil {
		t.Fatal(err)
	}
	for i := range parallel {
		if h := fmt.Sprintf("X-Header-%02d", i); cfg.DestinationConfig.CustomHeaders[h] != fmt.Sprintf("v%d", i) {
			t.Errorf("header %s lost; the stream has %d of %d headers", h, len(cfg.DestinationConfig.CustomHeaders), parallel)
		}
	}
}
