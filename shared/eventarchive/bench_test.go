package eventarchive_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/eventarchive"
)

// discard is a Store that keeps nothing but the bytes it was given.
type discard struct{ bytes, objects int }

func (d *discard) Put(_ context.Context, _ string, body []byte) error {
	d.bytes += len(body)
	d.objects++
	return nil
}

// BenchmarkWriter is the archiver's CPU per event (docs/performance.md,
// "Event archive"): one invocation's worth of messages, 25 of 500 events
// (~450 bytes) of one project and hour, decoded, compressed and put.
func BenchmarkWriter(b *testing.B) {
	at := time.Now().UTC().Truncate(time.Hour)
	var recs []events.SQSMessage
	raw := 0
	for m := range 25 {
		evs := make([]json.RawMessage, 500)
		for i := range evs {
			n := m*500 + i
			evs[i] = json.RawMessage(fmt.Sprintf(`{"event_id":"0190b5b0-0000-7000-8000-%012d","timestamp":%q,"type":"user.session.start","actor":{"id":"00u%d","email":"user%d@example.com"},"client":{"ip":"203.0.113.%d","ua":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},"outcome":"success"}`,
				n, at.Add(time.Duration(n)*time.Millisecond).Format(time.RFC3339Nano), n, n, n%250))
			raw += len(evs[i]) + 1
		}
		msgs, _ := envelope.Pack("proj-bench", envelope.ArchiveStreamID, evs, envelope.MaxMessageBytes)
		for _, msg := range msgs {
			recs = append(recs, events.SQSMessage{MessageId: fmt.Sprint(len(recs)), Body: string(msg.Body)})
		}
	}
	d := &discard{}
	w := &eventarchive.Writer{Store: d, Log: quiet}
	b.SetBytes(int64(raw))
	b.ResetTimer()
	for b.Loop() {
		if _, err := w.Handle(context.Background(), events.SQSEvent{Records: recs}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(25*500)*1000/1e6, "ms/1000events")
	b.ReportMetric(float64(raw)/(float64(d.bytes)/float64(b.N)), "compression")
}
