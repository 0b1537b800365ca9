package ingestfn

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/shared/ingest"
	"github.com/logstream/logstream/shared/store"
)

// oneItem is a table of one item: what PutItem wrote, GetItem reads.
type oneItem struct {
	item map[string]types.AttributeValue
}

func (o *oneItem) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: o.item}, nil
}

func (o *oneItem) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	o.item = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

// Every field of an attempt survives the store and the conversion both ways:
// a replay answers what the first attempt answered, filtered count included.
func TestAttemptsKeepEveryField(t *testing.T) {
	started := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	want := ingest.Attempt{BodyHash: "ab12", StartedAt: started, ExpiresAt: started.Add(ingest.KeepAttempts).Truncate(time.Second).Add(time.Second),
		Sent: map[string][]string{"str_a": {"0:00"}}, Done: true, Result: ingest.Result{Accepted: 5, Streams: 2, Messages: 3, Filtered: 4}}
	a := Attempts{&store.Attempts{Client: &oneItem{}, Table: "t"}}
	if err := a.Put(context.Background(), "proj_1", "key-00000001", want); err != nil {
		t.Fatal(err)
	}
	got, found, err := a.Get(context.Background(), "proj_1", "key-00000001")
	if err != nil || !found || !reflect.DeepEqual(got, want) {
		t.Errorf("Get = %+v, %v, %v; want %+v", got, found, err, want)
	}
	// Each field set, so a field the conversion drops shows above.
	v := reflect.ValueOf(want.Result)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("the fixture leaves Result.%s zero", v.Type().Field(i).Name)
		}
	}
}
