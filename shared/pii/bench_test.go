package pii

import (
	"bytes"
	"testing"
	"time"

	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/shared/logevent"
)

var benchStamp = logevent.Stamper{Now: func() time.Time { return time.Unix(1_800_000_000, 0) },
	NewID: func() string { return "0190b5b0-0000-7000-8000-000000000000" }}

// BenchmarkMask masks 10,000 events (the parse benchmark's corpus:
// events/auth/mixed.ndjson cycled, as NDJSON) with goldenRules, 13 rules
// over all three vendors (hash, redact, truncate_ip; top-level, nested and
// through arrays), as ingestion does (MaskEvent on Parse's events), beside
// ingestion's parse of the same events, so one run gives the ratio
// docs/performance.md reports.
func BenchmarkMask(b *testing.B) {
	all, err := samples.Corpus(10_000, benchStamp.Now())
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.Join(all, []byte("\n"))
	lim := logevent.Limits{MaxBodyBytes: 64 << 20, MaxDecodedBytes: 64 << 20, MaxEvents: 10_000, MaxEventBytes: 1 << 20, Window: logevent.DefaultWindow}
	evs, err := logevent.Parse(body, logevent.FormatNDJSON, lim, benchStamp)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("parse-ndjson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := logevent.Parse(body, logevent.FormatNDJSON, lim, benchStamp); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	m, err := Compile(goldenRules, goldenKey(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("13-rules", func(b *testing.B) {
		b.ReportAllocs()
		changed := 0
		for b.Loop() {
			changed = 0
			for i := range evs {
				out, err := m.MaskEvent(&evs[i])
				if err != nil {
					b.Fatal(err)
				}
				if len(out) > 0 && &out[0] != &evs[i].Raw[0] {
					changed++
				}
			}
		}
		b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(changed), "masked")
	})
	redact, _ := Compile(rules("ip", "redact", "ip_address", "redact", "user_name", "redact"), nil)
	b.Run("3-top-level-redacts", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range evs {
				if _, err := redact.MaskEvent(&evs[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
