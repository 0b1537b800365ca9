package main

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/logstream/logstream/shared/topology"
)

// A deployment sized for more (LOGSTREAM_CAPACITY, docs/scaling.md) gets it
// everywhere it binds: the stage throttle, ingestion's reserved
// concurrency, every delivery mapping's concurrency and batch.
func TestCapacity(t *testing.T) {
	c, err := topology.ParseCapacity(topology.DefaultCapacity, "api_rate=2000, api_burst=4000,ingest=150,deliver=120,deliver_batch=100,account=2000")
	if err != nil {
		t.Fatal(err)
	}
	spec := topology.New(testPrefix)
	if err := spec.SetCapacity(c); err != nil {
		t.Fatal(err)
	}
	var tpl assertions.Template
	if err := catch(func() {
		tpl = assertions.Template_FromStack(NewLogstreamStack(newTestApp(), "Logstream", &LogstreamStackProps{Spec: spec, AssetDir: testAssets}), nil)
	}); err != nil {
		t.Fatalf("synthesize: %v", err)
	}
	must(t, "stage throttle", func() {
		tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), obj(map[string]any{
			"DefaultRouteSettings": map[string]any{"ThrottlingRateLimit": 2000, "ThrottlingBurstLimit": 4000}}))
	})
	ingest, _ := spec.Function(topology.FunctionIngest)
	must(t, "ingest reserved concurrency", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj(map[string]any{
			"FunctionName": ingest.Name, "ReservedConcurrentExecutions": 150}))
	})
	mappings := 0
	for _, f := range spec.Functions {
		if f.Role != topology.RoleDeliver {
			continue
		}
		mappings++
		must(t, f.ID+" mapping", func() {
			tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), obj(map[string]any{
				"BatchSize": 100, "ScalingConfig": map[string]any{"MaximumConcurrency": 120},
				"MaximumBatchingWindowInSeconds": 1}))
		})
	}
	if mappings != 6 {
		t.Fatalf("%d delivery mappings", mappings)
	}
	// The account-concurrency alarm watches the declared quota.
	found := false
	for id, r := range (*tpl.ToJSON())["Resources"].(map[string]any) {
		if strings.HasPrefix(id, "AlarmAccountConcurrency") {
			found = true
			if th := r.(map[string]any)["Properties"].(map[string]any)["Threshold"]; th != float64(1600) {
				t.Errorf("account concurrency alarm at %v, want 0.8 × the declared 2,000", th)
			}
		}
	}
	if !found {
		t.Error("no account concurrency alarm")
	}
	// The others keep theirs: the archiver's batch is its own.
	arch, _ := spec.Function(topology.FunctionArchiver)
	if def, _ := topology.New(testPrefix).Function(topology.FunctionArchiver); arch.Source.BatchSize != def.Source.BatchSize {
		t.Fatalf("archiver batch %d", arch.Source.BatchSize)
	}
}
