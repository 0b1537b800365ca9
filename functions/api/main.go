// Command api is logstream's management API: streams per project.
// Wiring only: configuration, clients and handler are built by shared/app.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/logstream/logstream/shared/app"
)

func main() {
	h, err := app.API(context.Background(), os.Getenv)
	if err != nil {
		app.Logger().Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
