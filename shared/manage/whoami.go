package manage

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/httpapi"
	"github.com/logstream/logstream/shared/topology"
)

// Routes any valid key may call, about the key itself: what it may do
// (the console shows it, and hides what it may not) and which projects it
// can open.
const (
	RouteWhoAmI       = topology.RouteWhoAmI
	RouteListProjects = topology.RouteListProjects
)

// ProjectLister lists the projects that ever had a stream, for a key of
// every project (shared/store keeps the list).
type ProjectLister interface {
	Projects(ctx context.Context, limit int, cursor string) ([]string, string, error)
}

// keyRoutes are served to any valid key, which they are about.
var keyRoutes = map[string]func(a *API, ctx context.Context, k apikey.Key, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error){
	RouteWhoAmI:       (*API).whoami,
	RouteListProjects: (*API).listProjects,
}

// whoami answers the caller's key as the key list shows it: its id, name,
// access, projects and whether it is the admin key; never its secret.
func (a *API) whoami(_ context.Context, k apikey.Key, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	out := WhoAmI{ID: k.ID, Name: k.Name, Projects: k.Projects, Access: k.Access, Admin: k.Admin, LastFour: k.LastFour}
	if !k.CreatedAt.IsZero() { // the bootstrap admin key was never created
		out.CreatedAt = &k.CreatedAt
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

// WhoAmI is the caller's key as GET /v1/whoami answers it.
type WhoAmI struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	Projects  []string      `json:"projects"`
	Access    apikey.Access `json:"access"`
	Admin     bool          `json:"admin"`
	CreatedAt *time.Time    `json:"created_at,omitempty"`
	LastFour  string        `json:"last_four"`
}

// ProjectList is a page of the projects a key can open.
type ProjectList struct {
	Data []ProjectRef `json:"data"`
	// AllProjects says the key may open every project, listed or not: the
	// list is the projects that ever had a stream.
	AllProjects bool   `json:"all_projects"`
	NextCursor  string `json:"next_cursor,omitempty"`
}

// ProjectRef names a project.
type ProjectRef struct {
	ProjectID string `json:"project_id"`
}

const (
	defaultProjectsLimit = 100
	maxProjectsLimit     = 1000
)

// listProjects answers a scoped key its own projects, and a key of every
// project a page of those that ever had a stream.
func (a *API) listProjects(ctx context.Context, k apikey.Key, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	out := ProjectList{Data: []ProjectRef{}}
	if !k.Admin && !slices.Contains(k.Projects, apikey.AllProjects) {
		for _, p := range k.Projects {
			out.Data = append(out.Data, ProjectRef{ProjectID: p})
		}
		return httpapi.JSON(http.StatusOK, out), nil
	}
	out.AllProjects = true
	limit := defaultProjectsLimit
	if v, ok := req.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxProjectsLimit {
			return events.APIGatewayV2HTTPResponse{}, httpapi.Errorf(http.StatusBadRequest, "invalid_request",
				"limit must be a whole number from 1 to %d", maxProjectsLimit)
		}
		limit = n
	}
	if a.Projects == nil {
		return httpapi.JSON(http.StatusOK, out), nil
	}
	ids, next, err := a.Projects.Projects(ctx, limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	for _, p := range ids {
		out.Data = append(out.Data, ProjectRef{ProjectID: p})
	}
	out.NextCursor = next
	return httpapi.JSON(http.StatusOK, out), nil
}
