// Package topology is the single source of truth for logstream's deployed shape:
// resource names, queue and redrive settings, functions and their environment,
// SQS event source mappings and HTTP routes.
//
// The CDK stack (infra/) and the docker-less local stack (localstack/) are both
// built from a Spec, and tests reduce the synthesized CloudFormation template and
// the provisioned local resources to the same Manifest and compare them.
package topology

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Destination types that have their own delivery queue, DLQ and function.
// They are the destination_type values of streams (shared/destination).
const (
	DestinationDatadog     = "datadog"
	DestinationGrafanaLoki = "grafana_loki"
	DestinationSplunkHEC   = "splunk_hec"
	DestinationHTTP        = "http"
	DestinationEventBridge = "eventbridge"
	DestinationS3          = "s3"
)

// Destinations lists every destination type with a delivery pipeline, in a stable order.
func Destinations() []string {
	return []string{DestinationDatadog, DestinationGrafanaLoki, DestinationSplunkHEC, DestinationHTTP, DestinationEventBridge, DestinationS3}
}

// Function IDs. A function's asset is built into build/<ID>/bootstrap and its
// source lives in functions/<SourceDir>.
const (
	FunctionAPI    = "api"
	FunctionIngest = "ingest"
	// FunctionLokiBridge serves Loki's push API and archives to S3.
	FunctionLokiBridge = "lokibridge"
)

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
	EnvMaxStreams     = "LOGSTREAM_MAX_STREAMS_PER_PROJECT"
	// EnvRetryBase and EnvRetryMax shape the delay before a failed message
	// is received again: the base, doubled for every earlier receive, at
	// most the max (and never sooner than the destination's Retry-After).
	EnvRetryBase = "LOGSTREAM_RETRY_BASE"
	EnvRetryMax  = "LOGSTREAM_RETRY_MAX"
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
	// DefaultRetryBase and DefaultRetryMax, with DefaultMaxReceiveCount,
	// retry a failing destination for about an hour (30 s, 1, 2, 4, 8, 16
	// and 30 min, with jitter) before SQS parks the message in the DLQ.
	DefaultRetryBase       = 30 * time.Second
	DefaultRetryMax        = 30 * time.Minute
	DefaultMaxReceiveCount = 8
	// DefaultAuthCacheTTL bounds how long a revoked key keeps working in a
	// warm function.
	DefaultAuthCacheTTL       = 30 * time.Second
	DefaultMaxStreams         = 25
	envQueueURLPrefix         = "LOGSTREAM_QUEUE_URL_"
	envDLQURLPrefix           = "LOGSTREAM_DLQ_URL_"
	envDeliverFunctionPrefix  = "LOGSTREAM_DELIVER_FUNCTION_"
	DefaultStreamCacheTTL     = 30 * time.Second
	DefaultDeliveryTimeout    = 10 * time.Second
	defaultVisibilityMultiple = 6
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
	RefNone           RefKind = iota // a literal Value
	RefTableName                     // the streams table's name
	RefQueueURL                      // the URL of Queue's delivery queue
	RefDLQURL                        // the URL of Queue's dead-letter queue
	RefAdminKeySecret                // the ARN of the admin key secret ("" where there is none)
	RefKMSKey                        // the ARN of the secrets KMS key ("" where there is none)
	RefArchiveBucket                 // the name of the Loki bridge's archive bucket
	RefBridgeSecret                  // the ARN of the bridge's credentials secret ("" where there is none)
	RefFunctionName                  // the name of Function, to invoke it
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

// Table is the DynamoDB table holding streams (single-table design: pk/sk strings).
type Table struct {
	Name         string
	PartitionKey string
	SortKey      string
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
}

// Function is one Lambda function.
type Function struct {
	ID        string
	Name      string // physical name
	SourceDir string // below functions/
	Timeout   time.Duration
	MemoryMB  int
	Env       []Env
	Source    *EventSource // nil for HTTP-invoked functions
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
	Table         Table
	Queues        []Queue
	Functions     []Function
	Routes        []Route
}

// New returns the production shape with every name prefixed by prefix.
func New(prefix string) Spec {
	s := Spec{
		Prefix:             prefix,
		AdminKeySecretName: prefix + "/admin-key",
		BridgeSecretName:   prefix + "/loki-bridge-credentials",
		ArchiveBucket:      prefix + "-archive",
		Table:              Table{Name: prefix + "-streams", PartitionKey: "pk", SortKey: "sk"},
	}
	common := []Env{
		{Name: EnvTable, Ref: RefTableName},
		{Name: EnvStreamCacheTTL, Value: DefaultStreamCacheTTL.String()},
		// The local-development switch; off in every deployment.
		{Name: EnvAllowPrivateEndpoints, Value: "false"},
	}
	authEnv := []Env{
		{Name: EnvAdminKeySecretARN, Ref: RefAdminKeySecret},
		{Name: EnvAdminKey, Value: ""},
		{Name: EnvAuthCacheTTL, Value: DefaultAuthCacheTTL.String()},
	}
	// Only the functions that write or send destination secrets can open them:
	// ingestion routes events without ever reading a credential.
	sealEnv := []Env{{Name: EnvKMSKeyID, Ref: RefKMSKey}, {Name: EnvLocalSecretKey, Value: ""}}
	apiEnv := append(append(append(clone(common), authEnv...), sealEnv...), Env{Name: EnvMaxStreams, Value: strconv.Itoa(DefaultMaxStreams)})
	for _, d := range Destinations() {
		// The API publishes lifecycle events (stream.created …) into the
		// project's own flow, and has the type's delivery function send
		// the test route's event.
		apiEnv = append(apiEnv, Env{Name: QueueURLEnv(d), Ref: RefQueueURL, Queue: d},
			Env{Name: DeliverFunctionEnv(d), Ref: RefFunctionName, Function: DeliverFunctionID(d)})
	}
	s.Functions = append(s.Functions,
		Function{ID: FunctionAPI, Name: prefix + "-api", SourceDir: "api",
			Timeout: 10 * time.Second, MemoryMB: 256, Env: apiEnv},
	)
	ingestEnv := append(clone(common), authEnv...)
	for _, d := range Destinations() {
		ingestEnv = append(ingestEnv, Env{Name: QueueURLEnv(d), Ref: RefQueueURL, Queue: d})
	}
	s.Functions = append(s.Functions,
		Function{ID: FunctionIngest, Name: prefix + "-ingest", SourceDir: "ingest",
			Timeout: 15 * time.Second, MemoryMB: 512, Env: ingestEnv},
	)
	for _, d := range Destinations() {
		deliverTimeout := 30 * time.Second
		s.Queues = append(s.Queues, Queue{
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
		})
		env := append(append(clone(common), sealEnv...),
			Env{Name: EnvDeliveryTimeout, Value: DefaultDeliveryTimeout.String()},
			// Its own queue, to delay retries, and its DLQ, to park what
			// can never be delivered.
			Env{Name: QueueURLEnv(d), Ref: RefQueueURL, Queue: d},
			Env{Name: DLQURLEnv(d), Ref: RefDLQURL, Queue: d},
			Env{Name: EnvRetryBase, Value: DefaultRetryBase.String()},
			Env{Name: EnvRetryMax, Value: DefaultRetryMax.String()})
		if d == DestinationS3 {
			env = append(env, Env{Name: EnvS3PathStyle, Value: "false"})
		}
		s.Functions = append(s.Functions, Function{
			ID: DeliverFunctionID(d), Name: prefix + "-deliver-" + d, SourceDir: "deliver/" + d,
			Timeout: deliverTimeout, MemoryMB: 256, Env: env,
			Source: &EventSource{Destination: d, BatchSize: 10, MaxBatchingWindow: time.Second, ReportBatchItemFailures: true},
		})
	}
	// The Loki-compatible S3 bridge: sized for a 10 MB push decoded.
	s.Functions = append(s.Functions, Function{
		ID: FunctionLokiBridge, Name: prefix + "-lokibridge", SourceDir: "lokibridge",
		Timeout: 30 * time.Second, MemoryMB: 1024,
		Env: []Env{
			{Name: EnvArchiveBucket, Ref: RefArchiveBucket},
			{Name: EnvBridgeCredentialsSecretARN, Ref: RefBridgeSecret},
			{Name: EnvBridgeCredentials, Value: ""},
			{Name: EnvS3PathStyle, Value: "false"},
		},
	})
	const project = "/v1/projects/{project_id}"
	const stytchV3 = "/pwa/v3/projects/{project_slug}/environments/{environment_slug}/event_log_streaming"
	s.Routes = []Route{
		{Method: "POST", Path: "/v1/keys", Function: FunctionAPI},
		{Method: "GET", Path: "/v1/keys", Function: FunctionAPI},
		{Method: "DELETE", Path: "/v1/keys/{key_id}", Function: FunctionAPI},
		{Method: "POST", Path: project + "/streams", Function: FunctionAPI},
		{Method: "GET", Path: project + "/streams", Function: FunctionAPI},
		{Method: "GET", Path: project + "/streams/{stream_id}", Function: FunctionAPI},
		{Method: "PATCH", Path: project + "/streams/{stream_id}", Function: FunctionAPI},
		{Method: "PUT", Path: project + "/streams/{stream_id}", Function: FunctionAPI},
		{Method: "DELETE", Path: project + "/streams/{stream_id}", Function: FunctionAPI},
		{Method: "POST", Path: project + "/streams/{stream_id}/enable", Function: FunctionAPI},
		{Method: "POST", Path: project + "/streams/{stream_id}/disable", Function: FunctionAPI},
		{Method: "GET", Path: project + "/streams/{stream_id}/health", Function: FunctionAPI},
		{Method: "POST", Path: project + "/streams/{stream_id}/test", Function: FunctionAPI},
		{Method: "POST", Path: project + "/events", Function: FunctionIngest},
		// Stytch-compatible event log streaming routes.
		{Method: "POST", Path: project + "/event_log_streaming", Function: FunctionAPI},
		{Method: "GET", Path: project + "/event_log_streaming/{destination_type}", Function: FunctionAPI},
		{Method: "PUT", Path: project + "/event_log_streaming/{destination_type}", Function: FunctionAPI},
		{Method: "DELETE", Path: project + "/event_log_streaming/{destination_type}", Function: FunctionAPI},
		{Method: "POST", Path: project + "/event_log_streaming/{destination_type}/enable", Function: FunctionAPI},
		{Method: "POST", Path: project + "/event_log_streaming/{destination_type}/disable", Function: FunctionAPI},
		// The same, on the paths of Stytch's management API v3, where a
		// Stytch project and environment name the project.
		{Method: "POST", Path: stytchV3, Function: FunctionAPI},
		{Method: "GET", Path: stytchV3 + "/{destination_type}", Function: FunctionAPI},
		{Method: "PUT", Path: stytchV3 + "/{destination_type}", Function: FunctionAPI},
		{Method: "DELETE", Path: stytchV3 + "/{destination_type}", Function: FunctionAPI},
		{Method: "POST", Path: stytchV3 + "/{destination_type}/enable", Function: FunctionAPI},
		{Method: "POST", Path: stytchV3 + "/{destination_type}/disable", Function: FunctionAPI},
		// Loki's push API, and the bridge's readiness and health.
		{Method: "POST", Path: "/loki/api/v1/push", Function: FunctionLokiBridge},
		{Method: "GET", Path: "/ready", Function: FunctionLokiBridge},
		{Method: "GET", Path: "/health", Function: FunctionLokiBridge},
		// Fallbacks: API Gateway matches a greedy path last, so these take
		// only what no route above serves, and the API answers it 404 in
		// the error shape of its family (Stytch's under /pwa/, the API's
		// elsewhere) instead of API Gateway's bare {"message":"Not Found"}.
		{Method: "ANY", Path: "/pwa/{proxy+}", Function: FunctionAPI},
		{Method: "ANY", Path: "/{proxy+}", Function: FunctionAPI},
	}
	return s
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
	ids := map[string]bool{}
	for _, f := range s.Functions {
		if ids[f.ID] {
			return fmt.Errorf("topology: function id %q appears twice", f.ID)
		}
		ids[f.ID] = true
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
			continue
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
	}
	if n := len(s.ArchiveBucket); n < 3 || n > 63 || strings.ToLower(s.ArchiveBucket) != s.ArchiveBucket {
		return fmt.Errorf("topology: archive bucket name %q must be 3 to 63 lowercase characters", s.ArchiveBucket)
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

// ManifestFunction is a function's timeout and the names of its environment variables.
type ManifestFunction struct {
	ID             string
	TimeoutSeconds int
	EnvNames       []string // sorted
}

// ManifestMapping is an SQS event source mapping.
type ManifestMapping struct {
	Function                 string
	Queue                    string
	BatchSize                int
	MaxBatchingWindowSeconds int
	ReportBatchItemFailures  bool
}

// Manifest reduces the spec to its comparable form, sorted for equality checks.
func (s Spec) Manifest() Manifest {
	m := Manifest{Table: s.Table.Name}
	for _, q := range s.Queues {
		m.Queues = append(m.Queues, ManifestQueue{Name: q.Name, DLQName: q.DLQName,
			VisibilityTimeoutSeconds: int(q.VisibilityTimeout / time.Second), MaxReceiveCount: q.MaxReceiveCount})
	}
	for _, f := range s.Functions {
		mf := ManifestFunction{ID: f.ID, TimeoutSeconds: int(f.Timeout / time.Second)}
		for _, e := range f.Env {
			mf.EnvNames = append(mf.EnvNames, e.Name)
		}
		sort.Strings(mf.EnvNames)
		m.Functions = append(m.Functions, mf)
		if f.Source != nil {
			q, _ := s.Queue(f.Source.Destination)
			m.Mappings = append(m.Mappings, ManifestMapping{Function: f.ID, Queue: q.Name, BatchSize: f.Source.BatchSize,
				MaxBatchingWindowSeconds: int(f.Source.MaxBatchingWindow / time.Second), ReportBatchItemFailures: f.Source.ReportBatchItemFailures})
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
