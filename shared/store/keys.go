package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/shared/apikey"
)

// Keys keeps API keys in the streams table, one item per key under its own
// partition (see doc.go), so authentication is one GetItem by the id derived
// from the presented key.
type Keys struct {
	Client DynamoDBAPI
	Table  string
}

var _ apikey.Store = (*Keys)(nil)

const (
	keyPrefix = "APIKEY#"
	keySK     = "APIKEY"
)

// keyItem is a key as stored.
type keyItem struct {
	PK        string   `dynamodbav:"pk"`
	SK        string   `dynamodbav:"sk"`
	ID        string   `dynamodbav:"id"`
	Name      string   `dynamodbav:"name"`
	Hash      string   `dynamodbav:"hash"`
	Projects  []string `dynamodbav:"projects"`
	Access    string   `dynamodbav:"access"`
	Admin     bool     `dynamodbav:"admin"`
	CreatedAt string   `dynamodbav:"created_at"`
	RevokedAt string   `dynamodbav:"revoked_at,omitempty"`
	LastFour  string   `dynamodbav:"last_four"`
}

func keyKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: keyPrefix + id},
		"sk": &types.AttributeValueMemberS{Value: keySK},
	}
}

func toKeyItem(k apikey.Key) keyItem {
	it := keyItem{
		PK: keyPrefix + k.ID, SK: keySK, ID: k.ID, Name: k.Name, Hash: k.Hash, Projects: k.Projects,
		Access: string(k.Access), Admin: k.Admin, CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339Nano), LastFour: k.LastFour,
	}
	if k.RevokedAt != nil {
		it.RevokedAt = k.RevokedAt.UTC().Format(time.RFC3339Nano)
	}
	return it
}

func fromKeyItem(av map[string]types.AttributeValue) (apikey.Key, error) {
	var it keyItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return apikey.Key{}, fmt.Errorf("decode api key item: %w", err)
	}
	k := apikey.Key{
		ID: it.ID, Name: it.Name, Projects: it.Projects, Access: apikey.Access(it.Access), Admin: it.Admin,
		LastFour: it.LastFour, Hash: it.Hash,
	}
	var err error
	if k.CreatedAt, err = time.Parse(time.RFC3339Nano, it.CreatedAt); err != nil {
		return apikey.Key{}, fmt.Errorf("decode api key %s created_at: %w", it.ID, err)
	}
	if it.RevokedAt != "" {
		revoked, err := time.Parse(time.RFC3339Nano, it.RevokedAt)
		if err != nil {
			return apikey.Key{}, fmt.Errorf("decode api key %s revoked_at: %w", it.ID, err)
		}
		k.RevokedAt = &revoked
	}
	return k, nil
}

// Create stores a new key; it fails rather than overwrite an existing id.
func (s *Keys) Create(ctx context.Context, k apikey.Key) error {
	if !apikey.ValidID(k.ID) || k.Hash == "" {
		return fmt.Errorf("create api key %q: not a key Generate made", k.ID)
	}
	av, err := attributevalue.MarshalMap(toKeyItem(k))
	if err != nil {
		return fmt.Errorf("encode api key %s: %w", k.ID, err)
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.Table),
		Item:                av,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil {
		return fmt.Errorf("put api key %s: %w", k.ID, err)
	}
	return nil
}

// Get returns one key, revoked or not, or apikey.ErrNotFound. A malformed id
// is apikey.ErrNotFound without a read.
func (s *Keys) Get(ctx context.Context, id string) (apikey.Key, error) {
	if !apikey.ValidID(id) {
		return apikey.Key{}, apikey.ErrNotFound
	}
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table),
		Key:       keyKey(id),
		// A strongly consistent read, so a key works as soon as Create
		// returns and a revocation applies as soon as Revoke returns
		// (up to the Authenticator's cache TTL).
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return apikey.Key{}, fmt.Errorf("get api key %s: %w", id, err)
	}
	if len(out.Item) == 0 {
		return apikey.Key{}, apikey.ErrNotFound
	}
	return fromKeyItem(out.Item)
}

// List returns every key, revoked ones included, oldest first. It scans the
// whole table (streams too), which is acceptable only because listing keys is
// an admin operation on a small table; authentication never lists.
func (s *Keys) List(ctx context.Context) ([]apikey.Key, error) {
	p := dynamodb.NewScanPaginator(s.Client, &dynamodb.ScanInput{
		TableName:                 aws.String(s.Table),
		FilterExpression:          aws.String("sk = :sk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":sk": &types.AttributeValueMemberS{Value: keySK}},
		ConsistentRead:            aws.Bool(true),
	})
	var keys []apikey.Key
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan api keys: %w", err)
		}
		for _, av := range out.Items {
			k, err := fromKeyItem(av)
			if err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b apikey.Key) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return keys, nil
}

// Revoke marks a key revoked and returns it, or returns apikey.ErrNotFound.
// Revoking a revoked key succeeds and keeps the first revocation time.
func (s *Keys) Revoke(ctx context.Context, id string, now time.Time) (apikey.Key, error) {
	if !apikey.ValidID(id) {
		return apikey.Key{}, apikey.ErrNotFound
	}
	out, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.Table),
		Key:                 keyKey(id),
		UpdateExpression:    aws.String("SET revoked_at = if_not_exists(revoked_at, :now)"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	var cfe *types.ConditionalCheckFailedException
	if errors.As(err, &cfe) {
		return apikey.Key{}, apikey.ErrNotFound
	}
	if err != nil {
		return apikey.Key{}, fmt.Errorf("revoke api key %s: %w", id, err)
	}
	return fromKeyItem(out.Attributes)
}
