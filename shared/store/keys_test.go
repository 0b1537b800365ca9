package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/store"
)

// fakeDB records the requests the store makes; a nil function answers an
// empty output. Only the methods a test sets are expected to be called.
type fakeDB struct {
	store.DynamoDBAPI
	put    func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error)
	get    func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error)
	update func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error)
	scan   func(*dynamodb.ScanInput) (*dynamodb.ScanOutput, error)
}

func (f *fakeDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return f.put(in)
}

func (f *fakeDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return f.get(in)
}

func (f *fakeDB) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return f.update(in)
}

func (f *fakeDB) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return f.scan(in)
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// A key's item and the requests on it are part of the table's contract
// (doc.go): keys written by earlier versions must still authenticate, so the
// attribute names, types and conditions are held here exactly.
func TestKeyRequests(t *testing.T) {
	created := time.Date(2026, 3, 1, 12, 0, 0, 5, time.FixedZone("CET", 3600))
	revoked := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	k := apikey.Key{ID: "key_0123456789abcdef0123", Name: "ci", Projects: []string{"proj_a", "proj_b"},
		Access: apikey.AccessWrite, CreatedAt: created, LastFour: "wxyz", Hash: "ab12"}
	item := map[string]types.AttributeValue{
		"pk": s("APIKEY#key_0123456789abcdef0123"), "sk": s("APIKEY"), "id": s("key_0123456789abcdef0123"),
		"name": s("ci"), "hash": s("ab12"), "projects": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("proj_a"), s("proj_b")}},
		"access": s("write"), "admin": &types.AttributeValueMemberBOOL{Value: false},
		"created_at": s("2026-03-01T11:00:00.000000005Z"), "last_four": s("wxyz"),
	}
	revokedItem := map[string]types.AttributeValue{"revoked_at": s("2026-03-02T08:00:00Z")}
	for name, v := range item {
		revokedItem[name] = v
	}
	keyOf := map[string]types.AttributeValue{"pk": item["pk"], "sk": item["sk"]}
	ctx := context.Background()

	t.Run("create", func(t *testing.T) {
		var got *dynamodb.PutItemInput
		keys := &store.Keys{Table: "tbl", Client: &fakeDB{put: func(in *dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) {
			got = in
			return &dynamodb.PutItemOutput{}, nil
		}}}
		if err := keys.Create(ctx, k); err != nil {
			t.Fatal(err)
		}
		want := &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("PutItem\n got %#v\nwant %#v", got, want)
		}
	})
	t.Run("get", func(t *testing.T) {
		var got *dynamodb.GetItemInput
		keys := &store.Keys{Table: "tbl", Client: &fakeDB{get: func(in *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
			got = in
			return &dynamodb.GetItemOutput{Item: revokedItem}, nil
		}}}
		back, err := keys.Get(ctx, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: keyOf, ConsistentRead: aws.Bool(true)}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("GetItem\n got %#v\nwant %#v", got, want)
		}
		if !back.CreatedAt.Equal(created) || back.RevokedAt == nil || !back.RevokedAt.Equal(revoked) || back.Hash != "ab12" ||
			back.Access != apikey.AccessWrite || !reflect.DeepEqual(back.Projects, k.Projects) {
			t.Fatalf("Get decoded %+v", back)
		}
	})
	t.Run("revoke", func(t *testing.T) {
		var got *dynamodb.UpdateItemInput
		keys := &store.Keys{Table: "tbl", Client: &fakeDB{update: func(in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
			got = in
			return &dynamodb.UpdateItemOutput{Attributes: revokedItem}, nil
		}}}
		if _, err := keys.Revoke(ctx, k.ID, revoked.In(time.FixedZone("X", -7200))); err != nil {
			t.Fatal(err)
		}
		want := &dynamodb.UpdateItemInput{TableName: aws.String("tbl"), Key: keyOf,
			UpdateExpression:          aws.String("SET revoked_at = if_not_exists(revoked_at, :now)"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": s("2026-03-02T08:00:00Z")},
			ReturnValues:              types.ReturnValueAllNew}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("UpdateItem\n got %#v\nwant %#v", got, want)
		}
	})
	t.Run("revoke unknown", func(t *testing.T) {
		keys := &store.Keys{Table: "tbl", Client: &fakeDB{update: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
			return nil, &types.ConditionalCheckFailedException{}
		}}}
		if _, err := keys.Revoke(ctx, k.ID, revoked); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("Revoke of a missing key: %v, want apikey.ErrNotFound", err)
		}
	})
	t.Run("list", func(t *testing.T) {
		var got *dynamodb.ScanInput
		keys := &store.Keys{Table: "tbl", Client: &fakeDB{scan: func(in *dynamodb.ScanInput) (*dynamodb.ScanOutput, error) {
			got = in
			return &dynamodb.ScanOutput{Items: []map[string]types.AttributeValue{item}}, nil
		}}}
		list, err := keys.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := &dynamodb.ScanInput{TableName: aws.String("tbl"), FilterExpression: aws.String("sk = :sk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":sk": s("APIKEY")}, ConsistentRead: aws.Bool(true)}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Scan\n got %#v\nwant %#v", got, want)
		}
		if len(list) != 1 || list[0].ID != k.ID {
			t.Fatalf("List = %+v", list)
		}
	})
	t.Run("malformed ids are not read", func(t *testing.T) {
		keys := &store.Keys{Table: "tbl", Client: &fakeDB{}} // any call panics on a nil function
		for _, id := range []string{"", "admin", "key_XYZ", "APIKEY#key_0123456789abcdef0123"} {
			if _, err := keys.Get(ctx, id); !errors.Is(err, apikey.ErrNotFound) {
				t.Errorf("Get(%q): %v", id, err)
			}
			if _, err := keys.Revoke(ctx, id, revoked); !errors.Is(err, apikey.ErrNotFound) {
				t.Errorf("Revoke(%q): %v", id, err)
			}
		}
		if err := keys.Create(ctx, apikey.Key{ID: "admin", Hash: "x"}); err == nil {
			t.Error("Create stored a key Generate did not make")
		}
	})
}
