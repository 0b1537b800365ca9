// Package metrics writes logstream's CloudWatch metrics in the Embedded
// Metric Format (EMF): one JSON object per line on the function's standard
// output, which Lambda sends to CloudWatch Logs, where the metrics are
// extracted from it. No API call, no permission beyond the logs the
// function already writes, nothing on the path of a request but a write to
// stdout.
//
// A handler counts what it does in plain integers and Dists while it runs
// (no allocation, no lock per event) and, when the invocation ends, writes
// one line per combination of dimension values (Emitter.Emit). The names
// are shared/topology's (metrics.go), the contract the alarms are built on.
//
// The format, as CloudWatch specifies it ("Specification: Embedded metric
// format"): the root object holds _aws.Timestamp (epoch milliseconds) and
// _aws.CloudWatchMetrics, an array of directives, each a Namespace, a
// Dimensions array of dimension sets and a Metrics array of at most 100
// {Name, Unit}; every dimension and metric named there is a member of the
// root, a dimension a string, a metric a number or an array of at most 100
// numbers.
package metrics

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/logstream/logstream/shared/topology"
)

// Unit is a CloudWatch metric unit (MetricDatum's list); logstream's
// metrics use these three.
type Unit string

// The units logstream's metrics are written in.
const (
	Count        Unit = "Count"
	Bytes        Unit = "Bytes"
	Milliseconds Unit = "Milliseconds"
)

// Limits of one EMF document, from CloudWatch's specification.
const (
	// MaxMetrics is how many MetricDefinitions one directive may hold; a
	// line with more gets more directives.
	MaxMetrics = 100
	// MaxDimensions is how many dimension keys one dimension set may hold
	// (30 in the current specification; logstream's sets have at most 5).
	MaxDimensions = 30
	// MaxValues is how many numbers one metric's value array may hold
	// (Dist writes at most this many).
	MaxValues = 100
	// maxDimensionValue is CloudWatch's longest dimension value.
	maxDimensionValue = 1024
)

// Detail is the opt-in detail of the metrics (topology.EnvMetricsDetail).
type Detail int

// The levels of detail: none beyond each function's own dimensions (the
// default), a project's own lines, or a project's and each stream's.
const (
	DetailOff Detail = iota
	DetailProject
	DetailStream
)

// ParseDetail reads topology.EnvMetricsDetail's value: "", "project" or
// "stream".
func ParseDetail(s string) (Detail, error) {
	switch s {
	case "":
		return DetailOff, nil
	case topology.MetricsDetailProject:
		return DetailProject, nil
	case topology.MetricsDetailStream:
		return DetailStream, nil
	}
	return DetailOff, fmt.Errorf("config: %s=%q is not one of \"\", %q or %q", topology.EnvMetricsDetail, s,
		topology.MetricsDetailProject, topology.MetricsDetailStream)
}

// Projects reports whether d adds a project's lines.
func (d Detail) Projects() bool { return d >= DetailProject }

// Streams reports whether d adds each stream's lines.
func (d Detail) Streams() bool { return d >= DetailStream }

// Emitter writes a function's metric lines. Its zero value and a nil
// *Emitter write nothing, so a handler built without metrics (a test, the
// API's own use of ingestion) needs no check. It is safe for concurrent use.
type Emitter struct {
	// Out receives the lines: os.Stdout in Lambda, beside the logs.
	Out io.Writer
	// Function is the Function dimension of every line: the function's
	// topology ID ("ingest", "deliver-http" …).
	Function string
	// Detail is the opt-in detail; the handlers read it.
	Detail Detail
	// Now stamps each line (_aws.Timestamp; default time.Now).
	Now func() time.Time

	mu  sync.Mutex
	buf []byte
}

// Dim is one dimension of a line.
type Dim struct{ Name, Value string }

// Line is one EMF document: the function's dimension, the line's own, and
// its metrics, all published under that one dimension set.
type Line struct {
	dims    []Dim
	metrics []metric
}

type metric struct {
	name  string
	unit  Unit
	value float64
	dist  *Dist // nil: value
}

// Line starts a line with the Function dimension followed by dims.
func (e *Emitter) Line(dims ...Dim) *Line {
	l := &Line{dims: make([]Dim, 0, len(dims)+1)}
	function := ""
	if e != nil {
		function = e.Function
	}
	l.dims = append(l.dims, Dim{topology.DimFunction, function})
	l.dims = append(l.dims, dims...)
	return l
}

// Count adds a metric in Count.
func (l *Line) Count(name string, n int) *Line {
	l.metrics = append(l.metrics, metric{name: name, unit: Count, value: float64(n)})
	return l
}

// Bytes adds a metric in Bytes.
func (l *Line) Bytes(name string, n int64) *Line {
	l.metrics = append(l.metrics, metric{name: name, unit: Bytes, value: float64(n)})
	return l
}

// Dist adds a distribution as a value array; an empty one is left out (it
// has no value to publish).
func (l *Line) Dist(name string, unit Unit, d *Dist) *Line {
	if d != nil && d.Len() > 0 {
		l.metrics = append(l.metrics, metric{name: name, unit: unit, dist: d})
	}
	return l
}

// Emit writes the lines, each a JSON object and a newline, in one Write.
// A line without metrics, or with more dimensions than a set may hold, is
// left out. Writing is best effort: a metric is never a reason to fail an
// invocation, and stdout has nobody else to tell.
func (e *Emitter) Emit(lines ...*Line) {
	if e == nil || e.Out == nil || len(lines) == 0 {
		return
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	ts := now().UnixMilli()
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.buf[:0]
	for _, l := range lines {
		if l == nil || len(l.metrics) == 0 || len(l.dims) > MaxDimensions {
			continue
		}
		b = l.append(b, ts)
	}
	if len(b) > 0 {
		_, _ = e.Out.Write(b)
	}
	e.buf = b
}

// append writes l as one EMF document and a newline.
func (l *Line) append(b []byte, ts int64) []byte {
	b = append(b, `{"_aws":{"Timestamp":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `,"CloudWatchMetrics":[`...)
	for start := 0; start < len(l.metrics); start += MaxMetrics {
		if start > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Namespace":`...)
		b = appendString(b, topology.MetricsNamespace)
		b = append(b, `,"Dimensions":[[`...)
		for i, d := range l.dims {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, d.Name)
		}
		b = append(b, `]],"Metrics":[`...)
		for i, m := range l.metrics[start:min(start+MaxMetrics, len(l.metrics))] {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"Name":`...)
			b = appendString(b, m.name)
			b = append(b, `,"Unit":`...)
			b = appendString(b, string(m.unit))
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	b = append(b, "]}"...)
	for _, d := range l.dims {
		b = append(b, ',')
		b = appendString(b, d.Name)
		b = append(b, ':')
		b = appendString(b, dimensionValue(d.Value))
	}
	for _, m := range l.metrics {
		b = append(b, ',')
		b = appendString(b, m.name)
		b = append(b, ':')
		if m.dist != nil {
			b = m.dist.appendValues(b)
		} else {
			b = appendNumber(b, m.value)
		}
	}
	return append(b, "}\n"...)
}

// dimensionValue is v as CloudWatch takes a dimension value: 1 to 1,024
// ASCII characters. Logstream's values (topology IDs, types, reason codes,
// validated project and stream IDs) already are; anything else is made so
// rather than have CloudWatch drop the whole line.
func dimensionValue(v string) string {
	if v == "" {
		return "none"
	}
	ascii := true
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		b := []byte(v)
		for i := range b {
			if b[i] < 0x20 || b[i] >= utf8.RuneSelf {
				b[i] = '_'
			}
		}
		v = string(b)
	}
	if len(v) > maxDimensionValue {
		v = v[:maxDimensionValue]
	}
	return v
}

// appendNumber writes v as a JSON number, to the microsecond for times in
// milliseconds: CloudWatch keeps no more, and the lines stay short.
func appendNumber(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	if v != math.Trunc(v) {
		v = math.Round(v*1000) / 1000
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// appendString writes s as a JSON string. The names and values written
// here are ASCII (dimensionValue), so only quotes, backslashes and control
// characters need escaping.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

const hex = "0123456789abcdef"
