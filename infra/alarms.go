package main

import (
	"cmp"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/logstream/logstream/shared/topology"
)

// AlarmThresholds are the alarms' thresholds (docs/operations.md, "Alarms",
// says what each alarm means and what to do). A zero field takes the
// default beside it; a negative one is refused. Every alarm is evaluated on
// five-minute periods (alarmPeriod).
type AlarmThresholds struct {
	// DLQDepth: messages in a DLQ nothing drains (the event archive's, the
	// Loki bridge's), where every message is an acknowledged event or push
	// that never reached S3. Default 1.
	DLQDepth float64
	// DLQAge: the age of the oldest message in such a DLQ: the time left to
	// redrive it before the DLQ's retention (14 days) deletes it. Default 7
	// days; must be below every such DLQ's retention.
	DLQAge time.Duration
	// DrainedDLQDepth: messages waiting in a DLQ the dead-letter function
	// drains into the dead-letter store every minute, for three periods in
	// a row: the drain is behind or failing. Default 100.
	DrainedDLQDepth float64
	// DrainedDLQAge: the age of the oldest message in such a DLQ; the drain
	// takes each within about a minute. Default 15 minutes.
	DrainedDLQAge time.Duration
	// DeliveryErrorRate: the share of a destination type's events retried
	// or parked, (EventsRetried+EventsParked)/(EventsDelivered+EventsRetried+
	// EventsParked), as a fraction (0.05 is 5%), in two of three periods.
	// Default 0.05; at most 1.
	DeliveryErrorRate float64
	// DeliveryErrorRateMinEvents: below this many events in a period, the
	// rate is taken as 0, so one retry among three events pages nobody.
	// Default 20.
	DeliveryErrorRateMinEvents float64
	// DeliveryLagP99: the p99 of a destination type's LagFromEnqueue (from
	// SQS receiving an event to its delivery), in two of three periods.
	// Default 5 minutes.
	DeliveryLagP99 time.Duration
	// IngestServerErrors: ingestion's 5xx answers in a period, in two of
	// three. Default 5.
	IngestServerErrors float64
	// HTTPServerErrors: API Gateway's 5xx answers for the whole HTTP API in
	// a period (with what never reached a function: a throttled or failed
	// invocation), in two of three. Default 5.
	HTTPServerErrors float64
	// FunctionErrors: a function's failed invocations in a period, in two of
	// three. Default 5.
	FunctionErrors float64
	// FunctionThrottles: a function's throttled invocations in a period, in
	// two of three. Default 1.
	FunctionThrottles float64
	// AccountConcurrencyLimit is the account's Lambda concurrent executions
	// quota in the region; default topology.AccountConcurrency (AWS's
	// default, 1,000). Set it to a raised quota.
	AccountConcurrencyLimit int
	// AccountConcurrencyFraction: the alarm fires when the account's
	// ConcurrentExecutions reach this fraction of AccountConcurrencyLimit,
	// in two of three periods. Default 0.8; at most 1.
	AccountConcurrencyFraction float64
	// ArchiveWriteFailures: an archiver's failed object writes in a period,
	// in two of three (a failed write is retried; the DLQ alarms catch what
	// is given up). Default 1.
	ArchiveWriteFailures float64
}

// DefaultAlarmThresholds are the thresholds a zero AlarmThresholds field
// takes.
var DefaultAlarmThresholds = AlarmThresholds{
	DLQDepth:                   1,
	DLQAge:                     7 * 24 * time.Hour,
	DrainedDLQDepth:            100,
	DrainedDLQAge:              15 * time.Minute,
	DeliveryErrorRate:          0.05,
	DeliveryErrorRateMinEvents: 20,
	DeliveryLagP99:             5 * time.Minute,
	IngestServerErrors:         5,
	HTTPServerErrors:           5,
	FunctionErrors:             5,
	FunctionThrottles:          1,
	AccountConcurrencyLimit:    topology.AccountConcurrency,
	AccountConcurrencyFraction: 0.8,
	ArchiveWriteFailures:       1,
}

// AlarmTopic is where the alarms notify, when they fire and when they
// recover. The zero value notifies nowhere: the alarms show on the console
// and the dashboard only.
type AlarmTopic struct {
	// Create makes the stack create an SNS topic, <prefix>-alarms, to
	// subscribe to (e-mail, chat, paging); its ARN is the AlarmTopicArn
	// output.
	Create bool
	// ARN names an existing topic instead (one the on-call tooling already
	// reads). It must allow CloudWatch to publish: a topic encrypted with
	// a KMS key needs cloudwatch.amazonaws.com in the key's policy.
	ARN string
}

// alarmPeriod is every alarm's period, and the dashboard's: five minutes
// is what CloudWatch alarms on p99 and on SQS's metrics resolve well, and
// the alarms that must fire fast enough fire on one period.
const alarmPeriod = 5 * time.Minute

// resolve fills the defaults in and checks every threshold against its
// range and, for the DLQ ages, against the spec's DLQ retention.
func (t AlarmThresholds) resolve(spec topology.Spec) (AlarmThresholds, error) {
	d := DefaultAlarmThresholds
	floats := []struct {
		name  string
		v     *float64
		def   float64
		limit float64 // 0: none
	}{
		{"DLQDepth", &t.DLQDepth, d.DLQDepth, 0},
		{"DrainedDLQDepth", &t.DrainedDLQDepth, d.DrainedDLQDepth, 0},
		{"DeliveryErrorRate", &t.DeliveryErrorRate, d.DeliveryErrorRate, 1},
		{"DeliveryErrorRateMinEvents", &t.DeliveryErrorRateMinEvents, d.DeliveryErrorRateMinEvents, 0},
		{"IngestServerErrors", &t.IngestServerErrors, d.IngestServerErrors, 0},
		{"HTTPServerErrors", &t.HTTPServerErrors, d.HTTPServerErrors, 0},
		{"FunctionErrors", &t.FunctionErrors, d.FunctionErrors, 0},
		{"FunctionThrottles", &t.FunctionThrottles, d.FunctionThrottles, 0},
		{"AccountConcurrencyFraction", &t.AccountConcurrencyFraction, d.AccountConcurrencyFraction, 1},
		{"ArchiveWriteFailures", &t.ArchiveWriteFailures, d.ArchiveWriteFailures, 0},
	}
	for _, f := range floats {
		switch v := *f.v; {
		case v < 0 || math.IsNaN(v) || math.IsInf(v, 0):
			return t, fmt.Errorf("logstream: alarm threshold %s %v is not a positive number", f.name, v)
		case v == 0:
			*f.v = f.def
		case f.limit > 0 && v > f.limit:
			return t, fmt.Errorf("logstream: alarm threshold %s %v is above %v", f.name, v, f.limit)
		}
	}
	durations := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"DLQAge", &t.DLQAge, d.DLQAge},
		{"DrainedDLQAge", &t.DrainedDLQAge, d.DrainedDLQAge},
		{"DeliveryLagP99", &t.DeliveryLagP99, d.DeliveryLagP99},
	}
	for _, f := range durations {
		switch {
		case *f.v < 0:
			return t, fmt.Errorf("logstream: alarm threshold %s %s is negative", f.name, *f.v)
		case *f.v == 0:
			*f.v = f.def
		case *f.v%time.Second != 0:
			return t, fmt.Errorf("logstream: alarm threshold %s %s is not a whole number of seconds", f.name, *f.v)
		}
	}
	switch {
	case t.AccountConcurrencyLimit < 0:
		return t, fmt.Errorf("logstream: AccountConcurrencyLimit %d is negative", t.AccountConcurrencyLimit)
	case t.AccountConcurrencyLimit == 0:
		// The quota the deployment declares (LOGSTREAM_CAPACITY's
		// account), AWS's default unless raised.
		t.AccountConcurrencyLimit = cmp.Or(spec.Capacity.Account, d.AccountConcurrencyLimit)
	}
	// An age the DLQ deletes its messages before reaching never fires.
	for _, a := range spec.Alarms() {
		if a.Kind != topology.AlarmDLQAge {
			continue
		}
		q, _ := spec.Queue(a.Queue)
		if age := t.dlqAge(a); age >= q.DLQRetention {
			return t, fmt.Errorf("logstream: alarm %s: age threshold %s is not below the DLQ's retention %s", a.Name, age, q.DLQRetention)
		}
	}
	return t, nil
}

func (t AlarmThresholds) dlqAge(a topology.Alarm) time.Duration {
	if a.Drained {
		return t.DrainedDLQAge
	}
	return t.DLQAge
}

func (t AlarmThresholds) dlqDepth(a topology.Alarm) float64 {
	if a.Drained {
		return t.DrainedDLQDepth
	}
	return t.DLQDepth
}

// alarmRule is how one alarm evaluates its metric.
type alarmRule struct {
	metric    awscloudwatch.IMetric
	threshold float64
	// evaluations periods, of which datapoints must breach.
	evaluations, datapoints int
	description             string
}

// monitoring builds the alarms and the dashboard from the spec's alarm
// list (topology.Spec.Alarms): the metrics each alarm reads are the ones
// its dashboard figure shows.
type monitoring struct {
	spec       topology.Spec
	thresholds AlarmThresholds
	api        awsapigatewayv2.HttpApi
	alarms     []topology.Alarm
	rules      map[string]alarmRule // by alarm name
}

func newMonitoring(spec topology.Spec, thresholds AlarmThresholds, api awsapigatewayv2.HttpApi) (*monitoring, error) {
	m := &monitoring{spec: spec, thresholds: thresholds, api: api, alarms: spec.Alarms(), rules: map[string]alarmRule{}}
	for _, a := range m.alarms {
		r, err := m.rule(a)
		if err != nil {
			return nil, err
		}
		m.rules[a.Name] = r
	}
	return m, nil
}

// logstreamMetric is a metric logstream's functions write (the metrics
// contract, shared/topology/metrics.go).
func logstreamMetric(name, statistic, label string, dims map[string]string) awscloudwatch.Metric {
	return awsMetric(topology.MetricsNamespace, name, statistic, label, dims)
}

// awsMetric is a metric over alarmPeriod, as every alarm and graph reads it.
func awsMetric(namespace, name, statistic, label string, dims map[string]string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(namespace),
		MetricName:    jsii.String(name),
		DimensionsMap: dimensions(dims),
		Statistic:     jsii.String(statistic),
		Period:        seconds(alarmPeriod),
		Label:         jsii.String(label),
	})
}

func dimensions(dims map[string]string) *map[string]*string {
	if len(dims) == 0 {
		return nil
	}
	out := make(map[string]*string, len(dims))
	for k, v := range dims {
		out[k] = jsii.String(v)
	}
	return &out
}

// deliveryDims are a delivery function's metric dimensions.
func deliveryDims(a topology.Alarm) map[string]string {
	return map[string]string{topology.DimFunction: a.Function, topology.DimDestinationType: a.DestinationType}
}

// errorRate is a destination type's share of events retried or parked.
// FILL makes a count with no datapoint in a period 0 (a type that retried
// nothing writes no EventsRetried); under min events it is 0, so a quiet
// type's one retry is no 50% error rate.
func errorRate(a topology.Alarm, minEvents float64) awscloudwatch.MathExpression {
	dims := deliveryDims(a)
	total := "(FILL(d,0)+FILL(r,0)+FILL(p,0))"
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(fmt.Sprintf("IF(%s >= %s, (FILL(r,0)+FILL(p,0))/%s, 0)", total, number(minEvents), total)),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"d": logstreamMetric(topology.MetricEventsDelivered, "Sum", "delivered", dims),
			"r": logstreamMetric(topology.MetricEventsRetried, "Sum", "retried", dims),
			"p": logstreamMetric(topology.MetricEventsParked, "Sum", "parked", dims),
		},
		Period: seconds(alarmPeriod),
		Label:  jsii.String(a.DestinationType + " error rate"),
	})
}

// number prints a threshold as CloudWatch's metric math reads it.
func number(v float64) string { return fmt.Sprintf("%g", v) }

// runbook is where docs/operations.md explains an alarm of kind k.
func runbook(k topology.AlarmKind) string { return "Runbook: docs/operations.md#" + string(k) }

// rule returns how alarm a evaluates: its metric, threshold and periods.
func (m *monitoring) rule(a topology.Alarm) (alarmRule, error) {
	t := m.thresholds
	switch a.Kind {
	case topology.AlarmDLQDepth:
		r := alarmRule{
			metric:    awsMetric("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", a.DLQ, map[string]string{"QueueName": a.DLQ}),
			threshold: t.dlqDepth(a), evaluations: 1, datapoints: 1,
			description: fmt.Sprintf("%s holds messages nothing drains: what was acknowledged (an accepted event, a pushed stream) and given up on before it was written.", a.DLQ),
		}
		if a.Drained {
			r.evaluations, r.datapoints = 3, 3
			r.description = fmt.Sprintf("%s has held a backlog for %d minutes: the dead-letter function, which drains it every minute, is behind or failing.",
				a.DLQ, int((time.Duration(r.evaluations) * alarmPeriod).Minutes()))
		}
		return r, nil
	case topology.AlarmDLQAge:
		r := alarmRule{
			metric:    awsMetric("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", a.DLQ, map[string]string{"QueueName": a.DLQ}),
			threshold: t.dlqAge(a).Seconds(), evaluations: 1, datapoints: 1,
			description: fmt.Sprintf("The oldest message in %s is getting old: redrive it before the DLQ's retention deletes it.", a.DLQ),
		}
		if a.Drained {
			r.description = fmt.Sprintf("A message has waited in %s longer than the dead-letter function's drain should take: the drain is failing.", a.DLQ)
		}
		return r, nil
	case topology.AlarmDeliveryErrorRate:
		return alarmRule{metric: errorRate(a, t.DeliveryErrorRateMinEvents), threshold: t.DeliveryErrorRate, evaluations: 3, datapoints: 2,
			description: fmt.Sprintf("Too many %s deliveries are retried or parked: destinations of that type are failing.", a.DestinationType)}, nil
	case topology.AlarmDeliveryLag:
		return alarmRule{
			metric:    logstreamMetric(topology.MetricLagFromEnqueue, "p99", a.DestinationType+" lag p99", deliveryDims(a)),
			threshold: float64(t.DeliveryLagP99.Milliseconds()), evaluations: 3, datapoints: 2,
			description: fmt.Sprintf("%s events take too long from enqueue to delivery (p99, milliseconds): the queue is backing up or destinations are slow.", a.DestinationType),
		}, nil
	case topology.AlarmIngestServerErrors:
		return alarmRule{
			metric:    logstreamMetric(topology.MetricIngestServerErrors, "Sum", "ingest 5xx", map[string]string{topology.DimFunction: a.Function}),
			threshold: t.IngestServerErrors, evaluations: 3, datapoints: 2,
			description: "Ingestion answers 5xx: clients' events were not accepted (they retry).",
		}, nil
	case topology.AlarmHTTPServerErrors:
		return alarmRule{
			metric: m.api.MetricServerError(&awscloudwatch.MetricOptions{
				Statistic: jsii.String("Sum"), Period: seconds(alarmPeriod), Label: jsii.String("HTTP API 5xx"),
			}),
			threshold: t.HTTPServerErrors, evaluations: 3, datapoints: 2,
			description: "The HTTP API answers 5xx, including requests whose function was throttled or failed before answering.",
		}, nil
	case topology.AlarmFunctionErrors:
		return alarmRule{
			metric:    awsMetric("AWS/Lambda", "Errors", "Sum", a.Function, map[string]string{"FunctionName": a.FunctionName}),
			threshold: t.FunctionErrors, evaluations: 3, datapoints: 2,
			description: fmt.Sprintf("%s invocations fail (crash, timeout or an error returned).", a.FunctionName),
		}, nil
	case topology.AlarmFunctionThrottles:
		return alarmRule{
			metric:    awsMetric("AWS/Lambda", "Throttles", "Sum", a.Function, map[string]string{"FunctionName": a.FunctionName}),
			threshold: t.FunctionThrottles, evaluations: 3, datapoints: 2,
			description: fmt.Sprintf("%s invocations are throttled: its reserved concurrency or the account's is exhausted.", a.FunctionName),
		}, nil
	case topology.AlarmAccountConcurrency:
		return alarmRule{
			metric:    awsMetric("AWS/Lambda", "ConcurrentExecutions", "Maximum", "account concurrent executions", nil),
			threshold: math.Floor(float64(t.AccountConcurrencyLimit) * t.AccountConcurrencyFraction), evaluations: 3, datapoints: 2,
			description: fmt.Sprintf("The account's Lambda concurrent executions near its quota (%d): every function in the account and region will be throttled.", t.AccountConcurrencyLimit),
		}, nil
	case topology.AlarmArchiveWriteFailures:
		return alarmRule{
			metric:    logstreamMetric(topology.MetricArchiveWriteFailures, "Sum", a.Function+" write failures", map[string]string{topology.DimFunction: a.Function}),
			threshold: t.ArchiveWriteFailures, evaluations: 3, datapoints: 2,
			description: fmt.Sprintf("%s fails to write archive objects to S3 (retried; the DLQ keeps what is given up).", a.FunctionName),
		}, nil
	}
	return alarmRule{}, fmt.Errorf("logstream: alarm %s has kind %q, which infra does not know", a.Name, a.Kind)
}

// newAlarms creates every alarm of the spec, each notifying topic (when
// there is one) on alarm and on recovery. Missing data is not breaching:
// every count here is absent when nothing happened (an idle DLQ, a
// function not invoked, a type with no traffic), which is not trouble.
func (m *monitoring) newAlarms(scope constructs.Construct, topic awssns.ITopic) {
	var action awscloudwatch.IAlarmAction
	if topic != nil {
		action = awscloudwatchactions.NewSnsAction(topic)
	}
	for _, a := range m.alarms {
		r := m.rules[a.Name]
		alarm := awscloudwatch.NewAlarm(scope, jsii.String("Alarm"+pascal(strings.TrimPrefix(a.Name, m.spec.Prefix))), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(a.Name),
			AlarmDescription:   jsii.String(r.description + " " + runbook(a.Kind)),
			Metric:             r.metric,
			Threshold:          jsii.Number(r.threshold),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			EvaluationPeriods:  jsii.Number(float64(r.evaluations)),
			DatapointsToAlarm:  jsii.Number(float64(r.datapoints)),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		if action != nil {
			alarm.AddAlarmAction(action)
			alarm.AddOkAction(action)
		}
	}
}

// newAlarmTopic returns the topic the alarms notify: none, a new one, or
// an existing one by ARN.
func newAlarmTopic(scope constructs.Construct, prefix string, t AlarmTopic) (awssns.ITopic, error) {
	switch {
	case t.Create && t.ARN != "":
		return nil, fmt.Errorf("logstream: AlarmTopic: Create and ARN are exclusive")
	case t.Create:
		// Not encrypted: alarm notifications carry alarm names and
		// figures, no customer data, and CloudWatch cannot publish to a
		// topic under the AWS-managed SNS key.
		return awssns.NewTopic(scope, jsii.String("AlarmTopic"), &awssns.TopicProps{
			TopicName:   jsii.String(prefix + "-alarms"),
			DisplayName: jsii.String("logstream " + prefix + " alarms"),
		}), nil
	case t.ARN != "":
		return awssns.Topic_FromTopicArn(scope, jsii.String("AlarmTopic"), jsii.String(t.ARN)), nil
	}
	return nil, nil
}

// newDashboard creates the operations dashboard: one row per area
// (ingestion, delivery per type, lag, DLQs, Lambda, archives), each
// showing its alarms' metrics with their thresholds.
func (m *monitoring) newDashboard(scope constructs.Construct) {
	dash := awscloudwatch.NewDashboard(scope, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName:   jsii.String(m.spec.Prefix),
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(6)),
	})
	for _, row := range m.rows() {
		dash.AddWidgets(row...)
	}
}

// graph is one dashboard graph.
type graph struct {
	title       string
	left, right []awscloudwatch.IMetric
	// annotations on the left (or, with rightAxis, the right) axis.
	annotations []*awscloudwatch.HorizontalAnnotation
	leftLabel   string
	rightLabel  string
}

func (g graph) widget(width int) awscloudwatch.IWidget {
	p := &awscloudwatch.GraphWidgetProps{
		Title:  jsii.String(g.title),
		Width:  jsii.Number(float64(width)),
		Height: jsii.Number(6),
		Period: seconds(alarmPeriod),
		Left:   &g.left,
	}
	if g.leftLabel != "" {
		p.LeftYAxis = &awscloudwatch.YAxisProps{Label: jsii.String(g.leftLabel), Min: jsii.Number(0), ShowUnits: jsii.Bool(false)}
	}
	if len(g.right) > 0 {
		p.Right = &g.right
		p.RightYAxis = &awscloudwatch.YAxisProps{Label: jsii.String(g.rightLabel), Min: jsii.Number(0), ShowUnits: jsii.Bool(false)}
		if len(g.annotations) > 0 {
			p.RightAnnotations = &g.annotations
		}
	} else if len(g.annotations) > 0 {
		p.LeftAnnotations = &g.annotations
	}
	return awscloudwatch.NewGraphWidget(p)
}

func annotation(label string, v float64) *awscloudwatch.HorizontalAnnotation {
	return &awscloudwatch.HorizontalAnnotation{Label: jsii.String(label), Value: jsii.Number(v), Color: jsii.String("#d62728")}
}

// row lays graphs out across the dashboard's 24 columns.
func row(graphs ...graph) []awscloudwatch.IWidget {
	width := max(24/max(len(graphs), 1), 4)
	out := make([]awscloudwatch.IWidget, 0, len(graphs))
	for _, g := range graphs {
		out = append(out, g.widget(width))
	}
	return out
}

// of returns the spec's alarms of kind k.
func (m *monitoring) of(k topology.AlarmKind) []topology.Alarm {
	var out []topology.Alarm
	for _, a := range m.alarms {
		if a.Kind == k {
			out = append(out, a)
		}
	}
	return out
}

// rows are the dashboard's rows, from the same alarm list and metrics as
// the alarms.
func (m *monitoring) rows() [][]awscloudwatch.IWidget {
	t := m.thresholds
	var rows [][]awscloudwatch.IWidget

	// Ingestion: what it takes and what it refuses, its 5xx and the API's.
	var traffic, errors graph
	traffic = graph{title: "Ingest: requests and events", leftLabel: "count"}
	errors = graph{title: "Ingest: 5xx answers", leftLabel: "count"}
	for _, a := range m.of(topology.AlarmIngestServerErrors) {
		dims := map[string]string{topology.DimFunction: a.Function}
		traffic.left = append(traffic.left,
			logstreamMetric(topology.MetricIngestRequests, "Sum", "requests", dims),
			logstreamMetric(topology.MetricEventsAccepted, "Sum", "events accepted", dims),
			logstreamMetric(topology.MetricEventsRefused, "Sum", "events refused", dims))
		errors.left = append(errors.left, m.rules[a.Name].metric)
		errors.annotations = append(errors.annotations, annotation("ingest 5xx alarm", t.IngestServerErrors))
	}
	for _, a := range m.of(topology.AlarmHTTPServerErrors) {
		errors.left = append(errors.left, m.rules[a.Name].metric)
		errors.annotations = append(errors.annotations, annotation("HTTP API 5xx alarm", t.HTTPServerErrors))
	}
	rows = append(rows, row(traffic, errors))

	// Delivery, one graph per destination type: its outcomes, and its
	// error rate on the right axis against the alarm's threshold.
	var delivery []graph
	for _, a := range m.of(topology.AlarmDeliveryErrorRate) {
		dims := deliveryDims(a)
		delivery = append(delivery, graph{
			title:     "Delivery: " + a.DestinationType,
			leftLabel: "events",
			left: []awscloudwatch.IMetric{
				logstreamMetric(topology.MetricEventsDelivered, "Sum", "delivered", dims),
				logstreamMetric(topology.MetricEventsRetried, "Sum", "retried", dims),
				logstreamMetric(topology.MetricEventsParked, "Sum", "parked", dims),
			},
			right:       []awscloudwatch.IMetric{m.rules[a.Name].metric},
			rightLabel:  "error rate",
			annotations: []*awscloudwatch.HorizontalAnnotation{annotation("error rate alarm", t.DeliveryErrorRate)},
		})
	}
	rows = append(rows, row(delivery...))

	// Lag: p99 from enqueue (the alarm's) and from the event's own time.
	enqueue := graph{title: "Delivery lag p99 from enqueue (ms)", leftLabel: "ms",
		annotations: []*awscloudwatch.HorizontalAnnotation{annotation("lag alarm", float64(t.DeliveryLagP99.Milliseconds()))}}
	stamp := graph{title: "Delivery lag p99 from event timestamp (ms)", leftLabel: "ms"}
	for _, a := range m.of(topology.AlarmDeliveryLag) {
		enqueue.left = append(enqueue.left, m.rules[a.Name].metric)
		stamp.left = append(stamp.left, logstreamMetric(topology.MetricLagFromTimestamp, "p99", a.DestinationType, deliveryDims(a)))
	}
	rows = append(rows, row(enqueue, stamp))

	// DLQs: depth and oldest age, each against both thresholds (the
	// drained DLQs' and the others').
	depth := graph{title: "DLQ depth (messages)", leftLabel: "messages"}
	age := graph{title: "DLQ oldest message age (s)", leftLabel: "seconds"}
	for _, a := range m.of(topology.AlarmDLQDepth) {
		depth.left = append(depth.left, m.rules[a.Name].metric)
	}
	for _, a := range m.of(topology.AlarmDLQAge) {
		age.left = append(age.left, m.rules[a.Name].metric)
	}
	depth.annotations = []*awscloudwatch.HorizontalAnnotation{annotation("undrained DLQ alarm", t.DLQDepth), annotation("drained DLQ alarm", t.DrainedDLQDepth)}
	age.annotations = []*awscloudwatch.HorizontalAnnotation{annotation("undrained DLQ alarm", t.DLQAge.Seconds()), annotation("drained DLQ alarm", t.DrainedDLQAge.Seconds())}
	rows = append(rows, row(depth, age))

	// Lambda: every function's errors and throttles, and the account's
	// concurrency against its quota.
	errs := graph{title: "Lambda errors", leftLabel: "invocations",
		annotations: []*awscloudwatch.HorizontalAnnotation{annotation("errors alarm", t.FunctionErrors)}}
	throttles := graph{title: "Lambda throttles", leftLabel: "invocations",
		annotations: []*awscloudwatch.HorizontalAnnotation{annotation("throttles alarm", t.FunctionThrottles)}}
	concurrency := graph{title: "Account concurrent executions", leftLabel: "executions"}
	for _, a := range m.of(topology.AlarmFunctionErrors) {
		errs.left = append(errs.left, m.rules[a.Name].metric)
	}
	for _, a := range m.of(topology.AlarmFunctionThrottles) {
		throttles.left = append(throttles.left, m.rules[a.Name].metric)
	}
	for _, a := range m.of(topology.AlarmAccountConcurrency) {
		r := m.rules[a.Name]
		concurrency.left = append(concurrency.left, r.metric)
		concurrency.annotations = append(concurrency.annotations,
			annotation("concurrency alarm", r.threshold), annotation("account quota", float64(t.AccountConcurrencyLimit)))
	}
	rows = append(rows, row(errs, throttles, concurrency))

	// Archives: objects written and failed writes per archiver.
	written := graph{title: "Archive objects written", leftLabel: "objects"}
	failed := graph{title: "Archive write failures", leftLabel: "writes",
		annotations: []*awscloudwatch.HorizontalAnnotation{annotation("write failures alarm", t.ArchiveWriteFailures)}}
	for _, a := range m.of(topology.AlarmArchiveWriteFailures) {
		written.left = append(written.left, logstreamMetric(topology.MetricArchiveObjectsWritten, "Sum", a.Function, map[string]string{topology.DimFunction: a.Function}))
		failed.left = append(failed.left, m.rules[a.Name].metric)
	}
	rows = append(rows, row(written, failed))
	return rows
}

// parseAlarmThresholds reads thresholds written as
// "DLQDepth=5,DeliveryLagP99=10m,AccountConcurrencyLimit=3000": field names
// of AlarmThresholds, durations as Go writes them, numbers as decimals.
// Fields left out stay zero (their defaults).
func parseAlarmThresholds(s string) (AlarmThresholds, error) {
	var t AlarmThresholds
	v := reflect.ValueOf(&t).Elem()
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, value, ok := strings.Cut(item, "=")
		if !ok {
			return t, fmt.Errorf("alarm threshold %q is not NAME=VALUE", item)
		}
		f := v.FieldByName(strings.TrimSpace(name))
		if !f.IsValid() {
			return t, fmt.Errorf("alarm threshold %q: no such threshold", name)
		}
		value = strings.TrimSpace(value)
		var err error
		switch f.Interface().(type) {
		case time.Duration:
			var d time.Duration
			d, err = time.ParseDuration(value)
			f.SetInt(int64(d))
		case float64:
			var x float64
			x, err = strconv.ParseFloat(value, 64)
			f.SetFloat(x)
		case int:
			var n int
			n, err = strconv.Atoi(value)
			f.SetInt(int64(n))
		}
		if err != nil {
			return t, fmt.Errorf("alarm threshold %s=%q: %w", name, value, err)
		}
	}
	return t, nil
}

// parseAlarmTopic reads where the alarms notify: "" nowhere, "create" a
// new topic, or an SNS topic's ARN.
func parseAlarmTopic(s string) (AlarmTopic, error) {
	switch {
	case s == "":
		return AlarmTopic{}, nil
	case s == "create":
		return AlarmTopic{Create: true}, nil
	case strings.HasPrefix(s, "arn:") && strings.Contains(s, ":sns:"):
		return AlarmTopic{ARN: s}, nil
	}
	return AlarmTopic{}, fmt.Errorf("alarm topic %q is neither \"create\" nor an SNS topic ARN", s)
}
