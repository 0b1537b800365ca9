// Package app holds what every function's wiring shares: how configuration is
// read (Getenv and the parsers of its values), the handler types, the logger
// and the AWS configuration. It links no AWS service client and no adapter.
//
// Each function has its own wiring package below it, with its own Config and
// Validate, that links only what that function runs: shared/app/api,
// shared/app/ingest, shared/app/deliver (with one pipeline package per
// destination type, shared/app/pipeline/<type>) and shared/app/lokibridge.
// functions/<fn>/main.go calls one of them and hands the handler to
// lambda.Start; the local runner and the end-to-end tests call the same
// constructors (shared/app/functions), so there is one wiring path.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/topology"
)

// Getenv reads one configuration variable: os.Getenv in Lambda, a map in the
// local runner and in tests. AWS endpoints are not read through it: the SDK reads
// AWS_ENDPOINT_URL_* from the process environment, in AWS and locally alike;
// the one exception is Lambda's own endpoint (Endpoint).
type Getenv func(string) string

// HTTPHandler is the handler type of functions behind the HTTP API (payload 2.0).
type HTTPHandler = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// SQSHandler is the handler type of functions fed by an SQS event source mapping
// with ReportBatchItemFailures.
type SQSHandler = func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// UserAgent identifies logstream to receivers.
const UserAgent = "logstream/0.1 (+https://github.com/logstream/logstream)"

// Logger is the functions' logger: Lambda's JSON log format with the request
// id of the invocation in every line (aws-lambda-go's lambdacontext handler).
func Logger() *slog.Logger { return lambdacontext.NewLogger() }

// Metrics is the function's metrics: Embedded Metric Format lines on
// stdout, beside the logs, which CloudWatch Logs turns into metrics
// (shared/metrics). function is its topology ID, the Function dimension.
func Metrics(function string, detail metrics.Detail) *metrics.Emitter {
	return &metrics.Emitter{Out: os.Stdout, Function: function, Detail: detail}
}

// LoadAWS builds the AWS configuration once per cold start. Endpoints come
// from AWS_ENDPOINT_URL_* in the process environment, as the SDK reads them.
func LoadAWS(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}

// Endpoint is the SDK's rule for a service's endpoint, AWS_ENDPOINT_URL_<SERVICE>
// (e.g. service "LAMBDA"), read through getenv: the endpoint where the
// variable is set, else nil (the SDK's own resolution). In Lambda getenv is
// os.Getenv, so it changes nothing there. It is for a service that each
// local stack serves itself, such as the Lambda Invoke API of the local
// runner, where several stacks share one process and so one process
// environment.
func Endpoint(getenv Getenv, service string) *string {
	if ep := getenv("AWS_ENDPOINT_URL_" + service); ep != "" {
		return &ep
	}
	return nil
}

// Vars reads configuration variables and keeps the first malformed one, so a
// wiring package reads all its settings and checks Err once.
type Vars struct {
	Getenv Getenv
	Err    error
}

// String is a variable's value as set ("" when unset).
func (v *Vars) String(name string) string { return v.Getenv(name) }

// Bool is a boolean variable; unset is false.
func (v *Vars) Bool(name string) bool {
	s := v.Getenv(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		v.fail(fmt.Errorf("config: %s=%q is not a boolean", name, s))
	}
	return b
}

// Duration is a non-negative duration such as 30s; unset is def.
func (v *Vars) Duration(name string, def time.Duration) time.Duration {
	s := v.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		v.fail(fmt.Errorf("config: %s=%q is not a duration such as 30s", name, s))
		return def
	}
	return d
}

// Positive is a whole number of at least 1; unset is def.
func (v *Vars) Positive(name string, def int) int {
	s := v.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		v.fail(fmt.Errorf("config: %s=%q is not a positive whole number", name, s))
		return def
	}
	return n
}

// Count is a whole number of at least 0 (0 often turning a rule off); unset
// is def.
func (v *Vars) Count(name string, def int) int {
	s := v.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		v.fail(fmt.Errorf("config: %s=%q is not a whole number", name, s))
		return def
	}
	return n
}

// MetricsDetail is topology.EnvMetricsDetail: the metrics' opt-in
// dimensions; unset is none.
func (v *Vars) MetricsDetail() metrics.Detail {
	d, err := metrics.ParseDetail(v.Getenv(topology.EnvMetricsDetail))
	if err != nil {
		v.fail(err)
	}
	return d
}

func (v *Vars) fail(err error) {
	if v.Err == nil {
		v.Err = err
	}
}

// Required names a variable that must be set.
func Required(value, name string) error {
	if value == "" {
		return fmt.Errorf("config: %s is required", name)
	}
	return nil
}

// ExactlyOne requires one of two ways to give a setting: the deployed one (a
// secret or key ARN) or the local-development literal, never both.
func ExactlyOne(deployed, local, deployedName, localName string) error {
	if (deployed == "") == (local == "") {
		return fmt.Errorf("config: set exactly one of %s (deployments) and %s (local development)", deployedName, localName)
	}
	return nil
}

// Config is a function's own configuration.
type Config interface{ Validate() error }

// Setup is the first step of every cold start: read the function's Config
// with load, check it, and load the AWS configuration.
func Setup[C Config](ctx context.Context, getenv Getenv, load func(Getenv) (C, error)) (C, aws.Config, error) {
	c, err := load(getenv)
	if err == nil {
		err = c.Validate()
	}
	if err != nil {
		return c, aws.Config{}, err
	}
	awsCfg, err := LoadAWS(ctx)
	return c, awsCfg, err
}

// FirstError is the first of a Validate's checks that fails, so the message
// names the first missing setting in the order they are listed.
func FirstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
