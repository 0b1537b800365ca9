package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/localstack/standin/table"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/stream"
)

// Issue 17: the health view's hours are written in the same updates as its
// totals. Many delivery invocations at once, some of them in the next hour
// and some with a clock a little behind, lose no count: each lands in its
// total and in exactly one hour, the hours sum to the totals, and a week
// later the oldest hours are gone from the item.
func TestRecordCountsHours(t *testing.T) {
	cfg, tableName := table.New(t)
	s := &store.Streams{Client: dynamodb.NewFromConfig(cfg), Table: tableName}
	ctx := context.Background()
	h0 := time.Date(2030, 3, 1, 12, 0, 0, 0, time.UTC)
	tally := stream.Tally{Delivered: 3, Retried: 2, LagMillis: 300, LagEvents: 3,
		DeadLetters: map[stream.DeadLetterReason]int{stream.ReasonExhausted: 1}, LastError: "receiver answered 503"}

	// Hour 0, then every writer at once: half of them in hour 1 (late
	// clocks) and half in hour 2, whose first writes contend to move hour
	// 0 out of the slot hour 2 takes over.
	if _, err := s.Record(ctx, "proj_1", "str_1", tally, h0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				at := h0.Add(2*time.Hour + time.Duration(i)*time.Second)
				if w%2 == 1 {
					at = h0.Add(time.Hour + 59*time.Minute + time.Duration(i)*time.Second)
				}
				_, err := s.Record(ctx, "proj_1", "str_1", tally, at)
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
	h, err := s.Health(ctx, "proj_1", "str_1")
	if err != nil {
		t.Fatal(err)
	}
	const n = 1 + writers*each
	if h.DeliveredEvents != 3*n || h.RetriedAttempts != 2*n || h.FailedEvents != n {
		t.Fatalf("totals %+v, want %d records", h, n)
	}
	var sum stream.HourCount
	for _, c := range h.Hourly {
		if c.Hour.Before(h0) || c.Hour.After(h0.Add(2*time.Hour)) {
			t.Errorf("an hour %v counted, want only %v and the two next", c.Hour, h0)
		}
		sum.Delivered += c.Delivered
		sum.Failed += c.Failed
		sum.Parked += c.Parked
		sum.LagSum += c.LagSum
		sum.LagEvents += c.LagEvents
	}
	if sum.Delivered != h.DeliveredEvents || sum.Failed != h.RetriedAttempts || sum.Parked != h.FailedEvents ||
		sum.LagSum != 300*n || sum.LagEvents != 3*n {
		t.Errorf("the hours sum to %+v, want the totals (%d delivered, %d failed, %d parked) and a lag of %d ms over %d events",
			sum, h.DeliveredEvents, h.RetriedAttempts, h.FailedEvents, 300*n, 3*n)
	}
	if per := int64(3 * writers / 2 * each); len(h.Hourly) != 3 || h.Hourly[0].Delivered != 3 || h.Hourly[1].Delivered != per || h.Hourly[2].Delivered != per {
		t.Errorf("hours %+v, want hour 0 (one record), hour 1 and hour 2 (%d records each)", h.Hourly, writers/2*each)
	}

	// A week of hours, one record each: the item keeps the last 168 and
	// the current one, and the API's window shows the 168 up to now.
	start := h0.Add(3 * time.Hour)
	for i := range stream.HourlyHours + 5 {
		if _, err := s.Record(ctx, "proj_1", "str_1", stream.Tally{Delivered: 1}, start.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	now := start.Add((stream.HourlyHours + 4) * time.Hour)
	h, err = s.Health(ctx, "proj_1", "str_1")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Hourly) != stream.HourlyHours || !h.Hourly[0].Hour.Equal(now.Add(-(stream.HourlyHours-1)*time.Hour)) || !h.Hourly[len(h.Hourly)-1].Hour.Equal(now) {
		t.Fatalf("%d hours kept, from %v to %v; want %d, the last week up to %v",
			len(h.Hourly), h.Hourly[0].Hour, h.Hourly[len(h.Hourly)-1].Hour, stream.HourlyHours, now)
	}
	// The health item every delivery writes stays one write unit; the
	// week of hours is on an item of its own, written once an hour.
	items, err := s.Client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(tableName)})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items.Items {
		size := 0
		for k, v := range it {
			size += len(k) + len(fmt.Sprint(v))
		}
		sk := it["sk"].(*ddbtypes.AttributeValueMemberS).Value
		switch {
		case sk == "HEALTH" && (size > 1024 || len(it) > 24):
			t.Errorf("the health item has %d attributes, ~%d bytes: want the totals and two hour slots, within one write unit", len(it), size)
		case sk == "HOURS" && len(it) != 2+stream.HourlyHours-2:
			// The week less this hour and the last, which the slots hold.
			t.Errorf("the hours item has %d attributes, want its key and the %d hours of the week the slots do not hold", len(it), stream.HourlyHours-2)
		}
	}
	w := stream.HourlyWindow(h.Hourly, now.Add(20*time.Minute))
	for _, c := range w {
		if c.Delivered != 1 || c.Failed != 0 || c.LagMillis != nil {
			t.Fatalf("hour %+v, want one delivered event and no lag", c)
		}
	}
}
