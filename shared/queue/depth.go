package queue

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// DepthAPI is the part of the SQS client Depths uses.
type DepthAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Depths reads how many messages sit in a queue, as SQS counts them now.
type Depths struct {
	Client DepthAPI
}

// depthAttributes are the counts Depth reads, in its answer's order.
var depthAttributes = []types.QueueAttributeName{
	types.QueueAttributeNameApproximateNumberOfMessages,
	types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
}

// Depth answers the queue's approximate counts of messages: visible (ready
// to receive), in flight (received and not yet deleted, or hidden by a
// delayed retry) and delayed (sent with a delay not yet over). SQS's counts
// are approximate and lag by up to a minute.
func (d *Depths) Depth(ctx context.Context, queueURL string) (visible, inFlight, delayed int64, err error) {
	out, err := d.Client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL), AttributeNames: depthAttributes})
	if err != nil {
		return 0, 0, 0, fmt.Errorf("GetQueueAttributes %s: %w", queueURL, err)
	}
	var n [3]int64
	for i, a := range depthAttributes {
		v, ok := out.Attributes[string(a)]
		if !ok {
			continue // an attribute SQS leaves out counts nothing
		}
		if n[i], err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0, 0, 0, fmt.Errorf("GetQueueAttributes %s: %s is %q: %w", queueURL, a, v, err)
		}
	}
	return n[0], n[1], n[2], nil
}
