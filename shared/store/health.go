package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/shared/stream"
)

const healthPrefix = "HEALTH#"

// maxErrorLength bounds the last error kept for the health view.
const maxErrorLength = 512

type healthItem struct {
	DeliveredEvents int64  `dynamodbav:"delivered_events"`
	FailedEvents    int64  `dynamodbav:"failed_events"`
	LastSuccessAt   string `dynamodbav:"last_success_at"`
	LastError       string `dynamodbav:"last_error"`
	LastErrorAt     string `dynamodbav:"last_error_at"`
}

func healthKey(projectID, streamID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: projectPrefix + projectID},
		"sk": &types.AttributeValueMemberS{Value: healthPrefix + streamID},
	}
}

// RecordDelivery counts events a destination accepted. One atomic UpdateItem
// (ADD), so concurrent delivery invocations never lose a count.
func (s *Streams) RecordDelivery(ctx context.Context, projectID, streamID string, events int, at time.Time) error {
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.Table),
		Key:              healthKey(projectID, streamID),
		UpdateExpression: aws.String("ADD delivered_events :n SET last_success_at = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n": &types.AttributeValueMemberN{Value: strconv.Itoa(events)},
			":t": &types.AttributeValueMemberS{Value: at.UTC().Format(time.RFC3339Nano)},
		},
	})
	if err != nil {
		return fmt.Errorf("record delivery of stream %s: %w", streamID, err)
	}
	return nil
}

// RecordFailure counts events a destination did not accept, with the reason.
func (s *Streams) RecordFailure(ctx context.Context, projectID, streamID string, events int, reason string, at time.Time) error {
	if len(reason) > maxErrorLength {
		reason = reason[:maxErrorLength]
	}
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.Table),
		Key:              healthKey(projectID, streamID),
		UpdateExpression: aws.String("ADD failed_events :n SET last_error = :e, last_error_at = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n": &types.AttributeValueMemberN{Value: strconv.Itoa(events)},
			":e": &types.AttributeValueMemberS{Value: reason},
			":t": &types.AttributeValueMemberS{Value: at.UTC().Format(time.RFC3339Nano)},
		},
	})
	if err != nil {
		return fmt.Errorf("record failure of stream %s: %w", streamID, err)
	}
	return nil
}

// Health returns a stream's delivery record (zero when nothing was delivered yet).
func (s *Streams) Health(ctx context.Context, projectID, streamID string) (stream.Health, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: healthKey(projectID, streamID)})
	if err != nil {
		return stream.Health{}, fmt.Errorf("get health of stream %s: %w", streamID, err)
	}
	var it healthItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return stream.Health{}, fmt.Errorf("decode health of stream %s: %w", streamID, err)
	}
	h := stream.Health{DeliveredEvents: it.DeliveredEvents, FailedEvents: it.FailedEvents}
	if t, err := time.Parse(time.RFC3339Nano, it.LastSuccessAt); err == nil {
		h.LastSuccessAt = &t
	}
	if t, err := time.Parse(time.RFC3339Nano, it.LastErrorAt); err == nil {
		h.LastErrorAt = &t
		h.LastError = &it.LastError
	}
	return h, nil
}
