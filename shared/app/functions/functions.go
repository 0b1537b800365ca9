// Package functions builds any function's handler by its topology ID, for
// what runs them all in one process: the local runner and the end-to-end
// tests. It links everything; a deployed function imports only its own
// wiring package.
package functions

import (
	"context"
	"fmt"

	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/apifn"
	"github.com/logstream/logstream/shared/app/archiverfn"
	"github.com/logstream/logstream/shared/app/consolefn"
	"github.com/logstream/logstream/shared/app/deadlettersfn"
	"github.com/logstream/logstream/shared/app/deliverfn"
	"github.com/logstream/logstream/shared/app/ingestfn"
	"github.com/logstream/logstream/shared/app/lokiarchiverfn"
	"github.com/logstream/logstream/shared/app/lokibridgefn"
	"github.com/logstream/logstream/shared/app/pipeline"
	"github.com/logstream/logstream/shared/app/replayfn"
	"github.com/logstream/logstream/shared/topology"
)

// New builds the handler of the function with the given topology ID. The result
// is an app.HTTPHandler, an app.SQSHandler or a deadlettersfn.Handler, ready for lambda.Start or
// lambda.NewHandler.
func New(ctx context.Context, id string, getenv app.Getenv) (any, error) {
	switch id {
	case topology.FunctionAPI:
		return apifn.New(ctx, getenv)
	case topology.FunctionIngest:
		return ingestfn.New(ctx, getenv)
	case topology.FunctionLokiBridge:
		return lokibridgefn.New(ctx, getenv)
	case topology.FunctionDeadLetters:
		return deadlettersfn.New(ctx, getenv)
	case topology.FunctionArchiver:
		return archiverfn.New(ctx, getenv)
	case topology.FunctionLokiArchiver:
		return lokiarchiverfn.New(ctx, getenv)
	case topology.FunctionReplay:
		return replayfn.New(ctx, getenv)
	case topology.FunctionConsole:
		return consolefn.New(ctx, getenv)
	}
	for _, p := range pipeline.All() {
		if id == topology.DeliverFunctionID(p.Type) {
			return deliverfn.New(ctx, getenv, p)
		}
	}
	return nil, fmt.Errorf("app: unknown function %q", id)
}
