package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/shared/stream"
)

const circuitPrefix = "CIRCUIT#"

// circuitTTL is how long a circuit item outlives its last open period or
// probe: DynamoDB's TTL then removes the circuits of streams that stopped
// failing long ago, or were deleted.
const circuitTTL = 24 * time.Hour

// batchGetMax is BatchGetItem's limit: 100 keys per call.
const batchGetMax = 100

// CircuitsAPI is the part of the DynamoDB client Circuits uses: the reads
// and conditional updates a delivery function is granted, no PutItem.
type CircuitsAPI interface {
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Circuits keeps the streams' circuit breakers where every container of a
// delivery function sees them (deliver.Circuits). Only streams that failed
// have an item; see doc.go for its shape.
type Circuits struct {
	Client CircuitsAPI
	Table  string
	// Now is the clock for the items' expiry (default time.Now).
	Now func() time.Time
}

type circuitItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	Version    int    `dynamodbav:"version"`
	Failures   int    `dynamodbav:"failures"`
	Timeouts   int    `dynamodbav:"timeouts"`
	Reason     string `dynamodbav:"reason"`
	OpenUntil  string `dynamodbav:"open_until"`
	ProbeUntil string `dynamodbav:"probe_until"`
}

func circuitKey(k [2]string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: projectPrefix + k[0]},
		"sk": &types.AttributeValueMemberS{Value: circuitPrefix + k[1]},
	}
}

// Load reads the streams' circuits with strongly consistent reads, 100 per
// BatchGetItem, and reads again what DynamoDB left unprocessed.
func (c *Circuits) Load(ctx context.Context, keys [][2]string) (map[[2]string]stream.Circuit, error) {
	out := make(map[[2]string]stream.Circuit, len(keys))
	for start := 0; start < len(keys); start += batchGetMax {
		var req []map[string]types.AttributeValue
		for _, k := range keys[start:min(start+batchGetMax, len(keys))] {
			req = append(req, circuitKey(k))
		}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt == 4 {
				return nil, errors.New("load circuits: keys still unprocessed after 4 attempts")
			}
			res, err := c.Client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				c.Table: {Keys: req, ConsistentRead: aws.Bool(true)},
			}})
			if err != nil {
				return nil, fmt.Errorf("load circuits: %w", err)
			}
			for _, item := range res.Responses[c.Table] {
				var it circuitItem
				if err := attributevalue.UnmarshalMap(item, &it); err != nil {
					return nil, fmt.Errorf("decode circuit: %w", err)
				}
				k, cir := it.circuit()
				out[k] = cir
			}
			req = res.UnprocessedKeys[c.Table].Keys
		}
	}
	return out, nil
}

func (it circuitItem) circuit() ([2]string, stream.Circuit) {
	k := [2]string{it.PK[len(projectPrefix):], it.SK[len(circuitPrefix):]}
	cir := stream.Circuit{Version: it.Version, Failures: it.Failures, Timeouts: it.Timeouts, Reason: it.Reason}
	cir.OpenUntil, _ = time.Parse(time.RFC3339Nano, it.OpenUntil)
	cir.ProbeUntil, _ = time.Parse(time.RFC3339Nano, it.ProbeUntil)
	return k, cir
}

// Swap writes next at old.Version+1 with one conditional UpdateItem: if the
// item does not exist when old.Version is 0, else if its version is still
// old.Version. A failed condition is another container's write: false.
func (c *Circuits) Swap(ctx context.Context, key [2]string, old, next stream.Circuit) (bool, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	expires := now()
	for _, at := range []time.Time{next.OpenUntil, next.ProbeUntil} {
		if at.After(expires) {
			expires = at
		}
	}
	expires = expires.Add(circuitTTL)
	reason := next.Reason
	if len(reason) > maxErrorLength {
		reason = reason[:maxErrorLength]
	}
	vals := map[string]types.AttributeValue{
		":next": &types.AttributeValueMemberN{Value: strconv.Itoa(old.Version + 1)},
		":f":    &types.AttributeValueMemberN{Value: strconv.Itoa(next.Failures)},
		":t":    &types.AttributeValueMemberN{Value: strconv.Itoa(next.Timeouts)},
		":r":    &types.AttributeValueMemberS{Value: reason},
		":exp":  &types.AttributeValueMemberN{Value: strconv.FormatInt(expires.Unix(), 10)},
	}
	set := "SET version = :next, failures = :f, timeouts = :t, reason = :r, expires_at = :exp"
	var remove []string
	for _, a := range []struct {
		name string
		at   time.Time
	}{{"open_until", next.OpenUntil}, {"probe_until", next.ProbeUntil}} {
		name, at := a.name, a.at
		if at.IsZero() {
			remove = append(remove, name)
			continue
		}
		vals[":"+name] = &types.AttributeValueMemberS{Value: at.UTC().Format(time.RFC3339Nano)}
		set += ", " + name + " = :" + name
	}
	update := set
	if len(remove) > 0 {
		update += " REMOVE " + remove[0]
		for _, r := range remove[1:] {
			update += ", " + r
		}
	}
	cond := "attribute_not_exists(pk)"
	if old.Version > 0 {
		cond = "version = :old"
		vals[":old"] = &types.AttributeValueMemberN{Value: strconv.Itoa(old.Version)}
	}
	_, err := c.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(c.Table), Key: circuitKey(key),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ExpressionAttributeValues: vals,
	})
	var cfe *types.ConditionalCheckFailedException
	if errors.As(err, &cfe) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("write circuit of stream %s: %w", key[1], err)
	}
	return true, nil
}
