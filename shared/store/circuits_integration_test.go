package store_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/localstack/standin/table"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
)

// A circuit is written only over the version its writer read: of concurrent
// writers exactly one wins, and the others read what it wrote.
func TestCircuitsCompareAndSwap(t *testing.T) {
	cfg, tableName := table.New(t)
	c := &store.Circuits{Client: dynamodb.NewFromConfig(cfg), Table: tableName}
	ctx := context.Background()
	key := [2]string{"proj_1", "str_1"}
	other := [2]string{"proj_1", "str_2"}

	got, err := c.Load(ctx, [][2]string{key, other})
	if err != nil || len(got) != 0 {
		t.Fatalf("Load before any write = %v, %v; want nothing", got, err)
	}
	open := time.Now().Add(time.Minute).UTC().Truncate(time.Millisecond)
	first := stream.Circuit{Failures: 3, Timeouts: 3, Reason: "POST https://x/: timeout", OpenUntil: open}
	wins := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := c.Swap(ctx, key, stream.Circuit{}, first)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d of 5 concurrent first writes won, want 1", wins)
	}
	got, err = c.Load(ctx, [][2]string{key, other})
	if err != nil {
		t.Fatal(err)
	}
	want := first
	want.Version = 1
	if g := got[key]; g.Version != 1 || g.Failures != 3 || g.Timeouts != 3 || g.Reason != first.Reason || !g.OpenUntil.Equal(open) || !g.ProbeUntil.IsZero() {
		t.Fatalf("Load = %+v, want %+v", g, want)
	}
	if _, ok := got[other]; ok {
		t.Fatal("a stream that never failed has a circuit")
	}
	// It expires by the attribute the table's TTL names, a day after its
	// open period.
	raw, err := dynamodb.NewFromConfig(cfg).GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tableName), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "PROJECT#proj_1"}, "sk": &types.AttributeValueMemberS{Value: "CIRCUIT#str_1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	exp, ok := raw.Item[topology.New("logstream").Table.TTLAttribute].(*types.AttributeValueMemberN)
	if !ok || exp.Value != strconv.FormatInt(open.Add(24*time.Hour).Unix(), 10) {
		t.Fatalf("circuit item %v: want its TTL attribute a day after %s", raw.Item, open)
	}

	// A stale writer loses; the current one closes it (times removed).
	if ok, err := c.Swap(ctx, key, stream.Circuit{}, stream.Circuit{Failures: 1}); ok || err != nil {
		t.Fatalf("stale Swap = %v, %v; want false", ok, err)
	}
	probe := want
	probe.ProbeUntil = open.Add(time.Second)
	if ok, err := c.Swap(ctx, key, want, probe); !ok || err != nil {
		t.Fatalf("Swap at the current version = %v, %v", ok, err)
	}
	probe.Version = 2
	if ok, err := c.Swap(ctx, key, probe, stream.Circuit{}); !ok || err != nil {
		t.Fatalf("closing Swap = %v, %v", ok, err)
	}
	got, _ = c.Load(ctx, [][2]string{key})
	if g := got[key]; g.Version != 3 || g.Failures != 0 || !g.OpenUntil.IsZero() || !g.ProbeUntil.IsZero() {
		t.Fatalf("after closing: %+v", g)
	}
}

// BenchmarkCircuitsPrepare is what sharing circuits costs a delivery
// invocation: one consistent BatchGetItem for a full batch's ten streams,
// none of which has failed (the common case). Against the stand-in, so a
// ratio to the invocation's other calls, not an AWS latency.
func BenchmarkCircuitsPrepare(b *testing.B) {
	cfg, tableName := table.New(b)
	c := &store.Circuits{Client: dynamodb.NewFromConfig(cfg), Table: tableName}
	keys := make([][2]string, 10)
	for i := range keys {
		keys[i] = [2]string{"proj_1", "str_" + strconv.Itoa(i)}
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.Load(ctx, keys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordHealth is the write every delivering invocation already
// makes per stream (its health counters): the yardstick for the one above.
func BenchmarkRecordHealth(b *testing.B) {
	cfg, tableName := table.New(b)
	s := &store.Streams{Client: dynamodb.NewFromConfig(cfg), Table: tableName}
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Record(ctx, "proj_1", "str_1", stream.Tally{Delivered: 10}, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
