// Command ingest is logstream's ingestion: validates batches of events and enqueues them per stream.
// Wiring only: configuration, clients and handler are built by shared/app/ingestfn.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/ingestfn"
)

func main() {
	h, err := ingestfn.New(context.Background(), os.Getenv)
	if err != nil {
		app.Logger().Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
