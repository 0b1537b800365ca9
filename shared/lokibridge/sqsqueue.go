package lokibridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// sqsAPI is the part of the SQS client the queue uses.
type sqsAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// SQSQueue is the Queue on an SQS queue: the bridge's own, which only the
// Loki archiver reads. Its client keeps the SDK's standard retryer (three
// attempts before the push is answered 503), and skips one check: the MD5
// of the body SQS echoes back, which took 6 % of a small push's CPU
// (docs/performance.md). TLS already authenticates every byte between the
// client and SQS (the queue's policy refuses anything else), so the echo
// can only catch a fault inside SQS; and the archiver decodes every
// message strictly (JSON, base64, the Snappy length, the record count),
// parking in the DLQ, never archiving, one it cannot read.
type SQSQueue struct {
	url    string
	client sqsAPI
}

var _ Queue = (*SQSQueue)(nil)

// NewSQSQueue returns the queue at url, with a client built from cfg: its
// endpoint comes from AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL as the SDK
// resolves them.
func NewSQSQueue(cfg aws.Config, url string) (*SQSQueue, error) {
	if url == "" {
		return nil, errors.New("sqs queue: no queue URL")
	}
	return &SQSQueue{url: url, client: sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.DisableMessageChecksumValidation = true })}, nil
}

// Enqueue sends one message. A retry after an error may leave the push in
// the queue twice; the archiver writes it once per batch it finds it in
// (at-least-once, docs/cost.md).
func (q *SQSQueue) Enqueue(ctx context.Context, body string) error {
	if _, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(body)}); err != nil {
		return fmt.Errorf("send to %s: %w", q.url, err)
	}
	return nil
}
