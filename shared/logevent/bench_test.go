package logevent

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	samples "github.com/logstream/logstream/events"
)

// corpus is 10,000 events built from the vendor-shaped auth logs in events/,
// in the three body forms ingestion accepts.
func corpus(b *testing.B) (array, ndjson, gzNDJSON []byte, n int) {
	b.Helper()
	all, err := samples.Corpus(10_000, benchStamp.Now())
	if err != nil {
		b.Fatal(err)
	}
	array = append(append([]byte("["), bytes.Join(all, []byte(","))...), ']')
	ndjson = bytes.Join(all, []byte("\n"))
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(ndjson)
	zw.Close()
	return array, ndjson, buf.Bytes(), len(all)
}

var benchStamp = Stamper{Now: func() time.Time { return time.Unix(1_800_000_000, 0) }, NewID: func() string { return "0190b5b0-0000-7000-8000-000000000000" }}

func BenchmarkParse(b *testing.B) {
	array, ndjson, gzNDJSON, n := corpus(b)
	lim := Limits{MaxBodyBytes: 64 << 20, MaxDecodedBytes: 64 << 20, MaxEvents: n, MaxEventBytes: 1 << 20, Window: DefaultWindow}
	run := func(name string, body []byte, encoding string, format Format) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				dec, err := Decode(body, encoding, lim)
				if err != nil {
					b.Fatal(err)
				}
				evs, err := Parse(dec, format, lim, benchStamp)
				if err != nil || len(evs) != n {
					b.Fatal(err, len(evs))
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	run("array", array, "", FormatArray)
	run("ndjson", ndjson, "", FormatNDJSON)
	run("gzip-ndjson", gzNDJSON, "gzip", FormatNDJSON)

	// Floors: validating the same bytes once, and inflating them once — no
	// parser that checks every event can be faster than these.
	b.Run("floor-json-valid", func(b *testing.B) {
		b.SetBytes(int64(len(array)))
		for b.Loop() {
			if !json.Valid(array) {
				b.Fatal("invalid")
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("floor-gunzip", func(b *testing.B) {
		b.SetBytes(int64(len(gzNDJSON)))
		b.ReportAllocs()
		for b.Loop() {
			zr, _ := gzip.NewReader(bytes.NewReader(gzNDJSON))
			io.Copy(io.Discard, zr)
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
