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

// benchTopRules are 20 rules on top-level members only (the vendors' type,
// status, address and agent fields, and an Okta-only displayMessage):
// the shape most filters have.
var benchTopRules = stream.Filters{
	Include: []stream.Rule{
		{Field: "eventType", Match: "user.session.*"},
		{Field: "eventType", Match: "user.authentication.*"},
		{Field: "eventType", Match: "security.*"},
		{Field: "type", In: []string{"f", "fc", "fco", "fcoa", "fens", "fp", "fu"}},
		{Field: "type", In: []string{"s", "scoa", "sens", "ss", "fs"}},
		{Field: "action", Match: "*Authenticate"},
		{Field: "action", Match: "Passwords*"},
		{Field: "status", In: []string{"error"}},
		{Field: "displayMessage", Match: "*password*"},
		{Field: "client_name", In: []string{"Acme Notes Web"}},
	},
	Exclude: []stream.Rule{
		{Field: "status", In: []string{"start"}},
		{Field: "type", In: []string{"sapi", "gd_auth_succeed"}},
		{Field: "eventType", Match: "system.*"},
		{Field: "user_agent", Match: "*bot*"},
		{Field: "ip", In: []string{"192.0.2.1", "192.0.2.2"}},
		{Field: "ip_address", In: []string{"192.0.2.1"}},
		{Field: "hostname", In: []string{"staging.example.com"}},
		{Field: "isMobile", In: []string{"true"}},
		{Field: "http_status_code", In: []string{"500", "503"}},
		{Field: "severity", In: []string{"DEBUG"}},
	},
}

var benchStamp = logevent.Stamper{Now: func() time.Time { return time.Unix(1_800_000_000, 0) },
	NewID: func() string { return "0190b5b0-0000-7000-8000-000000000000" }}

// BenchmarkFilter sets filtering 10,000 events through benchRules, as
// ingestion does (PassEvent on Parse's events), beside
// ingestion's parse of the same events (logevent's BenchmarkParse corpus:
// events/auth/mixed.ndjson cycled to 10,000, as NDJSON), so one run gives
// the ratio docs/performance.md reports.
func BenchmarkFilter(b *testing.B) {
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
				for i := range evs {
					if m.PassEvent(&evs[i]) {
						passed++
					}
				}
			}
			b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(passed), "passed")
		})
	}
	run("20-rules", &benchRules)
	run("20-top-level-rules", &benchTopRules)
	okta, _ := Lookup("okta.sign-in")
	run("preset-okta.sign-in", &okta.Filters)
	// The ratio itself, from parse and filter timed in turn within each
	// iteration, so that load from elsewhere on the machine falls on both
	// alike: filter-%-of-parse is the figure the issue bounds (≤ 10).
	ratio := func(name string, rules *stream.Filters, pass func(m *Matcher, evs []logevent.Event)) {
		b.Run(name, func(b *testing.B) {
			m, err := Compile(rules)
			if err != nil {
				b.Fatal(err)
			}
			var parse, filter time.Duration
			for b.Loop() {
				t0 := time.Now()
				evs, err := logevent.Parse(body, logevent.FormatNDJSON, lim, benchStamp)
				t1 := time.Now()
				if err != nil {
					b.Fatal(err)
				}
				pass(m, evs)
				parse, filter = parse+t1.Sub(t0), filter+time.Since(t1)
			}
			b.ReportMetric(100*filter.Seconds()/parse.Seconds(), "filter-%-of-parse")
		})
	}
	passEvents := func(m *Matcher, evs []logevent.Event) {
		for i := range evs {
			m.PassEvent(&evs[i])
		}
	}
	ratio("ratio-20-rules", &benchRules, passEvents)
	ratio("ratio-20-top-level-rules", &benchTopRules, passEvents)
	ratio("ratio-20-rules-walk", &benchRules, func(m *Matcher, evs []logevent.Event) {
		for _, ev := range evs {
			m.Pass(ev.Raw)
		}
	})
	// The same 20 rules walking each event's bytes (Pass), without the
	// index Parse keeps: what the index saves.
	b.Run("20-rules-walk", func(b *testing.B) {
		m, err := Compile(&benchRules)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			for _, ev := range evs {
				m.Pass(ev.Raw)
			}
		}
		b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
