// Command lokiarchiver is logstream's Loki archiver: it writes the small
// pushes the Loki bridge queued to the bridge's S3 bucket, each tenant's
// hour of a batch as one object.
// Wiring only: configuration, clients and handler are built by shared/app/lokiarchiverfn.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/lokiarchiverfn"
)

func main() {
	h, err := lokiarchiverfn.New(context.Background(), os.Getenv)
	if err != nil {
		app.Logger().Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
