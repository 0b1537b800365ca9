// Package topology is the single source of truth for logstream's deployed shape:
// resource names, queue and redrive settings, functions and their environment,
// SQS event source mappings and HTTP routes.
//
// The CDK stack (infra/) and the docker-less local stack (localstack/) are both
// built from a Spec, and tests reduce the synthesized CloudFormation template and
// the provisioned local resources to the same Manifest and compare them.
package topology

import (
	"cmp"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/logstream/logstream/shared/destination"
)

// Every destination type declared in shared/destination (destination.Kinds)
// has its own delivery queue, DLQ and function; topology lists none itself.

// Function IDs. A function's asset is built into build/<ID>/bootstrap and its
// source lives in functions/<SourceDir>.
const (
	FunctionAPI    = "api"
	FunctionIngest = "ingest"
	// FunctionLokiBridge serves Loki's push API and archives to S3.
	FunctionLokiBridge = "lokibridge"
	// FunctionDeadLetters keeps the dead-letter store (shared/deadletter):
	// on its schedule it drains the DLQs into the store, expires old
	// letters and resumes stalled jobs; invoked with a job, it runs it.
	FunctionDeadLetters = "deadletters"
	// FunctionArchiver reads the archive queue and writes every accepted
	// event to the event archive (shared/archive), where replays read.
	FunctionArchiver = "archiver"
	// FunctionLokiArchiver reads the bridge queue, where the Loki bridge
	// queues small pushes, and writes each tenant's hour of a batch as one
	// object in the bridge's bucket (shared/lokibridge/coalesce).
	FunctionLokiArchiver = "lokiarchiver"
	// FunctionReplay runs replay jobs (shared/replay): invoked with a job,
	// it runs it; on its schedule it resumes the jobs nobody is running.
	FunctionReplay = "replay"
	// FunctionConsole serves the web console (shared/console): static
	// files embedded in its binary, on the HTTP API's origin, which call
	// the management API with the operator's key.
	FunctionConsole = "console"
)

// ArchiveQueue is the Queue.Destination (and EventSource.Destination) of
// the archive queue: ingestion enqueues every accepted event there, as
// received, and the archiver writes them to the event archive. It is no
// destination type; it shares the delivery queues' shape (a DLQ, a
// redrive policy) so one declaration serves both.
const ArchiveQueue = "archive"

// BridgeQueue is the Queue.Destination (and EventSource.Destination) of the
// Loki bridge's queue: the bridge sends it every push small enough for one
// SQS billing chunk, and the Loki archiver writes them to the bridge's
// bucket in large objects. Like ArchiveQueue, it is no destination type.
const BridgeQueue = "lokibridge"

// DeliverFunctionID names the delivery function of a destination type.
func DeliverFunctionID(destination string) string { return "deliver-" + destination }

// Environment variable names read by the functions. The CDK stack and the local
// runner set exactly these.
const (
	EnvTable                 = "LOGSTREAM_TABLE"
	EnvStreamCacheTTL        = "LOGSTREAM_STREAM_CACHE_TTL"
	EnvDeliveryTimeout       = "LOGSTREAM_DELIVERY_TIMEOUT"
	EnvAllowPrivateEndpoints = "LOGSTREAM_ALLOW_PRIVATE_ENDPOINTS"
	// EnvAdminKeySecretARN names the Secrets Manager secret holding the
	// bootstrap admin API key (deployments); EnvAdminKey is the key itself
	// (local development, where no Secrets Manager runs). One of them is set.
	EnvAdminKeySecretARN = "LOGSTREAM_ADMIN_KEY_SECRET_ARN"
	EnvAdminKey          = "LOGSTREAM_ADMIN_KEY"
	EnvAuthCacheTTL      = "LOGSTREAM_AUTH_CACHE_TTL"
	// EnvKMSKeyID names the KMS key that seals destination secrets
	// (deployments); EnvLocalSecretKey is a base64 AES-256 key doing the same
	// for local development. One of them is set where secrets are handled.
	EnvKMSKeyID       = "LOGSTREAM_KMS_KEY_ID"
	EnvLocalSecretKey = "LOGSTREAM_LOCAL_SECRET_KEY"
	// EnvPIIKeyID names the KMS HMAC key that derives each stream's PII
	// hash key (deployments); EnvLocalPIIKey is a base64 key of at least 32
	// bytes doing the same for local development. Set in every function that
	// enqueues events (ingestion; the API and delivery, for lifecycle
	// events); without either, a stream with a hash rule gets no events.
	EnvPIIKeyID    = "LOGSTREAM_PII_KEY_ID"
	EnvLocalPIIKey = "LOGSTREAM_LOCAL_PII_KEY"
	EnvMaxStreams  = "LOGSTREAM_MAX_STREAMS_PER_PROJECT"
	// EnvRetryBase and EnvRetryMax shape the delay before a failed message
	// is received again: the base, doubled for every earlier receive, at
	// most the max (and never sooner than the destination's Retry-After).
	EnvRetryBase = "LOGSTREAM_RETRY_BASE"
	EnvRetryMax  = "LOGSTREAM_RETRY_MAX"
	// EnvMaxReceiveCount is the delivery queue's maxReceiveCount, as its
	// redrive policy sets it: on a message's last receive the delivery
	// function parks what it cannot deliver with the reason, before SQS
	// redrive would move the message without one.
	EnvMaxReceiveCount = "LOGSTREAM_MAX_RECEIVE_COUNT"
	// EnvS3PathStyle makes the S3 archive sender address buckets in the
	// path (for S3-compatible endpoints that have no bucket host names).
	EnvS3PathStyle = "LOGSTREAM_S3_PATH_STYLE"
	// EnvArchiveBucket is the Loki bridge's S3 bucket.
	EnvArchiveBucket = "LOGSTREAM_ARCHIVE_BUCKET"
	// EnvBridgeCredentialsSecretARN names the Secrets Manager secret with
	// the bridge's basic-auth credentials (deployments); EnvBridgeCredentials
	// holds them directly (local development). One of them is set.
	EnvBridgeCredentialsSecretARN = "LOGSTREAM_BRIDGE_CREDENTIALS_SECRET_ARN"
	EnvBridgeCredentials          = "LOGSTREAM_BRIDGE_CREDENTIALS"
	// EnvDeadLetterRetention is how long a dead letter is kept in the
	// store before the sweep expires it (and counts it).
	EnvDeadLetterRetention = "LOGSTREAM_DEAD_LETTER_RETENTION"
	// EnvDeadLetterLease is how long a dead-letter job's worker holds the
	// job between checkpoints: a worker that dies holding it leaves the
	// job to the first tick after the lease runs out.
	EnvDeadLetterLease = "LOGSTREAM_DEAD_LETTER_LEASE"
	// EnvDeadLettersFunction names the dead-letter function, which the API
	// invokes asynchronously to start a redrive or purge job at once.
	EnvDeadLettersFunction = "LOGSTREAM_DEADLETTERS_FUNCTION"
	// EnvEventArchiveBucket is the event archive's S3 bucket: every
	// accepted event, as received, by project, date and hour
	// (shared/archive).
	EnvEventArchiveBucket = "LOGSTREAM_EVENT_ARCHIVE_BUCKET"
	// EnvArchiveRetention is how long the event archive keeps an event
	// (the bucket's lifecycle expires it): the furthest back a replay or a
	// stream's start_from may reach.
	EnvArchiveRetention = "LOGSTREAM_ARCHIVE_RETENTION"
	// EnvArchiveSettle is how long after an hour ends the archive may still
	// receive its events (the archive queue's batching window and its
	// retries): a replay reading a window that ends later than now minus
	// this waits until then, so it does not read a partition still being
	// written.
	EnvArchiveSettle = "LOGSTREAM_ARCHIVE_SETTLE"
	// EnvReplayFunction names the replay function, which the API invokes
	// asynchronously to start a replay job at once.
	EnvReplayFunction = "LOGSTREAM_REPLAY_FUNCTION"
	// EnvReplayLease is how long a replay worker holds its job between
	// checkpoints.
	EnvReplayLease = "LOGSTREAM_REPLAY_LEASE"
	// EnvMaxReplays caps the replay jobs one project may have running at
	// once.
	EnvMaxReplays = "LOGSTREAM_MAX_REPLAYS_PER_PROJECT"
	// EnvSuspendAfter is how long a stream's destination may fail with no
	// success before logstream suspends the stream ("0s": never for
	// failing); EnvSuspendAfterPermanent how many permanent failures in a
	// row, with no success between, do the same ("0": never).
	EnvSuspendAfter          = "LOGSTREAM_SUSPEND_AFTER"
	EnvSuspendAfterPermanent = "LOGSTREAM_SUSPEND_AFTER_PERMANENT"
	// EnvMetricsDetail adds opt-in dimensions to the metrics the ingestion and
	// delivery functions write (shared/metrics, Embedded Metric Format):
	// "project" adds each project, "stream" each project and stream; empty,
	// the default, adds none. Every distinct value is a custom metric
	// CloudWatch bills (docs/operations.md, "Metrics").
	EnvMetricsDetail = "LOGSTREAM_METRICS_DETAIL"
	// DefaultRetryBase and DefaultRetryMax, with DefaultMaxReceiveCount,
	// retry a failing destination for about an hour (30 s, 1, 2, 4, 8, 16
	// and 30 min, with jitter) before SQS parks the message in the DLQ.
	DefaultRetryBase       = 30 * time.Second
	DefaultRetryMax        = 30 * time.Minute
	DefaultMaxReceiveCount = 8
	// DefaultAuthCacheTTL bounds how long a revoked key keeps working in a
	// warm function.
	DefaultAuthCacheTTL = 30 * time.Second
	// DefaultMaxStreams is the per-project stream limit when none is
	// configured; manage takes its own from here.
	DefaultMaxStreams = 25
	// DefaultDeadLetterRetention is how long a dead letter is kept: two
	// weeks to notice, fix the destination and redrive, as the DLQs keep
	// their messages (Queue.DLQRetention). deadletter.DefaultRetention is
	// the same (a test holds them equal).
	DefaultDeadLetterRetention = 14 * 24 * time.Hour
	// DefaultDeadLetterLease is a job's lease: a worker checkpoints after
	// every letter it touches, far more often than this, so only a dead
	// worker lets it run out; then the job waits at most this long (plus a
	// tick) to resume. deadletter.DefaultLease is the same (a test holds
	// them equal).
	DefaultDeadLetterLease = time.Minute
	// DefaultDeadLetterTick is how often the dead-letter function runs its
	// tick: a parked event reaches the store, where its project sees it,
	// within about a minute, and EventBridge rate rules count in minutes.
	DefaultDeadLetterTick = time.Minute
	// DefaultSuspendAfter and DefaultSuspendAfterPermanent are the
	// automatic suspension policy (stream.SuspensionPolicy). 72 h of
	// failure with no success: Svix disables after 5 days, Auth0 pauses
	// after 7; three days outlast a weekend's outage of a receiver yet
	// stop a dead one from filling the DLQ for two weeks. 50 permanent
	// failures in a row (a refused credential, a configuration the
	// destination does not take), each an invocation that found the
	// stream's events, and a run at least stream.MinPermanentRun (1 h)
	// old: a revoked key stops its stream after an hour rather than three
	// days, while a key rotation's few minutes of 401s, however busy the
	// stream, suspend nothing.
	DefaultSuspendAfter          = 72 * time.Hour
	DefaultSuspendAfterPermanent = 50
	// DefaultArchiveRetention is how long the event archive keeps events:
	// a week, enough to replay a weekend's outage or backfill last week's
	// logins into a new stream. S3 lifecycle counts in whole days.
	DefaultArchiveRetention = 7 * 24 * time.Hour
	// DefaultArchiveSettle covers the archive queue's batching window
	// (archiverBatchingWindow) and a few retries of a failed write.
	DefaultArchiveSettle = 5 * time.Minute
	// DefaultReplayLease is a replay job's lease: a worker checkpoints
	// after every batch it enqueues, far more often.
	DefaultReplayLease = time.Minute
	// DefaultReplayTick is how often the replay function resumes jobs
	// whose worker died (and starts backfills whose window has settled).
	DefaultReplayTick = time.Minute
	// DefaultMaxReplays is how many replays one project may run at once.
	DefaultMaxReplays         = 2
	envQueueURLPrefix         = "LOGSTREAM_QUEUE_URL_"
	envDLQURLPrefix           = "LOGSTREAM_DLQ_URL_"
	envDeliverFunctionPrefix  = "LOGSTREAM_DELIVER_FUNCTION_"
	DefaultStreamCacheTTL     = 30 * time.Second
	DefaultDeliveryTimeout    = 10 * time.Second
	defaultVisibilityMultiple = 6
)

// Concurrency guards: the limits that keep one part of logstream from
// taking the account's whole Lambda concurrency, which every function in
// the account (ours and any other's) shares. Without them, enough hanging
// destinations scale the delivery mappings until Lambda throttles ingestion
// and the API too (issue 11).
//
// Sized against AWS's defaults: API Gateway's stage throttle (infra/api.go:
// 100 requests/s, bursts of 200) bounds what reaches ingestion and the API,
// and by Little's law concurrency = rate × duration.
const (
	// DefaultDeliverMaxConcurrency is every delivery mapping's
	// ScalingConfig.MaximumConcurrency: how many invocations of one
	// destination type's function its queue may keep running at once.
	// A batch of 10 messages to a healthy destination takes ~0.1–0.3 s, so
	// 10 drain 300–1,000 messages/s per type, several times what ingestion
	// can enqueue for one stream per request behind the stage throttle. If
	// a type's endpoints all hang (a delivery timeout each, 10 s), the
	// type costs at most 10 concurrent executions; its messages wait in
	// SQS (ApproximateAgeOfOldestMessage grows) and none is lost.
	DefaultDeliverMaxConcurrency = 10
	// DefaultIngestReservedConcurrency is ingestion's reserved concurrency:
	// always available to it, and also its cap. At the stage's burst of 200
	// requests/s it holds invocations of up to 250 ms (p99 ~0.1 s on the
	// local stack, docs/performance.md), and 500 ms at the steady 100/s.
	DefaultIngestReservedConcurrency = 50
	// DefaultAPIReservedConcurrency is the API's: management calls are rare
	// and short, but the test route holds an invocation while the
	// delivery function sends (up to DefaultDeliveryTimeout), so 20 leave
	// room for a few slow tests beside ordinary calls.
	DefaultAPIReservedConcurrency = 20
	// DefaultDeadLettersReservedConcurrency is the dead-letter function's:
	// the scheduled tick plus a few redrive or purge jobs at once. A job
	// started beyond it is throttled (Lambda retries an asynchronous
	// invocation) or left to the tick, which resumes it.
	DefaultDeadLettersReservedConcurrency = 5

	// AccountConcurrency is Lambda's default concurrent executions quota
	// per account and region, and MinUnreservedConcurrency what AWS keeps
	// unreserved whatever the quota (a reservation that would leave less
	// is refused). Validate keeps every reservation plus every delivery
	// maximum within their difference, so logstream at all its ceilings
	// still leaves at least MinUnreservedConcurrency to the Loki bridge and
	// everything else in the account. (An account with a lower quota,
	// as new accounts often have, must raise it before deploying.)
	AccountConcurrency       = 1000
	MinUnreservedConcurrency = 100
)

// QueueURLEnv is the variable holding the delivery queue URL of a destination type.
func QueueURLEnv(destination string) string {
	return envQueueURLPrefix + strings.ToUpper(strings.ReplaceAll(destination, "-", "_"))
}

// DLQURLEnv is the variable holding the dead-letter queue URL of a destination type.
func DLQURLEnv(destination string) string {
	return envDLQURLPrefix + strings.ToUpper(strings.ReplaceAll(destination, "-", "_"))
}

// DeliverFunctionEnv is the variable holding the name of a destination
// type's delivery function, which the API invokes to send a test event.
func DeliverFunctionEnv(destination string) string {
	return envDeliverFunctionPrefix + strings.ToUpper(strings.ReplaceAll(destination, "-", "_"))
}

// RefKind says what deployed value an environment variable refers to.
type RefKind int

// Kinds of references an environment variable can take its value from.
const (
	RefNone               RefKind = iota // a literal Value
	RefTableName                         // the streams table's name
	RefQueueURL                          // the URL of Queue's delivery queue
	RefDLQURL                            // the URL of Queue's dead-letter queue
	RefAdminKeySecret                    // the ARN of the admin key secret ("" where there is none)
	RefKMSKey                            // the ARN of the secrets KMS key ("" where there is none)
	RefArchiveBucket                     // the name of the Loki bridge's archive bucket
	RefBridgeSecret                      // the ARN of the bridge's credentials secret ("" where there is none)
	RefFunctionName                      // the name of Function, to invoke it
	RefPIIKey                            // the ARN of the PII hash KMS key ("" where there is none)
	RefEventArchiveBucket                // the name of the event archive's bucket
)

// Env is one environment variable of a function: a literal or a reference to a
// resource, resolved by CDK to a token and by the local runner to a local URL.
type Env struct {
	Name     string
	Value    string
	Ref      RefKind
	Queue    string // destination type, for RefQueueURL and RefDLQURL
	Function string // function ID, for RefFunctionName
}

// TableTTLAttribute is the table's TTL attribute (Table.TTLAttribute), for
// the adapters that mark items for DynamoDB to delete (shared/store's
// circuits, shared/dlstore's orphans).
const TableTTLAttribute = "expires_at"

// IdempotencyKeyPrefix begins the partition key of every item that records
// an ingest request's Idempotency-Key (shared/store.Attempts). They have
// their own partitions so that ingestion's one write permission can be
// limited to them (infra: the dynamodb:LeadingKeys condition).
const IdempotencyKeyPrefix = "IDEMPOTENCY#"

// Table is the DynamoDB table holding streams (single-table design: pk/sk strings).
type Table struct {
	Name         string
	PartitionKey string
	SortKey      string
	// TTLAttribute names the number attribute (epoch seconds) after which
	// DynamoDB deletes an item: the stream circuits' (shared/store).
	TTLAttribute string
}

// Queue is a destination type's delivery queue and its dead-letter queue.
type Queue struct {
	Destination       string
	Name              string
	DLQName           string
	VisibilityTimeout time.Duration
	MaxReceiveCount   int
	Retention         time.Duration
	DLQRetention      time.Duration
}

// EventSource is an SQS event source mapping feeding a function.
type EventSource struct {
	Destination       string // the queue's destination type
	BatchSize         int
	MaxBatchingWindow time.Duration
	// ReportBatchItemFailures is always true: delivery functions answer with
	// events.SQSEventResponse so only failed messages are retried.
	ReportBatchItemFailures bool
	// MaxConcurrency is the mapping's ScalingConfig.MaximumConcurrency
	// (2–1000): the most invocations it runs at once. Above it, messages
	// stay in the queue until an invocation ends.
	MaxConcurrency int
}

// Role is what a function does, and so which permissions it gets where it
// is deployed (infra grants by role).
type Role string

// The roles of logstream's functions.
const (
	RoleAPI     Role = "api"     // streams, keys, the test route
	RoleIngest  Role = "ingest"  // looks streams up, fans events out to every delivery queue
	RoleDeliver Role = "deliver" // reads its queue, looks streams up, sends to one destination type
	RoleBridge  Role = "bridge"  // Loki push API: writes objects to the archive bucket
	// RoleDeadLetters drains the DLQs into the dead-letter store, expires
	// letters and runs redrive and purge jobs.
	RoleDeadLetters Role = "deadletters"
	// RoleArchiver reads the archive queue and writes the event archive
	// (PutObject only).
	RoleArchiver Role = "archiver"
	// RoleLokiArchiver reads the bridge queue and writes the bridge's
	// bucket (PutObject only).
	RoleLokiArchiver Role = "lokiarchiver"
	// RoleReplay reads the event archive and enqueues to the delivery
	// queues.
	RoleReplay Role = "replay"
	// RoleConsole serves embedded files: no AWS permission at all (its
	// logs only). Everything the console does, it does through the API
	// with the signed-in key.
	RoleConsole Role = "console"
)

// Function is one Lambda function.
type Function struct {
	ID        string
	Name      string // physical name
	Role      Role
	SourceDir string // below functions/
	Timeout   time.Duration
	MemoryMB  int
	Env       []Env
	Source    *EventSource // nil for HTTP-invoked functions
	// ReservedConcurrency is the function's ReservedConcurrentExecutions,
	// both a guarantee and a cap; 0 reserves none (it shares the account's
	// unreserved pool).
	ReservedConcurrency int
	// Schedule invokes the function every so often (an EventBridge rate
	// rule in AWS, a ticker in the local runner) with a scheduled event's
	// payload; 0 schedules nothing.
	Schedule time.Duration
}

// Route is one HTTP API route, integrated with a function.
type Route struct {
	Method   string
	Path     string // API Gateway path template, e.g. /v1/projects/{project_id}/streams
	Function string // function ID
}

// Key is the API Gateway route key, "METHOD /path".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Fallback reports whether the route only takes what no other route serves:
// any method on a greedy path, which API Gateway matches last.
func (r Route) Fallback() bool { return r.Method == "ANY" && strings.HasSuffix(r.Path, "+}") }

// Spec is the whole deployed shape.
type Spec struct {
	Prefix string
	// AdminKeySecretName is the Secrets Manager secret holding the admin key.
	AdminKeySecretName string
	// BridgeSecretName is the Secrets Manager secret holding the Loki
	// bridge's basic-auth credentials.
	BridgeSecretName string
	// ArchiveBucket names the Loki bridge's bucket where a name can be
	// chosen (the local stack); in AWS, where bucket names are global,
	// CloudFormation names it.
	ArchiveBucket string
	// EventArchiveBucket names the event archive's bucket where a name can
	// be chosen (the local stack); CloudFormation names it in AWS.
	EventArchiveBucket string
	Table              Table
	Queues             []Queue
	Functions          []Function
	Routes             []Route
	// Capacity is what bounds throughput (SetCapacity changes it with the
	// functions and mappings it sizes).
	Capacity Capacity
}

// New returns the production shape with every name prefixed by prefix.
func New(prefix string) Spec {
	s := Spec{
		Prefix:             prefix,
		AdminKeySecretName: prefix + "/admin-key",
		BridgeSecretName:   prefix + "/loki-bridge-credentials",
		ArchiveBucket:      prefix + "-archive",
		EventArchiveBucket: prefix + "-events",
		Table:              Table{Name: prefix + "-streams", PartitionKey: "pk", SortKey: "sk", TTLAttribute: TableTTLAttribute},
		Capacity:           DefaultCapacity,
	}
	env := sharedEnv()
	s.Functions = append(s.Functions, apiFunction(prefix, env), ingestFunction(prefix, env))
	for _, k := range destination.Kinds() {
		q := deliveryQueue(prefix, k.Type)
		s.Queues = append(s.Queues, q)
		s.Functions = append(s.Functions, deliverFunction(prefix, k, q, env))
	}
	bq := bridgeQueue(prefix)
	s.Queues = append(s.Queues, bq)
	s.Functions = append(s.Functions, bridgeFunction(prefix), lokiArchiverFunction(prefix, bq), deadLettersFunction(prefix))
	aq := archiveQueue(prefix)
	s.Queues = append(s.Queues, aq)
	s.Functions = append(s.Functions, archiverFunction(prefix, aq), replayFunction(prefix, env), consoleFunction(prefix))
	s.Routes = routes()
	return s
}

// envBlocks are the groups of variables several functions share.
type envBlocks struct {
	common []Env // every function that reads streams
	auth   []Env // every function that checks API keys
	seal   []Env // every function that seals or opens destination secrets
	pii    []Env // every function that enqueues events, which it masks
}

func sharedEnv() envBlocks {
	return envBlocks{
		common: []Env{
			{Name: EnvTable, Ref: RefTableName},
			{Name: EnvStreamCacheTTL, Value: DefaultStreamCacheTTL.String()},
			// The local-development switch; off in every deployment.
			{Name: EnvAllowPrivateEndpoints, Value: "false"},
		},
		auth: []Env{
			{Name: EnvAdminKeySecretARN, Ref: RefAdminKeySecret},
			{Name: EnvAdminKey, Value: ""},
			{Name: EnvAuthCacheTTL, Value: DefaultAuthCacheTTL.String()},
		},
		// Only the functions that write or send destination secrets can open
		// them: ingestion routes events without ever reading a credential.
		seal: []Env{{Name: EnvKMSKeyID, Ref: RefKMSKey}, {Name: EnvLocalSecretKey, Value: ""}},
		// Masking runs where events are enqueued, so the functions that
		// enqueue derive the streams' hash keys (and only those keys).
		pii: []Env{{Name: EnvPIIKeyID, Ref: RefPIIKey}, {Name: EnvLocalPIIKey, Value: ""}},
	}
}

// queueURLs are the variables holding every delivery queue's URL.
func queueURLs() []Env {
	return queueURLsBut("")
}

// queueURLsBut are queueURLs without the one of type except, which the
// caller declares itself, with its reason.
func queueURLsBut(except string) []Env {
	var out []Env
	for _, d := range destination.Types() {
		if d != except {
			out = append(out, Env{Name: QueueURLEnv(d), Ref: RefQueueURL, Queue: d})
		}
	}
	return out
}

// suspensionEnv is the automatic suspension policy: the delivery functions
// apply it, and the API shows when it will apply (health's suspends_at).
func suspensionEnv() []Env {
	return []Env{
		{Name: EnvSuspendAfter, Value: DefaultSuspendAfter.String()},
		{Name: EnvSuspendAfterPermanent, Value: strconv.Itoa(DefaultSuspendAfterPermanent)},
	}
}

func apiFunction(prefix string, e envBlocks) Function {
	env := append(append(append(append(clone(e.common), e.auth...), e.seal...), e.pii...), Env{Name: EnvMaxStreams, Value: strconv.Itoa(DefaultMaxStreams)})
	// The API publishes lifecycle events (stream.created …) into the
	// project's own flow, and has the type's delivery function send the
	// test route's event.
	env = append(env, queueURLs()...)
	// It reports every delivery queue's and DLQ's depth to operators
	// (RouteQueueDepths).
	for _, d := range destination.Types() {
		env = append(env, Env{Name: DLQURLEnv(d), Ref: RefDLQURL, Queue: d})
	}
	for _, d := range destination.Types() {
		env = append(env, Env{Name: DeliverFunctionEnv(d), Ref: RefFunctionName, Function: DeliverFunctionID(d)})
	}
	// It serves the dead-letter routes (the retention, to tell how long a
	// letter is kept) and starts their jobs on the dead-letter function.
	env = append(env, Env{Name: EnvDeadLetterRetention, Value: DefaultDeadLetterRetention.String()},
		Env{Name: EnvDeadLettersFunction, Ref: RefFunctionName, Function: FunctionDeadLetters})
	env = append(env, suspensionEnv()...)
	// It starts replay jobs on the replay function, refuses windows older
	// than the archive keeps, and sizes a replay's dry run from the
	// archive's listing (never its objects).
	env = append(env, archiveEnv()...)
	env = append(env, Env{Name: EnvReplayFunction, Ref: RefFunctionName, Function: FunctionReplay},
		Env{Name: EnvMaxReplays, Value: strconv.Itoa(DefaultMaxReplays)})
	return Function{ID: FunctionAPI, Name: prefix + "-api", Role: RoleAPI, SourceDir: "api",
		Timeout: 10 * time.Second, MemoryMB: 256, Env: env, ReservedConcurrency: DefaultAPIReservedConcurrency}
}

func ingestFunction(prefix string, e envBlocks) Function {
	return Function{ID: FunctionIngest, Name: prefix + "-ingest", Role: RoleIngest, SourceDir: "ingest",
		Timeout: 15 * time.Second, MemoryMB: 512, Env: append(append(append(append(clone(e.common), e.auth...), e.pii...), queueURLs()...),
			// Every accepted event goes to the archive queue too.
			Env{Name: QueueURLEnv(ArchiveQueue), Ref: RefQueueURL, Queue: ArchiveQueue},
			metricsDetailEnv()),
		ReservedConcurrency: DefaultIngestReservedConcurrency}
}

// deliverTimeout is every delivery function's timeout, which its queue's
// visibility timeout is derived from.
const deliverTimeout = 30 * time.Second

func deliveryQueue(prefix, d string) Queue {
	return Queue{
		Destination: d,
		Name:        prefix + "-deliver-" + d,
		DLQName:     prefix + "-deliver-" + d + "-dlq",
		// AWS: set the source queue's visibility timeout to at least six
		// times the function timeout, so retries by Lambda's poller do not
		// make a message visible again while it is still being processed.
		VisibilityTimeout: defaultVisibilityMultiple * deliverTimeout,
		MaxReceiveCount:   DefaultMaxReceiveCount,
		Retention:         4 * 24 * time.Hour,
		DLQRetention:      14 * 24 * time.Hour,
	}
}

func deliverFunction(prefix string, k destination.Kind, q Queue, e envBlocks) Function {
	d := k.Type
	env := append(append(append(clone(e.common), e.seal...), e.pii...),
		Env{Name: EnvDeliveryTimeout, Value: DefaultDeliveryTimeout.String()},
		// Its own queue, to delay retries and put back the rest of a
		// partly delivered message, and its DLQ, to park what can never
		// be delivered.
		Env{Name: QueueURLEnv(d), Ref: RefQueueURL, Queue: d},
		Env{Name: DLQURLEnv(d), Ref: RefDLQURL, Queue: d},
		Env{Name: EnvRetryBase, Value: DefaultRetryBase.String()},
		Env{Name: EnvRetryMax, Value: DefaultRetryMax.String()},
		// Its queue's maxReceiveCount, taken from the queue itself. A spec
		// that changes it afterwards sets both (SetMaxReceiveCount); one
		// that sets only the queue's leaves the earlier of the two to
		// decide: SQS redrive, without a reason, or the function, with
		// one. Never lost either way.
		Env{Name: EnvMaxReceiveCount, Value: strconv.Itoa(q.MaxReceiveCount)})
	// It suspends a stream that keeps failing, and publishes
	// logstream.stream.suspended into the project's flow: every type's
	// delivery queue, like the API's lifecycle events.
	env = append(append(env, suspensionEnv()...), queueURLsBut(d)...)
	env = append(env, metricsDetailEnv())
	if k.AWS == destination.AWSS3 {
		env = append(env, Env{Name: EnvS3PathStyle, Value: "false"})
	}
	return Function{
		ID: DeliverFunctionID(d), Name: prefix + "-deliver-" + d, Role: RoleDeliver, SourceDir: "deliver/" + d,
		Timeout: deliverTimeout, MemoryMB: 256, Env: env,
		Source: &EventSource{Destination: d, BatchSize: 10, MaxBatchingWindow: time.Second, ReportBatchItemFailures: true,
			MaxConcurrency: DefaultDeliverMaxConcurrency},
	}
}

// bridgeFunction is the Loki-compatible S3 bridge: sized for a 10 MB push
// decoded.
func bridgeFunction(prefix string) Function {
	return Function{
		ID: FunctionLokiBridge, Name: prefix + "-lokibridge", Role: RoleBridge, SourceDir: "lokibridge",
		Timeout: 30 * time.Second, MemoryMB: 1024,
		Env: []Env{
			{Name: EnvArchiveBucket, Ref: RefArchiveBucket},
			{Name: EnvBridgeCredentialsSecretARN, Ref: RefBridgeSecret},
			{Name: EnvBridgeCredentials, Value: ""},
			{Name: EnvS3PathStyle, Value: "false"},
			// Its queue, for the small pushes the Loki archiver writes in
			// batches.
			{Name: QueueURLEnv(BridgeQueue), Ref: RefQueueURL, Queue: BridgeQueue},
			// The Go runtime's, for a function that serves one request at a
			// time and spends most of a small push waiting on one SQS call
			// (issue 15, goal 5; docs/performance.md). One P: at 1,024 MB
			// Lambda gives the function about 0.6 of a vCPU, so a second P
			// adds no throughput, only the thread hand-offs (futex wake-ups,
			// spinning) around every network round trip. No proportional
			// GC, a memory limit instead: the largest push's heap peaks
			// near 190 MB, so a collection every 768 MiB (not every ~4 MB,
			// about 30 small pushes) leaves 256 MB of the function's memory
			// to the rest of the process and collects only when it must.
			{Name: EnvGOMAXPROCS, Value: "1"},
			{Name: EnvGOGC, Value: "off"},
			{Name: EnvGOMEMLIMIT, Value: "768MiB"},
		},
	}
}

// The Go runtime's own variables, set on the functions whose runtime is
// tuned (the Loki bridge's).
const (
	EnvGOMAXPROCS = "GOMAXPROCS"
	EnvGOGC       = "GOGC"
	EnvGOMEMLIMIT = "GOMEMLIMIT"
)

// lokiArchiverTimeout is the Loki archiver's timeout, which the bridge
// queue's visibility timeout is derived from, and lokiArchiverWindow how
// long its mapping gathers a batch: a quiet tenant's pushes of a minute
// become one object (docs/cost.md), and a queued push reaches S3 about a
// minute after its 204.
const (
	lokiArchiverTimeout = time.Minute
	lokiArchiverWindow  = time.Minute
)

// bridgeQueue holds the bridge's small pushes on their way to its bucket.
// Its messages are what the bridge answered 204 for, so they get the
// delivery queues' retention and a DLQ of their own.
func bridgeQueue(prefix string) Queue {
	return archiverQueue(BridgeQueue, prefix+"-lokibridge", lokiArchiverTimeout+lokiArchiverWindow)
}

// DefaultLokiArchiverMaxConcurrency caps the Loki archiver's concurrent
// invocations (ScalingConfig's least): every batch writes one object per
// tenant and hour, so fewer, fuller batches mean fewer objects.
const DefaultLokiArchiverMaxConcurrency = 2

// lokiArchiverFunction writes the bridge queue's pushes to the bridge's
// bucket. Batches of up to 10,000 messages (the most Lambda takes from a
// standard queue with a batching window; its 6 MB invocation payload holds
// about 1,000 queued 10-entry pushes of ~1 KB lines) become one object per
// tenant and hour.
func lokiArchiverFunction(prefix string, q Queue) Function {
	return Function{
		ID: FunctionLokiArchiver, Name: prefix + "-lokiarchiver", Role: RoleLokiArchiver, SourceDir: "lokiarchiver",
		Timeout: lokiArchiverTimeout, MemoryMB: 512,
		Env: []Env{{Name: EnvArchiveBucket, Ref: RefArchiveBucket}, {Name: EnvS3PathStyle, Value: "false"}},
		Source: &EventSource{Destination: q.Destination, BatchSize: 10000, MaxBatchingWindow: lokiArchiverWindow,
			ReportBatchItemFailures: true, MaxConcurrency: DefaultLokiArchiverMaxConcurrency},
	}
}

// deadLettersFunction keeps the dead-letter store. Its timeout is Lambda's
// maximum: a job runs as long as it can and checkpoints, and the next
// invocation resumes it. Its reservation caps the jobs running at once, so
// many projects redriving together cannot take the account's concurrency
// (each job also paces what it sends).
func deadLettersFunction(prefix string) Function {
	env := []Env{
		{Name: EnvTable, Ref: RefTableName},
		{Name: EnvDeadLetterRetention, Value: DefaultDeadLetterRetention.String()},
		{Name: EnvDeadLetterLease, Value: DefaultDeadLetterLease.String()},
	}
	// Every DLQ, to drain it; every delivery queue, to redrive into it.
	for _, d := range destination.Types() {
		env = append(env, Env{Name: DLQURLEnv(d), Ref: RefDLQURL, Queue: d}, Env{Name: QueueURLEnv(d), Ref: RefQueueURL, Queue: d})
	}
	return Function{
		ID: FunctionDeadLetters, Name: prefix + "-deadletters", Role: RoleDeadLetters, SourceDir: "deadletters",
		Timeout: 15 * time.Minute, MemoryMB: 512, Env: env,
		ReservedConcurrency: DefaultDeadLettersReservedConcurrency,
		Schedule:            DefaultDeadLetterTick,
	}
}

// archiveEnv is how a function finds and reads the event archive.
func archiveEnv() []Env {
	return []Env{
		{Name: EnvEventArchiveBucket, Ref: RefEventArchiveBucket},
		{Name: EnvArchiveRetention, Value: DefaultArchiveRetention.String()},
		{Name: EnvArchiveSettle, Value: DefaultArchiveSettle.String()},
		{Name: EnvS3PathStyle, Value: "false"},
	}
}

// archiverTimeout is the archiver's timeout, which the archive queue's
// visibility timeout is derived from; archiverBatchingWindow lets the
// mapping gather a busy minute's messages into one invocation, so the
// archive gets few, large objects (S3 bills per request).
const (
	archiverTimeout        = time.Minute
	archiverBatchingWindow = 30 * time.Second
)

// archiveQueue holds accepted events on their way to the event archive.
// Its messages are what ingestion answered 202 for, so they get the
// delivery queues' retention and a DLQ of their own.
func archiveQueue(prefix string) Queue {
	return archiverQueue(ArchiveQueue, prefix+"-archive", archiverTimeout+archiverBatchingWindow)
}

// archiverQueue is a queue an archiver function drains in batches that
// each take up to batch (its batching window and timeout): what it holds
// was acknowledged to a client, so it keeps the delivery queues'
// retention and has a DLQ of its own.
func archiverQueue(dest, name string, batch time.Duration) Queue {
	return Queue{
		Destination:       dest,
		Name:              name,
		DLQName:           name + "-dlq",
		VisibilityTimeout: defaultVisibilityMultiple * batch,
		MaxReceiveCount:   DefaultMaxReceiveCount,
		Retention:         4 * 24 * time.Hour,
		DLQRetention:      14 * 24 * time.Hour,
	}
}

// archiverFunction writes the event archive. Batches of up to 1,000
// messages (Lambda caps an invocation's payload at 6 MB, so a busy queue
// gives about 25 full messages) become one object per project and hour.
func archiverFunction(prefix string, q Queue) Function {
	return Function{
		ID: FunctionArchiver, Name: prefix + "-archiver", Role: RoleArchiver, SourceDir: "archiver",
		Timeout: archiverTimeout, MemoryMB: 512,
		Env: []Env{{Name: EnvEventArchiveBucket, Ref: RefEventArchiveBucket}, {Name: EnvS3PathStyle, Value: "false"}},
		Source: &EventSource{Destination: q.Destination, BatchSize: 1000, MaxBatchingWindow: archiverBatchingWindow,
			ReportBatchItemFailures: true, MaxConcurrency: DefaultArchiverMaxConcurrency},
	}
}

// DefaultArchiverMaxConcurrency caps the archiver's concurrent invocations
// (ScalingConfig's least): each takes up to 6 MB of compressed messages,
// ~190,000 events, in a second or two, so two keep up with far more than
// ingestion's ceiling, and fewer invocations mean fewer, larger objects.
const DefaultArchiverMaxConcurrency = 2

// DefaultReplayReservedConcurrency is the replay function's: every
// project's replays together, each paced, and the tick. A job started
// beyond it waits for the tick.
const DefaultReplayReservedConcurrency = 5

// replayFunction runs replay jobs: it reads the archive, applies the
// stream's current filters and masking (so it derives hash keys, as
// ingestion does) and enqueues to the stream's delivery queue. Lambda's
// maximum timeout: a job runs as long as it can, checkpoints, and the next
// invocation resumes it.
func replayFunction(prefix string, e envBlocks) Function {
	env := append(append([]Env{{Name: EnvTable, Ref: RefTableName}}, e.pii...), archiveEnv()...)
	env = append(env, Env{Name: EnvReplayLease, Value: DefaultReplayLease.String()})
	env = append(env, queueURLs()...)
	return Function{
		ID: FunctionReplay, Name: prefix + "-replay", Role: RoleReplay, SourceDir: "replay",
		Timeout: 15 * time.Minute, MemoryMB: 512, Env: env,
		ReservedConcurrency: DefaultReplayReservedConcurrency,
		Schedule:            DefaultReplayTick,
	}
}

// consoleFunction serves the web console: a few hundred kilobytes from
// memory, no environment, no AWS client.
func consoleFunction(prefix string) Function {
	return Function{ID: FunctionConsole, Name: prefix + "-console", Role: RoleConsole, SourceDir: "console",
		Timeout: 5 * time.Second, MemoryMB: 128}
}

// Route keys, as API Gateway names them ("METHOD /path"). The handlers match
// requests on these (manage and ingest take their route constants from
// here), so a route is spelled once.
const (
	projectPath = "/v1/projects/{project_id}"
	// The paths stytch-management-go v3 calls (pkg/api/eventlogstreaming.go).
	stytchV3Path = "/pwa/v3/projects/{project_slug}/environments/{environment_slug}/event_log_streaming"

	RouteCreateKey = "POST /v1/keys"
	RouteListKeys  = "GET /v1/keys"
	// RouteWhoAmI answers the caller's own key (any key), and
	// RouteListProjects the projects it can open: what the console shows.
	RouteWhoAmI       = "GET /v1/whoami"
	RouteListProjects = "GET /v1/projects"
	RouteRevokeKey    = "DELETE /v1/keys/{key_id}"
	// RouteQueueDepths is the operators' view of every destination type's
	// delivery queue and DLQ, as SQS counts them now (admin key only).
	RouteQueueDepths   = "GET /v1/admin/queues"
	RouteCreateStream  = "POST " + projectPath + "/streams"
	RouteListStreams   = "GET " + projectPath + "/streams"
	RouteGetStream     = "GET " + projectPath + "/streams/{stream_id}"
	RoutePatchStream   = "PATCH " + projectPath + "/streams/{stream_id}"
	RoutePutStream     = "PUT " + projectPath + "/streams/{stream_id}"
	RouteDeleteStream  = "DELETE " + projectPath + "/streams/{stream_id}"
	RouteEnableStream  = "POST " + projectPath + "/streams/{stream_id}/enable"
	RouteDisableStream = "POST " + projectPath + "/streams/{stream_id}/disable"
	RouteStreamHealth  = "GET " + projectPath + "/streams/{stream_id}/health"
	RouteTestStream    = "POST " + projectPath + "/streams/{stream_id}/test"
	RouteIngest        = "POST " + projectPath + "/events"

	// Replays (shared/replay): start one for a stream (or size it, with
	// dry_run), and a project's replay jobs, one job, and cancelling it.
	RouteReplayStream = "POST " + projectPath + "/streams/{stream_id}/replay"
	RouteReplayJobs   = "GET " + projectPath + "/replays"
	RouteReplayJob    = "GET " + projectPath + "/replays/{job_id}"
	RouteCancelReplay = "POST " + projectPath + "/replays/{job_id}/cancel"

	// A project's dead letters (shared/deadletter): the summary, its events
	// page by page, redrive and purge jobs and their progress.
	RouteDeadLetterSummary = "GET " + projectPath + "/dead-letters"
	RouteDeadLetterEvents  = "GET " + projectPath + "/dead-letters/events"
	RouteDeadLetterRedrive = "POST " + projectPath + "/dead-letters/redrive"
	RouteDeadLetterPurge   = "POST " + projectPath + "/dead-letters/purge"
	RouteDeadLetterJobs    = "GET " + projectPath + "/dead-letters/jobs"
	RouteDeadLetterJob     = "GET " + projectPath + "/dead-letters/jobs/{job_id}"
	// RouteAdminDeadLetters is the operators' view of every project's
	// dead letters (admin key only).
	RouteAdminDeadLetters = "GET /v1/admin/dead-letters"

	// The ready-made filters (shared/filter presets), readable with any key.
	RouteListFilterPresets = "GET /v1/filter-presets"
	RouteGetFilterPreset   = "GET /v1/filter-presets/{name}"

	// Stytch-compatible event log streaming routes.
	RouteStytchCreate  = "POST " + projectPath + "/event_log_streaming"
	RouteStytchGet     = "GET " + projectPath + "/event_log_streaming/{destination_type}"
	RouteStytchUpdate  = "PUT " + projectPath + "/event_log_streaming/{destination_type}"
	RouteStytchDelete  = "DELETE " + projectPath + "/event_log_streaming/{destination_type}"
	RouteStytchEnable  = "POST " + projectPath + "/event_log_streaming/{destination_type}/enable"
	RouteStytchDisable = "POST " + projectPath + "/event_log_streaming/{destination_type}/disable"
	// The same, on the paths of Stytch's management API v3, where a Stytch
	// project and environment name the project.
	RouteStytchV3Create  = "POST " + stytchV3Path
	RouteStytchV3Get     = "GET " + stytchV3Path + "/{destination_type}"
	RouteStytchV3Update  = "PUT " + stytchV3Path + "/{destination_type}"
	RouteStytchV3Delete  = "DELETE " + stytchV3Path + "/{destination_type}"
	RouteStytchV3Enable  = "POST " + stytchV3Path + "/{destination_type}/enable"
	RouteStytchV3Disable = "POST " + stytchV3Path + "/{destination_type}/disable"

	// The web console: its page, and its files under it.
	RouteConsole      = "GET /console"
	RouteConsoleFiles = "GET /console/{proxy+}"

	// Loki's push API, and the bridge's readiness and health.
	RouteLokiPush = "POST /loki/api/v1/push"
	RouteReady    = "GET /ready"
	RouteHealth   = "GET /health"

	// Fallbacks: API Gateway matches a greedy path last, so these take only
	// what no route above serves, and the API answers it 404 in the error
	// shape of its family (Stytch's under /pwa/, the API's elsewhere)
	// instead of API Gateway's bare {"message":"Not Found"}.
	RouteStytchFallback = "ANY /pwa/{proxy+}"
	RouteFallback       = "ANY /{proxy+}"
)

// routes maps every route key to the function serving it.
func routes() []Route {
	byFunction := []struct {
		fn   string
		keys []string
	}{
		{FunctionAPI, []string{RouteCreateKey, RouteListKeys, RouteRevokeKey, RouteQueueDepths, RouteWhoAmI, RouteListProjects,
			RouteCreateStream, RouteListStreams, RouteGetStream, RoutePatchStream, RoutePutStream, RouteDeleteStream,
			RouteEnableStream, RouteDisableStream, RouteStreamHealth, RouteTestStream,
			RouteDeadLetterSummary, RouteDeadLetterEvents, RouteDeadLetterRedrive, RouteDeadLetterPurge,
			RouteDeadLetterJobs, RouteDeadLetterJob, RouteAdminDeadLetters,
			RouteListFilterPresets, RouteGetFilterPreset,
			RouteReplayStream, RouteReplayJobs, RouteReplayJob, RouteCancelReplay}},
		{FunctionIngest, []string{RouteIngest}},
		{FunctionAPI, []string{RouteStytchCreate, RouteStytchGet, RouteStytchUpdate, RouteStytchDelete, RouteStytchEnable, RouteStytchDisable,
			RouteStytchV3Create, RouteStytchV3Get, RouteStytchV3Update, RouteStytchV3Delete, RouteStytchV3Enable, RouteStytchV3Disable}},
		{FunctionLokiBridge, []string{RouteLokiPush, RouteReady, RouteHealth}},
		{FunctionConsole, []string{RouteConsole, RouteConsoleFiles}},
		{FunctionAPI, []string{RouteStytchFallback, RouteFallback}},
	}
	var out []Route
	for _, g := range byFunction {
		for _, k := range g.keys {
			method, path, _ := strings.Cut(k, " ")
			out = append(out, Route{Method: method, Path: path, Function: g.fn})
		}
	}
	return out
}

func clone(e []Env) []Env { return append([]Env(nil), e...) }

// Function returns the function with the given ID.
func (s Spec) Function(id string) (Function, bool) {
	for _, f := range s.Functions {
		if f.ID == id {
			return f, true
		}
	}
	return Function{}, false
}

// SetMaxReceiveCount sets every delivery queue's maxReceiveCount, and the
// delivery functions' EnvMaxReceiveCount with it.
func (s *Spec) SetMaxReceiveCount(n int) {
	for i := range s.Queues {
		s.Queues[i].MaxReceiveCount = n
	}
	for i := range s.Functions {
		for j, e := range s.Functions[i].Env {
			if e.Name == EnvMaxReceiveCount {
				s.Functions[i].Env[j].Value = strconv.Itoa(n)
			}
		}
	}
}

// SetSchedule sets how often a function is invoked on its schedule: the
// local stack ticks the dead-letter function every few seconds, where AWS's
// rate rules take whole minutes (the CDK stack refuses anything else).
func (s *Spec) SetSchedule(functionID string, d time.Duration) {
	for i := range s.Functions {
		if s.Functions[i].ID == functionID {
			s.Functions[i].Schedule = d
		}
	}
}

// SetBatchingWindow sets how long a function's event source mapping
// gathers a batch: the local stack's tests shorten the archiver's, whose
// deployed half minute would outlast their shortened visibility timeouts.
func (s *Spec) SetBatchingWindow(functionID string, d time.Duration) {
	for i := range s.Functions {
		if s.Functions[i].ID == functionID && s.Functions[i].Source != nil {
			src := *s.Functions[i].Source
			src.MaxBatchingWindow = d
			s.Functions[i].Source = &src
		}
	}
}

// Queue returns the delivery queue of a destination type.
func (s Spec) Queue(destination string) (Queue, bool) {
	for _, q := range s.Queues {
		if q.Destination == destination {
			return q, true
		}
	}
	return Queue{}, false
}

// Validate checks the spec is internally consistent and within AWS's naming
// limits, so a mistake fails before CloudFormation or the local stack sees it.
func (s Spec) Validate() error {
	if s.Prefix == "" || s.Table.Name == "" {
		return fmt.Errorf("topology: prefix and table name are required")
	}
	if err := s.Capacity.Validate(); err != nil {
		return fmt.Errorf("topology: %w", err)
	}
	ids := map[string]bool{}
	for _, f := range s.Functions {
		if ids[f.ID] {
			return fmt.Errorf("topology: function id %q appears twice", f.ID)
		}
		ids[f.ID] = true
		if err := s.validateFunction(f); err != nil {
			return err
		}
	}
	if err := s.validateConcurrency(); err != nil {
		return err
	}
	for _, b := range []string{s.ArchiveBucket, s.EventArchiveBucket} {
		if n := len(b); n < 3 || n > 63 || strings.ToLower(b) != b {
			return fmt.Errorf("topology: bucket name %q must be 3 to 63 lowercase characters", b)
		}
	}
	for _, q := range s.Queues {
		if len(q.Name) > 80 || len(q.DLQName) > 80 { // SQS queue names
			return fmt.Errorf("topology: queue name %q or %q is longer than 80 characters", q.Name, q.DLQName)
		}
		if q.MaxReceiveCount < 1 || q.MaxReceiveCount > 1000 {
			return fmt.Errorf("topology: queue %s maxReceiveCount %d out of range 1-1000", q.Name, q.MaxReceiveCount)
		}
	}
	routes := map[string]bool{}
	for _, r := range s.Routes {
		if _, ok := s.Function(r.Function); !ok {
			return fmt.Errorf("topology: route %s targets unknown function %q", r.Key(), r.Function)
		}
		if routes[r.Key()] {
			return fmt.Errorf("topology: route %s appears twice", r.Key())
		}
		routes[r.Key()] = true
	}
	return nil
}

// validateFunction checks one function: its role, name, references and
// event source.
func (s Spec) validateFunction(f Function) error {
	switch f.Role {
	case RoleAPI, RoleIngest, RoleBridge, RoleDeliver, RoleDeadLetters, RoleArchiver, RoleLokiArchiver, RoleReplay, RoleConsole:
	default:
		// Deployments grant by role: a function without one would get
		// no deliberate decision about its permissions.
		return fmt.Errorf("topology: function %s has no known role (%q)", f.ID, f.Role)
	}
	if (f.Role == RoleDeliver || f.Role == RoleArchiver || f.Role == RoleLokiArchiver) != (f.Source != nil) {
		return fmt.Errorf("topology: function %s has role %s but event source %v: only the delivery functions and the archivers read a queue", f.ID, f.Role, f.Source != nil)
	}
	if f.Schedule < 0 {
		return fmt.Errorf("topology: function %s schedule %s is negative", f.ID, f.Schedule)
	}
	if len(f.Name) > 64 { // Lambda function names
		return fmt.Errorf("topology: function name %q is longer than 64 characters", f.Name)
	}
	for _, e := range f.Env {
		if _, ok := s.Queue(e.Queue); (e.Ref == RefQueueURL || e.Ref == RefDLQURL) && !ok {
			return fmt.Errorf("topology: function %s variable %s refers to unknown queue %q", f.ID, e.Name, e.Queue)
		}
		if _, ok := s.Function(e.Function); e.Ref == RefFunctionName && !ok {
			return fmt.Errorf("topology: function %s variable %s refers to unknown function %q", f.ID, e.Name, e.Function)
		}
	}
	if f.Source == nil {
		return nil
	}
	q, ok := s.Queue(f.Source.Destination)
	if !ok {
		return fmt.Errorf("topology: function %s reads unknown queue %q", f.ID, f.Source.Destination)
	}
	// A message is invisible from its receive until the invocation ends,
	// and the poller may hold it for the batching window first: shorter,
	// and SQS hands it to another poller while it is still being delivered.
	if need := f.Timeout + f.Source.MaxBatchingWindow; q.VisibilityTimeout < need {
		return fmt.Errorf("topology: queue %s visibility timeout %s is shorter than function %s timeout plus batching window (%s)",
			q.Name, q.VisibilityTimeout, f.ID, need)
	}
	if f.Source.BatchSize < 1 || f.Source.BatchSize > 10000 {
		return fmt.Errorf("topology: function %s batch size %d out of range", f.ID, f.Source.BatchSize)
	}
	// ScalingConfig.MaximumConcurrency: 2 to 1000 (AWS::Lambda::
	// EventSourceMapping ScalingConfig); unset, a mapping scales until the
	// account runs out, which is what it is here to prevent.
	if m := f.Source.MaxConcurrency; m < 2 || m > 1000 {
		return fmt.Errorf("topology: function %s maximum concurrency %d out of range 2-1000", f.ID, m)
	}
	// Reserved below the mapping's maximum, Lambda throttles the mapping's
	// own invocations (Lambda: "Configuring maximum concurrency for Amazon
	// SQS event sources").
	if r := f.ReservedConcurrency; r > 0 && r < f.Source.MaxConcurrency {
		return fmt.Errorf("topology: function %s reserved concurrency %d is below its mapping's maximum concurrency %d", f.ID, r, f.Source.MaxConcurrency)
	}
	return nil
}

// validateConcurrency checks the concurrency guards against the account's
// default quota: every reservation plus every mapping's maximum must leave
// MinUnreservedConcurrency of AccountConcurrency, so logstream at all its
// ceilings cannot starve the rest of the account.
func (s Spec) validateConcurrency() error {
	total := 0
	for _, f := range s.Functions {
		if f.ReservedConcurrency < 0 {
			return fmt.Errorf("topology: function %s reserved concurrency %d is negative", f.ID, f.ReservedConcurrency)
		}
		// A reservation is both a floor and a cap; with a mapping's
		// maximum as its cap instead, count the larger of the two.
		n := f.ReservedConcurrency
		if f.Source != nil {
			n = max(n, f.Source.MaxConcurrency)
		}
		total += n
	}
	account := cmp.Or(s.Capacity.Account, AccountConcurrency)
	if limit := account - MinUnreservedConcurrency; total > limit {
		return fmt.Errorf("topology: reserved concurrency plus delivery maxima is %d, more than the %d of the account quota (%d; LOGSTREAM_CAPACITY account=… declares a raised one) that leaves %d unreserved",
			total, limit, account, MinUnreservedConcurrency)
	}
	return nil
}

// Manifest is the comparable reduction of a deployed shape: what must be equal
// between the CDK template and the local stack.
type Manifest struct {
	Table     string
	Queues    []ManifestQueue
	Functions []ManifestFunction
	Mappings  []ManifestMapping
	Routes    []string // route keys, sorted
}

// ManifestQueue is a queue and its redrive settings.
type ManifestQueue struct {
	Name                     string
	DLQName                  string
	VisibilityTimeoutSeconds int
	MaxReceiveCount          int
}

// ManifestFunction is a function's timeout, its schedule and the names of
// its environment variables. Its reserved concurrency is not here: the local stack runs every
// function in one process and cannot reserve anything, so only the template
// tests (infra) hold it to the spec.
type ManifestFunction struct {
	ID             string
	TimeoutSeconds int
	// ScheduleSeconds is how often the function is invoked on its
	// schedule; 0 for none.
	ScheduleSeconds int
	EnvNames        []string // sorted
}

// ManifestMapping is an SQS event source mapping.
type ManifestMapping struct {
	Function                 string
	Queue                    string
	BatchSize                int
	MaxBatchingWindowSeconds int
	ReportBatchItemFailures  bool
	MaximumConcurrency       int // ScalingConfig.MaximumConcurrency
}

// Manifest reduces the spec to its comparable form, sorted for equality checks.
func (s Spec) Manifest() Manifest {
	m := Manifest{Table: s.Table.Name}
	for _, q := range s.Queues {
		m.Queues = append(m.Queues, ManifestQueue{Name: q.Name, DLQName: q.DLQName,
			VisibilityTimeoutSeconds: int(q.VisibilityTimeout / time.Second), MaxReceiveCount: q.MaxReceiveCount})
	}
	for _, f := range s.Functions {
		mf := ManifestFunction{ID: f.ID, TimeoutSeconds: int(f.Timeout / time.Second), ScheduleSeconds: int(f.Schedule / time.Second)}
		for _, e := range f.Env {
			mf.EnvNames = append(mf.EnvNames, e.Name)
		}
		sort.Strings(mf.EnvNames)
		m.Functions = append(m.Functions, mf)
		if f.Source != nil {
			q, _ := s.Queue(f.Source.Destination)
			m.Mappings = append(m.Mappings, ManifestMapping{Function: f.ID, Queue: q.Name, BatchSize: f.Source.BatchSize,
				MaxBatchingWindowSeconds: int(f.Source.MaxBatchingWindow / time.Second), ReportBatchItemFailures: f.Source.ReportBatchItemFailures,
				MaximumConcurrency: f.Source.MaxConcurrency})
		}
	}
	for _, r := range s.Routes {
		m.Routes = append(m.Routes, r.Key())
	}
	m.Sort()
	return m
}

// Sort orders every list so two manifests built in different orders compare equal.
func (m *Manifest) Sort() {
	sort.Slice(m.Queues, func(i, j int) bool { return m.Queues[i].Name < m.Queues[j].Name })
	sort.Slice(m.Functions, func(i, j int) bool { return m.Functions[i].ID < m.Functions[j].ID })
	sort.Slice(m.Mappings, func(i, j int) bool { return m.Mappings[i].Function < m.Mappings[j].Function })
	for i := range m.Functions {
		sort.Strings(m.Functions[i].EnvNames)
	}
	sort.Strings(m.Routes)
}

// The values EnvMetricsDetail takes besides "" (shared/metrics reads them).
const (
	MetricsDetailProject = "project"
	MetricsDetailStream  = "stream"
)

// metricsDetailEnv is the metrics' opt-in detail, off where deployed: the
// functions whose metrics can name a project (ingestion, delivery) read it.
func metricsDetailEnv() Env { return Env{Name: EnvMetricsDetail, Value: ""} }

// SetMetricsDetail turns on the metrics' opt-in detail ("", "project" or
// "stream") in every function that reads it. Each project (and stream)
// then has metrics of its own, which CloudWatch bills as custom metrics
// (docs/operations.md, "Metrics").
func (s *Spec) SetMetricsDetail(detail string) error {
	switch detail {
	case "", MetricsDetailProject, MetricsDetailStream:
	default:
		return fmt.Errorf("%s=%q is not one of \"\", %q or %q", EnvMetricsDetail, detail, MetricsDetailProject, MetricsDetailStream)
	}
	for i := range s.Functions {
		for j, e := range s.Functions[i].Env {
			if e.Name == EnvMetricsDetail {
				s.Functions[i].Env[j].Value = detail
			}
		}
	}
	return nil
}
