package store_test

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/localstack/standin/table"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/topology"
)

// An idempotency key round-trips whole, per project, in its own partition
// (what ingestion's write permission is limited to) with the table's TTL
// attribute set no earlier than the key's expiry; a later Put replaces it.
func TestAttemptsRoundTrip(t *testing.T) {
	cfg, tableName := table.New(t)
	client := dynamodb.NewFromConfig(cfg)
	a := &store.Attempts{Client: client, Table: tableName}
	ctx := context.Background()
	const key = "0190c0ff-ee00-7000-8000-000000000001"

	if _, found, err := a.Get(ctx, "proj_1", key); err != nil || found {
		t.Fatalf("Get before Put: found %v, %v", found, err)
	}
	started := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)
	first := store.Attempt{BodyHash: strings.Repeat("ab", 32), StartedAt: started, ExpiresAt: started.Add(24 * time.Hour),
		Sent: map[string][]string{"str_a": {"0:0011223344556677", "1:8899aabbccddeeff"}, "str_b": {}}}
	if err := a.Put(ctx, "proj_1", key, first); err != nil {
		t.Fatal(err)
	}
	got, found, err := a.Get(ctx, "proj_1", key)
	if err != nil || !found {
		t.Fatalf("Get after Put: found %v, %v", found, err)
	}
	// DynamoDB's TTL takes whole seconds: the stored expiry is rounded up.
	if want := first; !got.StartedAt.Equal(want.StartedAt) || got.ExpiresAt.Before(want.ExpiresAt) ||
		got.ExpiresAt.Sub(want.ExpiresAt) >= time.Second || got.BodyHash != want.BodyHash || !reflect.DeepEqual(got.Sent, want.Sent) || got.Done {
		t.Errorf("Get = %+v, want %+v", got, want)
	}
	if _, found, _ := a.Get(ctx, "proj_2", key); found {
		t.Error("another project sees the key")
	}

	done := first
	done.Sent = map[string][]string{"str_a": {"0:0011223344556677", "1:8899aabbccddeeff"}, "str_b": {"0:ffeeddccbbaa9988"}}
	done.Done, done.Accepted, done.Streams, done.Messages, done.Filtered = true, 3, 2, 3, 1
	if err := a.Put(ctx, "proj_1", key, done); err != nil {
		t.Fatal(err)
	}
	got, _, err = a.Get(ctx, "proj_1", key)
	if err != nil || !got.Done || got.Accepted != 3 || got.Streams != 2 || got.Messages != 3 || got.Filtered != 1 || !reflect.DeepEqual(got.Sent, done.Sent) {
		t.Errorf("after the second Put: %+v, %v", got, err)
	}

	raw, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tableName), ConsistentRead: aws.Bool(true), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: topology.IdempotencyKeyPrefix + "proj_1#" + key},
		"sk": &types.AttributeValueMemberS{Value: "IDEMPOTENCY"},
	}})
	if err != nil || raw.Item == nil {
		t.Fatalf("the item is not at its documented key: %v", err)
	}
	exp, ok := raw.Item[topology.TableTTLAttribute].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("%s is %T, want a number (epoch seconds)", topology.TableTTLAttribute, raw.Item[topology.TableTTLAttribute])
	}
	if n, err := strconv.ParseInt(exp.Value, 10, 64); err != nil || n != started.Add(24*time.Hour).Unix()+1 {
		t.Errorf("%s = %s, want %d", topology.TableTTLAttribute, exp.Value, started.Add(24*time.Hour).Unix()+1)
	}
}
