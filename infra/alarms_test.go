package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/topology"
)

// templateAlarm is one AWS::CloudWatch::Alarm of a template.
type templateAlarm struct {
	id    string
	props map[string]any
}

// queries returns the alarm's metric queries by Id, and the Id of the one
// returning data.
func (a templateAlarm) queries(t *testing.T) (map[string]map[string]any, string) {
	t.Helper()
	out := map[string]map[string]any{}
	returned := ""
	metrics, _ := a.props["Metrics"].([]any)
	for _, m := range metrics {
		q := m.(map[string]any)
		out[q["Id"].(string)] = q
		if q["ReturnData"] == true {
			if returned != "" {
				t.Fatalf("alarm %s returns two queries", a.id)
			}
			returned = q["Id"].(string)
		}
	}
	if returned == "" {
		t.Fatalf("alarm %s: no query returns data (%v)", a.id, a.props)
	}
	return out, returned
}

// metricStat is a query's metric, reduced to compare: namespace, name,
// dimensions (values as they appear, literal or {Ref: …}) and statistic.
type metricStat struct {
	Namespace, Name, Stat string
	Period                float64
	Dims                  map[string]any
}

func statOf(t *testing.T, q map[string]any) metricStat {
	t.Helper()
	ms, ok := q["MetricStat"].(map[string]any)
	if !ok {
		t.Fatalf("query %v has no MetricStat", q)
	}
	m := ms["Metric"].(map[string]any)
	out := metricStat{Namespace: m["Namespace"].(string), Name: m["MetricName"].(string), Stat: ms["Stat"].(string),
		Period: ms["Period"].(float64), Dims: map[string]any{}}
	dims, _ := m["Dimensions"].([]any)
	for _, d := range dims {
		kv := d.(map[string]any)
		out.Dims[kv["Name"].(string)] = kv["Value"]
	}
	return out
}

// alarmsByName returns the template's alarms by AlarmName.
func alarmsByName(t *testing.T, tpl map[string]any) map[string]templateAlarm {
	t.Helper()
	out := map[string]templateAlarm{}
	for id, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::CloudWatch::Alarm" {
			continue
		}
		p := propsOf(res)
		name, ok := p["AlarmName"].(string)
		if !ok {
			t.Fatalf("alarm %s has no literal AlarmName", id)
		}
		if _, dup := out[name]; dup {
			t.Fatalf("two alarms named %s", name)
		}
		out[name] = templateAlarm{id: id, props: p}
	}
	return out
}

// findAlarms returns the names of the alarms whose returned (or, for
// metric math, every input) metric matches want's namespace, name and
// dimensions.
func findAlarms(t *testing.T, alarms map[string]templateAlarm, namespace, name string, dims map[string]any) []string {
	t.Helper()
	var out []string
	for n, a := range alarms {
		qs, _ := a.queries(t)
		for _, q := range qs {
			if _, ok := q["MetricStat"]; !ok {
				continue
			}
			s := statOf(t, q)
			if s.Namespace == namespace && s.Name == name && reflect.DeepEqual(s.Dims, dims) {
				out = append(out, n)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// wantAlarm is what one alarm must be in the template.
type wantAlarm struct {
	namespace, metric, stat string
	dims                    map[string]any
	threshold               float64
	evaluations, datapoints float64
}

// expectedAlarms is every alarm the template must hold, by name, derived
// here from the spec's queues and functions (not from Spec.Alarms, which it
// is compared with) and the thresholds th.
func expectedAlarms(t *testing.T, s synthesized, th AlarmThresholds) map[string]wantAlarm {
	t.Helper()
	want := map[string]wantAlarm{}
	add := func(name string, w wantAlarm) {
		if _, dup := want[name]; dup {
			t.Fatalf("expected alarm %s twice", name)
		}
		want[name] = w
	}
	for _, q := range s.spec.Queues {
		_, drained := destination.KindOf(q.Destination) // the dead-letter function drains the delivery DLQs only
		depth, age, evals := th.DLQDepth, th.DLQAge, 1.0
		if drained {
			depth, age, evals = th.DrainedDLQDepth, th.DrainedDLQAge, 3
		}
		dims := map[string]any{"QueueName": q.DLQName}
		add(q.DLQName+"-depth", wantAlarm{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", dims, depth, evals, evals})
		add(q.DLQName+"-age", wantAlarm{"AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", dims, age.Seconds(), 1, 1})
	}
	for _, d := range destination.Types() {
		f, _ := s.spec.Function(topology.DeliverFunctionID(d))
		dims := map[string]any{topology.DimFunction: f.ID, topology.DimDestinationType: d}
		// The error rate is metric math; its inputs are checked apart.
		add(f.Name+"-error-rate", wantAlarm{threshold: th.DeliveryErrorRate, evaluations: 3, datapoints: 2, dims: dims})
		add(f.Name+"-lag-p99", wantAlarm{topology.MetricsNamespace, topology.MetricLagFromEnqueue, "p99", dims, float64(th.DeliveryLagP99.Milliseconds()), 3, 2})
	}
	for _, f := range s.spec.Functions {
		dims := map[string]any{"FunctionName": f.Name}
		add(f.Name+"-errors", wantAlarm{"AWS/Lambda", "Errors", "Sum", dims, th.FunctionErrors, 3, 2})
		add(f.Name+"-throttles", wantAlarm{"AWS/Lambda", "Throttles", "Sum", dims, th.FunctionThrottles, 3, 2})
		switch f.ID {
		case topology.FunctionIngest:
			add(f.Name+"-5xx", wantAlarm{topology.MetricsNamespace, topology.MetricIngestServerErrors, "Sum",
				map[string]any{topology.DimFunction: f.ID}, th.IngestServerErrors, 3, 2})
		case topology.FunctionArchiver, topology.FunctionLokiArchiver:
			add(f.Name+"-write-failures", wantAlarm{topology.MetricsNamespace, topology.MetricArchiveWriteFailures, "Sum",
				map[string]any{topology.DimFunction: f.ID}, th.ArchiveWriteFailures, 3, 2})
		}
	}
	apiID := only(t, "HTTP API", keysOf(s.resources("AWS::ApiGatewayV2::Api")))
	add(testPrefix+"-http-api-5xx", wantAlarm{"AWS/ApiGateway", "5xx", "Sum", map[string]any{"ApiId": map[string]any{"Ref": apiID}}, th.HTTPServerErrors, 3, 2})
	add(testPrefix+"-account-concurrency", wantAlarm{"AWS/Lambda", "ConcurrentExecutions", "Maximum", map[string]any{},
		float64(int(float64(th.AccountConcurrencyLimit) * th.AccountConcurrencyFraction)), 3, 2})
	return want
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkAlarms holds every alarm of tpl to expectedAlarms, and no more.
func checkAlarms(t *testing.T, s synthesized, th AlarmThresholds) {
	t.Helper()
	want := expectedAlarms(t, s, th)
	got := alarmsByName(t, s.json)
	if !reflect.DeepEqual(keysOf(got), keysOf(want)) {
		t.Fatalf("alarms\n got %v\nwant %v", keysOf(got), keysOf(want))
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			a := got[name]
			p := a.props
			if p["Threshold"] != w.threshold || p["EvaluationPeriods"] != w.evaluations || p["DatapointsToAlarm"] != w.datapoints {
				t.Errorf("threshold %v over %v/%v periods, want %v over %v/%v",
					p["Threshold"], p["DatapointsToAlarm"], p["EvaluationPeriods"], w.threshold, w.datapoints, w.evaluations)
			}
			if p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" || p["TreatMissingData"] != "notBreaching" {
				t.Errorf("comparison %v, missing data %v", p["ComparisonOperator"], p["TreatMissingData"])
			}
			if _, ok := p["MetricName"]; ok {
				t.Errorf("alarm uses the single-metric form; want Metrics")
			}
			qs, ret := a.queries(t)
			if w.metric == "" {
				checkErrorRate(t, qs, ret, w.dims, th.DeliveryErrorRateMinEvents)
				return
			}
			if len(qs) != 1 {
				t.Fatalf("queries %v, want one metric", qs)
			}
			if got, want := statOf(t, qs[ret]), (metricStat{w.namespace, w.metric, w.stat, alarmPeriod.Seconds(), w.dims}); !reflect.DeepEqual(got, want) {
				t.Errorf("metric\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// checkErrorRate checks an error-rate alarm's metric math: retried plus
// parked over all three, each a five-minute Sum with the type's
// dimensions, and the minimum volume under which it reads 0.
func checkErrorRate(t *testing.T, qs map[string]map[string]any, ret string, dims map[string]any, minEvents float64) {
	t.Helper()
	byMetric := map[string]string{} // metric name → query Id
	for id, q := range qs {
		if id == ret {
			continue
		}
		s := statOf(t, q)
		if s.Namespace != topology.MetricsNamespace || s.Stat != "Sum" || s.Period != alarmPeriod.Seconds() || !reflect.DeepEqual(s.Dims, dims) {
			t.Errorf("input %s: %+v, want a %s Sum over %v with %v", id, s, topology.MetricsNamespace, alarmPeriod, dims)
		}
		byMetric[s.Name] = id
	}
	d, r, p := byMetric[topology.MetricEventsDelivered], byMetric[topology.MetricEventsRetried], byMetric[topology.MetricEventsParked]
	if len(byMetric) != 3 || d == "" || r == "" || p == "" {
		t.Fatalf("inputs %v, want EventsDelivered, EventsRetried and EventsParked", byMetric)
	}
	total := fmt.Sprintf("(FILL(%s,0)+FILL(%s,0)+FILL(%s,0))", d, r, p)
	want := fmt.Sprintf("IF(%s >= %g, (FILL(%s,0)+FILL(%s,0))/%s, 0)", total, minEvents, r, p, total)
	if got := qs[ret]["Expression"]; got != want {
		t.Errorf("expression\n got %v\nwant %s", got, want)
	}
}

// Every alarm topology declares is in the template with its metric, its
// default threshold and its periods; nothing else alarms. The expected
// list is built from the spec's queues, destination types and functions,
// and compared with Spec.Alarms too.
func TestAlarms(t *testing.T) {
	s := synth(t)
	checkAlarms(t, s, DefaultAlarmThresholds)

	// The template's alarms are exactly topology's list.
	var names []string
	for _, a := range s.spec.Alarms() {
		names = append(names, a.Name)
	}
	sort.Strings(names)
	if got := keysOf(alarmsByName(t, s.json)); !reflect.DeepEqual(got, names) {
		t.Errorf("template alarms %v\nSpec.Alarms %v", got, names)
	}

	// One depth and one age alarm per DLQ, found by its metric, whatever
	// the alarm is called.
	alarms := alarmsByName(t, s.json)
	for _, q := range s.spec.Queues {
		for _, metric := range []string{"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"} {
			if got := findAlarms(t, alarms, "AWS/SQS", metric, map[string]any{"QueueName": q.DLQName}); len(got) != 1 {
				t.Errorf("DLQ %s: %s alarms %v, want one", q.DLQName, metric, got)
			}
		}
	}
	for _, d := range destination.Types() {
		dims := map[string]any{topology.DimFunction: topology.DeliverFunctionID(d), topology.DimDestinationType: d}
		for _, metric := range []string{topology.MetricEventsParked, topology.MetricLagFromEnqueue} {
			if got := findAlarms(t, alarms, topology.MetricsNamespace, metric, dims); len(got) != 1 {
				t.Errorf("type %s: %s alarms %v, want one", d, metric, got)
			}
		}
	}

	// No alarm notifies anything unless asked to, and there is no topic.
	for name, a := range alarms {
		for _, k := range []string{"AlarmActions", "OKActions", "InsufficientDataActions"} {
			if v, ok := a.props[k]; ok {
				t.Errorf("alarm %s has %s %v with no AlarmTopic", name, k, v)
			}
		}
		if desc, _ := a.props["AlarmDescription"].(string); !regexp.MustCompile(`Runbook: docs/operations\.md#[a-z0-9-]+$`).MatchString(desc) {
			t.Errorf("alarm %s description %q does not end with its runbook", name, desc)
		}
	}
	must(t, "no topic", func() { s.template.ResourceCountIs(jsii.String("AWS::SNS::Topic"), jsii.Number(0)) })
	if _, ok := s.json["Outputs"].(map[string]any)["AlarmTopicArn"]; ok {
		t.Error("AlarmTopicArn output without a topic")
	}
}

// Every threshold is a prop: a stack built with none of the defaults has
// each alarm at the value it was given, and its dashboard draws them.
func TestAlarmThresholdsFromProps(t *testing.T) {
	th := AlarmThresholds{
		DLQDepth: 3, DLQAge: 2 * 24 * time.Hour, DrainedDLQDepth: 40, DrainedDLQAge: 30 * time.Minute,
		DeliveryErrorRate: 0.125, DeliveryErrorRateMinEvents: 50, DeliveryLagP99: 90 * time.Second,
		IngestServerErrors: 7, HTTPServerErrors: 9, FunctionErrors: 11, FunctionThrottles: 4,
		AccountConcurrencyLimit: 3000, AccountConcurrencyFraction: 0.9, ArchiveWriteFailures: 2,
	}
	// Guard the test itself: every field differs from its default, so a
	// prop the stack ignored shows up as a default.
	v, d := reflect.ValueOf(th), reflect.ValueOf(DefaultAlarmThresholds)
	for i := range v.NumField() {
		if v.Field(i).Interface() == d.Field(i).Interface() {
			t.Fatalf("field %s equals its default", v.Type().Field(i).Name)
		}
	}
	s := synthWith(t, &LogstreamStackProps{Alarms: th})
	checkAlarms(t, s, th)

	annotations := map[string][]float64{}
	for _, w := range dashboardWidgets(t, s) {
		for _, a := range w.Properties.Annotations.Horizontal {
			annotations[w.Properties.Title] = append(annotations[w.Properties.Title], a.Value)
		}
	}
	for title, want := range map[string][]float64{
		"Ingest: 5xx answers":                {7, 9},
		"Delivery lag p99 from enqueue (ms)": {90000},
		"DLQ depth (messages)":               {3, 40},
		"DLQ oldest message age (s)":         {2 * 24 * 3600, 1800},
		"Lambda errors":                      {11},
		"Lambda throttles":                   {4},
		"Account concurrent executions":      {2700, 3000},
		"Archive write failures":             {2},
		"Delivery: http":                     {0.125},
	} {
		if got := annotations[title]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: annotations %v, want %v", title, got, want)
		}
	}
}

// Thresholds out of range are refused before anything is built.
func TestAlarmThresholdsRejected(t *testing.T) {
	synth(t)
	tests := []struct {
		name string
		th   AlarmThresholds
		want string
	}{
		{"negative depth", AlarmThresholds{DLQDepth: -1}, "DLQDepth"},
		{"error rate above 1", AlarmThresholds{DeliveryErrorRate: 5}, "DeliveryErrorRate"},
		{"concurrency fraction above 1", AlarmThresholds{AccountConcurrencyFraction: 1.5}, "AccountConcurrencyFraction"},
		{"negative concurrency limit", AlarmThresholds{AccountConcurrencyLimit: -1}, "AccountConcurrencyLimit"},
		{"negative lag", AlarmThresholds{DeliveryLagP99: -time.Second}, "DeliveryLagP99"},
		{"fractional age", AlarmThresholds{DrainedDLQAge: 1500 * time.Millisecond}, "whole number of seconds"},
		// The DLQs keep a message 14 days: an age alarm at or past that
		// would never fire.
		{"age past the DLQ's retention", AlarmThresholds{DLQAge: 15 * 24 * time.Hour}, "retention"},
		{"drained age past the DLQ's retention", AlarmThresholds{DrainedDLQAge: 14 * 24 * time.Hour}, "retention"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := catch(func() {
				NewLogstreamStack(newTestApp(), "Logstream", &LogstreamStackProps{Spec: topology.New(testPrefix), AssetDir: testAssets, Alarms: tc.th})
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewLogstreamStack error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// The alarms notify a topic when one is given, on alarm and on recovery;
// with none they notify nothing (TestAlarms).
func TestAlarmTopic(t *testing.T) {
	const arn = "arn:aws:sns:eu-west-1:123456789012:oncall"
	tests := []struct {
		name   string
		topic  AlarmTopic
		action func(t *testing.T, s synthesized) any // what every alarm must notify
		topics int
	}{
		{"created", AlarmTopic{Create: true}, func(t *testing.T, s synthesized) any {
			return []any{map[string]any{"Ref": s.logicalID(t, "AWS::SNS::Topic", "TopicName", testPrefix+"-alarms")}}
		}, 1},
		{"existing", AlarmTopic{ARN: arn}, func(*testing.T, synthesized) any { return []any{arn} }, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := synthWith(t, &LogstreamStackProps{AlarmTopic: tc.topic})
			must(t, "topics", func() { s.template.ResourceCountIs(jsii.String("AWS::SNS::Topic"), jsii.Number(float64(tc.topics))) })
			want := tc.action(t, s)
			alarms := alarmsByName(t, s.json)
			if len(alarms) != len(s.spec.Alarms()) {
				t.Fatalf("%d alarms, want %d", len(alarms), len(s.spec.Alarms()))
			}
			for name, a := range alarms {
				if !reflect.DeepEqual(a.props["AlarmActions"], want) || !reflect.DeepEqual(a.props["OKActions"], want) {
					t.Errorf("alarm %s: AlarmActions %v, OKActions %v, want %v", name, a.props["AlarmActions"], a.props["OKActions"], want)
				}
			}
			out, _ := s.json["Outputs"].(map[string]any)["AlarmTopicArn"].(map[string]any)
			if tc.topic.ARN != "" && out["Value"] != arn {
				t.Errorf("AlarmTopicArn output %v, want %s", out, arn)
			}
			if tc.topic.Create && out["Value"] == nil {
				t.Errorf("AlarmTopicArn output %v, want the topic", out)
			}
		})
	}
	t.Run("both", func(t *testing.T) {
		err := catch(func() {
			NewLogstreamStack(newTestApp(), "Logstream", &LogstreamStackProps{Spec: topology.New(testPrefix), AssetDir: testAssets,
				AlarmTopic: AlarmTopic{Create: true, ARN: arn}})
		})
		if err == nil || !strings.Contains(err.Error(), "exclusive") {
			t.Fatalf("error %v, want Create and ARN refused together", err)
		}
	})
}

// Alarms and the dashboard need no permission of any function: no role
// may touch CloudWatch or SNS.
func TestMonitoringGrantsNothing(t *testing.T) {
	s := synthWith(t, &LogstreamStackProps{AlarmTopic: AlarmTopic{Create: true}})
	for id, pol := range s.resources("AWS::IAM::Policy") {
		b, _ := json.Marshal(propsOf(pol)["PolicyDocument"])
		for _, service := range []string{`"cloudwatch:`, `"sns:`} {
			if strings.Contains(string(b), service) {
				t.Errorf("policy %s grants %s…: %s", id, service, b)
			}
		}
	}
	for id := range s.resources("AWS::SNS::TopicPolicy") {
		t.Errorf("topic policy %s: the created topic needs none (CloudWatch publishes as the account)", id)
	}
}

// synthWith synthesizes a stack from topology.New(testPrefix) with props'
// alarm settings.
func synthWith(t *testing.T, props *LogstreamStackProps) synthesized {
	t.Helper()
	var s synthesized
	if err := catch(func() {
		props.Spec, props.AssetDir = topology.New(testPrefix), testAssets
		tpl := assertions.Template_FromStack(NewLogstreamStack(newTestApp(), "Logstream", props), nil)
		s = synthesized{spec: props.Spec, template: tpl, json: *tpl.ToJSON()}
	}); err != nil {
		t.Fatalf("synthesize stack: %v", err)
	}
	return s
}

// dashboardWidget is the part of a CloudWatch dashboard widget the tests
// read (CloudWatch's dashboard body structure).
type dashboardWidget struct {
	Type       string `json:"type"`
	X          int    `json:"x"`
	Y          int    `json:"y"`
	Width      int    `json:"width"`
	Properties struct {
		Title       string  `json:"title"`
		Metrics     [][]any `json:"metrics"`
		Annotations struct {
			Horizontal []struct {
				Value float64 `json:"value"`
				YAxis string  `json:"yAxis"`
			} `json:"horizontal"`
		} `json:"annotations"`
	} `json:"properties"`
}

// renderJoin renders a {"Fn::Join": ["", [parts…]]} token as text, each
// reference as <Ref>: the dashboard body holds the region and the HTTP
// API's ID as references inside its JSON strings.
func renderJoin(t *testing.T, v any) string {
	t.Helper()
	join, ok := v.(map[string]any)["Fn::Join"].([]any)
	if !ok || len(join) != 2 || join[0] != "" {
		t.Fatalf("want {Fn::Join: [\"\", […]]}, got %v", v)
	}
	var b strings.Builder
	for _, part := range join[1].([]any) {
		switch p := part.(type) {
		case string:
			b.WriteString(p)
		case map[string]any:
			ref, ok := p["Ref"].(string)
			if !ok {
				t.Fatalf("dashboard body part %v is not a Ref", p)
			}
			b.WriteString("<" + ref + ">")
		default:
			t.Fatalf("dashboard body part %v (%T)", part, part)
		}
	}
	return b.String()
}

// dashboardWidgets decodes the one dashboard's body.
func dashboardWidgets(t *testing.T, s synthesized) []dashboardWidget {
	t.Helper()
	dashes := s.resources("AWS::CloudWatch::Dashboard")
	id := only(t, "dashboard", keysOf(dashes))
	p := propsOf(dashes[id])
	if p["DashboardName"] != s.spec.Prefix {
		t.Errorf("dashboard name %v, want %s", p["DashboardName"], s.spec.Prefix)
	}
	var body struct {
		Widgets []dashboardWidget `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(renderJoin(t, p["DashboardBody"])), &body); err != nil {
		t.Fatalf("dashboard body: %v", err)
	}
	return body.Widgets
}

// dashMetric is one metric line of a widget: namespace, name and
// dimensions; math expressions have Expression instead.
type dashMetric struct {
	Namespace, Name, Stat, Expression string
	Dims                              map[string]string
}

func (m dashMetric) key() string {
	var dims []string
	for k, v := range m.Dims {
		dims = append(dims, k+"="+v)
	}
	sort.Strings(dims)
	return m.Namespace + " " + m.Name + " " + m.Stat + " {" + strings.Join(dims, ",") + "}"
}

// metricsOf reads a widget's metric lines: [namespace, name, dim, value,
// …, {options}], or [{expression: …}].
func metricsOf(t *testing.T, w dashboardWidget) []dashMetric {
	t.Helper()
	var out []dashMetric
	for _, line := range w.Properties.Metrics {
		var m dashMetric
		m.Dims = map[string]string{}
		var strs []string
		for _, el := range line {
			switch v := el.(type) {
			case string:
				strs = append(strs, v)
			case map[string]any:
				m.Stat, _ = v["stat"].(string)
				m.Expression, _ = v["expression"].(string)
			}
		}
		if m.Expression == "" {
			if len(strs) < 2 || len(strs)%2 != 0 {
				t.Fatalf("widget %q: metric line %v", w.Properties.Title, line)
			}
			m.Namespace, m.Name = strs[0], strs[1]
			for i := 2; i < len(strs); i += 2 {
				m.Dims[strs[i]] = strs[i+1]
			}
		}
		out = append(out, m)
	}
	return out
}

// The dashboard has one row per area, in order, and each area's widgets
// show the figures of every queue, type and function topology declares.
func TestDashboard(t *testing.T) {
	s := synth(t)
	widgets := dashboardWidgets(t, s)
	must(t, "dashboard output", func() {
		s.template.HasOutput(jsii.String("DashboardName"), obj(map[string]any{"Value": s.spec.Prefix}))
	})
	apiRef := "<" + only(t, "HTTP API", keysOf(s.resources("AWS::ApiGatewayV2::Api"))) + ">"

	type area struct {
		name string
		// titles: the widget titles of the area's row, in order.
		titles []string
		// metrics each of its widgets must show, by title (others may
		// show more).
		want map[string][]dashMetric
	}
	lm := func(name, stat string, dims map[string]string) dashMetric {
		return dashMetric{Namespace: topology.MetricsNamespace, Name: name, Stat: stat, Dims: dims}
	}
	ingest := map[string]string{topology.DimFunction: topology.FunctionIngest}
	areas := []area{{
		name:   "ingest",
		titles: []string{"Ingest: requests and events", "Ingest: 5xx answers"},
		want: map[string][]dashMetric{
			"Ingest: requests and events": {lm(topology.MetricIngestRequests, "Sum", ingest), lm(topology.MetricEventsAccepted, "Sum", ingest), lm(topology.MetricEventsRefused, "Sum", ingest)},
			"Ingest: 5xx answers": {lm(topology.MetricIngestServerErrors, "Sum", ingest),
				{Namespace: "AWS/ApiGateway", Name: "5xx", Stat: "Sum", Dims: map[string]string{"ApiId": apiRef}}},
		},
	}}
	delivery := area{name: "delivery", want: map[string][]dashMetric{}}
	lag := area{name: "lag", titles: []string{"Delivery lag p99 from enqueue (ms)", "Delivery lag p99 from event timestamp (ms)"}, want: map[string][]dashMetric{}}
	for _, d := range destination.Types() {
		dims := map[string]string{topology.DimFunction: topology.DeliverFunctionID(d), topology.DimDestinationType: d}
		title := "Delivery: " + d
		delivery.titles = append(delivery.titles, title)
		delivery.want[title] = []dashMetric{lm(topology.MetricEventsDelivered, "Sum", dims), lm(topology.MetricEventsRetried, "Sum", dims), lm(topology.MetricEventsParked, "Sum", dims)}
		lag.want[lag.titles[0]] = append(lag.want[lag.titles[0]], lm(topology.MetricLagFromEnqueue, "p99", dims))
		lag.want[lag.titles[1]] = append(lag.want[lag.titles[1]], lm(topology.MetricLagFromTimestamp, "p99", dims))
	}
	dlqs := area{name: "DLQs", titles: []string{"DLQ depth (messages)", "DLQ oldest message age (s)"}, want: map[string][]dashMetric{}}
	for _, q := range s.spec.Queues {
		dims := map[string]string{"QueueName": q.DLQName}
		dlqs.want[dlqs.titles[0]] = append(dlqs.want[dlqs.titles[0]], dashMetric{Namespace: "AWS/SQS", Name: "ApproximateNumberOfMessagesVisible", Stat: "Maximum", Dims: dims})
		dlqs.want[dlqs.titles[1]] = append(dlqs.want[dlqs.titles[1]], dashMetric{Namespace: "AWS/SQS", Name: "ApproximateAgeOfOldestMessage", Stat: "Maximum", Dims: dims})
	}
	lambda := area{name: "Lambda", titles: []string{"Lambda errors", "Lambda throttles", "Account concurrent executions"}, want: map[string][]dashMetric{
		"Account concurrent executions": {{Namespace: "AWS/Lambda", Name: "ConcurrentExecutions", Stat: "Maximum", Dims: map[string]string{}}},
	}}
	for _, f := range s.spec.Functions {
		dims := map[string]string{"FunctionName": f.Name}
		lambda.want["Lambda errors"] = append(lambda.want["Lambda errors"], dashMetric{Namespace: "AWS/Lambda", Name: "Errors", Stat: "Sum", Dims: dims})
		lambda.want["Lambda throttles"] = append(lambda.want["Lambda throttles"], dashMetric{Namespace: "AWS/Lambda", Name: "Throttles", Stat: "Sum", Dims: dims})
	}
	archives := area{name: "archives", titles: []string{"Archive objects written", "Archive write failures"}, want: map[string][]dashMetric{}}
	for _, id := range []string{topology.FunctionArchiver, topology.FunctionLokiArchiver} {
		dims := map[string]string{topology.DimFunction: id}
		archives.want["Archive objects written"] = append(archives.want["Archive objects written"], lm(topology.MetricArchiveObjectsWritten, "Sum", dims))
		archives.want["Archive write failures"] = append(archives.want["Archive write failures"], lm(topology.MetricArchiveWriteFailures, "Sum", dims))
	}
	areas = append(areas, delivery, lag, dlqs, lambda, archives)

	// Widgets by row (y), rows in order.
	var rows [][]dashboardWidget
	for _, w := range widgets {
		if n := len(rows); n == 0 || rows[n-1][0].Y != w.Y {
			rows = append(rows, nil)
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], w)
	}
	if len(rows) != len(areas) {
		t.Fatalf("%d rows, want one per area (%d)", len(rows), len(areas))
	}
	for i, a := range areas {
		t.Run(a.name, func(t *testing.T) {
			var titles []string
			width := 0
			for _, w := range rows[i] {
				titles = append(titles, w.Properties.Title)
				width += w.Width
			}
			if !reflect.DeepEqual(titles, a.titles) {
				t.Fatalf("row %d: widgets %q, want %q", i, titles, a.titles)
			}
			if width > 24 {
				t.Errorf("row %d is %d columns wide, more than the dashboard's 24", i, width)
			}
			for _, w := range rows[i] {
				shown := map[string]bool{}
				for _, m := range metricsOf(t, w) {
					shown[m.key()] = true
				}
				for _, m := range a.want[w.Properties.Title] {
					if !shown[m.key()] {
						t.Errorf("widget %q does not show %s; it shows %v", w.Properties.Title, m.key(), keysOf(shown))
					}
				}
			}
		})
	}

	// Each delivery widget also draws its type's error rate, the alarm's
	// expression, on the right axis against the alarm's threshold.
	for _, w := range rows[1] {
		var exprs []string
		for _, m := range metricsOf(t, w) {
			if m.Expression != "" {
				exprs = append(exprs, m.Expression)
			}
		}
		if len(exprs) != 1 || !strings.HasPrefix(exprs[0], "IF(") {
			t.Errorf("widget %q: expressions %q, want the error rate", w.Properties.Title, exprs)
		}
		ann := w.Properties.Annotations.Horizontal
		if len(ann) != 1 || ann[0].Value != DefaultAlarmThresholds.DeliveryErrorRate || ann[0].YAxis != "right" {
			t.Errorf("widget %q: annotations %+v, want the error-rate threshold on the right", w.Properties.Title, ann)
		}
	}
}

// docs/operations.md has a runbook section under "## Alarms" for every kind
// of alarm the stack creates, where each alarm's description points.
func TestRunbookCoversEveryAlarm(t *testing.T) {
	raw, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, "\n## Alarms\n")
	if start < 0 {
		t.Fatal(`docs/operations.md has no "## Alarms" section`)
	}
	section := doc[start+1:]
	if end := strings.Index(section[len("## Alarms"):], "\n## "); end >= 0 {
		section = section[:len("## Alarms")+end]
	}
	kinds := map[topology.AlarmKind]bool{}
	for _, a := range topology.New(testPrefix).Alarms() {
		kinds[a.Kind] = true
	}
	for k := range kinds {
		i := strings.Index(section, "\n### "+string(k)+"\n")
		if i < 0 {
			t.Errorf(`docs/operations.md "## Alarms" has no "### %s" section`, k)
			continue
		}
		// Each says what the alarm means, how to look and what to do.
		body := section[i+1:]
		if next := strings.Index(body[4:], "\n### "); next >= 0 {
			body = body[:4+next]
		}
		for _, part := range []string{"**Means.**", "**Inspect.**", "**Fix.**"} {
			if !strings.Contains(body, part) {
				t.Errorf("docs/operations.md, %s: no %s", k, part)
			}
		}
	}
}

// make deploy passes thresholds and the topic in the environment.
func TestParseAlarmSettings(t *testing.T) {
	thresholds := []struct {
		in      string
		want    AlarmThresholds
		wantErr string
	}{
		{in: "", want: AlarmThresholds{}},
		{in: "DLQDepth=5, DeliveryLagP99=10m,AccountConcurrencyLimit=3000,DeliveryErrorRate=0.1",
			want: AlarmThresholds{DLQDepth: 5, DeliveryLagP99: 10 * time.Minute, AccountConcurrencyLimit: 3000, DeliveryErrorRate: 0.1}},
		{in: "DLQAge=168h,", want: AlarmThresholds{DLQAge: 168 * time.Hour}},
		{in: "DLQDepth", wantErr: "NAME=VALUE"},
		{in: "Depth=5", wantErr: "no such threshold"},
		{in: "DLQAge=7d", wantErr: "DLQAge"},
		{in: "AccountConcurrencyLimit=1.5", wantErr: "AccountConcurrencyLimit"},
	}
	for _, tc := range thresholds {
		t.Run("thresholds "+tc.in, func(t *testing.T) {
			got, err := parseAlarmThresholds(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	topics := []struct {
		in   string
		want AlarmTopic
		ok   bool
	}{
		{"", AlarmTopic{}, true},
		{"create", AlarmTopic{Create: true}, true},
		{"arn:aws:sns:eu-west-1:123456789012:oncall", AlarmTopic{ARN: "arn:aws:sns:eu-west-1:123456789012:oncall"}, true},
		{"oncall", AlarmTopic{}, false},
		{"arn:aws:sqs:eu-west-1:123456789012:q", AlarmTopic{}, false},
	}
	for _, tc := range topics {
		t.Run("topic "+tc.in, func(t *testing.T) {
			got, err := parseAlarmTopic(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v (ok %v)", got, err, tc.want, tc.ok)
			}
		})
	}
}
