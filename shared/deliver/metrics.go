package deliver

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/logstream/logstream/shared/jsonobj"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
)

// groupMetrics is what became of one stream's events in one invocation,
// for the metrics: counted by the goroutine that delivers the stream, with
// no lock and no allocation per event, and merged into the invocation's
// when it is done.
type groupMetrics struct {
	delivered, retried, parked, filtered int
	parkedBy                             map[stream.DeadLetterReason]int
	// latency is each send call's time, batch its events; lagTimestamp and
	// lagEnqueue each delivered event's age at delivery, from its own
	// "timestamp" and from when ingestion queued it.
	latency, batch, lagTimestamp, lagEnqueue metrics.Dist
}

// settled adds what settle did with a group's events.
func (g *groupMetrics) settled(s settled) {
	if g == nil {
		return
	}
	g.retried += s.retried
	g.parked += s.parked
	for why, n := range s.deadLetters {
		g.park(why, n)
	}
}

// dropped counts the events of a stream that no longer takes them
// (deleted or paused since they were queued) as filtered out.
func (g *groupMetrics) dropped(msgs []message) {
	if g != nil {
		g.filtered += countEvents(msgs)
	}
}

func (g *groupMetrics) park(why stream.DeadLetterReason, n int) {
	if g.parkedBy == nil {
		g.parkedBy = map[stream.DeadLetterReason]int{}
	}
	g.parkedBy[why] += n
}

// merge adds o to g.
func (g *groupMetrics) merge(o *groupMetrics) {
	g.delivered += o.delivered
	g.retried += o.retried
	g.parked += o.parked
	g.filtered += o.filtered
	for why, n := range o.parkedBy {
		g.park(why, n)
	}
	g.latency.Merge(&o.latency)
	g.batch.Merge(&o.batch)
	g.lagTimestamp.Merge(&o.lagTimestamp)
	g.lagEnqueue.Merge(&o.lagEnqueue)
}

// sent counts one send call of n events that took took.
func (g *groupMetrics) sent(n int, took time.Duration) {
	if g == nil {
		return
	}
	g.batch.Add(float64(n))
	g.latency.Add(millis(took))
}

// lag counts one delivered event's ages at at: from its timestamp (when it
// has one that reads as RFC 3339, as every event ingestion accepted does)
// and from enqueued (zero when the message did not say).
func (g *groupMetrics) lag(raw json.RawMessage, enqueued, at time.Time) {
	if g == nil {
		return
	}
	g.delivered++
	if ms, ok := timestampMillis(raw); ok {
		g.lagTimestamp.Add(millis(at.Sub(time.UnixMilli(ms))))
	}
	if !enqueued.IsZero() {
		g.lagEnqueue.Add(millis(at.Sub(enqueued)))
	}
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// invocationMetrics gathers the groups' metrics of one invocation.
type invocationMetrics struct {
	mu       sync.Mutex
	all      groupMetrics
	projects map[string]*groupMetrics    // with the project detail
	streams  map[[2]string]*groupMetrics // with the stream detail
}

// add merges one group's metrics.
func (m *invocationMetrics) add(detail metrics.Detail, projectID, streamID string, g *groupMetrics) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.all.merge(g)
	if detail.Projects() {
		if m.projects == nil {
			m.projects = map[string]*groupMetrics{}
		}
		if m.projects[projectID] == nil {
			m.projects[projectID] = &groupMetrics{}
		}
		m.projects[projectID].merge(g)
	}
	if detail.Streams() {
		if m.streams == nil {
			m.streams = map[[2]string]*groupMetrics{}
		}
		// Each stream is one group of the batch: nothing to merge with.
		m.streams[[2]string{projectID, streamID}] = g
	}
}

// emit writes the invocation's lines: {Function, DestinationType} always,
// every count included (0 too, so alarms see data), and the distributions
// that have values; {…, Reason} per park reason; {…, Project} and
// {…, Project, Stream} with the opt-in detail.
func (c *Core) emitMetrics(m *invocationMetrics) {
	e := c.Metrics
	if e == nil {
		return
	}
	typ := metrics.Dim{Name: topology.DimDestinationType, Value: c.DestinationType}
	line := func(g *groupMetrics, dims ...metrics.Dim) *metrics.Line {
		return e.Line(append([]metrics.Dim{typ}, dims...)...).
			Count(topology.MetricEventsDelivered, g.delivered).
			Count(topology.MetricEventsRetried, g.retried).
			Count(topology.MetricEventsParked, g.parked).
			Count(topology.MetricEventsFiltered, g.filtered).
			Dist(topology.MetricDestinationLatency, metrics.Milliseconds, &g.latency).
			Dist(topology.MetricBatchSize, metrics.Count, &g.batch).
			Dist(topology.MetricLagFromTimestamp, metrics.Milliseconds, &g.lagTimestamp).
			Dist(topology.MetricLagFromEnqueue, metrics.Milliseconds, &g.lagEnqueue)
	}
	lines := []*metrics.Line{line(&m.all)}
	for _, why := range slices.Sorted(maps.Keys(m.all.parkedBy)) {
		lines = append(lines, e.Line(typ, metrics.Dim{Name: topology.DimReason, Value: string(why)}).
			Count(topology.MetricEventsParked, m.all.parkedBy[why]))
	}
	for _, p := range slices.Sorted(maps.Keys(m.projects)) {
		lines = append(lines, line(m.projects[p], metrics.Dim{Name: topology.DimProject, Value: p}))
	}
	keys := slices.SortedFunc(maps.Keys(m.streams), func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	for _, k := range keys {
		lines = append(lines, line(m.streams[k], metrics.Dim{Name: topology.DimProject, Value: k[0]},
			metrics.Dim{Name: topology.DimStream, Value: k[1]}))
	}
	e.Emit(lines...)
}

// timestampMillis is the event's "timestamp" member in epoch milliseconds.
// Ingestion checked (or stamped) it as RFC 3339 on every event it took, so
// the fast path, which allocates nothing, reads nearly all of them;
// time.Parse reads the rest. The walk stops at the first member of that
// name, which ingestion stamps first in an event without one, rather than
// read the whole event for a repeated name no event ingestion took has.
func timestampMillis(raw []byte) (int64, bool) {
	var value []byte
	_ = jsonobj.Members(raw, func(key, v []byte) bool {
		if string(key) == logevent.FieldTimestamp {
			value = v
			return false
		}
		return true
	})
	text, ok := jsonobj.Text(value)
	if !ok {
		return 0, false
	}
	if ms, ok := rfc3339Millis(text); ok {
		return ms, true
	}
	t, err := time.Parse(time.RFC3339Nano, string(text))
	if err != nil {
		return 0, false
	}
	return t.UnixMilli(), true
}

// rfc3339Millis reads YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM) without
// allocating; false for anything else.
func rfc3339Millis(b []byte) (int64, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	h, ok4 := num(b[11:13])
	mi, ok5 := num(b[14:16])
	s, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 {
		return 0, false
	}
	rest := b[19:]
	ms := 0
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		for scale := 100; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
			ms += int(rest[i]-'0') * scale
			scale /= 10
		}
		if i == 1 {
			return 0, false
		}
		rest = rest[i:]
	}
	offset := 0
	switch {
	case len(rest) == 1 && rest[0] == 'Z':
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num(rest[1:3])
		om, ok2 := num(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
	// days_from_civil), for years 0 … 9999.
	if mo <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	doy := (153*((mo+9)%12)+2)/5 + d - 1
	days := era*146097 + yoe*365 + yoe/4 - yoe/100 + doy - 719468
	secs := int64(days)*86400 + int64(h*3600+mi*60+s) - int64(offset)
	return secs*1000 + int64(ms), true
}
