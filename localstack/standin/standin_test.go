package standin

import (
	"context"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func TestUniqueName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	tests := []struct {
		prefix, wantPrefix string
	}{
		{"streams", "streams-"},
		{"Mixed_Case/Test Name", "mixedcasetestname-"},
		{"a-very-long-prefix-that-goes-on-and-on", "a-very-long-prefix-that-"},
		{"---", "t-"},
		{"", "t-"},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.prefix, func(t *testing.T) {
			for range 100 {
				n := UniqueName(t, tc.prefix)
				if len(n) > 40 || !valid.MatchString(n) {
					t.Fatalf("%q is not a valid short table/queue name", n)
				}
				if n[:len(tc.wantPrefix)] != tc.wantPrefix {
					t.Fatalf("%q does not start with %q", n, tc.wantPrefix)
				}
				if seen[n] {
					t.Fatalf("%q returned twice", n)
				}
				seen[n] = true
			}
		})
	}
}

func TestSpecNamesFitQueueLimits(t *testing.T) {
	spec := Spec(t)
	for _, q := range spec.Queues {
		for _, n := range []string{q.Name, q.DLQName} {
			if len(n) > 80 || !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(n) {
				t.Errorf("queue name %q is not valid for SQS", n)
			}
		}
	}
	if err := spec.Validate(); err != nil {
		t.Error(err)
	}
}

func TestAWSConfigReachesTheStandIns(t *testing.T) {
	cfg := AWSConfig(t)
	ctx := context.Background()
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Errorf("DynamoDB stand-in: %v", err)
	}
	if _, err := sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		t.Errorf("SQS stand-in: %v", err)
	}
}

func TestProbeRefusesRealAWS(t *testing.T) {
	if err := doProbe("https://dynamodb.us-east-1.amazonaws.com"); err == nil {
		t.Error("a real AWS endpoint was accepted")
	}
}
