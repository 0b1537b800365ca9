package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/logstream/logstream/shared/topology"
)

// LogstreamStackProps configures NewLogstreamStack.
type LogstreamStackProps struct {
	awscdk.StackProps
	// Spec is the deployed shape; every resource is built from it.
	Spec topology.Spec
	// AssetDir holds <function ID>/bootstrap for every function (see `make build`).
	AssetDir string
	// ArchiveExpireDays expires the Loki bridge's archived objects after so
	// many days; 0 keeps them for ever.
	ArchiveExpireDays int
	// ArchiveRetentionDays is how long the event archive keeps an event
	// (its lifecycle expiry), and so how far back a replay may reach: the
	// functions' LOGSTREAM_ARCHIVE_RETENTION is set to the same. 0 is
	// topology's default (7 days); otherwise 1 to 3650.
	ArchiveRetentionDays int
	// Alarms are the alarms' thresholds; a zero field takes its default
	// (DefaultAlarmThresholds; docs/operations.md, "Alarms").
	Alarms AlarmThresholds
	// AlarmTopic is the SNS topic every alarm notifies on alarm and on
	// recovery: none (the zero value), a new one, or an existing one.
	AlarmTopic AlarmTopic
}

// NewLogstreamStack builds the whole service from props.Spec: the streams table,
// one delivery queue and DLQ per destination, the archive queue and the event
// archive, the functions with their log groups, SQS event sources and
// least-privilege grants, the admin key secret, the HTTP API (whose functions
// authenticate every request's API key), and the alarms and the dashboard
// (alarms.go). It panics if the spec or a
// prop is invalid, as CDK constructors do.
func NewLogstreamStack(scope constructs.Construct, id string, props *LogstreamStackProps) awscdk.Stack {
	if props == nil {
		panic("logstream: NewLogstreamStack needs props")
	}
	spec := props.Spec
	if err := spec.Validate(); err != nil {
		panic(err.Error())
	}
	if props.AssetDir == "" {
		panic("logstream: AssetDir is required")
	}
	retention, err := archiveRetention(props.ArchiveRetentionDays)
	if err != nil {
		panic(err.Error())
	}
	thresholds, err := props.Alarms.resolve(spec)
	if err != nil {
		panic(err.Error())
	}

	stack := awscdk.NewStack(scope, &id, &props.StackProps)

	table := newStreamsTable(stack, spec.Table)
	adminKey := newAdminKeySecret(stack, spec.AdminKeySecretName)
	secretsKey := newSecretsKey(stack, spec.Prefix)
	piiKey := newPIIKey(stack, spec.Prefix)
	archive := newArchiveBucket(stack, props.ArchiveExpireDays)
	bridgeCredentials := newBridgeCredentialsSecret(stack, spec.BridgeSecretName)
	eventArchive := newEventArchive(stack, spec.Prefix, retention)
	queues := make(map[string]queuePair, len(spec.Queues))
	for _, q := range spec.Queues {
		queues[q.Destination] = newQueuePair(stack, q)
	}

	names := make(map[string]string, len(spec.Functions))
	for _, f := range spec.Functions {
		names[f.ID] = f.Name
	}
	functions := make(map[string]awslambda.Function, len(spec.Functions))
	for _, f := range spec.Functions {
		fn, err := newFunction(stack, functionProps{
			Function: f,
			AssetDir: props.AssetDir,
			Table:    table,
			Queues:   queues,
			AdminKey: adminKey,
			Secrets:  secretsKey,
			PIIKey:   piiKey,
			Archive:  archive,
			Bridge:   bridgeCredentials,

			EventArchive:     eventArchive,
			ArchiveRetention: retention,

			FunctionNames: names,
		})
		if err != nil {
			panic(err.Error())
		}
		functions[f.ID] = fn
	}
	if err := grantInvocations(spec, functions); err != nil {
		panic(err.Error())
	}
	orderUpdates(spec, functions)

	api := newHTTPAPI(stack, spec, functions)

	// Alarms and the dashboard read metrics only: no function gets a
	// permission for them.
	topic, err := newAlarmTopic(stack, spec.Prefix, props.AlarmTopic)
	if err != nil {
		panic(err.Error())
	}
	monitor, err := newMonitoring(spec, thresholds, api.API)
	if err != nil {
		panic(err.Error())
	}
	monitor.newAlarms(stack, topic)
	monitor.newDashboard(stack)

	output(stack, "ApiUrl", api.URL, "Base URL of the HTTP API; every request needs Authorization: Bearer <API key>.")
	output(stack, "AdminKeySecretArn", adminKey.SecretArn(), "Secrets Manager secret holding the bootstrap admin API key.")
	output(stack, "TableName", table.TableName(), "DynamoDB table holding streams.")
	output(stack, "LokiPushUrl", jsii.String(*api.URL+"loki/api/v1/push"), "Loki-compatible push endpoint of the S3 bridge (basic auth).")
	output(stack, "BridgeCredentialsSecretArn", bridgeCredentials.SecretArn(), "Secrets Manager secret holding the bridge's basic-auth credentials.")
	output(stack, "ArchiveBucketName", archive.BucketName(), "S3 bucket the Loki bridge archives pushes to.")
	output(stack, "EventArchiveBucketName", eventArchive.Bucket.BucketName(),
		fmt.Sprintf("S3 bucket (SSE-KMS) holding every accepted event, unmasked, for %d days; replays read it.", int(retention.Hours()/24)))
	if topic != nil {
		output(stack, "AlarmTopicArn", topic.TopicArn(), "SNS topic every alarm notifies, on alarm and on recovery.")
	}
	output(stack, "DashboardName", jsii.String(spec.Prefix), "CloudWatch dashboard of ingestion, delivery, lag, DLQs, functions and archives.")
	for _, q := range spec.Queues {
		pair, name := queues[q.Destination], queueID(q.Destination)
		if q.Destination == topology.ArchiveQueue {
			output(stack, name+"QueueUrl", pair.Queue.QueueUrl(), "Queue of accepted events on their way to the event archive.")
			output(stack, name+"DlqUrl", pair.DLQ.QueueUrl(), "Dead-letter queue of events the archiver could not write; nothing drains it.")
			continue
		}
		if q.Destination == topology.BridgeQueue {
			output(stack, name+"QueueUrl", pair.Queue.QueueUrl(), "Queue of small Loki pushes on their way to the archive bucket.")
			output(stack, name+"DlqUrl", pair.DLQ.QueueUrl(), "Dead-letter queue of Loki pushes the Loki archiver could not write; nothing drains it.")
			continue
		}
		output(stack, name+"QueueUrl", pair.Queue.QueueUrl(), "Delivery queue for "+q.Destination+" destinations.")
		output(stack, name+"DlqUrl", pair.DLQ.QueueUrl(), "Dead-letter queue for "+q.Destination+" deliveries.")
	}
	return stack
}

func output(scope constructs.Construct, id string, value *string, description string) {
	awscdk.NewCfnOutput(scope, jsii.String(id), &awscdk.CfnOutputProps{
		Value:       value,
		Description: jsii.String(description),
	})
}

// pascal turns an ID like "deliver-http" into "DeliverHttp" for construct IDs.
func pascal(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '-' || r == '_' || r == '/' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// seconds converts a spec duration to a CDK duration. CloudFormation takes whole
// seconds for every duration used here; a fractional value is a spec bug.
func seconds(d time.Duration) awscdk.Duration {
	if d%time.Second != 0 {
		panic(fmt.Sprintf("logstream: duration %s is not a whole number of seconds", d))
	}
	return awscdk.Duration_Seconds(jsii.Number(d.Seconds()))
}
