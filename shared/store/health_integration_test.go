package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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
	if err := s.Record(ctx, "proj_1", "str_1", stream.Tally{
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
				errs <- s.Record(ctx, "proj_1", "str_1", stream.Tally{
					Delivered: 3, Retried: 2,
					DeadLetters: map[stream.DeadLetterReason]int{stream.ReasonPermanent: 1, stream.ReasonExhausted: 2},
					LastError:   "receiver answered 503",
				}, at)
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
	if err := s.Record(ctx, "proj_1", "str_1", stream.Tally{
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
