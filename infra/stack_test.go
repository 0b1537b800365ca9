package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/topology"
)

// CDK tests: jsii is not goroutine-safe, so no t.Parallel; synthesis takes
// seconds, so the stack is built once per test binary and shared read-only.

// testPrefix differs from the default so a hard-coded "logstream-…" name shows up.
const testPrefix = "lstest"

// testAssets holds a stub asset for every function topology declares,
// written by TestMain, so a new function or destination type needs no file
// of its own here. Each stub names its function, so no two functions share
// code (TestFunctions checks that).
var testAssets string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "logstream-infra-assets-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := writeStubAssets(dir, topology.New(testPrefix)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testAssets = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// writeStubAssets writes <dir>/<function ID>/bootstrap for every function of
// spec, as `make build` writes the real ones.
func writeStubAssets(dir string, spec topology.Spec) error {
	for _, f := range spec.Functions {
		if err := os.MkdirAll(filepath.Join(dir, f.ID), 0o755); err != nil {
			return err
		}
		stub := "#!/bin/sh\n# stub " + f.ID + " asset for infra tests; the real one is built by `make build`\n"
		if err := os.WriteFile(filepath.Join(dir, f.ID, "bootstrap"), []byte(stub), 0o755); err != nil {
			return err
		}
	}
	return nil
}

type synthesized struct {
	spec     topology.Spec
	template assertions.Template
	json     map[string]any // template.ToJSON(), for walks and negative checks
}

var (
	synthOnce   sync.Once
	synthResult synthesized
	synthErr    error
)

// synth returns the stack built from topology.New(testPrefix), synthesizing it
// on first use.
func synth(t *testing.T) synthesized {
	t.Helper()
	synthOnce.Do(func() {
		synthErr = catch(func() {
			spec := topology.New(testPrefix)
			app := newTestApp()
			stack := NewLogstreamStack(app, "Logstream", &LogstreamStackProps{Spec: spec, AssetDir: testAssets})
			tpl := assertions.Template_FromStack(stack, nil)
			synthResult = synthesized{spec: spec, template: tpl, json: *tpl.ToJSON()}
		})
	})
	if synthErr != nil {
		t.Fatalf("synthesize stack: %v", synthErr)
	}
	return synthResult
}

// newTestApp creates an app with cdk.json's context (feature flags), so tests
// see the template `cdk synth` produces.
func newTestApp() awscdk.App {
	raw, err := os.ReadFile("cdk.json")
	if err != nil {
		panic(err)
	}
	var cfg struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		panic(fmt.Sprintf("cdk.json: %v", err))
	}
	return awscdk.NewApp(&awscdk.AppProps{Context: &cfg.Context})
}

// catch runs fn and returns what it panicked with, if anything: jsii turns
// failed assertions and construct errors into Go panics.
func catch(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	fn()
	return nil
}

// must runs a CDK assertion and fails the test with its message if it panics.
func must(t *testing.T, what string, fn func()) {
	t.Helper()
	if err := catch(fn); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func obj(kv map[string]any) *map[string]any { return &kv }
func arr(v ...any) *[]any                   { return &v }

// resources returns logical ID → resource of the given type.
func (s synthesized) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.json["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

func propsOf(res map[string]any) map[string]any {
	p, _ := res["Properties"].(map[string]any)
	return p
}

// logicalID returns the single resource of typ whose property key equals value.
func (s synthesized) logicalID(t *testing.T, typ, key string, value any) string {
	t.Helper()
	var found []string
	for id, r := range s.resources(typ) {
		if reflect.DeepEqual(propsOf(r)[key], value) {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s with %s=%v, found %v", typ, key, value, found)
	}
	return found[0]
}

func TestTable(t *testing.T) {
	s := synth(t)
	must(t, "one table", func() { s.template.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1)) })
	must(t, "table properties", func() {
		s.template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), obj(map[string]any{
			"TableName": s.spec.Table.Name,
			"KeySchema": assertions.Match_ArrayEquals(arr(
				map[string]any{"AttributeName": s.spec.Table.PartitionKey, "KeyType": "HASH"},
				map[string]any{"AttributeName": s.spec.Table.SortKey, "KeyType": "RANGE"},
			)),
			"AttributeDefinitions": assertions.Match_ArrayWith(arr(
				map[string]any{"AttributeName": s.spec.Table.PartitionKey, "AttributeType": "S"},
				map[string]any{"AttributeName": s.spec.Table.SortKey, "AttributeType": "S"},
			)),
			"BillingMode":                      "PAY_PER_REQUEST",
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"SSESpecification":                 map[string]any{"SSEEnabled": true},
			"TimeToLiveSpecification":          map[string]any{"AttributeName": s.spec.Table.TTLAttribute, "Enabled": true},
		}))
	})
	must(t, "table retained", func() {
		s.template.HasResource(jsii.String("AWS::DynamoDB::Table"), obj(map[string]any{
			"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
		}))
	})
}

func TestQueues(t *testing.T) {
	s := synth(t)
	must(t, "queue count", func() {
		s.template.ResourceCountIs(jsii.String("AWS::SQS::Queue"), jsii.Number(float64(2*len(s.spec.Queues))))
	})
	for _, q := range s.spec.Queues {
		t.Run(q.Destination, func(t *testing.T) {
			dlqID := s.logicalID(t, "AWS::SQS::Queue", "QueueName", q.DLQName)
			queueID := s.logicalID(t, "AWS::SQS::Queue", "QueueName", q.Name)
			must(t, "DLQ", func() {
				s.template.HasResourceProperties(jsii.String("AWS::SQS::Queue"), obj(map[string]any{
					"QueueName":              q.DLQName,
					"MessageRetentionPeriod": q.DLQRetention.Seconds(),
					"SqsManagedSseEnabled":   true,
					"RedrivePolicy":          assertions.Match_Absent(),
				}))
			})
			must(t, "queue", func() {
				s.template.HasResourceProperties(jsii.String("AWS::SQS::Queue"), obj(map[string]any{
					"QueueName":              q.Name,
					"VisibilityTimeout":      q.VisibilityTimeout.Seconds(),
					"MessageRetentionPeriod": q.Retention.Seconds(),
					"SqsManagedSseEnabled":   true,
					"RedrivePolicy": map[string]any{
						"maxReceiveCount":     q.MaxReceiveCount,
						"deadLetterTargetArn": map[string]any{"Fn::GetAtt": []any{dlqID, "Arn"}},
					},
				}))
			})
			for _, id := range []string{queueID, dlqID} {
				must(t, "TLS-only policy on "+id, func() {
					s.template.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), obj(map[string]any{
						"Queues": arr(map[string]any{"Ref": id}),
						"PolicyDocument": assertions.Match_ObjectLike(obj(map[string]any{
							"Statement": assertions.Match_ArrayWith(arr(assertions.Match_ObjectLike(obj(map[string]any{
								"Effect":    "Deny",
								"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
							})))),
						})),
					}))
				})
			}
		})
	}
}

func TestFunctions(t *testing.T) {
	s := synth(t)
	must(t, "function count", func() {
		s.template.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(float64(len(s.spec.Functions))))
	})
	tableID := s.logicalID(t, "AWS::DynamoDB::Table", "TableName", s.spec.Table.Name)
	codeKeys := map[string]string{}
	for _, f := range s.spec.Functions {
		t.Run(f.ID, func(t *testing.T) {
			must(t, "function", func() {
				s.template.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj(map[string]any{
					"FunctionName":  f.Name,
					"Runtime":       "provided.al2023",
					"Architectures": arr("arm64"),
					"Handler":       "bootstrap",
					"Timeout":       f.Timeout.Seconds(),
					"MemorySize":    f.MemoryMB,
					"LoggingConfig": assertions.Match_ObjectLike(obj(map[string]any{"LogFormat": "JSON"})),
					"Tags":          assertions.Match_ArrayWith(arr(map[string]any{"Key": FunctionIDTag, "Value": f.ID})),
				}))
			})
			must(t, "log group", func() {
				s.template.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), obj(map[string]any{
					"LogGroupName":    "/aws/lambda/" + f.Name,
					"RetentionInDays": 30,
				}))
			})

			id := s.logicalID(t, "AWS::Lambda::Function", "FunctionName", f.Name)
			p := propsOf(s.resources("AWS::Lambda::Function")[id])
			logGroupID := s.logicalID(t, "AWS::Logs::LogGroup", "LogGroupName", "/aws/lambda/"+f.Name)
			if got := p["LoggingConfig"].(map[string]any)["LogGroup"]; !reflect.DeepEqual(got, map[string]any{"Ref": logGroupID}) {
				t.Errorf("LoggingConfig.LogGroup = %v, want Ref %s", got, logGroupID)
			}
			codeKeys[f.ID] = fmt.Sprint(p["Code"].(map[string]any)["S3Key"])

			// Exactly the spec's variables, each with its literal or reference.
			// A function with none (the console) has no Environment.
			vars := map[string]any{}
			if env, ok := p["Environment"].(map[string]any); ok {
				vars = env["Variables"].(map[string]any)
			}
			want := map[string]any{}
			for _, e := range f.Env {
				switch e.Ref {
				case topology.RefNone:
					want[e.Name] = e.Value
				case topology.RefTableName:
					want[e.Name] = map[string]any{"Ref": tableID}
				case topology.RefQueueURL:
					q, _ := s.spec.Queue(e.Queue)
					want[e.Name] = map[string]any{"Ref": s.logicalID(t, "AWS::SQS::Queue", "QueueName", q.Name)}
				case topology.RefDLQURL:
					q, _ := s.spec.Queue(e.Queue)
					want[e.Name] = map[string]any{"Ref": s.logicalID(t, "AWS::SQS::Queue", "QueueName", q.DLQName)}
				case topology.RefAdminKeySecret:
					want[e.Name] = map[string]any{"Ref": s.logicalID(t, "AWS::SecretsManager::Secret", "Name", s.spec.AdminKeySecretName)}
				case topology.RefKMSKey:
					want[e.Name] = map[string]any{"Fn::GetAtt": []any{s.secretsKey(t), "Arn"}}
				case topology.RefPIIKey:
					want[e.Name] = map[string]any{"Fn::GetAtt": []any{s.logicalID(t, "AWS::KMS::Key", "KeySpec", "HMAC_256"), "Arn"}}
				case topology.RefArchiveBucket:
					want[e.Name] = map[string]any{"Ref": s.archiveBucket(t)}
				case topology.RefEventArchiveBucket:
					want[e.Name] = map[string]any{"Ref": s.eventArchiveBucket(t)}
				case topology.RefFunctionName:
					// The physical name the spec gives the function it names.
					target, _ := s.spec.Function(e.Function)
					want[e.Name] = target.Name
				case topology.RefBridgeSecret:
					want[e.Name] = map[string]any{"Ref": s.logicalID(t, "AWS::SecretsManager::Secret", "Name", s.spec.BridgeSecretName)}
				}
			}
			if !reflect.DeepEqual(vars, want) {
				t.Errorf("environment:\n got %v\nwant %v", vars, want)
			}
		})
	}
	// The stub assets differ, so each function must have its own code.
	seen := map[string]string{}
	for id, key := range codeKeys {
		if other, dup := seen[key]; dup {
			t.Errorf("functions %s and %s share code asset %s", id, other, key)
		}
		seen[key] = id
	}
}

func TestEventSourceMappings(t *testing.T) {
	s := synth(t)
	var sources int
	for _, f := range s.spec.Functions {
		if f.Source == nil {
			continue
		}
		sources++
		t.Run(f.ID, func(t *testing.T) {
			q, _ := s.spec.Queue(f.Source.Destination)
			fnID := s.logicalID(t, "AWS::Lambda::Function", "FunctionName", f.Name)
			queueID := s.logicalID(t, "AWS::SQS::Queue", "QueueName", q.Name)
			must(t, "mapping", func() {
				s.template.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), obj(map[string]any{
					"FunctionName":                   map[string]any{"Ref": fnID},
					"EventSourceArn":                 map[string]any{"Fn::GetAtt": []any{queueID, "Arn"}},
					"FunctionResponseTypes":          arr("ReportBatchItemFailures"),
					"BatchSize":                      f.Source.BatchSize,
					"MaximumBatchingWindowInSeconds": f.Source.MaxBatchingWindow.Seconds(),
					"ScalingConfig":                  map[string]any{"MaximumConcurrency": f.Source.MaxConcurrency},
				}))
			})
		})
	}
	must(t, "no other mappings", func() {
		s.template.ResourceCountIs(jsii.String("AWS::Lambda::EventSourceMapping"), jsii.Number(float64(sources)))
	})
}

// The concurrency guards (issue 11): every delivery mapping has its
// maximum, which the test above asserts per mapping; here, every mapping
// in the template has one (2–1000), and ingestion and the API, and no
// other function, reserve what the spec says.
func TestConcurrencyGuards(t *testing.T) {
	s := synth(t)
	for id, r := range s.resources("AWS::Lambda::EventSourceMapping") {
		scaling, _ := propsOf(r)["ScalingConfig"].(map[string]any)
		if n, ok := scaling["MaximumConcurrency"].(float64); !ok || n < 2 || n > 1000 {
			t.Errorf("mapping %s: ScalingConfig %v, want a MaximumConcurrency of 2-1000", id, propsOf(r)["ScalingConfig"])
		}
	}
	reserved := map[string]int{}
	for _, f := range s.spec.Functions {
		if f.ReservedConcurrency != 0 {
			reserved[f.ID] = f.ReservedConcurrency
		}
	}
	if want := map[string]int{topology.FunctionIngest: topology.DefaultIngestReservedConcurrency,
		topology.FunctionAPI: topology.DefaultAPIReservedConcurrency, topology.FunctionDeadLetters: topology.DefaultDeadLettersReservedConcurrency,
		topology.FunctionReplay: topology.DefaultReplayReservedConcurrency}; !reflect.DeepEqual(reserved, want) {
		t.Fatalf("spec reserves %v, want %v", reserved, want)
	}
	for _, f := range s.spec.Functions {
		id := s.logicalID(t, "AWS::Lambda::Function", "FunctionName", f.Name)
		got, set := propsOf(s.resources("AWS::Lambda::Function")[id])["ReservedConcurrentExecutions"]
		switch want, reserves := reserved[f.ID]; {
		case reserves && got != float64(want):
			t.Errorf("%s: ReservedConcurrentExecutions %v, want %d", f.ID, got, want)
		case !reserves && set:
			t.Errorf("%s: ReservedConcurrentExecutions %v, want none (the unreserved pool)", f.ID, got)
		}
	}
}

func TestRoutes(t *testing.T) {
	s := synth(t)
	must(t, "the admin key secret is generated, letters and digits", func() {
		s.template.HasResourceProperties(jsii.String("AWS::SecretsManager::Secret"), obj(map[string]any{
			"Name":                 s.spec.AdminKeySecretName,
			"GenerateSecretString": map[string]any{"PasswordLength": 48, "ExcludePunctuation": true, "IncludeSpace": false},
		}))
	})
	must(t, "the secrets key rotates and is kept", func() {
		s.template.HasResource(jsii.String("AWS::KMS::Key"), obj(map[string]any{
			"Properties":     map[string]any{"EnableKeyRotation": true},
			"DeletionPolicy": "Retain",
		}))
	})
	must(t, "the PII hash key is an HMAC key, kept", func() {
		s.template.HasResource(jsii.String("AWS::KMS::Key"), obj(map[string]any{
			"Properties":     map[string]any{"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
			"DeletionPolicy": "Retain",
		}))
	})
	must(t, "route count", func() {
		s.template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Route"), jsii.Number(float64(len(s.spec.Routes))))
	})
	for _, r := range s.spec.Routes {
		t.Run(r.Key(), func(t *testing.T) {
			routeID := s.logicalID(t, "AWS::ApiGatewayV2::Route", "RouteKey", r.Key())
			p := propsOf(s.resources("AWS::ApiGatewayV2::Route")[routeID])
			// The functions authenticate bearer API keys; an authorizer here
			// would be a second, diverging check.
			if at, ok := p["AuthorizationType"]; ok && at != "NONE" {
				t.Errorf("AuthorizationType = %v, want none", at)
			}
			// Target is integrations/<integration>; that integration must invoke r.Function.
			parts := p["Target"].(map[string]any)["Fn::Join"].([]any)[1].([]any)
			integrationID, err := refTarget(parts[1])
			if err != nil {
				t.Fatalf("route target: %v", err)
			}
			integration := propsOf(s.resources("AWS::ApiGatewayV2::Integration")[integrationID])
			f, _ := s.spec.Function(r.Function)
			fnID := s.logicalID(t, "AWS::Lambda::Function", "FunctionName", f.Name)
			if got, want := integration["IntegrationUri"], (map[string]any{"Fn::GetAtt": []any{fnID, "Arn"}}); !reflect.DeepEqual(got, want) {
				t.Errorf("integration URI = %v, want %v", got, want)
			}
			if integration["PayloadFormatVersion"] != "2.0" || integration["IntegrationType"] != "AWS_PROXY" {
				t.Errorf("integration = %v, want AWS_PROXY with payload format 2.0", integration)
			}
		})
	}
	must(t, "throttled $default stage", func() {
		s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), obj(map[string]any{
			"StageName":  "$default",
			"AutoDeploy": true,
			"DefaultRouteSettings": map[string]any{
				"ThrottlingRateLimit": topology.DefaultCapacity.APIRate, "ThrottlingBurstLimit": topology.DefaultCapacity.APIBurst,
			},
		}))
	})
}

func TestOutputs(t *testing.T) {
	s := synth(t)
	want := map[string]any{
		"ApiUrl":                 nil,
		"TableName":              map[string]any{"Ref": s.logicalID(t, "AWS::DynamoDB::Table", "TableName", s.spec.Table.Name)},
		"ArchiveBucketName":      map[string]any{"Ref": s.archiveBucket(t)},
		"EventArchiveBucketName": map[string]any{"Ref": s.eventArchiveBucket(t)},
	}
	for _, q := range s.spec.Queues {
		name := pascal("deliver-" + q.Destination)
		switch q.Destination {
		case topology.ArchiveQueue:
			name = "EventArchive"
		case topology.BridgeQueue:
			name = "LokiBridge"
		}
		want[name+"QueueUrl"] = map[string]any{"Ref": s.logicalID(t, "AWS::SQS::Queue", "QueueName", q.Name)}
		want[name+"DlqUrl"] = map[string]any{"Ref": s.logicalID(t, "AWS::SQS::Queue", "QueueName", q.DLQName)}
	}
	if _, ok := s.json["Outputs"].(map[string]any)["DeliverArchiveQueueUrl"]; ok {
		t.Error("the archive queue is output as a delivery queue")
	}
	for o, value := range want {
		props := map[string]any{}
		if value != nil {
			props["Value"] = value
		}
		must(t, "output "+o, func() { s.template.HasOutput(jsii.String(o), obj(props)) })
	}
}

// rolePermissions is what one function's role may do, from all its policies.
type rolePermissions struct {
	actions    map[string]bool
	statements []map[string]any
	managed    []string // managed policy ARNs, flattened
}

func (s synthesized) permissions(t *testing.T, f topology.Function) rolePermissions {
	t.Helper()
	fnID := s.logicalID(t, "AWS::Lambda::Function", "FunctionName", f.Name)
	roleID, err := getAttTarget(propsOf(s.resources("AWS::Lambda::Function")[fnID])["Role"])
	if err != nil {
		t.Fatalf("function %s role: %v", f.ID, err)
	}
	perms := rolePermissions{actions: map[string]bool{}}
	role := propsOf(s.resources("AWS::IAM::Role")[roleID])
	if inline, ok := role["Policies"]; ok {
		t.Errorf("role %s has inline policies %v; grants belong in its default policy", roleID, inline)
	}
	for _, arn := range role["ManagedPolicyArns"].([]any) {
		b, _ := json.Marshal(arn)
		perms.managed = append(perms.managed, string(b))
	}
	for _, pol := range s.resources("AWS::IAM::Policy") {
		p := propsOf(pol)
		attached := false
		for _, r := range p["Roles"].([]any) {
			attached = attached || reflect.DeepEqual(r, map[string]any{"Ref": roleID})
		}
		if !attached {
			continue
		}
		for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			stmt := st.(map[string]any)
			perms.statements = append(perms.statements, stmt)
			for _, a := range actionsOf(stmt) {
				perms.actions[a] = true
			}
		}
	}
	return perms
}

// actionsOf returns a statement's Action, which IAM allows as a string or a list.
func actionsOf(stmt map[string]any) []string {
	switch a := stmt["Action"].(type) {
	case string:
		return []string{a}
	case []any:
		out := make([]string, 0, len(a))
		for _, v := range a {
			out = append(out, fmt.Sprint(v))
		}
		return out
	}
	return nil
}

// resourceIDs returns the logical IDs a statement's Resource refers to, and
// whether it names anything else (a literal, e.g. "*").
func resourceIDs(stmt map[string]any) (ids []string, literal bool) {
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			literal = true
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			if id, err := getAttTarget(x); err == nil {
				ids = append(ids, id)
				return
			}
			if id, ok := x["Ref"].(string); ok && len(x) == 1 {
				// A secret's Ref is its ARN.
				ids = append(ids, id)
				return
			}
			if join, ok := x["Fn::Join"].([]any); ok {
				// Table ARN + "/index/*" and the like: judge by the ARN it extends.
				for _, part := range join[1].([]any) {
					if _, isString := part.(string); !isString {
						walk(part)
					}
				}
				return
			}
			literal = true
		}
	}
	walk(stmt["Resource"])
	sort.Strings(ids)
	return ids, literal
}

var dynamoWrites = []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}

func TestLeastPrivilege(t *testing.T) {
	s := synth(t)
	tableID := s.logicalID(t, "AWS::DynamoDB::Table", "TableName", s.spec.Table.Name)
	// The delivery queues (destination type → logical ID); the archive
	// queue is apart, for the few functions that may touch it.
	queueIDs := map[string]string{}
	dlqIDs := map[string]string{}
	for _, d := range destination.Types() {
		q, ok := s.spec.Queue(d)
		if !ok {
			t.Fatalf("no delivery queue for destination type %s", d)
		}
		queueIDs[d] = s.logicalID(t, "AWS::SQS::Queue", "QueueName", q.Name)
		dlqIDs[d] = s.logicalID(t, "AWS::SQS::Queue", "QueueName", q.DLQName)
	}
	archiveQueue, ok := s.spec.Queue(topology.ArchiveQueue)
	if !ok {
		t.Fatal("the spec has no archive queue")
	}
	archiveQueueID := s.logicalID(t, "AWS::SQS::Queue", "QueueName", archiveQueue.Name)
	bridgeQueue, ok := s.spec.Queue(topology.BridgeQueue)
	if !ok {
		t.Fatal("the spec has no bridge queue")
	}
	bridgeQueueID := s.logicalID(t, "AWS::SQS::Queue", "QueueName", bridgeQueue.Name)

	secretID := s.logicalID(t, "AWS::SecretsManager::Secret", "Name", s.spec.AdminKeySecretName)
	bridgeSecretID := s.logicalID(t, "AWS::SecretsManager::Secret", "Name", s.spec.BridgeSecretName)
	archiveID := s.archiveBucket(t)
	eventArchiveID := s.eventArchiveBucket(t)
	eventArchiveKeyID := s.eventArchiveKey(t)
	kmsID := s.secretsKey(t)
	piiKeyID := s.logicalID(t, "AWS::KMS::Key", "KeySpec", "HMAC_256")
	deliverIDs := map[string]bool{} // the delivery functions' logical IDs
	for _, f := range s.spec.Functions {
		if f.Role == topology.RoleDeliver {
			deliverIDs[s.logicalID(t, "AWS::Lambda::Function", "FunctionName", f.Name)] = true
		}
	}
	deadLetters, _ := s.spec.Function(topology.FunctionDeadLetters)
	deadLettersID := s.logicalID(t, "AWS::Lambda::Function", "FunctionName", deadLetters.Name)
	replay, _ := s.spec.Function(topology.FunctionReplay)
	replayID := s.logicalID(t, "AWS::Lambda::Function", "FunctionName", replay.Name)
	// What each function may do on the event archive's bucket and key,
	// exactly (checked below against every s3 and kms statement).
	eventArchiveAccess := map[string][]string{
		topology.FunctionArchiver: {"s3:PutObject", "kms:GenerateDataKey"},
		topology.FunctionReplay:   {"s3:GetObject", "s3:ListBucket", "kms:Decrypt"},
		topology.FunctionAPI:      {"s3:ListBucket"},
	}
	for _, f := range s.spec.Functions {
		t.Run(f.ID, func(t *testing.T) {
			perms := s.permissions(t, f)
			// Sealing secrets is the API's; delivery only opens them; ingestion
			// never touches them.
			wantKMS := map[string][2]bool{topology.FunctionAPI: {true, true}, topology.FunctionIngest: {false, false}}[f.ID]
			if f.Role == topology.RoleDeliver {
				wantKMS = [2]bool{false, true}
			}
			if got := [2]bool{allowsOn(perms.statements, "kms:GenerateDataKey", kmsID), allowsOn(perms.statements, "kms:Decrypt", kmsID)}; got != wantKMS {
				t.Errorf("kms GenerateDataKey/Decrypt = %v, want %v", got, wantKMS)
			}
			// The functions that enqueue events mask them: they may derive
			// hash keys (GenerateMac) with the PII key and do nothing else
			// with it; no other function may touch it.
			// Replay enqueues too, masking as ingestion does.
			masks := f.ID == topology.FunctionAPI || f.ID == topology.FunctionIngest || f.Role == topology.RoleDeliver ||
				f.ID == topology.FunctionReplay
			if got := allowsOn(perms.statements, "kms:GenerateMac", piiKeyID); got != masks {
				t.Errorf("kms:GenerateMac on the PII key = %v, want %v", got, masks)
			}
			for _, a := range []string{"kms:VerifyMac", "kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"} {
				if allowsOn(perms.statements, a, piiKeyID) {
					t.Errorf("%s allowed on the PII key", a)
				}
			}
			if allowsOn(perms.statements, "kms:GenerateMac", kmsID) {
				t.Error("kms:GenerateMac allowed on the secrets key")
			}
			// Only the functions that authenticate API keys read the admin key.
			readsSecret := f.ID == topology.FunctionAPI || f.ID == topology.FunctionIngest
			if got := allowsOn(perms.statements, "secretsmanager:GetSecretValue", secretID); got != readsSecret {
				t.Errorf("reads the admin key secret = %v, want %v", got, readsSecret)
			}

			// Only the basic execution role (logs) is managed.
			if len(perms.managed) != 1 || !strings.Contains(perms.managed[0], "service-role/AWSLambdaBasicExecutionRole") {
				t.Errorf("managed policies = %v, want only AWSLambdaBasicExecutionRole", perms.managed)
			}

			// Which queues this function may touch at all.
			allowedQueues := map[string]bool{}
			switch {
			case f.ID == topology.FunctionIngest:
				// Every delivery queue, and the archive queue.
				for _, id := range queueIDs {
					allowedQueues[id] = true
				}
				allowedQueues[archiveQueueID] = true
			case f.ID == topology.FunctionAPI:
				// Its DLQs too, to report their depth (below).
				for dest, id := range queueIDs {
					allowedQueues[id], allowedQueues[dlqIDs[dest]] = true, true
				}
			case f.Role == topology.RoleDeliver:
				for _, id := range queueIDs {
					allowedQueues[id] = true
				}
				allowedQueues[dlqIDs[f.Source.Destination]] = true
			case f.ID == topology.FunctionDeadLetters:
				// Drains every delivery DLQ, redrives into every delivery
				// queue; the archive queue and its DLQ are not its.
				for dest, id := range queueIDs {
					allowedQueues[id], allowedQueues[dlqIDs[dest]] = true, true
				}
			case f.ID == topology.FunctionArchiver:
				// Consumes the archive queue (its event source), nothing else.
				allowedQueues[archiveQueueID] = true
			case f.ID == topology.FunctionLokiBridge, f.ID == topology.FunctionLokiArchiver:
				// The bridge sends to its queue, the Loki archiver consumes it.
				allowedQueues[bridgeQueueID] = true
			case f.ID == topology.FunctionReplay:
				// Enqueues to the delivery queues only.
				for _, id := range queueIDs {
					allowedQueues[id] = true
				}
			}

			// Customer destinations (buses, buckets, roles in the customers'
			// accounts) are only known at run time: any, but never one of
			// this account's. Only the functions that send to them may.
			// (The API's test route has the delivery function send.)
			sendsTo := map[string]bool{}
			if f.Role == topology.RoleDeliver {
				sendsTo[f.Source.Destination] = true
			}
			for action, dest := range map[string]string{"events:PutEvents": destination.EventBridge,
				"s3:PutObject": destination.S3, "sts:AssumeRole": destination.S3} {
				if f.ID == topology.FunctionLokiBridge || f.ID == topology.FunctionArchiver || f.ID == topology.FunctionLokiArchiver {
					break // each writes only its own bucket: checked below
				}
				if got := customerActions(perms.statements)[action]; got != sendsTo[dest] {
					t.Errorf("action %s allowed = %v, want %v", action, got, sendsTo[dest])
				}
				for _, stmt := range perms.statements {
					if !slices.Contains(actionsOf(stmt), action) || stmt["Sid"] == OperatorNoticesSid {
						continue
					}
					cond, _ := json.Marshal(stmt["Condition"])
					if len(actionsOf(stmt)) != 1 || !strings.Contains(string(cond), `"StringNotEquals"`) ||
						!strings.Contains(string(cond), "ResourceAccount") || !strings.Contains(string(cond), "AWS::AccountId") {
						t.Errorf("%s is granted without excluding this account's resources: %v", action, stmt)
					}
				}
			}

			// Issue 13: the functions that suspend a stream (delivery) or
			// resume one (the API) put the operator's notice on this
			// account's default bus, and only there; no other function may.
			notifies := f.Role == topology.RoleDeliver || f.ID == topology.FunctionAPI
			var notices []map[string]any
			for _, stmt := range perms.statements {
				if stmt["Sid"] == OperatorNoticesSid {
					notices = append(notices, stmt)
				}
			}
			if notifies != (len(notices) == 1) {
				t.Errorf("operator notice statements %v, want one: %v", notices, notifies)
			}
			for _, stmt := range notices {
				res, _ := json.Marshal(stmt["Resource"])
				if !slices.Equal(actionsOf(stmt), []string{"events:PutEvents"}) || stmt["Condition"] != nil ||
					!strings.Contains(string(res), ":event-bus/default") || !strings.Contains(string(res), `"Ref":"AWS::AccountId"`) ||
					!strings.Contains(string(res), `"Ref":"AWS::Region"`) || strings.Contains(string(res), "*") {
					t.Errorf("operator notices granted as %v; want events:PutEvents on this account's default bus only", stmt)
				}
			}

			onEventArchive := map[string]bool{} // actions on the event archive's bucket or key
			for _, stmt := range perms.statements {
				if stmt["Effect"] != "Allow" || stmt["Sid"] == OperatorNoticesSid {
					continue
				}
				ids, literal := resourceIDs(stmt)
				if literal {
					t.Errorf("statement %v has a literal resource; want only references to this stack's table and queues", stmt)
				}
				actions := strings.Join(actionsOf(stmt), " ")
				if strings.Contains(actions, "*") {
					t.Errorf("statement %v uses a wildcard action", stmt)
				}
				for _, id := range ids {
					if id == eventArchiveID || id == eventArchiveKeyID {
						for _, a := range actionsOf(stmt) {
							onEventArchive[a] = true
						}
					}
					switch {
					case strings.Contains(actions, "dynamodb:") && id != tableID:
						t.Errorf("dynamodb statement on %s, want only the table %s", id, tableID)
					case strings.Contains(actions, "sqs:") && !allowedQueues[id]:
						t.Errorf("sqs statement on %s, not a queue %s may use", id, f.ID)
					case strings.Contains(actions, "secretsmanager:") && !(id == secretID && readsSecret) &&
						!(id == bridgeSecretID && f.ID == topology.FunctionLokiBridge):
						t.Errorf("secretsmanager statement on %s for %s", id, f.ID)
					case strings.Contains(actions, "s3:") && (f.ID == topology.FunctionLokiBridge || f.ID == topology.FunctionLokiArchiver) && id != archiveID:
						t.Errorf("s3 statement on %s, want only the archive bucket %s", id, archiveID)
					case id == archiveID && f.ID != topology.FunctionLokiBridge && f.ID != topology.FunctionLokiArchiver:
						t.Errorf("statement on the Loki bridge's bucket %s for %s", id, f.ID)
					case (id == eventArchiveID || id == eventArchiveKeyID) && eventArchiveAccess[f.ID] == nil:
						t.Errorf("statement %v on the event archive for %s, which has no business there", stmt, f.ID)
					case strings.Contains(actions, "kms:") && id != kmsID && !(id == piiKeyID && actions == "kms:GenerateMac" && masks) &&
						!(id == eventArchiveKeyID && eventArchiveAccess[f.ID] != nil):
						t.Errorf("kms statement on %s, want only the secrets key %s (and GenerateMac alone on the PII key %s)", id, kmsID, piiKeyID)
					case strings.Contains(actions, "lambda:") && (f.ID != topology.FunctionAPI || !(deliverIDs[id] || id == deadLettersID || id == replayID)):
						t.Errorf("lambda statement on %s for %s; only the API may invoke, and only delivery functions, the dead-letter function and replay", id, f.ID)
					}
				}
			}

			// Exactly its share of the event archive: the archiver writes,
			// replay reads, the API lists; nobody else touches bucket or key.
			if want := eventArchiveAccess[f.ID]; !reflect.DeepEqual(keys(onEventArchive), sorted(want)) {
				t.Errorf("actions on the event archive's bucket and key %v, want exactly %v", keys(onEventArchive), sorted(want))
			}

			wantAction := func(a string, want bool) {
				t.Helper()
				if perms.actions[a] != want {
					t.Errorf("action %s allowed = %v, want %v (actions: %v)", a, perms.actions[a], want, keys(perms.actions))
				}
			}

			switch {
			case f.ID == topology.FunctionAPI:
				wantAction("dynamodb:PutItem", true)
				wantAction("dynamodb:Query", true)
				// It publishes lifecycle events, and consumes nothing.
				wantAction("sqs:SendMessage", true)
				wantAction("sqs:ReceiveMessage", false)
				wantAction("sqs:DeleteMessage", false)
				wantAction("sqs:PurgeQueue", false)
				// Its operators' route reads every queue's and DLQ's depth;
				// it sends to no DLQ.
				for dest := range queueIDs {
					for _, id := range []string{queueIDs[dest], dlqIDs[dest]} {
						if !allowsOn(perms.statements, "sqs:GetQueueAttributes", id) {
							t.Errorf("the API may not read the depth of the %s queue %s", dest, id)
						}
					}
					if allowsOn(perms.statements, "sqs:SendMessage", dlqIDs[dest]) {
						t.Errorf("the API may send to the %s DLQ", dest)
					}
				}
				// Its test route invokes every delivery function, and only that.
				for id := range deliverIDs {
					if !allowsOn(perms.statements, "lambda:InvokeFunction", id) {
						t.Errorf("the API may not invoke delivery function %s", id)
					}
				}
				// Its dead-letter routes start jobs on the dead-letter function.
				if !allowsOn(perms.statements, "lambda:InvokeFunction", deadLettersID) {
					t.Errorf("the API may not invoke the dead-letter function %s", deadLettersID)
				}
				// Its replay routes start jobs on the replay function.
				if !allowsOn(perms.statements, "lambda:InvokeFunction", replayID) {
					t.Errorf("the API may not invoke the replay function %s", replayID)
				}
				// Dry runs list the archive's keys, on the bucket itself.
				if !allowsOn(perms.statements, "s3:ListBucket", eventArchiveID) {
					t.Errorf("the API may not list the event archive %s", eventArchiveID)
				}
				for a := range perms.actions {
					if strings.HasPrefix(a, "lambda:") && a != "lambda:InvokeFunction" {
						t.Errorf("action %s allowed; the API only invokes", a)
					}
				}
			case f.ID == topology.FunctionIngest:
				wantAction("dynamodb:GetItem", true)
				// One write: PutItem of an Idempotency-Key's item, only on
				// partitions that are idempotency keys.
				for _, a := range dynamoWrites {
					wantAction(a, a == "dynamodb:PutItem")
				}
				if !allowsOn(perms.statements, "dynamodb:PutItem", tableID) {
					t.Errorf("ingest may not record Idempotency-Keys in the table %s", tableID)
				}
				for _, stmt := range perms.statements {
					if !slices.Contains(actionsOf(stmt), "dynamodb:PutItem") {
						continue
					}
					cond, _ := json.Marshal(stmt["Condition"])
					want := `{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["` + topology.IdempotencyKeyPrefix + `*"]}}`
					if len(actionsOf(stmt)) != 1 || string(cond) != want {
						t.Errorf("PutItem is granted beyond idempotency keys: actions %v, condition %s, want only PutItem with %s",
							actionsOf(stmt), cond, want)
					}
				}
				wantAction("sqs:ReceiveMessage", false)
				wantAction("sqs:DeleteMessage", false)
				for dest, queueID := range queueIDs {
					// Operators read DLQ depths through the API, not ingestion.
					if allowsOn(perms.statements, "sqs:GetQueueAttributes", dlqIDs[dest]) {
						t.Errorf("ingest may read the %s DLQ's attributes", dest)
					}
					if !allowsOn(perms.statements, "sqs:SendMessage", queueID) {
						t.Errorf("ingest may not send to the %s queue %s", dest, queueID)
					}
				}
				// Every accepted event goes to the archive queue too.
				if !allowsOn(perms.statements, "sqs:SendMessage", archiveQueueID) {
					t.Errorf("ingest may not send to the archive queue %s", archiveQueueID)
				}
			case f.Role == topology.RoleDeliver:
				wantAction("dynamodb:GetItem", true)
				// Counters only: UpdateItem, no other write.
				wantAction("dynamodb:UpdateItem", true)
				for _, a := range dynamoWrites {
					wantAction(a, a == "dynamodb:UpdateItem")
				}
				// Sends to its own DLQ, to park what cannot be delivered, to
				// its own queue, to put back the undelivered rest of a
				// message (issue 12), and to every type's queue, to publish
				// logstream.stream.suspended (issue 13); to no other DLQ,
				// and consumes no other queue.
				for dest := range queueIDs {
					own := dest == f.Source.Destination
					if allowsOn(perms.statements, "sqs:SendMessage", dlqIDs[dest]) != own ||
						!allowsOn(perms.statements, "sqs:SendMessage", queueIDs[dest]) {
						t.Errorf("%s must send to every queue and its own DLQ only (checking %s)", f.ID, dest)
					}
					for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} {
						if !own && allowsOn(perms.statements, a, queueIDs[dest]) {
							t.Errorf("%s may %s on the %s queue", f.ID, a, dest)
						}
					}
				}
				own := queueIDs[f.Source.Destination]
				for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:SendMessage"} {
					if !allowsOn(perms.statements, a, own) {
						t.Errorf("%s may not %s on its queue %s", f.ID, a, own)
					}
				}
			case f.ID == topology.FunctionDeadLetters:
				// Exactly: the store's item operations on the table (no Scan,
				// no batch writes), receive and delete on every DLQ, send to
				// every delivery queue; no KMS, no secret, no invoke.
				want := map[string]bool{}
				for _, a := range []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"} {
					want[a+" on "+tableID] = true
				}
				for dest := range queueIDs {
					want["sqs:ReceiveMessage on "+dlqIDs[dest]] = true
					want["sqs:DeleteMessage on "+dlqIDs[dest]] = true
					want["sqs:SendMessage on "+queueIDs[dest]] = true
				}
				got := map[string]bool{}
				for _, stmt := range perms.statements {
					if stmt["Effect"] != "Allow" || stmt["Condition"] != nil {
						t.Errorf("statement %v: want only unconditional Allow statements", stmt)
					}
					ids, _ := resourceIDs(stmt)
					for _, a := range actionsOf(stmt) {
						for _, id := range ids {
							got[a+" on "+id] = true
						}
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("the dead-letter function's role allows\n%s\nwant exactly\n%s", strings.Join(keys(got), "\n"), strings.Join(keys(want), "\n"))
				}
			case f.ID == topology.FunctionLokiBridge:
				// Puts objects into its bucket and checks it is there, and sends
				// small pushes to its queue (only SendMessage, only there: the
				// allowed queues above); reads nothing back, deletes nothing,
				// touches no table.
				wantAction("s3:PutObject", true)
				wantAction("s3:ListBucket", true)
				wantAction("sqs:SendMessage", true)
				if !allowsOn(perms.statements, "sqs:SendMessage", bridgeQueueID) {
					t.Errorf("the bridge may not send to its queue %s", bridgeQueueID)
				}
				for _, a := range []string{"s3:GetObject", "s3:DeleteObject", "s3:PutBucketPolicy", "sqs:ReceiveMessage", "sqs:DeleteMessage",
					"sqs:GetQueueAttributes", "sqs:PurgeQueue", "dynamodb:GetItem", "kms:Decrypt"} {
					wantAction(a, false)
				}
				if !allowsOn(perms.statements, "secretsmanager:GetSecretValue", bridgeSecretID) {
					t.Error("the bridge cannot read its credentials")
				}
				if !allowsOn(perms.statements, "s3:PutObject", archiveID) {
					t.Error("the bridge cannot write to the archive bucket")
				}
			case f.ID == topology.FunctionArchiver:
				// Consumes the archive queue (the event source's grant) and
				// writes the event archive (checked above): no table, no
				// other queue, no secret.
				for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} {
					if !allowsOn(perms.statements, a, archiveQueueID) {
						t.Errorf("the archiver may not %s on the archive queue %s", a, archiveQueueID)
					}
				}
				wantAction("sqs:SendMessage", false)
				for a := range perms.actions {
					if strings.HasPrefix(a, "dynamodb:") || strings.HasPrefix(a, "secretsmanager:") || strings.HasPrefix(a, "lambda:") {
						t.Errorf("action %s allowed; the archiver only reads its queue and writes the archive", a)
					}
				}
			case f.ID == topology.FunctionLokiArchiver:
				// Exactly: consumes the bridge queue (the event source's grant)
				// and puts objects into the bridge's bucket; no table, no
				// secret, no key, no send, no read back.
				want := map[string]bool{"s3:PutObject on " + archiveID: true}
				for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"} {
					want[a+" on "+bridgeQueueID] = true
				}
				got := map[string]bool{}
				for _, stmt := range perms.statements {
					ids, _ := resourceIDs(stmt)
					for _, a := range actionsOf(stmt) {
						for _, id := range ids {
							got[a+" on "+id] = true
						}
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("the Loki archiver's role allows\n%s\nwant exactly\n%s", strings.Join(keys(got), "\n"), strings.Join(keys(want), "\n"))
				}
			case f.ID == topology.FunctionReplay:
				// Exactly: its jobs' item operations on the table (no Scan,
				// no batch writes), SendMessage to every delivery queue, and
				// (checked above) reading the archive and GenerateMac on the
				// PII key; no secret, no invoke, no DLQ, no archive queue.
				want := map[string]bool{
					"kms:GenerateMac on " + piiKeyID:      true,
					"s3:GetObject on " + eventArchiveID:   true,
					"s3:ListBucket on " + eventArchiveID:  true,
					"kms:Decrypt on " + eventArchiveKeyID: true,
				}
				for _, a := range []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"} {
					want[a+" on "+tableID] = true
				}
				for dest := range queueIDs {
					want["sqs:SendMessage on "+queueIDs[dest]] = true
				}
				got := map[string]bool{}
				for _, stmt := range perms.statements {
					if stmt["Effect"] != "Allow" || stmt["Condition"] != nil {
						t.Errorf("statement %v: want only unconditional Allow statements", stmt)
					}
					ids, _ := resourceIDs(stmt)
					for _, a := range actionsOf(stmt) {
						for _, id := range ids {
							got[a+" on "+id] = true
						}
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("the replay function's role allows\n%s\nwant exactly\n%s", strings.Join(keys(got), "\n"), strings.Join(keys(want), "\n"))
				}
			case f.ID == topology.FunctionConsole:
				// Nothing beyond its logs: it serves embedded files, and
				// the console calls the API with the operator's key.
				for _, stmt := range perms.statements {
					t.Errorf("the console's role allows %v; want no statement at all", stmt)
				}
			default:
				t.Fatalf("no expectations for function %s; add them with its grants", f.ID)
			}
		})
	}
}

// customerActions are the actions allowed by statements other than the
// operator's notices.
func customerActions(statements []map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, stmt := range statements {
		if stmt["Effect"] != "Allow" || stmt["Sid"] == OperatorNoticesSid {
			continue
		}
		for _, a := range actionsOf(stmt) {
			out[a] = true
		}
	}
	return out
}

// allowsOn reports whether some Allow statement grants action on resource id.
func allowsOn(statements []map[string]any, action, id string) bool {
	for _, stmt := range statements {
		if stmt["Effect"] != "Allow" || !slices.Contains(actionsOf(stmt), action) {
			continue
		}
		ids, _ := resourceIDs(stmt)
		for _, got := range ids {
			if got == id {
				return true
			}
		}
	}
	return false
}

// sorted returns a sorted copy of v, never nil.
func sorted(v []string) []string {
	out := append([]string{}, v...)
	sort.Strings(out)
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestInvalidSpecRejected builds stacks from broken specs; each must refuse.
func TestInvalidSpecRejected(t *testing.T) {
	synth(t) // share the jsii runtime start-up; also proves the valid spec builds
	tests := []struct {
		name   string
		mutate func(*topology.Spec)
		want   string
	}{
		{
			name: "queue visibility shorter than function timeout",
			mutate: func(s *topology.Spec) {
				for i := range s.Functions {
					if src := s.Functions[i].Source; src != nil {
						for j := range s.Queues {
							if s.Queues[j].Destination == src.Destination {
								s.Queues[j].VisibilityTimeout = s.Functions[i].Timeout - time.Second
							}
						}
					}
				}
			},
			want: "visibility timeout",
		},
		{
			name:   "route to unknown function",
			mutate: func(s *topology.Spec) { s.Routes[0].Function = "nope" },
			want:   "unknown function",
		},
		{
			name: "env refers to unknown queue",
			mutate: func(s *topology.Spec) {
				s.Functions[0].Env = append(s.Functions[0].Env, topology.Env{Name: "X", Ref: topology.RefQueueURL, Queue: "nope"})
			},
			want: "unknown queue",
		},
		{
			// Grants follow the role: a function without one gets none
			// by accident, it is refused.
			name: "function without a role",
			mutate: func(s *topology.Spec) {
				s.Functions = append(s.Functions, topology.Function{ID: "extra", Name: testPrefix + "-extra", Timeout: time.Second, MemoryMB: 128})
			},
			want: "no known role",
		},
		{
			// EventBridge rate rules take whole minutes; the local stack's
			// seconds must not reach a deployment rounded.
			name:   "schedule shorter than a minute",
			mutate: func(s *topology.Spec) { s.SetSchedule(topology.FunctionDeadLetters, 2*time.Second) },
			want:   "whole number of minutes",
		},
		{
			name:   "schedule of a minute and a half",
			mutate: func(s *topology.Spec) { s.SetSchedule(topology.FunctionDeadLetters, 90*time.Second) },
			want:   "whole number of minutes",
		},
		{
			name: "function with a role infra does not grant",
			mutate: func(s *topology.Spec) {
				s.Functions = append(s.Functions, topology.Function{ID: "extra", Name: testPrefix + "-extra", Role: "cron", Timeout: time.Second, MemoryMB: 128})
			},
			want: "no known role",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := topology.New(testPrefix)
			tc.mutate(&spec)
			err := catch(func() {
				NewLogstreamStack(awscdk.NewApp(nil), "Logstream", &LogstreamStackProps{Spec: spec, AssetDir: testAssets})
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewLogstreamStack error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// secretsKey is the KMS key that seals destination secrets: the one
// symmetric key (the PII hash key is an HMAC key) that does not encrypt
// the event archive.
func (s synthesized) secretsKey(t *testing.T) string {
	t.Helper()
	archiveKey := s.eventArchiveKey(t)
	var found []string
	for id, r := range s.resources("AWS::KMS::Key") {
		if propsOf(r)["KeySpec"] == nil && id != archiveKey {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one symmetric KMS key besides the event archive's, found %v", found)
	}
	return found[0]
}

// bucketsBySSE returns the buckets whose default encryption is algorithm
// (AES256 or aws:kms).
func bucketsBySSE(tpl map[string]any, algorithm string) []string {
	var found []string
	for id, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::S3::Bucket" {
			continue
		}
		enc, _ := res["Properties"].(map[string]any)["BucketEncryption"].(map[string]any)
		rules, _ := enc["ServerSideEncryptionConfiguration"].([]any)
		for _, rule := range rules {
			def, _ := rule.(map[string]any)["ServerSideEncryptionByDefault"].(map[string]any)
			if def["SSEAlgorithm"] == algorithm {
				found = append(found, id)
			}
		}
	}
	sort.Strings(found)
	return found
}

// archiveBucket is the Loki bridge's bucket: the one encrypted with S3's
// own keys.
func (s synthesized) archiveBucket(t *testing.T) string {
	t.Helper()
	return only(t, "SSE-S3 bucket (the Loki bridge's)", bucketsBySSE(s.json, "AES256"))
}

// eventArchiveBucket is the event archive's bucket: the one encrypted with
// a KMS key.
func (s synthesized) eventArchiveBucket(t *testing.T) string {
	t.Helper()
	return only(t, "SSE-KMS bucket (the event archive)", bucketsBySSE(s.json, "aws:kms"))
}

// eventArchiveKey is the KMS key the event archive's bucket encrypts with,
// which must be a key of this stack.
func (s synthesized) eventArchiveKey(t *testing.T) string {
	t.Helper()
	enc := propsOf(s.json["Resources"].(map[string]any)[s.eventArchiveBucket(t)].(map[string]any))["BucketEncryption"].(map[string]any)
	def := enc["ServerSideEncryptionConfiguration"].([]any)[0].(map[string]any)["ServerSideEncryptionByDefault"].(map[string]any)
	id, err := getAttTarget(def["KMSMasterKeyID"])
	if err != nil {
		t.Fatalf("event archive KMSMasterKeyID %v: %v", def["KMSMasterKeyID"], err)
	}
	if _, ok := s.resources("AWS::KMS::Key")[id]; !ok {
		t.Fatalf("event archive encrypts with %s, not a KMS key of this stack", id)
	}
	return id
}

func only(t *testing.T, what string, ids []string) string {
	t.Helper()
	if len(ids) != 1 {
		t.Fatalf("want one %s, found %v", what, ids)
	}
	return ids[0]
}

// The archive bucket keeps customers' logs: encrypted, TLS only, never
// public, moved to infrequent access, retained with the stack's deletion;
// the credentials secret is generated.
func TestArchiveBucketAndBridgeSecret(t *testing.T) {
	s := synth(t)
	id := s.archiveBucket(t)
	res := s.json["Resources"].(map[string]any)[id].(map[string]any)
	if res["DeletionPolicy"] != "Retain" {
		t.Errorf("bucket DeletionPolicy = %v, want Retain", res["DeletionPolicy"])
	}
	p := res["Properties"].(map[string]any)
	enc, _ := json.Marshal(p["BucketEncryption"])
	if !strings.Contains(string(enc), `"SSEAlgorithm":"AES256"`) {
		t.Errorf("bucket encryption %s", enc)
	}
	pab := p["PublicAccessBlockConfiguration"].(map[string]any)
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if pab[k] != true {
			t.Errorf("public access block %s = %v", k, pab[k])
		}
	}
	lc, _ := json.Marshal(p["LifecycleConfiguration"])
	if !strings.Contains(string(lc), `"StorageClass":"STANDARD_IA"`) || !strings.Contains(string(lc), `"TransitionInDays":30`) ||
		strings.Contains(string(lc), "ExpirationInDays") {
		t.Errorf("lifecycle %s: want infrequent access after 30 days and no expiry by default", lc)
	}
	// TLS only: a Deny for aws:SecureTransport false on the bucket policy.
	var tlsOnly bool
	for _, r := range s.json["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] != "AWS::S3::BucketPolicy" {
			continue
		}
		doc, _ := json.Marshal(r["Properties"])
		tlsOnly = tlsOnly || strings.Contains(string(doc), `"aws:SecureTransport":"false"`) && strings.Contains(string(doc), `"Effect":"Deny"`) &&
			strings.Contains(string(doc), `"Ref":"`+id+`"`)
	}
	if !tlsOnly {
		t.Error("no bucket policy denying requests without TLS")
	}
	secret := s.json["Resources"].(map[string]any)[s.logicalID(t, "AWS::SecretsManager::Secret", "Name", s.spec.BridgeSecretName)].(map[string]any)
	gen, _ := json.Marshal(secret["Properties"].(map[string]any)["GenerateSecretString"])
	if !strings.Contains(string(gen), `"GenerateStringKey":"password"`) || !strings.Contains(string(gen), `"username\":\"logstream\"`) {
		t.Errorf("bridge secret generator %s", gen)
	}
}

// An expiry, when the deployer sets one, is added to the archive's lifecycle.
func TestArchiveExpiry(t *testing.T) {
	var lc []byte
	if err := catch(func() {
		stack := NewLogstreamStack(newTestApp(), "Logstream", &LogstreamStackProps{Spec: topology.New(testPrefix), AssetDir: testAssets, ArchiveExpireDays: 400})
		tpl := *assertions.Template_FromStack(stack, nil).ToJSON()
		for _, id := range bucketsBySSE(tpl, "AES256") {
			lc, _ = json.Marshal(propsOf(tpl["Resources"].(map[string]any)[id].(map[string]any))["LifecycleConfiguration"])
		}
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(lc), `"ExpirationInDays":400`) {
		t.Fatalf("lifecycle %s, want expiry after 400 days", lc)
	}
}

// Every scheduled function has one enabled EventBridge rate rule at its
// period, targeting it, and EventBridge (from that rule only) may invoke it;
// nothing else is scheduled.
func TestSchedules(t *testing.T) {
	s := synth(t)
	// The dead-letter function drains the DLQs and resumes its jobs; the
	// replay function resumes replays; nothing else runs on a schedule.
	want := map[string]time.Duration{topology.FunctionDeadLetters: topology.DefaultDeadLetterTick, topology.FunctionReplay: topology.DefaultReplayTick}
	scheduled := 0
	for _, f := range s.spec.Functions {
		if f.Schedule == 0 {
			continue
		}
		scheduled++
		t.Run(f.ID, func(t *testing.T) {
			if f.Schedule != want[f.ID] {
				t.Fatalf("function %s scheduled every %s; want %v", f.ID, f.Schedule, want)
			}
			fnID := s.logicalID(t, "AWS::Lambda::Function", "FunctionName", f.Name)
			ruleID := scheduleRuleIn(t, s.json, fnID)
			rule := propsOf(s.resources("AWS::Events::Rule")[ruleID])
			unit := "minutes"
			if f.Schedule == time.Minute {
				unit = "minute"
			}
			if got, want := rule["ScheduleExpression"], fmt.Sprintf("rate(%d %s)", int(f.Schedule.Minutes()), unit); got != want {
				t.Errorf("rule schedule %v, want %s", got, want)
			}
			if rule["State"] != "ENABLED" {
				t.Errorf("rule state %v, want ENABLED", rule["State"])
			}
			targets, _ := rule["Targets"].([]any)
			if len(targets) != 1 {
				t.Fatalf("rule targets %v, want one", targets)
			}
			target := targets[0].(map[string]any)
			if got, err := getAttTarget(target["Arn"]); err != nil || got != fnID {
				t.Errorf("rule target %v, want the function %s", target["Arn"], fnID)
			}
			// The target passes EventBridge's own scheduled event: no
			// Input replacing it.
			for _, k := range []string{"Input", "InputPath", "InputTransformer"} {
				if _, ok := target[k]; ok {
					t.Errorf("rule target sets %s; the function reads the scheduled event", k)
				}
			}
			must(t, "invoke permission", func() {
				s.template.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), obj(map[string]any{
					"Action":       "lambda:InvokeFunction",
					"FunctionName": map[string]any{"Fn::GetAtt": []any{fnID, "Arn"}},
					"Principal":    "events.amazonaws.com",
					"SourceArn":    map[string]any{"Fn::GetAtt": []any{ruleID, "Arn"}},
				}))
			})
		})
	}
	if scheduled != len(want) {
		t.Errorf("%d functions scheduled, want %v", scheduled, want)
	}
	must(t, "rule count", func() {
		s.template.ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(float64(scheduled)))
	})
}

// The readers of delivery messages are updated before their writers, so a
// message format a new writer sends (compressed delivery messages) never
// meets a reader of the previous version (orderUpdates).
func TestReadersUpdatedBeforeWriters(t *testing.T) {
	s := synth(t)
	idOf := map[string]string{}
	for _, f := range s.spec.Functions {
		idOf[f.ID] = s.logicalID(t, "AWS::Lambda::Function", "FunctionName", f.Name)
	}
	var readers []string
	for _, f := range s.spec.Functions {
		if f.Role == topology.RoleDeliver {
			readers = append(readers, f.ID)
		}
	}
	if len(readers) == 0 {
		t.Fatal("no delivery functions")
	}
	fns := s.resources("AWS::Lambda::Function")
	for _, f := range s.spec.Functions {
		want := []string{}
		switch f.Role {
		case topology.RoleIngest, topology.RoleAPI, topology.RoleReplay:
			want = append(append(want, readers...), topology.FunctionDeadLetters)
		case topology.RoleDeadLetters:
			want = append(want, readers...)
		default:
			continue
		}
		deps := map[string]bool{}
		if d, ok := fns[idOf[f.ID]]["DependsOn"].([]any); ok {
			for _, v := range d {
				deps[v.(string)] = true
			}
		}
		for _, r := range want {
			if !deps[idOf[r]] {
				t.Errorf("%s is not updated after %s: DependsOn %v", f.ID, r, keys(deps))
			}
		}
	}
}
