package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/topology"
)

// FunctionIDTag is the tag carrying a function's topology ID, so the deployed
// function (and a synthesized template) can be mapped back to the spec.
const FunctionIDTag = "logstream:function"

// functionProps are the inputs of newFunction.
type functionProps struct {
	Function topology.Function
	AssetDir string
	Table    awsdynamodb.Table
	// Queues are the spec's queues by Queue.Destination: every delivery
	// queue, and the archive queue (isDeliveryQueue tells them apart).
	Queues   map[string]queuePair
	AdminKey awssecretsmanager.ISecret
	Secrets  awskms.IKey
	// PIIKey derives the streams' PII hash keys (GenerateMac).
	PIIKey  awskms.IKey
	Archive awss3.IBucket
	Bridge  awssecretsmanager.ISecret
	// EventArchive is the event archive's bucket and key.
	EventArchive eventArchive
	// ArchiveRetention is how long the event archive's lifecycle keeps an
	// object; it is the value of every topology.EnvArchiveRetention.
	ArchiveRetention time.Duration
	// FunctionNames are the physical names of the spec's functions, by ID.
	FunctionNames map[string]string
}

// newFunction creates one Go function on provided.al2023/arm64 with JSON logs
// into an explicit log group, its environment resolved from the spec's
// references, its SQS event source if any, and exactly the grants its role needs.
func newFunction(scope constructs.Construct, p functionProps) (awslambda.Function, error) {
	f := p.Function
	id := pascal(f.ID)

	env := make(map[string]*string, len(f.Env))
	for _, e := range f.Env {
		switch e.Ref {
		case topology.RefNone:
			env[e.Name] = jsii.String(e.Value)
			if e.Name == topology.EnvArchiveRetention {
				// The bucket's lifecycle decides how long an event is
				// kept; the functions must not promise a replay further
				// back (or refuse one the archive still holds), so the
				// value is the lifecycle's, not the spec's default.
				env[e.Name] = jsii.String(p.ArchiveRetention.String())
			}
		case topology.RefTableName:
			env[e.Name] = p.Table.TableName()
		case topology.RefQueueURL:
			q, ok := p.Queues[e.Queue]
			if !ok {
				return nil, fmt.Errorf("logstream: function %s env %s refers to unknown queue %q", f.ID, e.Name, e.Queue)
			}
			env[e.Name] = q.Queue.QueueUrl()
		case topology.RefDLQURL:
			q, ok := p.Queues[e.Queue]
			if !ok {
				return nil, fmt.Errorf("logstream: function %s env %s refers to unknown queue %q", f.ID, e.Name, e.Queue)
			}
			env[e.Name] = q.DLQ.QueueUrl()
		case topology.RefAdminKeySecret:
			env[e.Name] = p.AdminKey.SecretArn()
		case topology.RefKMSKey:
			env[e.Name] = p.Secrets.KeyArn()
		case topology.RefPIIKey:
			env[e.Name] = p.PIIKey.KeyArn()
		case topology.RefArchiveBucket:
			env[e.Name] = p.Archive.BucketName()
		case topology.RefEventArchiveBucket:
			env[e.Name] = p.EventArchive.Bucket.BucketName()
		case topology.RefBridgeSecret:
			env[e.Name] = p.Bridge.SecretArn()
		case topology.RefFunctionName:
			// The name the spec gives it, which newFunction sets: known
			// before that function is created, so the order of creation
			// does not matter (grantInvocations grants the call).
			name, ok := p.FunctionNames[e.Function]
			if !ok {
				return nil, fmt.Errorf("logstream: function %s env %s refers to unknown function %q", f.ID, e.Name, e.Function)
			}
			env[e.Name] = jsii.String(name)
		default:
			return nil, fmt.Errorf("logstream: function %s env %s has unknown reference kind %d", f.ID, e.Name, e.Ref)
		}
	}

	// Named like Lambda's default group so it is where people look. Logs go
	// with the stack: a retained, explicitly named group would make the next
	// create of the same prefix fail with "already exists".
	logs := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/lambda/" + f.Name),
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})

	fn := awslambda.NewFunction(scope, jsii.String(id+"Function"), &awslambda.FunctionProps{
		FunctionName:          jsii.String(f.Name),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String("bootstrap"),
		Code:                  awslambda.Code_FromAsset(jsii.String(filepath.Join(p.AssetDir, f.ID)), nil),
		Timeout:               seconds(f.Timeout),
		MemorySize:            jsii.Number(float64(f.MemoryMB)),
		Environment:           &env,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_INFO,
		LogGroup:              logs,
		// Ingestion and the API reserve concurrency (topology sizes it),
		// so delivery can never throttle them; nil leaves a function in
		// the account's unreserved pool.
		ReservedConcurrentExecutions: optionalNumber(f.ReservedConcurrency),
	})
	awscdk.Tags_Of(fn).Add(jsii.String(FunctionIDTag), jsii.String(f.ID), nil)

	if s := f.Source; s != nil {
		q, ok := p.Queues[s.Destination]
		if !ok {
			return nil, fmt.Errorf("logstream: function %s reads unknown queue %q", f.ID, s.Destination)
		}
		fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(q.Queue, &awslambdaeventsources.SqsEventSourceProps{
			BatchSize:               jsii.Number(float64(s.BatchSize)),
			MaxBatchingWindow:       seconds(s.MaxBatchingWindow),
			ReportBatchItemFailures: jsii.Bool(s.ReportBatchItemFailures),
			// ScalingConfig.MaximumConcurrency: above it messages wait
			// in the queue instead of taking more of the account.
			MaxConcurrency: jsii.Number(float64(s.MaxConcurrency)),
		}))
	}

	if f.Schedule != 0 {
		if err := schedule(scope, id, fn, f); err != nil {
			return nil, err
		}
	}

	if err := grant(fn, p); err != nil {
		return nil, err
	}
	return fn, nil
}

// schedule invokes fn every f.Schedule with an EventBridge rate rule, which
// sends it a scheduled event ("Scheduled Event", detail {}); the rule's
// target adds the permission for EventBridge to invoke it. A rate rule takes
// whole minutes, at least one: a shorter or fractional schedule is the
// local stack's (topology.Spec.SetSchedule), refused here rather than
// rounded into another one.
func schedule(scope constructs.Construct, id string, fn awslambda.Function, f topology.Function) error {
	if f.Schedule < time.Minute || f.Schedule%time.Minute != 0 {
		return fmt.Errorf("logstream: function %s schedule %s is not a whole number of minutes (EventBridge rate rules take minutes, at least 1)", f.ID, f.Schedule)
	}
	awsevents.NewRule(scope, jsii.String(id+"Schedule"), &awsevents.RuleProps{
		Description: jsii.String(fmt.Sprintf("Invokes %s every %s.", f.Name, f.Schedule)),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(f.Schedule.Minutes()))),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, nil)},
	})
	return nil
}

// optionalNumber is n for CDK, or nil (the property left out) for 0.
func optionalNumber(n int) *float64 {
	if n == 0 {
		return nil
	}
	return jsii.Number(float64(n))
}

// grant gives fn exactly what its role's code does, nothing else. A role it
// does not know is an error, so a new role gets a deliberate decision about
// its permissions.
func grant(fn awslambda.Function, p functionProps) error {
	// The functions that enqueue events mask them (ingestion; the API and
	// delivery, for lifecycle events): each derives the hash keys of its
	// streams with GenerateMac, and can neither read the key nor verify.
	for _, e := range p.Function.Env {
		if e.Ref == topology.RefPIIKey {
			p.PIIKey.Grant(fn, jsii.String("kms:GenerateMac"))
			break
		}
	}
	switch p.Function.Role {
	case topology.RoleAPI:
		p.Table.GrantReadWriteData(fn)
		p.AdminKey.GrantRead(fn, nil)
		// Seals secrets it is given (GenerateDataKey) and opens stored ones.
		p.Secrets.Grant(fn, jsii.String("kms:GenerateDataKey"), jsii.String("kms:Decrypt"))
		// Publishes lifecycle events into projects' own flows: the
		// delivery queues only. They are no accepted events, so they do
		// not go to the archive queue (topology gives the API no URL for
		// it). (The test route invokes the delivery functions, the
		// replay routes the replay function: grantInvocations.)
		for _, q := range p.deliveryQueues() {
			q.Queue.GrantSendMessages(fn)
		}
		// Reports every delivery queue's and DLQ's depth to operators
		// (topology.RouteQueueDepths). GrantSendMessages above already
		// includes GetQueueAttributes on the delivery queues; on the DLQs
		// it is the only action: the API never sends to, reads from or
		// purges a DLQ. Not the archive queue or its DLQ: the route
		// reports what topology gives it URLs for, the destination
		// types' queues.
		for _, q := range p.deliveryQueues() {
			q.DLQ.Grant(fn, jsii.String("sqs:GetQueueAttributes"))
		}
		// Sizes a replay's dry run by listing the event archive's keys
		// (ListObjectsV2 is authorized as s3:ListBucket, on the bucket).
		// It never reads an object, so no s3:GetObject and nothing on the
		// archive's key: the events stay unreadable to the API.
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:ListBucket"),
			Resources: &[]*string{p.EventArchive.Bucket.BucketArn()},
		}))
		// Tells the operator a suspended stream was enabled again.
		grantOperatorNotices(fn)
	case topology.RoleIngest:
		p.Table.GrantReadData(fn)
		p.AdminKey.GrantRead(fn, nil)
		// Fans events out to every delivery queue, and sends every
		// accepted event, as received, to the archive queue: the one
		// function that sends there, so the archive holds only what
		// ingestion accepted.
		for d, q := range p.Queues {
			if isDeliveryQueue(d) || d == topology.ArchiveQueue {
				q.Queue.GrantSendMessages(fn)
			}
		}
		// Records what a request with an Idempotency-Key enqueued: one
		// PutItem, and only on the items whose partition key is an
		// idempotency key's (shared/store/attempts.go), never a stream, an
		// API key or a counter. Every PutItem names one partition key, so
		// ForAllValues is never vacuous here.
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("IdempotencyKeys"),
			Actions:   jsii.Strings("dynamodb:PutItem"),
			Resources: &[]*string{p.Table.TableArn()},
			Conditions: &map[string]any{"ForAllValues:StringLike": map[string]any{
				"dynamodb:LeadingKeys": []string{topology.IdempotencyKeyPrefix + "*"},
			}},
		}))
	case topology.RoleDeliver:
		// The event source grants consuming the queue; the explicit
		// ChangeMessageVisibility is for the backoff the function sets on
		// failed messages, so it does not hang on that default, and
		// SendMessage puts back the undelivered rest of a partly delivered
		// message, so what a destination accepted is not sent to it again
		// (issue 12).
		p.Table.GrantReadData(fn)
		p.Queues[p.Function.Source.Destination].Queue.Grant(fn, jsii.String("sqs:ChangeMessageVisibility"), jsii.String("sqs:SendMessage"))
		// It publishes logstream.stream.suspended into the project's flow
		// when it suspends a stream (issue 13), as the API publishes its
		// lifecycle events: SendMessage on the other types' queues, nothing
		// else there (it consumes only its own).
		// Not the archive queue: a lifecycle event is no accepted event.
		for d, q := range p.deliveryQueues() {
			if d != p.Function.Source.Destination {
				q.Queue.Grant(fn, jsii.String("sqs:SendMessage"))
			}
		}
		// And tells the operator.
		grantOperatorNotices(fn)
		// Opens the secrets it sends with; never seals.
		p.Secrets.Grant(fn, jsii.String("kms:Decrypt"))
		// Keeps the per-stream delivery counters (ADD/SET on HEALTH# items,
		// a partition key per stream)
		// and circuit breakers (conditional SET on CIRCUIT# items, read with
		// BatchGetItem, which GrantReadData covers), and suspends a stream
		// whose destination is gone; no PutItem, DeleteItem or batch writes.
		p.Table.Grant(fn, jsii.String("dynamodb:UpdateItem"))
		// Parks what can never be delivered in its own DLQ, with the reason.
		p.Queues[p.Function.Source.Destination].DLQ.GrantSendMessages(fn)
		k, ok := destination.KindOf(p.Function.Source.Destination)
		if !ok {
			return fmt.Errorf("logstream: function %s delivers to unknown destination type %q", p.Function.ID, p.Function.Source.Destination)
		}
		grantCustomerDestinations(fn, k)
	case topology.RoleDeadLetters:
		// The dead-letter store lives in the table: letters, their events
		// and guards (PutItem, GetItem, DeleteItem), jobs and counters
		// (conditional UpdateItem), a project's letters and jobs (Query);
		// redrive reads a stream (GetItem). No Scan, no batch writes: the
		// store uses neither.
		p.Table.Grant(fn, jsii.String("dynamodb:GetItem"), jsii.String("dynamodb:PutItem"), jsii.String("dynamodb:UpdateItem"),
			jsii.String("dynamodb:DeleteItem"), jsii.String("dynamodb:Query"))
		// The delivery queues only: a letter is an event a destination
		// did not take, and redrive sends it to its type's queue again.
		// The archive DLQ holds events the archiver could not write:
		// no destination refused them, they are no project's dead
		// letters, and the store has no queue to redrive them into.
		for _, q := range p.deliveryQueues() {
			// Drains every delivery DLQ into the store: receives, and
			// deletes what it stored (DeleteMessageBatch is authorized as
			// DeleteMessage). It never sends to a DLQ, and reads no queue
			// attributes.
			q.DLQ.Grant(fn, jsii.String("sqs:ReceiveMessage"), jsii.String("sqs:DeleteMessage"))
			// Redrives into every type's delivery queue (SendMessageBatch
			// is authorized as SendMessage); it consumes none of them.
			q.Queue.Grant(fn, jsii.String("sqs:SendMessage"))
		}
	case topology.RoleBridge:
		// Writes pushes (PutObject only: no reads, no deletes) and checks
		// the bucket is reachable for its health route (HeadBucket needs
		// ListBucket on the bucket). Reads its own credentials.
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:PutObject"),
			Resources: &[]*string{p.Archive.ArnForObjects(jsii.String("*"))},
		}))
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:ListBucket"),
			Resources: &[]*string{p.Archive.BucketArn()},
		}))
		p.Bridge.GrantRead(fn, nil)
		// Queues small pushes for the Loki archiver: SendMessage on its
		// own queue and nothing else there (not GrantSendMessages, which
		// adds GetQueueAttributes and GetQueueUrl the bridge never calls).
		p.Queues[topology.BridgeQueue].Queue.Grant(fn, jsii.String("sqs:SendMessage"))
	case topology.RoleLokiArchiver:
		// The event source grants consuming the bridge queue. It writes
		// objects to the bridge's bucket (SSE-S3: no key to grant) and
		// nothing else: no reads, no listing, no deletes.
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:PutObject"),
			Resources: &[]*string{p.Archive.ArnForObjects(jsii.String("tenant=*"))},
		}))
	case topology.RoleArchiver:
		// The event source grants consuming the archive queue. It writes
		// objects and nothing else: no reads, no listing, no deletes
		// (the lifecycle expires them). SSE-KMS PutObject needs
		// kms:GenerateDataKey on the bucket's key, and only that as long
		// as the archiver writes with single PutObject requests (a
		// multipart upload also needs kms:Decrypt).
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:PutObject"),
			Resources: &[]*string{p.EventArchive.Bucket.ArnForObjects(jsii.String("*"))},
		}))
		p.EventArchive.Key.Grant(fn, jsii.String("kms:GenerateDataKey"))
	case topology.RoleReplay:
		// Reads the archive: lists a window's keys (ListObjectsV2 is
		// s3:ListBucket, on the bucket) and gets its objects, which
		// takes kms:Decrypt on their key. It writes and deletes nothing
		// there.
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:GetObject"),
			Resources: &[]*string{p.EventArchive.Bucket.ArnForObjects(jsii.String("*"))},
		}))
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:ListBucket"),
			Resources: &[]*string{p.EventArchive.Bucket.BucketArn()},
		}))
		p.EventArchive.Key.Grant(fn, jsii.String("kms:Decrypt"))
		// Replay jobs and their index of active jobs live in the table
		// (PutItem, GetItem, conditional UpdateItem for leases and
		// checkpoints, DeleteItem, Query for a project's jobs), and it
		// reads the stream it replays (GetItem). No Scan, no batch
		// writes.
		p.Table.Grant(fn, jsii.String("dynamodb:GetItem"), jsii.String("dynamodb:PutItem"), jsii.String("dynamodb:UpdateItem"),
			jsii.String("dynamodb:DeleteItem"), jsii.String("dynamodb:Query"))
		// Enqueues the replayed events to the stream's delivery queue
		// (SendMessageBatch is authorized as SendMessage); never to the
		// archive queue, which would archive them twice, and it
		// consumes nothing.
		for _, q := range p.deliveryQueues() {
			q.Queue.Grant(fn, jsii.String("sqs:SendMessage"))
		}
	case topology.RoleConsole:
		// Nothing: it serves files embedded in its binary. Its role has
		// only the basic execution policy (its logs); the console's every
		// call goes to the API with the operator's key.
	default:
		return fmt.Errorf("logstream: no IAM grants defined for function %s (role %q)", p.Function.ID, p.Function.Role)
	}
	return nil
}

// deliveryQueues are p.Queues without the archive queue: the queues that
// lifecycle events, redrives and replays go to.
func (p functionProps) deliveryQueues() map[string]queuePair {
	out := make(map[string]queuePair, len(p.Queues))
	for d, q := range p.Queues {
		if isDeliveryQueue(d) {
			out[d] = q
		}
	}
	return out
}

// OperatorNoticesSid names the statement that lets a function put the
// operator's notices (shared/notice) on the account's default event bus.
const OperatorNoticesSid = "OperatorNotices"

// grantOperatorNotices lets fn put events on this account's default event
// bus, where the operator's rules route logstream's notices (a stream
// suspended, or resumed): PutEvents on that one bus, no other bus and no
// other action. Separate from the customer destinations' PutEvents, which
// excludes this account's buses.
func grantOperatorNotices(fn awslambda.Function) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:     jsii.String(OperatorNoticesSid),
		Actions: jsii.Strings("events:PutEvents"),
		Resources: jsii.Strings(fmt.Sprintf("arn:%s:events:%s:%s:event-bus/default",
			*awscdk.Aws_PARTITION(), *awscdk.Aws_REGION(), *awscdk.Aws_ACCOUNT_ID())),
	}))
}

// grantInvocations lets each function invoke exactly the functions its
// environment names (topology.RefFunctionName): the API, the delivery
// functions that send its test events, the dead-letter function that runs
// its redrive and purge jobs and the replay function that runs its replays.
// It runs once every function exists.
func grantInvocations(spec topology.Spec, functions map[string]awslambda.Function) error {
	for _, f := range spec.Functions {
		for _, e := range f.Env {
			if e.Ref != topology.RefFunctionName {
				continue
			}
			target, ok := functions[e.Function]
			if !ok {
				return fmt.Errorf("logstream: function %s env %s refers to unknown function %q", f.ID, e.Name, e.Function)
			}
			// lambda:InvokeFunction on the function (and its versions), nothing else.
			target.GrantInvoke(functions[f.ID])
		}
	}
	return nil
}

// grantCustomerDestinations lets fn write to the AWS destinations customers
// name in their streams, as each type's declaration asks (destination.Grant):
// event buses, buckets and roles in their own accounts, known only at run
// time, so the resource is any of them — but never one of this account's
// (the condition), so a stream cannot be pointed at the platform's own
// resources. The customer's resource policy (bus policy, bucket policy, or
// the trust policy of the role a stream names, which must require the
// project id as ExternalId) is what admits logstream. HTTP destinations
// declare no grants.
func grantCustomerDestinations(fn awslambda.Function, kinds ...destination.Kind) {
	for _, k := range kinds {
		for _, g := range k.Grants {
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String(g.Sid),
				Actions:    jsii.Strings(g.Actions...),
				Resources:  jsii.Strings("arn:" + *awscdk.Aws_PARTITION() + ":" + g.ARN),
				Conditions: &map[string]any{"StringNotEquals": map[string]any{g.AccountKey: awscdk.Aws_ACCOUNT_ID()}},
			}))
		}
	}
}

// orderUpdates has CloudFormation update the functions that read delivery
// messages (the delivery functions, and the dead-letter function, which
// reads their DLQs) before those that write them (ingestion, the API's
// lifecycle events, replay, the dead-letter function's redrives), so a
// format a writer starts sending — compressed delivery messages,
// logstream_encoding — never reaches a reader of the previous version, which
// would park it as undecodable.
func orderUpdates(spec topology.Spec, functions map[string]awslambda.Function) {
	var readers []awslambda.Function
	for _, f := range spec.Functions {
		if f.Role == topology.RoleDeliver {
			readers = append(readers, functions[f.ID])
		}
	}
	for _, f := range spec.Functions {
		switch f.Role {
		case topology.RoleIngest, topology.RoleAPI, topology.RoleReplay, topology.RoleDeadLetters:
		default:
			continue
		}
		for _, r := range readers {
			functions[f.ID].Node().AddDependency(r)
		}
		if f.Role != topology.RoleDeadLetters {
			if dl, ok := functions[topology.FunctionDeadLetters]; ok {
				functions[f.ID].Node().AddDependency(dl)
			}
		}
	}
}
