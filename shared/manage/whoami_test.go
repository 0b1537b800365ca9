package manage

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/apikey"
)

// tokenAuth answers the key a bearer token names.
type tokenAuth map[string]apikey.Key

func (a tokenAuth) Authenticate(_ context.Context, header string) (apikey.Key, error) {
	k, ok := a[header]
	if !ok {
		return apikey.Key{}, apikey.ErrUnauthenticated
	}
	return k, nil
}

// listedProjects is a ProjectLister of fixed pages of two.
type listedProjects []string

func (l listedProjects) Projects(_ context.Context, limit int, cursor string) ([]string, string, error) {
	start := 0
	if cursor != "" {
		start = slices.Index(l, cursor) + 1
	}
	end := min(start+limit, len(l))
	next := ""
	if end < len(l) {
		next = l[end-1]
	}
	return l[start:end], next, nil
}

// The console asks who its key is and which projects it can open: a
// scoped key its own projects, a key of every project those that ever had
// a stream; no key is answered 401 and no secret or hash is ever shown.
func TestWhoAmIAndProjects(t *testing.T) {
	a := newAPI()
	a.Auth = tokenAuth{
		"Bearer admin": {ID: apikey.AdminID, Name: "bootstrap admin key", Admin: true, Projects: []string{apikey.AllProjects}, Access: apikey.AccessWrite},
		"Bearer read":  {ID: "key_00000000000000000001", Name: "dash", Projects: []string{"proj_b", "proj_a"}, Access: apikey.AccessRead, LastFour: "wxyz", Hash: "secret-hash"},
		"Bearer every": {ID: "key_00000000000000000002", Name: "ops", Projects: []string{apikey.AllProjects}, Access: apikey.AccessRead},
	}
	a.Projects = listedProjects{"proj_a", "proj_b", "proj_c"}
	get := func(route, token, query string) events.APIGatewayV2HTTPResponse {
		req := events.APIGatewayV2HTTPRequest{RouteKey: route, Headers: map[string]string{}, QueryStringParameters: map[string]string{}}
		if token != "" {
			req.Headers["authorization"] = "Bearer " + token
		}
		if query != "" {
			req.QueryStringParameters["limit"] = query
		}
		resp, err := a.Handle(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	resp := get(RouteWhoAmI, "read", "")
	var who map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &who); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	if who["id"] != "key_00000000000000000001" || who["access"] != "read" || who["admin"] != false || who["last_four"] != "wxyz" {
		t.Errorf("whoami %s", resp.Body)
	}
	if _, ok := who["hash"]; ok || strings.Contains(resp.Body, "secret-hash") {
		t.Errorf("whoami shows the key's hash: %s", resp.Body)
	}
	if resp := get(RouteWhoAmI, "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no key: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := get(RouteListProjects, "wrong", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong key: %d %s", resp.StatusCode, resp.Body)
	}

	list := func(token, limit string) ProjectList {
		t.Helper()
		resp := get(RouteListProjects, token, limit)
		var l ProjectList
		if err := json.Unmarshal([]byte(resp.Body), &l); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		return l
	}
	ids := func(l ProjectList) []string {
		var out []string
		for _, p := range l.Data {
			out = append(out, p.ProjectID)
		}
		return out
	}
	if l := list("read", ""); l.AllProjects || !slices.Equal(ids(l), []string{"proj_b", "proj_a"}) {
		t.Errorf("a scoped key's projects: %+v", l)
	}
	for _, token := range []string{"admin", "every"} {
		if l := list(token, ""); !l.AllProjects || !slices.Equal(ids(l), []string{"proj_a", "proj_b", "proj_c"}) || l.NextCursor != "" {
			t.Errorf("%s key's projects: %+v", token, l)
		}
	}
	if l := list("admin", "2"); !slices.Equal(ids(l), []string{"proj_a", "proj_b"}) || l.NextCursor == "" {
		t.Errorf("a page of two: %+v", l)
	}
	if resp := get(RouteListProjects, "admin", "0"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("limit 0: %d %s", resp.StatusCode, resp.Body)
	}
}

// /console/ reaches the API's fallback in API Gateway (its greedy
// /console/{proxy+} takes no empty path): it is sent to the console's page.
func TestConsoleRootRedirects(t *testing.T) {
	a := newAPI()
	req := events.APIGatewayV2HTTPRequest{RouteKey: RouteFallback, RawPath: "/console/"}
	req.RequestContext.HTTP.Method = http.MethodGet
	resp, err := a.Handle(context.Background(), req)
	if err != nil || resp.StatusCode != http.StatusPermanentRedirect || resp.Headers["location"] != "/console/index.html" {
		t.Errorf("%d %v %s (%v)", resp.StatusCode, resp.Headers, resp.Body, err)
	}
	req.RawPath = "/consolex/"
	if resp, _ := a.Handle(context.Background(), req); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another path: %d", resp.StatusCode)
	}
}
