// Command replay is logstream's replay function: invoked with a replay job,
// it runs it; on its schedule it resumes the jobs whose worker died and
// starts the backfills whose window has settled.
// Wiring only: configuration, clients and handler are built by shared/app/replayfn.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/replayfn"
)

func main() {
	h, err := replayfn.New(context.Background(), os.Getenv)
	if err != nil {
		app.Logger().Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
