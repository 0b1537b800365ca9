package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/localstack/standin/table"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/stream"
)

// Issue 12 §3: the delivery functions' Records, one per stream and
// invocation and many at once, sum exactly, and each reason's oldest and
// newest are its first and last parked_at, without reading the item first.
func TestRecordSumsConcurrentTallies(t *testing.T) {
	cfg, tableName := table.New(t)
	s := &store.Streams{Client: dynamodb.NewFromConfig(cfg), Table: tableName}
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	// The first parked_at of each reason, before the concurrent writes.
	if _, err := s.Record(ctx, "proj_1", "str_1", stream.Tally{
		DeadLetters: map[stream.DeadLetterReason]int{stream.ReasonPermanent: 1}, LastError: "permanent: 401"}, t0); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				at := t0.Add(time.Duration(1+w*each+i) * time.Second)
				_, err := s.Record(ctx, "proj_1", "str_1", stream.Tally{
					Delivered: 3, Retried: 2,
					DeadLetters: map[stream.DeadLetterReason]int{stream.ReasonPermanent: 1, stream.ReasonExhausted: 2},
					LastError:   "receiver answered 503",
				}, at)
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The last write, after all the others: the first of one reason, the
	// newest of another, and not of the third.
	last := t0.Add(time.Hour)
	if _, err := s.Record(ctx, "proj_1", "str_1", stream.Tally{
		DeadLetters: map[stream.DeadLetterReason]int{stream.ReasonSuspended: 4, stream.ReasonExhausted: 1},
		LastError:   "stream is suspended"}, last); err != nil {
		t.Fatal(err)
	}

	h, err := s.Health(ctx, "proj_1", "str_1")
	if err != nil {
		t.Fatal(err)
	}
	const n = writers * each
	if h.DeliveredEvents != 3*n || h.RetriedAttempts != 2*n || h.FailedEvents != 1+3*n+5 {
		t.Errorf("delivered %d retried %d failed %d, want %d, %d and %d",
			h.DeliveredEvents, h.RetriedAttempts, h.FailedEvents, 3*n, 2*n, 1+3*n+5)
	}
	if h.LastSuccessAt == nil || h.LastError == nil || *h.LastError != "stream is suspended" || !h.LastErrorAt.Equal(last) {
		t.Errorf("last success %v, last error %v at %v", h.LastSuccessAt, h.LastError, h.LastErrorAt)
	}
	// Another stream's record is its own.
	if other, err := s.Health(ctx, "proj_1", "str_2"); err != nil || other.DeliveredEvents != 0 || other.FailedEvents != 0 {
		t.Errorf("another stream's health: %+v, %v", other, err)
	}
}

// Issue 13 §3: the failure run starts at the first failure since the last
// success, whichever of several concurrent writers is first, counts
// permanent failures, and ends with a delivered event or ResetFailures.
func TestRecordKeepsTheFailureRun(t *testing.T) {
	cfg, tableName := table.New(t)
	s := &store.Streams{Client: dynamodb.NewFromConfig(cfg), Table: tableName}
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	record := func(tl stream.Tally, at time.Time) stream.FailureRun {
		t.Helper()
		r, err := s.Record(ctx, "proj_1", "str_1", tl, at)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	retryable := stream.Tally{Retried: 1, LastError: "receiver answered 500"}
	permanent := stream.Tally{DeadLetters: map[stream.DeadLetterReason]int{stream.ReasonPermanent: 1}, LastError: "permanent: 401", Permanent: true}

	if r := record(stream.Tally{Delivered: 1}, t0); !r.FailingSince.IsZero() || r.PermanentFailures != 0 {
		t.Fatalf("after a success: %+v", r)
	}
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { record(retryable, t0.Add(time.Duration(1+i)*time.Minute)) })
	}
	wg.Wait()
	// Whichever write came first set the start; none moved it later.
	first := record(retryable, t0.Add(time.Hour))
	if first.FailingSince.Before(t0.Add(time.Minute)) || first.FailingSince.After(t0.Add(10*time.Minute)) {
		t.Fatalf("failing since %v, want one of the first ten failures", first.FailingSince)
	}
	record(permanent, t0.Add(2*time.Hour))
	if r := record(permanent, t0.Add(3*time.Hour)); r.PermanentFailures != 2 || !r.FailingSince.Equal(first.FailingSince) {
		t.Fatalf("after two permanent failures: %+v", r)
	}
	h, err := s.Health(ctx, "proj_1", "str_1")
	if err != nil || h.FailingSince == nil || !h.FailingSince.Equal(first.FailingSince) || h.PermanentFailures != 2 {
		t.Fatalf("health: %+v, %v", h, err)
	}
	if r := record(stream.Tally{Delivered: 1}, t0.Add(4*time.Hour)); !r.FailingSince.IsZero() || r.PermanentFailures != 0 {
		t.Fatalf("a success did not end the run: %+v", r)
	}
	if r := record(retryable, t0.Add(5*time.Hour)); !r.FailingSince.Equal(t0.Add(5 * time.Hour)) {
		t.Fatalf("a new run starts at %v, want %v", r.FailingSince, t0.Add(5*time.Hour))
	}
	if err := s.ResetFailures(ctx, "proj_1", "str_1"); err != nil {
		t.Fatal(err)
	}
	if h, err := s.Health(ctx, "proj_1", "str_1"); err != nil || h.FailingSince != nil || h.DeliveredEvents != 2 {
		t.Fatalf("after ResetFailures: %+v, %v", h, err)
	}
	// A stream with no health item has no run, and gets no item.
	if err := s.ResetFailures(ctx, "proj_1", "str_none"); err != nil {
		t.Fatal(err)
	}
}

// Issue 16 §5: a stream's counters are an item under a partition key of
// its own, not the project's, so many busy streams of one project do not
// make one key hot; counters an earlier deployment kept beside the
// project's streams are still counted, and deleting the stream removes
// both.
func TestHealthHasItsOwnPartitionKey(t *testing.T) {
	cfg, tableName := table.New(t)
	client := dynamodb.NewFromConfig(cfg)
	s := &store.Streams{Client: client, Table: tableName}
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	str := ddbS
	st := newStream("proj_1", stream.StatusActive)
	if err := s.Create(ctx, st, limit); err != nil {
		t.Fatal(err)
	}
	id := st.ID
	// What an earlier deployment left: counts and a last error, under the
	// project's partition key.
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &tableName, Item: map[string]ddbtypes.AttributeValue{
		"pk": str("PROJECT#proj_1"), "sk": str("HEALTH#" + id),
		"delivered_events": &ddbtypes.AttributeValueMemberN{Value: "100"}, "failed_events": &ddbtypes.AttributeValueMemberN{Value: "7"},
		"last_success_at": str(t0.Format(time.RFC3339Nano)), "last_error": str("old 503"),
		"last_error_at": str(t0.Add(time.Minute).Format(time.RFC3339Nano)), "failing_since": str(t0.Format(time.RFC3339Nano)),
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(ctx, "proj_1", id, stream.Tally{Delivered: 5}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &tableName, Key: map[string]ddbtypes.AttributeValue{
		"pk": str("HEALTH#proj_1#" + id), "sk": str("HEALTH")}})
	if err != nil || out.Item["delivered_events"] == nil {
		t.Fatalf("the stream's own item: %v, %v", out.Item, err)
	}
	h, err := s.Health(ctx, "proj_1", id)
	if err != nil {
		t.Fatal(err)
	}
	if h.DeliveredEvents != 105 || h.FailedEvents != 7 || !h.LastSuccessAt.Equal(t0.Add(time.Hour)) ||
		h.LastError == nil || *h.LastError != "old 503" || h.FailingSince != nil {
		t.Fatalf("health %+v (last error %v)", h, h.LastError)
	}
	// A newer error on the current item wins.
	if _, err := s.Record(ctx, "proj_1", id, stream.Tally{Retried: 1, LastError: "new 429"}, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if h, _ = s.Health(ctx, "proj_1", id); h.LastError == nil || *h.LastError != "new 429" || h.FailingSince == nil || !h.FailingSince.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("health %+v", h)
	}
	if err := s.Delete(ctx, "proj_1", id); err != nil {
		t.Fatal(err)
	}
	for _, key := range [][2]string{{"HEALTH#proj_1#" + id, "HEALTH"}, {"PROJECT#proj_1", "HEALTH#" + id}} {
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &tableName, Key: map[string]ddbtypes.AttributeValue{"pk": str(key[0]), "sk": str(key[1])}})
		if err != nil || len(out.Item) != 0 {
			t.Errorf("%v after the delete: %v %v", key, out.Item, err)
		}
	}
}

func ddbS(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
