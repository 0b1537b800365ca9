// Package emftest reads the EMF lines a handler printed, for tests: each
// is checked against CloudWatch's Embedded Metric Format specification
// (the JSON schema it publishes, and the limits the specification states)
// and against logstream's contract (shared/topology/metrics.go: the
// namespace, the dimension names, each metric's name and unit).
package emftest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/logstream/logstream/shared/topology"
)

// Units are CloudWatch's metric units (MetricDatum), which a
// MetricDefinition's Unit must be one of.
var Units = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
	"Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
	"Gigabits/Second", "Terabits/Second", "Count/Second", "None"}

// Contract is every metric of the contract with its unit.
var Contract = map[string]string{
	topology.MetricIngestRequests:        "Count",
	topology.MetricIngestBytes:           "Bytes",
	topology.MetricEventsAccepted:        "Count",
	topology.MetricEventsRefused:         "Count",
	topology.MetricIngestServerErrors:    "Count",
	topology.MetricEventsDelivered:       "Count",
	topology.MetricEventsRetried:         "Count",
	topology.MetricEventsParked:          "Count",
	topology.MetricEventsFiltered:        "Count",
	topology.MetricDestinationLatency:    "Milliseconds",
	topology.MetricLagFromTimestamp:      "Milliseconds",
	topology.MetricLagFromEnqueue:        "Milliseconds",
	topology.MetricBatchSize:             "Count",
	topology.MetricBridgePushes:          "Count",
	topology.MetricBridgeEntries:         "Count",
	topology.MetricBridgeBytes:           "Bytes",
	topology.MetricBridgeRefusals:        "Count",
	topology.MetricArchiveObjectsWritten: "Count",
	topology.MetricArchiveWriteFailures:  "Count",
}

// Dimensions are the contract's dimension names.
var Dimensions = []string{topology.DimFunction, topology.DimDestinationType, topology.DimReason, topology.DimStatus,
	topology.DimProject, topology.DimStream}

// Doc is one EMF line, decoded.
type Doc struct {
	Timestamp int64
	// Sets are the dimension sets of its directives; Dims the values of
	// their dimensions.
	Sets [][]string
	Dims map[string]string
	// Metrics are its metrics by name.
	Metrics map[string]Metric
}

// Metric is one metric of a line: its unit and its value, or values.
type Metric struct {
	Unit   string
	Values []float64
	Array  bool // written as an array of values
}

// Sum is the sum of m's values.
func (m Metric) Sum() float64 {
	s := 0.0
	for _, v := range m.Values {
		s += v
	}
	return s
}

// Key names d's dimension combination, e.g. "Function=ingest,Reason=x",
// in the order of its (first) set.
func (d Doc) Key() string {
	var parts []string
	for _, s := range d.Sets {
		for _, name := range s {
			parts = append(parts, name+"="+d.Dims[name])
		}
		break
	}
	return strings.Join(parts, ",")
}

// Parse reads every line of out that is an EMF document (a JSON object
// with an _aws member; the logs beside them are left alone) and checks
// each against the specification and the contract.
func Parse(out []byte) ([]Doc, error) {
	var docs []Doc
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"_aws"`)) {
			continue
		}
		d, err := Validate(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w\n%s", n, err, line)
		}
		docs = append(docs, d)
	}
	return docs, sc.Err()
}

// maxEventBytes is CloudWatch Logs' largest log event, which is also the
// largest EMF document.
const maxEventBytes = 256 << 10

// Validate checks one line.
func Validate(line []byte) (Doc, error) {
	var d Doc
	if len(line) > maxEventBytes {
		return d, fmt.Errorf("%d bytes: more than a log event holds", len(line))
	}
	var root map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		return d, fmt.Errorf("not a JSON object: %w", err)
	}
	if dec.More() {
		return d, fmt.Errorf("data after the JSON object")
	}
	var meta struct {
		Timestamp         *json.Number
		CloudWatchMetrics []struct {
			Namespace  *string
			Dimensions [][]string
			Metrics    []struct {
				Name *string
				Unit *string
			}
		}
	}
	if err := strictDecode(root["_aws"], &meta); err != nil {
		return d, fmt.Errorf("_aws: %w", err)
	}
	if err := exactMembers(root["_aws"]); err != nil {
		return d, err
	}
	if meta.Timestamp == nil {
		return d, fmt.Errorf("_aws.Timestamp is missing")
	}
	ts, err := meta.Timestamp.Int64()
	if err != nil || ts <= 0 {
		return d, fmt.Errorf("_aws.Timestamp %s is not epoch milliseconds", *meta.Timestamp)
	}
	d.Timestamp = ts
	if len(meta.CloudWatchMetrics) == 0 {
		return d, fmt.Errorf("_aws.CloudWatchMetrics is empty")
	}
	d.Dims, d.Metrics = map[string]string{}, map[string]Metric{}
	for i, dir := range meta.CloudWatchMetrics {
		if dir.Namespace == nil || dir.Dimensions == nil || dir.Metrics == nil {
			return d, fmt.Errorf("directive %d lacks Namespace, Dimensions or Metrics", i)
		}
		if *dir.Namespace != topology.MetricsNamespace {
			return d, fmt.Errorf("namespace %q, want %q", *dir.Namespace, topology.MetricsNamespace)
		}
		if len(dir.Dimensions) == 0 {
			return d, fmt.Errorf("directive %d has no dimension set", i)
		}
		if len(dir.Metrics) == 0 || len(dir.Metrics) > 100 {
			return d, fmt.Errorf("directive %d has %d metrics (1 to 100)", i, len(dir.Metrics))
		}
		for _, set := range dir.Dimensions {
			if len(set) > 30 {
				return d, fmt.Errorf("a dimension set of %d keys (at most 30)", len(set))
			}
			for _, name := range set {
				if !slices.Contains(Dimensions, name) {
					return d, fmt.Errorf("dimension %q is not the contract's", name)
				}
				var v string
				if err := json.Unmarshal(root[name], &v); err != nil {
					return d, fmt.Errorf("dimension %q: the root's member is not a string: %s", name, root[name])
				}
				if v == "" || len(v) > 1024 || !ascii(v) {
					return d, fmt.Errorf("dimension %q = %q: not 1 to 1,024 ASCII characters", name, v)
				}
				d.Dims[name] = v
			}
			d.Sets = append(d.Sets, set)
		}
		for _, m := range dir.Metrics {
			if m.Name == nil || *m.Name == "" || len(*m.Name) > 255 {
				return d, fmt.Errorf("a metric without a name of 1 to 255 characters")
			}
			name := *m.Name
			unit := "None"
			if m.Unit != nil {
				unit = *m.Unit
			}
			if !slices.Contains(Units, unit) {
				return d, fmt.Errorf("metric %s: unit %q is not CloudWatch's", name, unit)
			}
			want, ok := Contract[name]
			if !ok {
				return d, fmt.Errorf("metric %q is not the contract's", name)
			}
			if unit != want {
				return d, fmt.Errorf("metric %s in %s, the contract says %s", name, unit, want)
			}
			values, array, err := numbers(root[name])
			if err != nil {
				return d, fmt.Errorf("metric %s: %w", name, err)
			}
			d.Metrics[name] = Metric{Unit: unit, Values: values, Array: array}
		}
	}
	return d, nil
}

// numbers reads a metric's member: a number, or an array of 1 to 100.
func numbers(raw json.RawMessage) ([]float64, bool, error) {
	if raw == nil {
		return nil, false, fmt.Errorf("no member of the root")
	}
	var one float64
	if err := json.Unmarshal(raw, &one); err == nil {
		return []float64{one}, false, nil
	}
	var many []float64
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, false, fmt.Errorf("%s is neither a number nor an array of numbers", raw)
	}
	if len(many) == 0 || len(many) > 100 {
		return nil, false, fmt.Errorf("an array of %d values (1 to 100)", len(many))
	}
	return many, true, nil
}

// strictDecode decodes with no member unknown: the specification's objects
// "MUST NOT contain any additional members".
func strictDecode(raw json.RawMessage, v any) error {
	if raw == nil {
		return fmt.Errorf("missing")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	return dec.Decode(v)
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ByKey indexes docs by their Key; two lines of one combination in the
// same output are an error (one line per invocation and combination).
func ByKey(docs []Doc) (map[string]Doc, error) {
	out := map[string]Doc{}
	for _, d := range docs {
		k := d.Key()
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("two lines for %s", k)
		}
		out[k] = d
	}
	return out, nil
}

// Lines parses and checks out (Parse) and indexes its lines (ByKey),
// failing t at the first fault: what a test of a function's metrics reads.
func Lines(t testing.TB, out []byte) map[string]Doc {
	t.Helper()
	docs, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := ByKey(docs)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// Keys are m's keys, sorted, for messages.
func Keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// members checks that raw is an object with each of required and nothing
// but required and optional, named exactly (the specification's members are
// case-sensitive; encoding/json's are not).
func members(raw json.RawMessage, required []string, optional ...string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("not an object: %s", raw)
	}
	for _, r := range required {
		if _, ok := m[r]; !ok {
			return fmt.Errorf("no member %q", r)
		}
	}
	for k := range m {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			return fmt.Errorf("member %q is not the specification's", k)
		}
	}
	return nil
}

// exactMembers checks the metadata, its directives and their metric
// definitions with members.
func exactMembers(aws json.RawMessage) error {
	if err := members(aws, []string{"Timestamp", "CloudWatchMetrics"}); err != nil {
		return fmt.Errorf("_aws: %w", err)
	}
	var meta struct{ CloudWatchMetrics []json.RawMessage }
	if err := json.Unmarshal(aws, &meta); err != nil {
		return err
	}
	for i, dir := range meta.CloudWatchMetrics {
		if err := members(dir, []string{"Namespace", "Dimensions", "Metrics"}); err != nil {
			return fmt.Errorf("directive %d: %w", i, err)
		}
		var defs struct{ Metrics []json.RawMessage }
		if err := json.Unmarshal(dir, &defs); err != nil {
			return err
		}
		for _, def := range defs.Metrics {
			if err := members(def, []string{"Name"}, "Unit", "StorageResolution"); err != nil {
				return fmt.Errorf("directive %d: metric: %w", i, err)
			}
		}
	}
	return nil
}
