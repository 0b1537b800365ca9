// Package consolefn builds the console function's handler: the web
// console's embedded files (shared/console). It reads no configuration and
// holds no AWS client, so it links neither the SDK nor shared/app's wiring.
package consolefn

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/console"
)

// New returns the console's handler. getenv is unused: the console reads
// no configuration (it is the signature every function's wiring has).
func New(_ context.Context, _ func(string) string) (func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), error) {
	return console.New().Handle, nil
}
