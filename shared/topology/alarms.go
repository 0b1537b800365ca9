package topology

// AlarmKind is what an alarm watches. The CDK stack maps each kind to its
// CloudWatch metric, statistic and threshold (infra/alarms.go); the runbook
// (docs/operations.md) has a section for each.
type AlarmKind string

// The kinds of alarm, each with the subject it is declared for.
const (
	// AlarmDLQDepth and AlarmDLQAge watch a dead-letter queue (every
	// queue's): how many messages it holds and how old its oldest is.
	AlarmDLQDepth AlarmKind = "dlq-depth"
	AlarmDLQAge   AlarmKind = "dlq-age"
	// AlarmDeliveryErrorRate and AlarmDeliveryLag watch a destination
	// type's delivery function: the share of its events retried or parked,
	// and the p99 of its events' time from enqueue to delivery.
	AlarmDeliveryErrorRate AlarmKind = "delivery-error-rate"
	AlarmDeliveryLag       AlarmKind = "delivery-lag"
	// AlarmIngestServerErrors watches ingestion's own 5xx answers
	// (MetricIngestServerErrors); AlarmHTTPServerErrors API Gateway's for the
	// whole HTTP API, which also counts what never reached a function
	// (a throttled or failed invocation).
	AlarmIngestServerErrors AlarmKind = "ingest-5xx"
	AlarmHTTPServerErrors   AlarmKind = "http-5xx"
	// AlarmFunctionErrors and AlarmFunctionThrottles watch one function's
	// failed and throttled invocations (every function's).
	AlarmFunctionErrors    AlarmKind = "function-errors"
	AlarmFunctionThrottles AlarmKind = "function-throttles"
	// AlarmAccountConcurrency watches the account's concurrent executions,
	// which every function in the account and region shares.
	AlarmAccountConcurrency AlarmKind = "account-concurrency"
	// AlarmArchiveWriteFailures watches an archiver's failed object writes
	// (MetricArchiveWriteFailures).
	AlarmArchiveWriteFailures AlarmKind = "archive-write-failures"
)

// Alarm is one alarm the deployment keeps: its name, its kind and its
// subject (the fields its kind uses; the others are empty).
type Alarm struct {
	// Name is the CloudWatch alarm name, led by the spec's prefix so two
	// deployments in one account and region never share one.
	Name string
	Kind AlarmKind
	// DLQ is the dead-letter queue's name (AWS/SQS QueueName) and Queue the
	// Queue.Destination it belongs to (dlq-*).
	DLQ   string
	Queue string
	// Drained says the dead-letter function moves this DLQ's messages into
	// the dead-letter store on every tick, so a message is expected there
	// for about a minute and only a backlog means trouble; nothing drains
	// the others, so a single message there is one to act on (dlq-*).
	Drained bool
	// Function is the function's ID (DimFunction) and FunctionName its
	// physical name (AWS/Lambda FunctionName): function-*, delivery-*,
	// ingest-5xx, archive-write-failures.
	Function     string
	FunctionName string
	// DestinationType is the delivery function's type (DimDestinationType):
	// delivery-*.
	DestinationType string
}

// Alarms lists the alarms of the deployed shape, derived from its queues
// and functions: a new destination type, queue or function gets its alarms
// without any change here or in infra. Ordered by area (ingestion, delivery,
// DLQs, functions, archives), then by the spec's order.
func (s Spec) Alarms() []Alarm {
	var out []Alarm
	for _, f := range s.Functions {
		if f.Role == RoleIngest {
			out = append(out, Alarm{Name: f.Name + "-5xx", Kind: AlarmIngestServerErrors, Function: f.ID, FunctionName: f.Name})
		}
	}
	if len(s.Routes) > 0 {
		out = append(out, Alarm{Name: s.Prefix + "-http-api-5xx", Kind: AlarmHTTPServerErrors})
	}
	for _, f := range s.Functions {
		if f.Role != RoleDeliver || f.Source == nil {
			continue
		}
		d := f.Source.Destination
		out = append(out,
			Alarm{Name: f.Name + "-error-rate", Kind: AlarmDeliveryErrorRate, Function: f.ID, FunctionName: f.Name, DestinationType: d},
			Alarm{Name: f.Name + "-lag-p99", Kind: AlarmDeliveryLag, Function: f.ID, FunctionName: f.Name, DestinationType: d})
	}
	drained := s.drainedDLQs()
	for _, q := range s.Queues {
		out = append(out,
			Alarm{Name: q.DLQName + "-depth", Kind: AlarmDLQDepth, DLQ: q.DLQName, Queue: q.Destination, Drained: drained[q.Destination]},
			Alarm{Name: q.DLQName + "-age", Kind: AlarmDLQAge, DLQ: q.DLQName, Queue: q.Destination, Drained: drained[q.Destination]})
	}
	for _, f := range s.Functions {
		out = append(out,
			Alarm{Name: f.Name + "-errors", Kind: AlarmFunctionErrors, Function: f.ID, FunctionName: f.Name},
			Alarm{Name: f.Name + "-throttles", Kind: AlarmFunctionThrottles, Function: f.ID, FunctionName: f.Name})
	}
	out = append(out, Alarm{Name: s.Prefix + "-account-concurrency", Kind: AlarmAccountConcurrency})
	for _, f := range s.Functions {
		if f.Role == RoleArchiver || f.Role == RoleLokiArchiver {
			out = append(out, Alarm{Name: f.Name + "-write-failures", Kind: AlarmArchiveWriteFailures, Function: f.ID, FunctionName: f.Name})
		}
	}
	return out
}

// drainedDLQs are the queues (by Destination) whose DLQ the dead-letter
// function drains: those whose DLQ URL it is given.
func (s Spec) drainedDLQs() map[string]bool {
	out := map[string]bool{}
	for _, f := range s.Functions {
		if f.Role != RoleDeadLetters {
			continue
		}
		for _, e := range f.Env {
			if e.Ref == RefDLQURL {
				out[e.Queue] = true
			}
		}
	}
	return out
}
