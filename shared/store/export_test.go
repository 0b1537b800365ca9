package store

import (
	"context"
	"time"
)

// KeepSlotOf does the first half of the roll that starts hour at's slot
// over: what a roll interrupted between its two writes leaves.
func (s *Streams) KeepSlotOf(ctx context.Context, projectID, streamID string, at time.Time) error {
	h, err := s.readHourly(ctx, projectID, streamID)
	if err != nil {
		return err
	}
	hour := unixHour(at)
	sl := h.slotOf(hour)
	return s.keepHour(ctx, projectID, streamID, sl.At, sl.C, hour)
}
