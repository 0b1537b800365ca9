package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/topology"
)

// queuePair is a queue and its dead-letter queue: a destination type's
// delivery queue, the archive queue (topology.ArchiveQueue) or the bridge
// queue (topology.BridgeQueue), which share their shape.
type queuePair struct {
	Queue awssqs.Queue
	DLQ   awssqs.Queue
}

// isDeliveryQueue reports whether the spec queue of this Destination is a
// destination type's delivery queue, as opposed to the archive queue. The
// grants ask it positively (a declared destination type), so a queue added
// later gets none of the delivery queues' senders by default.
func isDeliveryQueue(dest string) bool {
	_, ok := destination.KindOf(dest)
	return ok
}

// queueID is the construct ID (and output name) stem of a spec queue:
// "DeliverHttp" for a delivery queue, "EventArchive" for the archive queue,
// "LokiBridge" for the bridge queue.
func queueID(dest string) string {
	switch dest {
	case topology.ArchiveQueue:
		return "EventArchive"
	case topology.BridgeQueue:
		return "LokiBridge"
	}
	return pascal("deliver-" + dest)
}

// newQueuePair creates q's DLQ and queue, both encrypted with SQS-managed
// keys (no KMS grants needed) and refusing non-TLS requests.
func newQueuePair(scope constructs.Construct, q topology.Queue) queuePair {
	id := queueID(q.Destination)
	dlq := awssqs.NewQueue(scope, jsii.String(id+"DLQ"), &awssqs.QueueProps{
		QueueName:       jsii.String(q.DLQName),
		RetentionPeriod: seconds(q.DLQRetention),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
	})
	queue := awssqs.NewQueue(scope, jsii.String(id+"Queue"), &awssqs.QueueProps{
		QueueName:         jsii.String(q.Name),
		VisibilityTimeout: seconds(q.VisibilityTimeout),
		RetentionPeriod:   seconds(q.Retention),
		DeadLetterQueue: &awssqs.DeadLetterQueue{
			MaxReceiveCount: jsii.Number(float64(q.MaxReceiveCount)),
			Queue:           dlq,
		},
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL: jsii.Bool(true),
	})
	return queuePair{Queue: queue, DLQ: dlq}
}
