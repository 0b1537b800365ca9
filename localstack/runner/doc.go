// Package runner runs logstream's functions on a developer machine or in CI the
// way AWS runs them, against the docker-less stand-ins (dynalite, fauxqs):
//
//   - Provision creates the DynamoDB table and the SQS queues with their
//     redrive policies, exactly as topology.Spec describes them;
//   - a gateway emulates an API Gateway HTTP API (Lambda proxy integration,
//     payload format 2.0) for the spec's routes;
//   - event source mappings emulate Lambda's SQS poller, including partial
//     batch responses (ReportBatchItemFailures), and scale their concurrent
//     batches as Lambda does, from five up to the mapping's maximum
//     concurrency (scaler says how, and what is not emulated);
//   - a Lambda Invoke API (lambda.go) on its own port serves the functions
//     to each other, as AWS_ENDPOINT_URL_LAMBDA (the API invokes a delivery
//     function to send a test event);
//   - Stack wires all of it from one Spec and reports what it actually runs as
//     a topology.Manifest, so tests can compare it with the CDK template's.
//
// Handlers are invoked through aws-lambda-go's own lambda.NewHandler(h).Invoke
// with a deadline and a lambdacontext, the same JSON round trip Lambda performs,
// and each function keeps a pool of handler instances that serve one invocation
// at a time, as Lambda execution environments do. The runner never branches on
// "local": AWS endpoints come from the AWS_ENDPOINT_URL_<SERVICE> variables that
// aws-sdk-go-v2 reads. The one the stack serves itself, AWS_ENDPOINT_URL_LAMBDA,
// reaches its functions through their getenv (app.Endpoint), because several
// stacks may share one process environment.
//
// What the gateway emulates: route matching (most specific first, 404 when
// nothing matches), the 2.0 event (lower-cased headers, repeated headers and
// query values joined by commas, cookies, path parameters, base64 for non-text
// or content-encoded bodies), the 2.0 response rules (statusCode, headers,
// cookies, isBase64Encoded; a bare JSON value is a 200 application/json; no
// multiValueHeaders), and its own errors: 404 Not Found, 413 for a body over
// 10 MB or an event over Lambda's 6 MB, 500 for a function error, timeout,
// panic or malformed response, 503 after the 30 s integration timeout. Not
// emulated: authorizers, CORS, throttling, custom domains and stage variables.
package runner
