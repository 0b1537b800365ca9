// Package bootstrap runs every function's real bootstrap — its main, its
// environment parsing and its cold start — under the AWS Lambda Runtime
// Interface Emulator (aws-lambda-rie), against the local stand-ins.
//
// The rest of the local stack calls the handlers in-process; only these tests
// build functions/<fn> the way `make build` does (lambda.norpc, static), start
// each binary as Lambda would, with the environment topology declares, and
// feed it API Gateway and SQS events. They also measure each function's init
// (see docs/performance.md).
//
// The tests find the emulator through RIE_BIN (`make rie` builds it). Without
// it they are skipped, or failed when CI=true.
package bootstrap
