package lokibridge

import (
	"fmt"
	"time"

	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/lokipush"
)

// Loki's messages for an entry outside its window (pkg/validation/validate.go,
// v3.5.3), with times as its distributor formats them (time.RFC3339).
const (
	msgTooOld = "entry for stream '%s' has timestamp too old: %v, oldest acceptable timestamp is: %v"
	msgTooNew = "entry for stream '%s' has timestamp too new: %v"
)

// dropImplausible removes from pr every entry dated outside win around now,
// as Loki's distributor discards an entry older than
// reject_old_samples_max_age or newer than creation_grace_period, and drops
// the streams it leaves empty. It returns how many entries it removed, how
// many are left, and, when it removed any, the message for the client: the
// first one's, worded as Loki's, and how many more there were.
func dropImplausible(pr *lokipush.Request, win logevent.Window, now time.Time) (refused, kept int, msg string) {
	oldest, newest := win.Bounds(now)
	streams := pr.Streams[:0]
	for _, s := range pr.Streams {
		entries := s.Entries[:0] // each stream's entries are its own window of the array
		for _, e := range s.Entries {
			switch {
			case e.Time.Before(oldest):
				if refused == 0 {
					msg = fmt.Sprintf(msgTooOld, s.LabelString(), e.Time.Format(time.RFC3339), oldest.Format(time.RFC3339))
				}
				refused++
			case e.Time.After(newest):
				if refused == 0 {
					msg = fmt.Sprintf(msgTooNew, s.LabelString(), e.Time.Format(time.RFC3339))
				}
				refused++
			default:
				entries = append(entries, e)
			}
		}
		if len(entries) > 0 {
			s.Entries = entries
			streams = append(streams, s)
			kept += len(entries)
		}
	}
	pr.Streams = streams
	if refused > 1 {
		msg += fmt.Sprintf(" (and %d more entries outside the accepted window of %s)", refused-1, win)
	}
	return refused, kept, msg
}
