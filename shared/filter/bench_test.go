package filter

import (
	"bytes"
	"testing"
	"time"

	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/stream"
)

// benchRules are 20 rules over the fields of all three vendors, as a
// project that sends them all might set: every event lacks most of the
// fields named, so no walk stops early — the costly case.
var benchRules = stream.Filters{
	Include: []stream.Rule{
		{Field: "eventType", Match: "user.session.*"},
		{Field: "eventType", Match: "user.authentication.*"},
		{Field: "eventType", Match: "security.*"},
		{Field: "type", In: []string{"f", "fc", "fco", "fcoa", "fens", "fp", "fu"}},
		{Field: "type", In: []string{"s", "scoa", "sens", "ss", "fs"}},
		{Field: "action", Match: "*Authenticate"},
		{Field: "action", Match: "Passwords*"},
		{Field: "status", In: []string{"error"}},
		{Field: "actor.alternateId", Match: "*@example.com"},
		{Field: "outcome.result", In: []string{"FAILURE", "DENY"}},
	},
	Exclude: []stream.Rule{
		{Field: "status", In: []string{"start"}},
		{Field: "type", In: []string{"sapi", "gd_auth_succeed"}},
		{Field: "eventType", Match: "system.*"},
		{Field: "user_agent", Match: "*bot*"},
		{Field: "ip", In: []string{"192.0.2.1", "192.0.2.2"}},
		{Field: "client.ipAddress", In: []string{"192.0.2.1"}},
		{Field: "client.geographicalContext.country", In: []string{"Antarctica"}},
		{Field: "isMobile", In: []string{"true"}},
		{Field: "http_status_code", In: []string{"500", "503"}},
		{Field: "debugContext.debugData.risk", Match: "*HIGH*"},
	},
}

var benchStamp = logevent.Stamper{Now: func() time.Time { return time.Unix(1_800_000_000, 0) },
	NewID: func() string { return "0190b5b0-0000-7000-8000-000000000000" }}

// BenchmarkFilter sets filtering 10,000 events through benchRules beside
// ingestion's parse of the same events (logevent's BenchmarkParse corpus:
// events/auth/mixed.ndjson cycled to 10,000, as NDJSON), so one run gives
// the ratio docs/performance.md reports.
func BenchmarkFilter(b *testing.B) {
	src, err := samples.FS.ReadFile("auth/mixed.ndjson")
	if err != nil {
		b.Fatal(err)
	}
	src = samples.Fresh(src, benchStamp.Now())
	var lines [][]byte
	for _, l := range bytes.Split(src, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			lines = append(lines, l)
		}
	}
	var all [][]byte
	for len(all) < 10_000 {
		all = append(all, lines...)
	}
	body := bytes.Join(all[:10_000], []byte("\n"))
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
	run := func(name string, f *stream.Filters) {
		b.Run(name, func(b *testing.B) {
			m, err := Compile(f)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			passed := 0
			for b.Loop() {
				passed = 0
				for _, ev := range evs {
					if m.Pass(ev.Raw) {
						passed++
					}
				}
			}
			b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(passed), "passed")
		})
	}
	run("20-rules", &benchRules)
	okta, _ := Lookup("okta.sign-in")
	run("preset-okta.sign-in", &okta.Filters)
}
