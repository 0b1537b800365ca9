// Command api is logstream's management API: streams per project.
// Wiring only: configuration, clients and handler are built by shared/app/apifn.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/apifn"
)

func main() {
	h, err := apifn.New(context.Background(), os.Getenv)
	if err != nil {
		app.Logger().Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
