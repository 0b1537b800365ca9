// Command grafana_loki is logstream's delivery function for "grafana_loki" streams:
// Grafana Loki (push API), fed by its own SQS queue with ReportBatchItemFailures.
// Wiring only: shared/app/deliverfn with this type's own pipeline, so the
// function links its own sender and no other.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/deliverfn"
	"github.com/logstream/logstream/shared/app/pipeline/grafanaloki"
)

func main() {
	h, err := deliverfn.New(context.Background(), os.Getenv, grafanaloki.Pipeline)
	if err != nil {
		app.Logger().Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
