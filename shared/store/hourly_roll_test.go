package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/logstream/logstream/localstack/standin/table"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/stream"
)

// A roll that stops between its two writes (the hour kept, the slot not
// yet started: a timeout, a crash) leaves the hour in both items; it is
// counted once, and the next write's roll finishes the move.
func TestInterruptedRollCountsOnce(t *testing.T) {
	cfg, tableName := table.New(t)
	s := &store.Streams{Client: dynamodb.NewFromConfig(cfg), Table: tableName}
	ctx := context.Background()
	h0 := time.Date(2030, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := s.Record(ctx, "p", "s", stream.Tally{Delivered: 5}, h0); err != nil {
		t.Fatal(err)
	}
	// The first half of hour 2's roll.
	if err := s.KeepSlotOf(ctx, "p", "s", h0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	count := func() (n int64, hours int) {
		t.Helper()
		got, err := s.Health(ctx, "p", "s")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range got.Hourly {
			n += c.Delivered
		}
		return n, len(got.Hourly)
	}
	if n, hours := count(); n != 5 || hours != 1 {
		t.Fatalf("%d delivered in %d hours after the interrupted roll, want 5 in 1", n, hours)
	}
	// A late write to hour 0 the interrupted roll's read missed, then hour
	// 2's first write rolls again: the hour is kept with what it holds now.
	if _, err := s.Record(ctx, "p", "s", stream.Tally{Delivered: 2}, h0.Add(50*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(ctx, "p", "s", stream.Tally{Delivered: 1}, h0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, hours := count(); n != 8 || hours != 2 {
		t.Fatalf("%d delivered in %d hours, want 8 in 2", n, hours)
	}
}
