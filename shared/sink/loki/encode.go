package loki

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"github.com/klauspost/compress/s2"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/jsonobj"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/stream"
)

// Content types and encodings of the push body (Loki HTTP API, "Ingest logs").
const (
	ContentTypeProtobuf = "application/x-protobuf"
	ContentTypeJSON     = "application/json"
	EncodingGzip        = "gzip"
)

// Labels logstream puts on every stream. Stytch documents no label set for
// its Loki streaming, so these follow Loki's label guidance instead: a
// constant source, and service — the first label Loki's default
// discover_service_name list maps to service_name — set to the stream's
// project, one value per stream, so the label count stays low.
const (
	LabelSource  = "source"
	LabelService = "service"
	SourceValue  = "logstream"
)

// Structured metadata names (Loki "What is structured metadata": high-
// cardinality values that belong to one entry, not to the stream).
const (
	MetadataEventID   = "event_id"
	MetadataRequestID = "request_id"
)

// maxMetadataValue bounds a structured metadata value: event and request ids
// are short, and a value this long can only be a payload by mistake, which
// would push the entry towards limits_config.max_structured_metadata_size
// (64 KB by default) and get the whole event refused. The line keeps it.
const maxMetadataValue = 1024

// LabelString is the stream's label set in Loki's label syntax,
// `{a="b", c="d"}` sorted by name — what the protobuf push carries, and also
// a LogQL stream selector that finds exactly the stream's entries.
func LabelString(st stream.Stream, cfg *destination.GrafanaLokiConfig) string {
	return string(appendLabelString(nil, streamLabels(st, cfg)))
}

// label is one name/value pair of a stream's label set.
type label struct {
	Name, Value string
}

// streamLabels is the stream's label set, sorted by name. Labels with an
// empty value are left out: Loki drops them anyway (syntax.ParseLabels), and
// an empty value is the same as no label.
func streamLabels(st stream.Stream, cfg *destination.GrafanaLokiConfig) []label {
	ls := make([]label, 0, len(cfg.Labels)+2)
	ls = append(ls, label{Name: LabelSource, Value: SourceValue})
	if st.ProjectID != "" {
		ls = append(ls, label{Name: LabelService, Value: st.ProjectID})
	}
	for k, v := range cfg.Labels {
		// Validation refuses these names; skipping them keeps a stored
		// config that predates it from sending a duplicate label (a 400).
		if k == LabelSource || k == LabelService || v == "" {
			continue
		}
		ls = append(ls, label{Name: k, Value: v})
	}
	slices.SortFunc(ls, func(a, b label) int { return cmp.Compare(a.Name, b.Name) })
	return ls
}

// appendLabelString writes ls the way Prometheus' labels.Labels.String does
// and Loki parses it (promql ParseMetric via syntax.ParseLabels): names bare,
// values as Go-quoted strings, so \ " and newlines arrive escaped and any
// other byte is either literal UTF-8 or a \x, \u escape the parser accepts.
func appendLabelString(dst []byte, ls []label) []byte {
	dst = append(dst, '{')
	for i, l := range ls {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, l.Name...)
		dst = append(dst, '=')
		dst = strconv.AppendQuote(dst, l.Value)
	}
	return append(dst, '}')
}

// Encode returns the push request body for evs in cfg's format, with the
// Content-Type and Content-Encoding to send it with. An event without a
// usable "timestamp" is stamped with now.
func Encode(st stream.Stream, cfg *destination.GrafanaLokiConfig, evs []json.RawMessage, now time.Time) (body []byte, contentType, contentEncoding string, err error) {
	var e encoder // not pooled: the body is the caller's to keep
	return e.encode(st, cfg, evs, now, true)
}

// entry is one event as Loki will store it. Its strings and line point into
// the event: they live no longer than one encode call.
type entry struct {
	ts        int64 // Unix nanoseconds
	line      []byte
	eventID   string
	requestID string
}

// encoder holds the scratch space of one push body, reused across sends.
type encoder struct {
	entries []entry
	raw     []byte // the uncompressed body
	snappy  []byte
	gz      bytes.Buffer
}

// maxKeep is the largest buffer an encoder keeps for the next batch; a
// rare bigger one goes to the garbage collector.
const maxKeep = 4 << 20

// reset drops every reference into the last batch's events.
func (e *encoder) reset() {
	clear(e.entries)
	if cap(e.raw) > maxKeep || cap(e.snappy) > maxKeep || e.gz.Cap() > maxKeep {
		*e = encoder{}
	}
}

// encode returns the body in e's own memory, valid until the next encode.
// Without meta, entries carry no structured metadata, for a Loki that
// refuses it.
func (e *encoder) encode(st stream.Stream, cfg *destination.GrafanaLokiConfig, evs []json.RawMessage, now time.Time, meta bool) ([]byte, string, string, error) {
	fallback := now.UnixNano()
	e.entries = slices.Grow(e.entries[:0], len(evs))
	for _, ev := range evs {
		en := parseEvent(ev, fallback)
		if !meta {
			en.eventID, en.requestID = "", ""
		}
		e.entries = append(e.entries, en)
	}
	// Loki accepts out-of-order entries by default (unordered_writes), but
	// a tenant may turn that off; in order, a batch is valid either way.
	// Stable, so events stamped alike keep the order they were sent in.
	slices.SortStableFunc(e.entries, func(a, b entry) int { return cmp.Compare(a.ts, b.ts) })

	labels := streamLabels(st, cfg)
	if cfg.Format == destination.LokiFormatJSON {
		e.raw = e.appendJSON(e.raw[:0], labels)
		e.gz.Reset()
		sink.Gzip(&e.gz, e.raw)
		return e.gz.Bytes(), ContentTypeJSON, EncodingGzip, nil
	}
	e.raw = appendPush(e.raw[:0], string(appendLabelString(nil, labels)), e.entries)
	// Snappy's block format, which Loki reads with snappy.Decode; s2's
	// EncodeSnappy writes it without s2's extensions.
	e.snappy = s2.EncodeSnappy(e.snappy[:cap(e.snappy)], e.raw)
	return e.snappy, ContentTypeProtobuf, "", nil
}

// appendJSON writes the entries as Loki's JSON push body.
func (e *encoder) appendJSON(dst []byte, labels []label) []byte {
	dst = append(dst, `{"streams":[{"stream":{`...)
	for i, l := range labels {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonobj.AppendString(dst, l.Name)
		dst = append(dst, ':')
		dst = jsonobj.AppendString(dst, l.Value)
	}
	dst = append(dst, `},"values":[`...)
	for i, en := range e.entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `["`...)
		dst = strconv.AppendInt(dst, en.ts, 10)
		dst = append(dst, `",`...)
		dst = jsonobj.AppendString(dst, view(en.line))
		if en.eventID != "" || en.requestID != "" {
			dst = append(dst, ",{"...)
			if en.eventID != "" {
				dst = append(dst, `"`+MetadataEventID+`":`...)
				dst = jsonobj.AppendString(dst, en.eventID)
			}
			if en.requestID != "" {
				if en.eventID != "" {
					dst = append(dst, ',')
				}
				dst = append(dst, `"`+MetadataRequestID+`":`...)
				dst = jsonobj.AppendString(dst, en.requestID)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, "]}]}"...)
}

// parseEvent reads the three top-level fields Loki needs from an event and
// skips over the rest without decoding it. A line that is not a JSON object
// is still sent, as is, stamped with fallback.
func parseEvent(ev []byte, fallback int64) entry {
	en := entry{ts: fallback, line: ev}
	_ = jsonobj.Members(ev, func(key, value []byte) bool {
		if value[0] != '"' {
			return true
		}
		name, ok := jsonobj.Unescape(key)
		if !ok {
			return false
		}
		text := value[1 : len(value)-1] // still escaped
		switch string(name) {
		case "timestamp":
			if ts, ok := parseTime(text); ok {
				en.ts = ts
			}
		case "event_id":
			en.eventID = metadataValue(text)
		case "request_id":
			en.requestID = metadataValue(text)
		}
		return true
	})
	return en
}

// parseTime reads an RFC 3339 timestamp (fractional seconds optional) as
// Unix nanoseconds, which hold the years 1678 to 2261.
func parseTime(raw []byte) (int64, bool) {
	t, err := time.Parse(time.RFC3339Nano, view(raw))
	if err != nil || t.Year() < 1678 || t.Year() > 2261 {
		return 0, false
	}
	return t.UnixNano(), true
}

// metadataValue is a JSON string's value: a view of the event's bytes when
// it has no escapes (the usual case), else a decoded copy.
func metadataValue(raw []byte) string {
	if len(raw) > maxMetadataValue {
		return ""
	}
	s, ok := jsonobj.Unescape(raw)
	if !ok {
		return ""
	}
	return view(s)
}

// view is b as a string without copying. The encoder only reads events,
// and its views go with the batch: encoder.reset clears them.
func view(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
