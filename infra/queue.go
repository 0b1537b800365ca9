package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/logstream/logstream/shared/topology"
)

// deliveryQueue is a destination type's delivery queue and its dead-letter queue.
type deliveryQueue struct {
	Queue awssqs.Queue
	DLQ   awssqs.Queue
}

// newDeliveryQueue creates q's DLQ and delivery queue, both encrypted with
// SQS-managed keys (no KMS grants needed) and refusing non-TLS requests.
func newDeliveryQueue(scope constructs.Construct, q topology.Queue) deliveryQueue {
	id := pascal("deliver-" + q.Destination)
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
	return deliveryQueue{Queue: queue, DLQ: dlq}
}
