package console_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/functions"
	"github.com/logstream/logstream/shared/console"
	"github.com/logstream/logstream/shared/topology"
)

// serveConsole makes the stack serve the console on its gateway, at GET
// /console and GET /console/{proxy+}, beside the API — the contract's
// routes. Once the topology declares them (the console function), the stack
// serves them itself and this does nothing; until then the routes go to the
// api function, whose handler passes /console requests to shared/console.
// Either way the browser meets one origin, through the runner's gateway.
func serveConsole(t *testing.T, opts *runner.Options) {
	t.Helper()
	for _, r := range opts.Spec.Routes {
		if r.Method == "GET" && strings.HasPrefix(r.Path, console.Prefix) {
			return
		}
	}
	t.Log("the topology has no console routes yet: serving shared/console through the api function")
	opts.Spec.Routes = append(opts.Spec.Routes,
		topology.Route{Method: "GET", Path: console.Prefix, Function: topology.FunctionAPI},
		// The runner's gateway, as API Gateway, matches {proxy+} to one
		// segment or more: /console/ itself needs a route of its own.
		topology.Route{Method: "GET", Path: console.Prefix + "/", Function: topology.FunctionAPI},
		topology.Route{Method: "GET", Path: console.Prefix + "/{proxy+}", Function: topology.FunctionAPI})
	next := opts.NewHandler
	if next == nil {
		next = functions.New
	}
	c := console.New()
	opts.NewHandler = func(ctx context.Context, id string, getenv app.Getenv) (any, error) {
		h, err := next(ctx, id, getenv)
		if err != nil || id != topology.FunctionAPI {
			return h, err
		}
		apiHandler, ok := h.(app.HTTPHandler)
		if !ok {
			return nil, fmt.Errorf("the api function's handler is a %T", h)
		}
		return app.HTTPHandler(func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			if strings.HasPrefix(req.RouteKey, "GET "+console.Prefix) {
				return c.Handle(ctx, req)
			}
			return apiHandler(ctx, req)
		}), nil
	}
}
