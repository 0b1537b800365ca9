// Package table gives an integration test a streams table of its own in the
// DynamoDB stand-in, provisioned from the topology as the local stack does.
// It lives apart from standin because it imports runner, whose own tests
// import standin.
package table

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/localstack/standin"
)

// New provisions a uniquely named stack in the stand-ins and returns the SDK
// config pointed at them and the name of its table. Under CI=true a missing
// stand-in fails the test (standin.AWSConfig).
func New(t testing.TB) (aws.Config, string) {
	t.Helper()
	cfg := standin.AWSConfig(t)
	spec := standin.Spec(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := runner.Provision(ctx, cfg, spec); err != nil {
		t.Fatalf("provision: %v", err)
	}
	return cfg, spec.Table.Name
}
