package stream

import (
	"testing"
	"time"
)

// The API answers a week hour by hour, whatever hours the store kept: dense,
// oldest first, ending at now's hour; counts of one hour (a store's and a
// legacy writer's, say) add up, the lag is the mean of the hour's events,
// and an hour outside the window is left out.
func TestHourlyWindow(t *testing.T) {
	now := time.Date(2030, 5, 6, 7, 41, 0, 0, time.FixedZone("X", 3600))
	last := now.UTC().Truncate(time.Hour)
	kept := []HourCount{
		{Hour: last.Add(-HourlyHours * time.Hour), Delivered: 99},                 // 169 hours ago: gone
		{Hour: last.Add(-(HourlyHours - 1) * time.Hour), Delivered: 1},            // the first hour
		{Hour: last.Add(-2 * time.Hour), Delivered: 4, LagSum: 400, LagEvents: 4}, // mean 100
		{Hour: last.Add(-2 * time.Hour), Failed: 3, Parked: 2, LagSum: 200, LagEvents: 1},
		{Hour: last.Add(30 * time.Minute), Delivered: 5, LagSum: 10, LagEvents: 5}, // this hour, not at its start
		{Hour: last.Add(time.Hour), Delivered: 77},                                 // a clock ahead: not yet
	}
	w := HourlyWindow(kept, now)
	if len(w) != HourlyHours {
		t.Fatalf("%d hours, want %d", len(w), HourlyHours)
	}
	for i, h := range w {
		if want := last.Add(time.Duration(i-(HourlyHours-1)) * time.Hour); !h.Hour.Equal(want) || h.Hour.Location() != time.UTC {
			t.Fatalf("hour %d is %v, want %v UTC", i, h.Hour, want)
		}
	}
	lag := func(h HourCount) int64 {
		if h.LagMillis == nil {
			return -1
		}
		return *h.LagMillis
	}
	if h := w[0]; h.Delivered != 1 || lag(h) != -1 {
		t.Errorf("first hour %+v", h)
	}
	if h := w[HourlyHours-3]; h.Delivered != 4 || h.Failed != 3 || h.Parked != 2 || lag(h) != 120 {
		t.Errorf("two hours ago %+v (lag %d), want 4 delivered, 3 failed, 2 parked, lag 600/5 = 120", h, lag(h))
	}
	if h := w[HourlyHours-1]; h.Delivered != 5 || lag(h) != 2 {
		t.Errorf("this hour %+v", h)
	}
	var total int64
	for _, h := range w {
		total += h.Delivered
	}
	if total != 10 {
		t.Errorf("%d delivered in the window, want 10 (the hours outside it left out)", total)
	}
}
