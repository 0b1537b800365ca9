// Command console serves logstream's web console at /console/ on the HTTP
// API. Wiring only: the handler is built by shared/app/consolefn.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/logstream/logstream/shared/app/consolefn"
)

func main() {
	h, err := consolefn.New(context.Background(), os.Getenv)
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
