package lokibridge

import (
	"testing"

	"github.com/logstream/logstream/shared/topology"
)

// The bridge's handler serves its paths without importing topology (only its
// wiring, lokibridgefn, does); this holds the two spellings equal, so a route moved in one
// place fails here instead of answering 404.
func TestPathsAreTopologysRoutes(t *testing.T) {
	for _, c := range []struct{ route, method, path string }{
		{topology.RouteLokiPush, "POST", PathPush},
		{topology.RouteReady, "GET", PathReady},
		{topology.RouteHealth, "GET", PathHealth},
	} {
		if want := c.method + " " + c.path; c.route != want {
			t.Errorf("topology routes %q, the bridge serves %q", c.route, want)
		}
	}
	spec := topology.New("logstream")
	for _, r := range spec.Routes {
		if r.Function != topology.FunctionLokiBridge {
			continue
		}
		switch r.Path {
		case PathPush, PathReady, PathHealth:
		default:
			t.Errorf("topology routes %s to the bridge, which does not serve it", r.Key())
		}
	}
}
