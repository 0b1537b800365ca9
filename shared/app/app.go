// Package app wires logstream's functions: configuration from the environment →
// AWS clients → adapters → domain services → a Lambda handler. functions/<fn>/main.go
// calls it and hands the result to lambda.Start; the local runner and the
// end-to-end tests call the same constructors, so there is one wiring path.
package app

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/topology"
)

// Getenv reads one configuration variable: os.Getenv in Lambda, a map in the
// local runner and in tests. AWS endpoints are not read through it: the SDK reads
// AWS_ENDPOINT_URL_* from the process environment, in AWS and locally alike.
type Getenv func(string) string

// HTTPHandler is the handler type of functions behind the HTTP API (payload 2.0).
type HTTPHandler = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// SQSHandler is the handler type of functions fed by an SQS event source mapping
// with ReportBatchItemFailures.
type SQSHandler = func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// New builds the handler of the function with the given topology ID. The result
// is an HTTPHandler or an SQSHandler, ready for lambda.Start or lambda.NewHandler.
func New(ctx context.Context, id string, getenv Getenv) (any, error) {
	switch id {
	case topology.FunctionAPI:
		return API(ctx, getenv)
	case topology.FunctionIngest:
		return Ingest(ctx, getenv)
	case topology.FunctionLokiBridge:
		return LokiBridge(ctx, getenv)
	}
	for _, d := range topology.Destinations() {
		if id == topology.DeliverFunctionID(d) {
			return Deliver(ctx, d, getenv)
		}
	}
	return nil, fmt.Errorf("app: unknown function %q", id)
}
