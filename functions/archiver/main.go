// Command archiver is logstream's archiver: it writes the archive queue's
// messages, every event ingestion accepted, to the event archive in S3.
// Wiring only: configuration, clients and handler are built by shared/app/archiverfn.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/archiverfn"
)

func main() {
	h, err := archiverfn.New(context.Background(), os.Getenv)
	if err != nil {
		app.Logger().Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
