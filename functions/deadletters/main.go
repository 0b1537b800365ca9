// Command deadletters is logstream's dead-letter function: on its schedule it
// drains the DLQs into the dead-letter store, expires old letters and resumes
// stalled jobs; invoked with a job, it runs that redrive or purge.
// Wiring only: configuration, clients and handler are built by shared/app/deadlettersfn.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/deadlettersfn"
)

func main() {
	h, err := deadlettersfn.New(context.Background(), os.Getenv)
	if err != nil {
		app.Logger().Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
