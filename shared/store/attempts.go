package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/shared/topology"
)

// attemptSK is the sort key of every idempotency item: the partition alone
// names the project and the key.
const attemptSK = "IDEMPOTENCY"

// AttemptsAPI is the part of the DynamoDB client Attempts uses: ingestion
// reads a key and writes it whole, nothing else.
type AttemptsAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// Attempts keeps what ingest requests with an Idempotency-Key did; see
// doc.go for the item. It speaks its own Attempt, not ingest's, so that the
// functions which link the store and do not ingest do not link ingestion
// (shared/app/ingestfn converts).
type Attempts struct {
	Client AttemptsAPI
	Table  string
}

// Attempt is ingest.Attempt as stored: the body's hash, the first attempt's
// time and expiry, the marks of the messages enqueued per stream, and the
// answer of a completed request.
type Attempt struct {
	BodyHash                              string
	StartedAt, ExpiresAt                  time.Time
	Sent                                  map[string][]string
	Done                                  bool
	Accepted, Streams, Messages, Filtered int
}

type attemptItem struct {
	PK        string              `dynamodbav:"pk"`
	SK        string              `dynamodbav:"sk"`
	BodyHash  string              `dynamodbav:"body_hash"`
	StartedAt string              `dynamodbav:"started_at"`
	ExpiresAt int64               `dynamodbav:"expires_at"` // topology.TableTTLAttribute
	Sent      map[string][]string `dynamodbav:"sent"`
	Done      bool                `dynamodbav:"done"`
	Accepted  int                 `dynamodbav:"accepted"`
	Streams   int                 `dynamodbav:"streams"`
	Messages  int                 `dynamodbav:"messages"`
	Filtered  int                 `dynamodbav:"filtered"`
}

// attemptKey is the item's key. Neither a project id nor a valid key holds
// "#", so the partition names exactly one pair.
func attemptKey(projectID, key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: topology.IdempotencyKeyPrefix + projectID + "#" + key},
		"sk": &types.AttributeValueMemberS{Value: attemptSK},
	}
}

// Get reads the key's attempt, strongly consistent: a retry right after a
// failed attempt must see what that attempt enqueued.
func (s *Attempts) Get(ctx context.Context, projectID, key string) (Attempt, bool, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: attemptKey(projectID, key), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Attempt{}, false, fmt.Errorf("get idempotency key: %w", err)
	}
	if out.Item == nil {
		return Attempt{}, false, nil
	}
	var it attemptItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return Attempt{}, false, fmt.Errorf("decode idempotency key: %w", err)
	}
	started, err := time.Parse(time.RFC3339Nano, it.StartedAt)
	if err != nil {
		return Attempt{}, false, fmt.Errorf("decode idempotency key: started_at: %w", err)
	}
	return Attempt{
		BodyHash: it.BodyHash, StartedAt: started, ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC(), Sent: it.Sent, Done: it.Done,
		Accepted: it.Accepted, Streams: it.Streams, Messages: it.Messages, Filtered: it.Filtered,
	}, true, nil
}

// Put writes the attempt whole, with one unconditional PutItem: the last
// attempt to finish holds everything enqueued so far, as it started from
// what the one before it recorded.
func (s *Attempts) Put(ctx context.Context, projectID, key string, a Attempt) error {
	it := attemptItem{
		BodyHash: a.BodyHash, StartedAt: a.StartedAt.UTC().Format(time.RFC3339Nano),
		// Rounded up: DynamoDB's TTL takes whole seconds, and must not drop
		// the key before ingestion stops honouring it.
		ExpiresAt: a.ExpiresAt.Add(time.Second - time.Nanosecond).Unix(),
		Sent:      a.Sent, Done: a.Done, Accepted: a.Accepted, Streams: a.Streams, Messages: a.Messages, Filtered: a.Filtered,
	}
	if it.Sent == nil {
		it.Sent = map[string][]string{}
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encode idempotency key: %w", err)
	}
	for k, v := range attemptKey(projectID, key) {
		item[k] = v
	}
	if _, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item}); err != nil {
		return fmt.Errorf("put idempotency key: %w", err)
	}
	return nil
}
