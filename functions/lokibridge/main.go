// Command lokibridge is logstream's Loki-compatible S3 bridge: any Loki
// client pushes to /loki/api/v1/push (basic auth), and every push is
// archived to S3 as gzip NDJSON before it is acknowledged.
// Wiring only: configuration, clients and handler are built by shared/app/lokibridgefn.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/lokibridgefn"
)

func main() {
	h, err := lokibridgefn.New(context.Background(), os.Getenv)
	if err != nil {
		app.Logger().Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
