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
// attempts before the push is answered 503) and its MD5 check of the body
// SQS received: a mismatch is an error, and so a 503 the client retries,
// rather than a message the archiver would find damaged and park.
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
	return &SQSQueue{url: url, client: sqs.NewFromConfig(cfg)}, nil
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
