// Command datadog is logstream's delivery function for "datadog" streams:
// Datadog logs (HTTP intake v2), fed by its own SQS queue with ReportBatchItemFailures.
// Wiring only: configuration, clients and handler are built by shared/app.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/topology"
)

func main() {
	h, err := app.Deliver(context.Background(), topology.DestinationDatadog, os.Getenv)
	if err != nil {
		app.Logger().Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
