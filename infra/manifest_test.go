package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/logstream/logstream/shared/topology"
)

// ManifestFromTemplate reduces a synthesized CloudFormation template (as parsed
// JSON) to the topology's comparable Manifest, reading only the template: a
// function's ID comes from its FunctionIDTag, queues and DLQs are joined through
// the Fn::GetAtt references CloudFormation will resolve. Properties CDK left out
// take the service defaults, as a deployment would.
func ManifestFromTemplate(tpl map[string]any) (topology.Manifest, error) {
	var m topology.Manifest
	resources, ok := tpl["Resources"].(map[string]any)
	if !ok {
		return m, fmt.Errorf("template has no Resources")
	}
	ids := make([]string, 0, len(resources))
	for id := range resources {
		ids = append(ids, id)
	}
	sort.Strings(ids) // deterministic errors
	props := func(id string) map[string]any {
		r, _ := resources[id].(map[string]any)
		p, _ := r["Properties"].(map[string]any)
		return p
	}
	typeOf := func(id string) string {
		r, _ := resources[id].(map[string]any)
		t, _ := r["Type"].(string)
		return t
	}

	// Function IDs by logical ID, for the mappings below.
	functionID := map[string]string{}
	var tables []string
	for _, id := range ids {
		p := props(id)
		switch typeOf(id) {
		case "AWS::DynamoDB::Table":
			name, ok := p["TableName"].(string)
			if !ok {
				return m, fmt.Errorf("table %s has no literal TableName", id)
			}
			tables = append(tables, name)

		case "AWS::SQS::Queue":
			redrive, ok := p["RedrivePolicy"].(map[string]any)
			if !ok {
				continue // a DLQ
			}
			name, ok := p["QueueName"].(string)
			if !ok {
				return m, fmt.Errorf("queue %s has no literal QueueName", id)
			}
			dlqID, err := getAttTarget(redrive["deadLetterTargetArn"])
			if err != nil {
				return m, fmt.Errorf("queue %s deadLetterTargetArn: %w", id, err)
			}
			if typeOf(dlqID) != "AWS::SQS::Queue" {
				return m, fmt.Errorf("queue %s dead-letter target %s is not a queue", id, dlqID)
			}
			dlqName, ok := props(dlqID)["QueueName"].(string)
			if !ok {
				return m, fmt.Errorf("DLQ %s has no literal QueueName", dlqID)
			}
			visibility, err := intOr(p["VisibilityTimeout"], 30) // SQS default
			if err != nil {
				return m, fmt.Errorf("queue %s VisibilityTimeout: %w", id, err)
			}
			maxReceive, err := intOr(redrive["maxReceiveCount"], -1)
			if err != nil || maxReceive < 0 {
				return m, fmt.Errorf("queue %s maxReceiveCount missing or invalid (%v)", id, err)
			}
			m.Queues = append(m.Queues, topology.ManifestQueue{Name: name, DLQName: dlqName,
				VisibilityTimeoutSeconds: visibility, MaxReceiveCount: maxReceive})

		case "AWS::Lambda::Function":
			fid, err := tag(p["Tags"], FunctionIDTag)
			if err != nil {
				return m, fmt.Errorf("function %s: %w", id, err)
			}
			functionID[id] = fid
			timeout, err := intOr(p["Timeout"], 3) // Lambda default
			if err != nil {
				return m, fmt.Errorf("function %s Timeout: %w", id, err)
			}
			mf := topology.ManifestFunction{ID: fid, TimeoutSeconds: timeout}
			if env, ok := p["Environment"].(map[string]any); ok {
				vars, _ := env["Variables"].(map[string]any)
				for name := range vars {
					mf.EnvNames = append(mf.EnvNames, name)
				}
			}
			sort.Strings(mf.EnvNames)
			m.Functions = append(m.Functions, mf)

		case "AWS::ApiGatewayV2::Route":
			key, ok := p["RouteKey"].(string)
			if !ok {
				return m, fmt.Errorf("route %s has no literal RouteKey", id)
			}
			m.Routes = append(m.Routes, key)
		}
	}
	if len(tables) != 1 {
		return m, fmt.Errorf("want exactly one DynamoDB table, found %d", len(tables))
	}

	// Schedules: an enabled rate rule's period, on the functions it targets.
	for _, id := range ids {
		if typeOf(id) != "AWS::Events::Rule" {
			continue
		}
		p := props(id)
		if state, ok := p["State"]; ok && state != "ENABLED" {
			continue
		}
		every, err := rateSeconds(p["ScheduleExpression"])
		if err != nil {
			return m, fmt.Errorf("rule %s: %w", id, err)
		}
		targets, _ := p["Targets"].([]any)
		if len(targets) == 0 {
			return m, fmt.Errorf("rule %s has no targets", id)
		}
		for _, tg := range targets {
			fnRef, err := getAttTarget(tg.(map[string]any)["Arn"])
			if err != nil {
				return m, fmt.Errorf("rule %s target: %w", id, err)
			}
			fid, ok := functionID[fnRef]
			if !ok {
				return m, fmt.Errorf("rule %s targets %s, not a function", id, fnRef)
			}
			for i := range m.Functions {
				if m.Functions[i].ID == fid {
					if m.Functions[i].ScheduleSeconds != 0 {
						return m, fmt.Errorf("function %s is scheduled by more than one rule", fid)
					}
					m.Functions[i].ScheduleSeconds = every
				}
			}
		}
	}
	m.Table = tables[0]

	// Mappings last: they refer to functions and queues found above.
	for _, id := range ids {
		if typeOf(id) != "AWS::Lambda::EventSourceMapping" {
			continue
		}
		p := props(id)
		fnRef, err := refTarget(p["FunctionName"])
		if err != nil {
			return m, fmt.Errorf("mapping %s FunctionName: %w", id, err)
		}
		fid, ok := functionID[fnRef]
		if !ok {
			return m, fmt.Errorf("mapping %s refers to %s, not a function", id, fnRef)
		}
		queueID, err := getAttTarget(p["EventSourceArn"])
		if err != nil {
			return m, fmt.Errorf("mapping %s EventSourceArn: %w", id, err)
		}
		queueName, ok := props(queueID)["QueueName"].(string)
		if !ok || typeOf(queueID) != "AWS::SQS::Queue" {
			return m, fmt.Errorf("mapping %s source %s is not a named SQS queue", id, queueID)
		}
		batch, err := intOr(p["BatchSize"], 10) // SQS event source default
		if err != nil {
			return m, fmt.Errorf("mapping %s BatchSize: %w", id, err)
		}
		window, err := intOr(p["MaximumBatchingWindowInSeconds"], 0)
		if err != nil {
			return m, fmt.Errorf("mapping %s MaximumBatchingWindowInSeconds: %w", id, err)
		}
		report := false
		types, _ := p["FunctionResponseTypes"].([]any)
		for _, t := range types {
			report = report || t == "ReportBatchItemFailures"
		}
		scaling, _ := p["ScalingConfig"].(map[string]any)
		maxConcurrency, err := intOr(scaling["MaximumConcurrency"], 0) // none: no limit
		if err != nil {
			return m, fmt.Errorf("mapping %s ScalingConfig.MaximumConcurrency: %w", id, err)
		}
		m.Mappings = append(m.Mappings, topology.ManifestMapping{Function: fid, Queue: queueName,
			BatchSize: batch, MaxBatchingWindowSeconds: window, ReportBatchItemFailures: report,
			MaximumConcurrency: maxConcurrency})
	}
	m.Sort()
	return m, nil
}

// rateSeconds reads an EventBridge rate expression, "rate(N unit)", as
// seconds; a cron expression or anything else is an error.
func rateSeconds(v any) (int, error) {
	expr, _ := v.(string)
	var n int
	var unit string
	if _, err := fmt.Sscanf(expr, "rate(%d %s", &n, &unit); err != nil || n < 1 {
		return 0, fmt.Errorf("schedule %v is not a rate expression", v)
	}
	per := map[string]int{"minute)": 60, "minutes)": 60, "hour)": 3600, "hours)": 3600, "day)": 86400, "days)": 86400}[unit]
	if per == 0 {
		return 0, fmt.Errorf("schedule %q has an unknown unit", expr)
	}
	return n * per, nil
}

// getAttTarget returns X of {"Fn::GetAtt": [X, "Arn"]}.
func getAttTarget(v any) (string, error) {
	obj, _ := v.(map[string]any)
	args, _ := obj["Fn::GetAtt"].([]any)
	if len(args) != 2 || args[1] != "Arn" {
		return "", fmt.Errorf("want {Fn::GetAtt: [id, Arn]}, got %v", v)
	}
	id, ok := args[0].(string)
	if !ok {
		return "", fmt.Errorf("want {Fn::GetAtt: [id, Arn]}, got %v", v)
	}
	return id, nil
}

// refTarget returns X of {"Ref": X}.
func refTarget(v any) (string, error) {
	obj, _ := v.(map[string]any)
	id, ok := obj["Ref"].(string)
	if !ok {
		return "", fmt.Errorf("want {Ref: id}, got %v", v)
	}
	return id, nil
}

// tag returns the value of key in a CloudFormation Tags list.
func tag(tags any, key string) (string, error) {
	list, _ := tags.([]any)
	for _, t := range list {
		kv, _ := t.(map[string]any)
		if kv["Key"] == key {
			if v, ok := kv["Value"].(string); ok {
				return v, nil
			}
		}
	}
	return "", fmt.Errorf("no %s tag", key)
}

// intOr reads a CloudFormation number (JSON number or numeric string), or def if absent.
func intOr(v any, def int) (int, error) {
	switch n := v.(type) {
	case nil:
		return def, nil
	case float64:
		if n != float64(int(n)) {
			return 0, fmt.Errorf("%v is not an integer", n)
		}
		return int(n), nil
	case string:
		return strconv.Atoi(n)
	default:
		return 0, fmt.Errorf("%v (%T) is not a number", v, v)
	}
}

// TestManifestMatchesSpec is the contract between the spec and the template:
// what CDK synthesizes reduces to exactly the spec's manifest. The local stack
// is held to the same manifest.
func TestManifestMatchesSpec(t *testing.T) {
	s := synth(t)
	got, err := ManifestFromTemplate(s.json)
	if err != nil {
		t.Fatalf("ManifestFromTemplate: %v", err)
	}
	want := s.spec.Manifest()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("template manifest differs from spec manifest (-spec +template):\n%s", manifestDiff(want, got))
	}
}

// TestManifestDetectsDrift proves the comparison above can fail: each change
// to the template, or to the spec's manifest, must make the manifests differ.
func TestManifestDetectsDrift(t *testing.T) {
	s := synth(t)
	want := s.spec.Manifest()
	q := s.spec.Queues[0]
	api, _ := s.spec.Function(topology.FunctionAPI)
	// The function reading q, whose mapping the changes below alter.
	var deliver topology.Function
	for _, f := range s.spec.Functions {
		if f.Source != nil && f.Source.Destination == q.Destination {
			deliver = f
		}
	}
	deadLetters, _ := s.spec.Function(topology.FunctionDeadLetters)
	// The rule scheduling the dead-letter function: several functions run
	// every minute, so the rate alone names no one rule.
	rule := func(t *testing.T, tpl map[string]any) string {
		t.Helper()
		return scheduleRuleIn(t, tpl, logicalIDIn(t, tpl, "AWS::Lambda::Function", "FunctionName", deadLetters.Name))
	}

	// The event source mapping that reads q.
	mapping := func(t *testing.T, tpl map[string]any) map[string]any {
		t.Helper()
		queueID := logicalIDIn(t, tpl, "AWS::SQS::Queue", "QueueName", q.Name)
		return mutableProps(t, tpl, "AWS::Lambda::EventSourceMapping", "EventSourceArn", map[string]any{"Fn::GetAtt": []any{queueID, "Arn"}})
	}

	templateChanges := []struct {
		name   string
		mutate func(t *testing.T, tpl map[string]any)
	}{
		{"table renamed", func(t *testing.T, tpl map[string]any) {
			mutableProps(t, tpl, "AWS::DynamoDB::Table", "TableName", s.spec.Table.Name)["TableName"] = "other"
		}},
		{"maxReceiveCount", func(t *testing.T, tpl map[string]any) {
			p := mutableProps(t, tpl, "AWS::SQS::Queue", "QueueName", q.Name)
			p["RedrivePolicy"].(map[string]any)["maxReceiveCount"] = float64(q.MaxReceiveCount + 1)
		}},
		{"queue visibility timeout dropped to SQS default", func(t *testing.T, tpl map[string]any) {
			delete(mutableProps(t, tpl, "AWS::SQS::Queue", "QueueName", q.Name), "VisibilityTimeout")
		}},
		{"DLQ renamed", func(t *testing.T, tpl map[string]any) {
			mutableProps(t, tpl, "AWS::SQS::Queue", "QueueName", q.DLQName)["QueueName"] = q.DLQName + "-x"
		}},
		{"queue without redrive", func(t *testing.T, tpl map[string]any) {
			delete(mutableProps(t, tpl, "AWS::SQS::Queue", "QueueName", q.Name), "RedrivePolicy")
		}},
		{"function timeout", func(t *testing.T, tpl map[string]any) {
			mutableProps(t, tpl, "AWS::Lambda::Function", "FunctionName", api.Name)["Timeout"] = api.Timeout.Seconds() + 1
		}},
		{"env var removed", func(t *testing.T, tpl map[string]any) {
			p := mutableProps(t, tpl, "AWS::Lambda::Function", "FunctionName", api.Name)
			delete(p["Environment"].(map[string]any)["Variables"].(map[string]any), topology.EnvTable)
		}},
		{"env var added", func(t *testing.T, tpl map[string]any) {
			p := mutableProps(t, tpl, "AWS::Lambda::Function", "FunctionName", api.Name)
			p["Environment"].(map[string]any)["Variables"].(map[string]any)["EXTRA"] = "1"
		}},
		{"function ID tag", func(t *testing.T, tpl map[string]any) {
			p := mutableProps(t, tpl, "AWS::Lambda::Function", "FunctionName", api.Name)
			p["Tags"] = []any{map[string]any{"Key": FunctionIDTag, "Value": "other"}}
		}},
		{"batch size", func(t *testing.T, tpl map[string]any) {
			mapping(t, tpl)["BatchSize"] = float64(deliver.Source.BatchSize + 1)
		}},
		{"batching window", func(t *testing.T, tpl map[string]any) {
			delete(mapping(t, tpl), "MaximumBatchingWindowInSeconds")
		}},
		{"batch item failures off", func(t *testing.T, tpl map[string]any) {
			delete(mapping(t, tpl), "FunctionResponseTypes")
		}},
		{"mapping without maximum concurrency", func(t *testing.T, tpl map[string]any) {
			delete(mapping(t, tpl), "ScalingConfig")
		}},
		{"maximum concurrency", func(t *testing.T, tpl map[string]any) {
			mapping(t, tpl)["ScalingConfig"] = map[string]any{"MaximumConcurrency": float64(deliver.Source.MaxConcurrency + 1)}
		}},
		{"mapping reads the DLQ", func(t *testing.T, tpl map[string]any) {
			dlqID := logicalIDIn(t, tpl, "AWS::SQS::Queue", "QueueName", q.DLQName)
			mapping(t, tpl)["EventSourceArn"] =
				map[string]any{"Fn::GetAtt": []any{dlqID, "Arn"}}
		}},
		{"schedule rate", func(t *testing.T, tpl map[string]any) {
			resourceProps(tpl, rule(t, tpl))["ScheduleExpression"] = "rate(2 minutes)"
		}},
		{"schedule rule removed", func(t *testing.T, tpl map[string]any) {
			delete(tpl["Resources"].(map[string]any), rule(t, tpl))
		}},
		{"schedule rule disabled", func(t *testing.T, tpl map[string]any) {
			resourceProps(tpl, rule(t, tpl))["State"] = "DISABLED"
		}},
		{"route method", func(t *testing.T, tpl map[string]any) {
			r := s.spec.Routes[0]
			mutableProps(t, tpl, "AWS::ApiGatewayV2::Route", "RouteKey", r.Key())["RouteKey"] = "PUT " + r.Path
		}},
		{"route removed", func(t *testing.T, tpl map[string]any) {
			id := logicalIDIn(t, tpl, "AWS::ApiGatewayV2::Route", "RouteKey", s.spec.Routes[0].Key())
			delete(tpl["Resources"].(map[string]any), id)
		}},
	}
	for _, tc := range templateChanges {
		t.Run("template/"+tc.name, func(t *testing.T) {
			tpl := deepCopy(t, s.json)
			tc.mutate(t, tpl)
			got, err := ManifestFromTemplate(tpl)
			if err == nil && reflect.DeepEqual(got, want) {
				t.Fatalf("changed template still reduces to the spec's manifest")
			}
		})
	}

	// And from the other side: a spec that drifts from the template.
	specChanges := []struct {
		name   string
		mutate func(m *topology.Manifest)
	}{
		{"queue maxReceiveCount", func(m *topology.Manifest) { m.Queues[0].MaxReceiveCount++ }},
		{"function env name", func(m *topology.Manifest) { m.Functions[0].EnvNames[0] += "_X" }},
		{"mapping batching window", func(m *topology.Manifest) { m.Mappings[0].MaxBatchingWindowSeconds++ }},
		{"mapping maximum concurrency", func(m *topology.Manifest) { m.Mappings[0].MaximumConcurrency++ }},
		{"function schedule", func(m *topology.Manifest) { m.Functions[0].ScheduleSeconds += 60 }},
		{"extra route", func(m *topology.Manifest) { m.Routes = append(m.Routes, "GET /v1/other") }},
	}
	got, err := ManifestFromTemplate(s.json)
	if err != nil {
		t.Fatalf("ManifestFromTemplate: %v", err)
	}
	for _, tc := range specChanges {
		t.Run("spec/"+tc.name, func(t *testing.T) {
			changed := s.spec.Manifest() // a fresh copy; want is untouched
			tc.mutate(&changed)
			if reflect.DeepEqual(got, changed) {
				t.Fatalf("template manifest equals a changed spec manifest")
			}
			if manifestDiff(changed, got) == "" {
				t.Fatalf("manifests differ but the diff is empty")
			}
		})
	}
}

// mutableProps returns the Properties of the one resource of typ whose key equals
// value, for mutation.
func mutableProps(t *testing.T, tpl map[string]any, typ, key string, value any) map[string]any {
	t.Helper()
	id := logicalIDIn(t, tpl, typ, key, value)
	return tpl["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)
}

// resourceProps returns the Properties of resource id, for mutation.
func resourceProps(tpl map[string]any, id string) map[string]any {
	return tpl["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)
}

// scheduleRuleIn returns the logical ID of the one EventBridge rule that
// targets the function fnID.
func scheduleRuleIn(t *testing.T, tpl map[string]any, fnID string) string {
	t.Helper()
	var found []string
	for id, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Events::Rule" {
			continue
		}
		targets, _ := res["Properties"].(map[string]any)["Targets"].([]any)
		for _, tg := range targets {
			if got, err := getAttTarget(tg.(map[string]any)["Arn"]); err == nil && got == fnID {
				found = append(found, id)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one rule targeting %s, found %v", fnID, found)
	}
	return found[0]
}

func logicalIDIn(t *testing.T, tpl map[string]any, typ, key string, value any) string {
	t.Helper()
	var found []string
	for id, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		p, _ := res["Properties"].(map[string]any)
		if res["Type"] == typ && reflect.DeepEqual(p[key], value) {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s with %s=%v, found %v", typ, key, value, found)
	}
	return found[0]
}

func deepCopy(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// manifestDiff renders want and got as indented JSON and returns a line diff
// ("-" only in want, "+" only in got), or "" if they render the same.
func manifestDiff(want, got topology.Manifest) string {
	render := func(m topology.Manifest) []string {
		b, _ := json.MarshalIndent(m, "", "  ")
		return strings.Split(string(b), "\n")
	}
	a, b := render(want), render(got)
	// Longest common subsequence, then walk it; manifests are a few dozen lines.
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	changed := false
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			fmt.Fprintf(&out, "  %s\n", a[i])
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			fmt.Fprintf(&out, "- %s\n", a[i])
			i, changed = i+1, true
		default:
			fmt.Fprintf(&out, "+ %s\n", b[j])
			j, changed = j+1, true
		}
	}
	if !changed {
		return ""
	}
	return out.String()
}
