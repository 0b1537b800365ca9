package envelope

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkPack packs 10,000 auth-event-sized events (~450 bytes) for one stream.
func BenchmarkPack(b *testing.B) {
	evs := make([]json.RawMessage, 10_000)
	for i := range evs {
		evs[i] = json.RawMessage(fmt.Sprintf(`{"event_id":"0190b5b0-0000-7000-8000-%012d","timestamp":"2026-11-24T10:00:00Z","type":"user.session.start","actor":{"id":"00u%d","email":"user%d@example.com"},"client":{"ip":"203.0.113.%d","ua":"%s"}}`,
			i, i, i, i%250, strings.Repeat("Mozilla/5.0 ", 20)))
	}
	total := 0
	for _, e := range evs {
		total += len(e)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	var msgs []Message
	for b.Loop() {
		var err error
		msgs, err = Pack("proj_bench", "str_0190b5b00000700080000000000000aa", evs, MaxMessageBytes)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(evs))/float64(len(msgs)), "events/msg")
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
