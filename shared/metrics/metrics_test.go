package metrics_test

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/metrics/emftest"
	"github.com/logstream/logstream/shared/topology"
)

var at = time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)

func emitter(buf *bytes.Buffer) *metrics.Emitter {
	return &metrics.Emitter{Out: buf, Function: "deliver-http", Now: func() time.Time { return at }}
}

// A line is the EMF document CloudWatch's specification describes, byte
// for byte: the directive names the dimension set and each metric with its
// unit, and each is a member of the root.
func TestLineIsEMF(t *testing.T) {
	var buf bytes.Buffer
	var lat metrics.Dist
	lat.Add(12.5)
	lat.Add(3)
	lat.Add(0.0004) // below the microsecond
	e := emitter(&buf)
	e.Emit(e.Line(metrics.Dim{Name: topology.DimDestinationType, Value: "http"}).
		Count(topology.MetricEventsDelivered, 42).
		Bytes(topology.MetricIngestBytes, 1<<20).
		Dist(topology.MetricDestinationLatency, metrics.Milliseconds, &lat).
		Dist(topology.MetricLagFromEnqueue, metrics.Milliseconds, &metrics.Dist{})) // empty: left out
	want := `{"_aws":{"Timestamp":1772600767008,"CloudWatchMetrics":[{"Namespace":"Logstream","Dimensions":[["Function","DestinationType"]],` +
		`"Metrics":[{"Name":"EventsDelivered","Unit":"Count"},{"Name":"IngestBytes","Unit":"Bytes"},{"Name":"DestinationLatency","Unit":"Milliseconds"}]}]},` +
		`"Function":"deliver-http","DestinationType":"http","EventsDelivered":42,"IngestBytes":1048576,"DestinationLatency":[12.5,3,0]}` + "\n"
	if got := buf.String(); got != want {
		t.Fatalf("line\n%s\nwant\n%s", got, want)
	}
	docs, err := emftest.Parse(buf.Bytes())
	if err != nil || len(docs) != 1 {
		t.Fatalf("docs %v, err %v", docs, err)
	}
	if d := docs[0]; d.Timestamp != at.UnixMilli() || d.Key() != "Function=deliver-http,DestinationType=http" {
		t.Fatalf("doc %+v", d)
	}
}

// Several lines go out in one write, each a line of its own; a line
// without metrics is left out, and an emitter without an output (or none
// at all) writes nothing.
func TestEmit(t *testing.T) {
	var buf bytes.Buffer
	e := emitter(&buf)
	e.Emit(e.Line().Count(topology.MetricIngestRequests, 1),
		e.Line(metrics.Dim{Name: topology.DimReason, Value: "invalid_json"}).Count(topology.MetricEventsRefused, 3),
		e.Line(metrics.Dim{Name: topology.DimReason, Value: "none"}), nil)
	docs, err := emftest.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 2 || len(docs) != 2 {
		t.Fatalf("%d lines, %d docs:\n%s", n, len(docs), buf.String())
	}
	if docs[1].Dims[topology.DimReason] != "invalid_json" || docs[1].Metrics[topology.MetricEventsRefused].Values[0] != 3 {
		t.Fatalf("second line %+v", docs[1])
	}
	var nilEmitter *metrics.Emitter
	nilEmitter.Emit(nilEmitter.Line().Count(topology.MetricIngestRequests, 1)) // no panic, no output
	(&metrics.Emitter{}).Emit((&metrics.Emitter{}).Line().Count(topology.MetricIngestRequests, 1))
}

// A dimension value CloudWatch would refuse (empty, not ASCII, longer than
// 1,024) is made one it takes, rather than the line being dropped.
func TestDimensionValues(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "proj_1", "proj_1"},
		{"empty", "", "none"},
		{"not ascii", "prøj\n", "pr__j_"},
		{"quote", `a"b\c`, `a"b\c`},
		{"long", strings.Repeat("x", 2000), strings.Repeat("x", 1024)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := emitter(&buf)
			e.Emit(e.Line(metrics.Dim{Name: topology.DimProject, Value: tc.in}).Count(topology.MetricEventsAccepted, 1))
			docs, err := emftest.Parse(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if got := docs[0].Dims[topology.DimProject]; got != tc.want {
				t.Fatalf("value %q, want %q", got, tc.want)
			}
		})
	}
}

// More than 100 metrics on a line take more directives, each within the
// specification's 100.
func TestManyMetricsSplitDirectives(t *testing.T) {
	var buf bytes.Buffer
	e := emitter(&buf)
	l := e.Line()
	for range 150 {
		l.Count(topology.MetricIngestRequests, 1)
	}
	e.Emit(l)
	if n := strings.Count(buf.String(), `"Namespace"`); n != 2 {
		t.Fatalf("%d directives, want 2", n)
	}
	if _, err := emftest.Parse(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

func TestParseDetail(t *testing.T) {
	tests := []struct {
		in       string
		want     metrics.Detail
		projects bool
		streams  bool
		err      bool
	}{
		{"", metrics.DetailOff, false, false, false},
		{"project", metrics.DetailProject, true, false, false},
		{"stream", metrics.DetailStream, true, true, false},
		{"Project", 0, false, false, true},
		{"tenant", 0, false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			d, err := metrics.ParseDetail(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("err %v", err)
			}
			if tc.err {
				if !strings.Contains(err.Error(), topology.EnvMetricsDetail) {
					t.Fatalf("err %v does not name the variable", err)
				}
				return
			}
			if d != tc.want || d.Projects() != tc.projects || d.Streams() != tc.streams {
				t.Fatalf("detail %v (projects %v, streams %v)", d, d.Projects(), d.Streams())
			}
		})
	}
}

// values writes d alone and reads its value array back.
func values(t *testing.T, d *metrics.Dist) []float64 {
	t.Helper()
	var buf bytes.Buffer
	e := emitter(&buf)
	e.Emit(e.Line().Dist(topology.MetricLagFromEnqueue, metrics.Milliseconds, d))
	docs, err := emftest.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return docs[0].Metrics[topology.MetricLagFromEnqueue].Values
}

// percentile is the p-th percentile of sorted values, nearest rank.
func percentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// Up to 100 values are written as they are; past that, 100 quantiles,
// from which the percentiles CloudWatch computes are the distribution's to
// within a percentile's rank and a bucket (2 %), whatever its shape and
// however it was added (at once, or merged from parts).
func TestDist(t *testing.T) {
	t.Run("exact", func(t *testing.T) {
		var d metrics.Dist
		for i := range 100 {
			d.Add(float64(i))
		}
		got := values(t, &d)
		if len(got) != 100 || got[0] != 0 || got[99] != 99 {
			t.Fatalf("values %v", got)
		}
	})
	t.Run("negative is zero", func(t *testing.T) {
		var d metrics.Dist
		d.Add(-5)
		d.AddN(math.NaN(), 2)
		if got := values(t, &d); !slices.Equal(got, []float64{0, 0, 0}) {
			t.Fatalf("values %v", got)
		}
	})
	shapes := []struct {
		name string
		gen  func(i int) float64
		n    int
	}{
		{"uniform", func(i int) float64 { return float64(i%10_000) + 1 }, 10_000},
		{"long tail", func(i int) float64 {
			if i%100 == 0 {
				return 60_000 + float64(i)
			}
			return 20 + float64(i%50)
		}, 5_000},
		{"one over", func(i int) float64 { return float64(i) * 1.5 }, 101},
		{"sub-millisecond", func(i int) float64 { return 0.001 * float64(i+1) }, 1_000},
	}
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			var whole, a, b metrics.Dist
			all := make([]float64, s.n)
			for i := range s.n {
				v := s.gen(i)
				all[i] = v
				whole.Add(v)
				if i%3 == 0 {
					a.Add(v)
				} else {
					b.Add(v)
				}
			}
			a.Merge(&b)
			slices.Sort(all)
			for _, d := range []*metrics.Dist{&whole, &a} {
				if d.Len() != s.n {
					t.Fatalf("len %d, want %d", d.Len(), s.n)
				}
				got := values(t, d)
				if len(got) != metrics.MaxValues {
					t.Fatalf("%d values, want %d", len(got), metrics.MaxValues)
				}
				slices.Sort(got)
				for _, p := range []float64{50, 90, 99} {
					lo, hi, have := percentile(all, p-1)*0.98, percentile(all, min(p+1, 100))*1.02, percentile(got, p)
					if have < lo-1e-9 || have > hi+1e-9 {
						t.Errorf("p%v = %v, want within [%v, %v]", p, have, lo, hi)
					}
				}
				if got[0] < all[0] || got[len(got)-1] > all[len(all)-1] {
					t.Errorf("values [%v, %v] outside the distribution's [%v, %v]", got[0], got[len(got)-1], all[0], all[len(all)-1])
				}
			}
		})
	}
	t.Run("AddN", func(t *testing.T) {
		var d metrics.Dist
		d.AddN(7, 30)
		if got := values(t, &d); len(got) != 30 || got[0] != 7 || got[29] != 7 {
			t.Fatalf("values %v", got)
		}
		d.AddN(1000, 1000) // spills
		got := values(t, &d)
		// 30 of 1,030 values are 7: the quantiles below 2.9 %, i.e. the
		// 0.5th, 1.5th and 2.5th, each 7 to within its bucket.
		sevens := 0
		for _, v := range got {
			if math.Abs(v-7) < 0.02*7 {
				sevens++
			}
		}
		if d.Len() != 1030 || len(got) != 100 || sevens != 3 || got[99] != 1000 {
			t.Fatalf("len %d, %d sevens, values %v", d.Len(), sevens, got)
		}
	})
}

// Counting a value allocates nothing, before the histogram and after.
func TestDistAddAllocatesNothing(t *testing.T) {
	var d metrics.Dist
	if n := testing.AllocsPerRun(50, func() { d.Add(3.5) }); n != 0 {
		t.Fatalf("%v allocations per Add while exact", n)
	}
	for range 200 {
		d.Add(1)
	}
	if n := testing.AllocsPerRun(1000, func() { d.Add(123.456); d.AddN(9, 4) }); n != 0 {
		t.Fatalf("%v allocations per Add in the histogram", n)
	}
}
