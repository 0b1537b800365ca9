package lokipush

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/klauspost/compress/s2"
	"google.golang.org/protobuf/encoding/protowire"
)

// parseProto reads a protobuf push body: a snappy block (Snappy's block
// format, no framing) holding a logproto.PushRequest, decoded as Loki's
// util.ParseProtoReader with RawSnappy does (pkg/util/http.go) — the decoded
// length read from the block's header and checked against the limit before
// anything is decoded — and then decoded by decodePush, which reads what
// Loki's generated PushRequest.Unmarshal reads without linking Loki's push
// types (and through them gogo/protobuf and grpc) into the binary.
// The request's lines and metadata point into the decoded block, made
// here and not written after decoding: no line is copied.
//
// s2.Decode reads every standard Snappy block (s2 is a superset: it also
// takes its own "repeat offset" copies, which golang/snappy, Loki's decoder,
// refuses; such a body would be a 400 from Loki and is accepted here).
func parseProto(body []byte, lim Limits) (*Request, error) {
	n, err := s2.DecodedLen(body)
	if err != nil {
		return nil, malformed("", snappyError(err))
	}
	if n > lim.MaxDecodedBytes {
		return nil, tooLarge(msgMessageTooLarge, n, lim.MaxDecodedBytes)
	}
	raw, err := s2.Decode(make([]byte, n), body)
	if err != nil {
		return nil, malformed("", snappyError(err))
	}

	// Count, then charge, before decoding anything: a body of empty
	// entries or metadata pairs (two bytes each) turns into tens of times
	// its size as structs.
	c, err := countPush(raw)
	if err != nil {
		return nil, malformed(msgBadPush, err)
	}
	if c.entries > lim.MaxEntries {
		return nil, tooLarge("push request has more than %d entries", lim.MaxEntries)
	}
	b := &builder{lim: lim}
	if err := b.reserve(c.streams, c.entries, c.metadata); err != nil {
		return nil, err
	}
	if err := decodePush(raw, b); err != nil {
		var pe *parseError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, malformed(msgBadPush, err)
	}
	return b.finish(), nil
}

// pushSink takes a PushRequest as decodePush reads it, in wire order: an
// entry's metadata pairs, then the entry; a stream's entries, then the
// stream. A sink's error stops the decoding and is returned as is.
type pushSink interface {
	pushMeta(l Label) error
	pushEntry(t time.Time, line string) error // its metadata: the pairs since the last entry
	pushStream(labels string) error           // its entries: those since the last stream
}

// pushMeta adds a structured metadata pair of the entry being read. reserve has
// sized b.meta for every pair, so it neither grows nor charges.
func (b *builder) pushMeta(l Label) error { return b.addMeta(l) }

// pushEntry adds an entry of the stream being read, with the pairs since the
// last one.
func (b *builder) pushEntry(t time.Time, line string) error {
	start := b.metaStart
	b.metaStart = len(b.meta)
	return b.addEntry(Entry{Time: t, Line: line}, start)
}

// pushStream adds a stream with the entries since the last one, once its labels
// parse.
func (b *builder) pushStream(labels string) error {
	start := b.streamStart
	b.streamStart = len(b.entries)
	// An upper bound of the labels, to charge their map before making it.
	if err := b.charge(mapSize + strings.Count(labels, "=")*mapLabelSize); err != nil {
		return err
	}
	ls, err := parseLabels(labels)
	if err != nil {
		return err
	}
	return b.addStream(ls, start)
}

// snappyError words s2's errors as golang/snappy's, which is what a Loki
// client sees from Loki.
func snappyError(err error) error {
	switch {
	case errors.Is(err, s2.ErrCorrupt):
		return &renamed{msg: "snappy: corrupt input", err: err}
	case errors.Is(err, s2.ErrTooLarge):
		return &renamed{msg: "snappy: decoded block is too large", err: err}
	}
	return err
}

// Field numbers of push.proto (github.com/grafana/loki/pkg/push, the module
// pinned in go.mod) and of google/protobuf/timestamp.proto:
//
//	PushRequest      { repeated StreamAdapter streams = 1; }
//	StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//	EntryAdapter     { Timestamp timestamp = 1; string line = 2;
//	                   repeated LabelPairAdapter structuredMetadata = 3, parsed = 4; }
//	LabelPairAdapter { string name = 1; string value = 2; }
//	Timestamp        { int64 seconds = 1; int32 nanos = 2; }
//
// Strings and messages are length-delimited (wire type 2), the integers
// varints (wire type 0).
const (
	fieldStreams = 1

	fieldLabels  = 1
	fieldEntries = 2
	fieldHash    = 3

	fieldTimestamp          = 1
	fieldLine               = 2
	fieldStructuredMetadata = 3
	fieldParsed             = 4

	fieldName  = 1
	fieldValue = 2

	fieldSeconds = 1
	fieldNanos   = 2
)

// The range of a google.protobuf.Timestamp (timestamp.proto): from
// 0001-01-01 to before 10000-01-01, nanos in [0, 1e9). Loki refuses an entry
// outside it (push.validateTimestamp).
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300800
)

// decodePush decodes the PushRequest raw into sink, as Loki's generated
// PushRequest.Unmarshal reads it: the last of a repeated scalar field wins,
// an unknown field is skipped, a known one with the wrong wire type is an
// error, and so are a truncated field, field number 0 and a timestamp out of
// range. It refuses two things Unmarshal skips (see errStricter): groups and
// varints over 64 bits.
func decodePush(raw []byte, sink pushSink) error {
	return eachKnown(raw, pushFields, func(_ int32, v []byte) error {
		return decodeStream(v, sink)
	})
}

// fieldSpec is a known field of a message: its wire type, and its name in
// gogo's "wrong wireType" error.
type fieldSpec struct {
	typ  protowire.Type
	name string
}

// Each message's known fields, by number.
var (
	pushFields   = []fieldSpec{fieldStreams: {protowire.BytesType, "Streams"}}
	streamFields = []fieldSpec{
		// Sic: gogo's generated Stream.Unmarshal names labels so.
		fieldLabels:  {protowire.BytesType, "StructuredMetadata"},
		fieldEntries: {protowire.BytesType, "Entries"},
		fieldHash:    {protowire.VarintType, "Hash"},
	}
	entryFields = []fieldSpec{
		fieldTimestamp:          {protowire.BytesType, "Timestamp"},
		fieldLine:               {protowire.BytesType, "Line"},
		fieldStructuredMetadata: {protowire.BytesType, "StructuredMetadata"},
		fieldParsed:             {protowire.BytesType, "Parsed"},
	}
	pairFields      = []fieldSpec{fieldName: {protowire.BytesType, "Name"}, fieldValue: {protowire.BytesType, "Value"}}
	timestampFields = []fieldSpec{fieldSeconds: {protowire.VarintType, "Seconds"}, fieldNanos: {protowire.VarintType, "Nanos"}}
)

// eachKnown calls fn with each field of message b that known names, after
// checking its wire type; it skips the others.
func eachKnown(b []byte, known []fieldSpec, fn func(num int32, v []byte) error) error {
	return eachField(b, func(num int32, typ protowire.Type, v []byte) error {
		if int(num) >= len(known) || known[num].name == "" {
			return nil
		}
		if typ != known[num].typ {
			return wrongType(typ, known[num].name)
		}
		return fn(num, v)
	})
}

func decodeStream(b []byte, sink pushSink) error {
	var labels []byte
	err := eachKnown(b, streamFields, func(num int32, v []byte) error {
		switch num {
		case fieldLabels:
			labels = v
		case fieldEntries:
			return decodeEntry(v, sink)
		}
		return nil // the hash, which Loki recomputes
	})
	if err != nil {
		return err
	}
	return sink.pushStream(string(labels))
}

func decodeEntry(b []byte, sink pushSink) error {
	var (
		t    time.Time // none sent: the zero time, as Unmarshal leaves it
		line []byte
	)
	err := eachKnown(b, entryFields, func(num int32, v []byte) error {
		switch num {
		case fieldTimestamp:
			var err error
			t, err = decodeTimestamp(v)
			return err
		case fieldLine:
			line = v
			return nil
		}
		l, err := decodeLabelPair(v)
		if err != nil || num == fieldParsed {
			return err // parsed is Loki's query output, dropped as Loki drops it on push
		}
		return sink.pushMeta(l)
	})
	if err != nil {
		return err
	}
	// Not copied: raw is parseProto's own buffer, written by nothing once
	// decoded, and every line together is most of it.
	return sink.pushEntry(t, bytesString(line))
}

func decodeLabelPair(b []byte) (Label, error) {
	var name, value []byte
	err := eachKnown(b, pairFields, func(num int32, v []byte) error {
		if num == fieldName {
			name = v
		} else {
			value = v
		}
		return nil
	})
	return Label{Name: bytesString(name), Value: bytesString(value)}, err // as the line, not copied
}

// decodeTimestamp reads a google.protobuf.Timestamp as gogo's
// types.Timestamp.Unmarshal and push.StdTimeUnmarshal do: the varints'
// low 64 bits as seconds and low 32 as nanos, then the range check.
func decodeTimestamp(b []byte) (time.Time, error) {
	var (
		sec   int64
		nanos int32
	)
	err := eachKnown(b, timestampFields, func(num int32, v []byte) error {
		x, _ := protowire.ConsumeVarint(v) // eachField has read it
		if num == fieldSeconds {
			sec = int64(x)
		} else {
			nanos = int32(x) // the low 32 bits, as gogo reads an int32
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	if sec < minTimestampSeconds || sec >= maxTimestampSeconds || nanos < 0 || nanos >= 1e9 {
		return time.Time{}, fmt.Errorf("timestamp: seconds %d, nanos %d: out of range", sec, nanos)
	}
	return time.Unix(sec, int64(nanos)).UTC(), nil
}

func wrongType(typ protowire.Type, field string) error {
	return fmt.Errorf("proto: wrong wireType = %d for field %s", typ, field)
}

// pushCounts is what a PushRequest will decode into.
type pushCounts struct {
	streams  int
	entries  int
	metadata int // structured metadata pairs
}

// countPush walks the protobuf wire format of a PushRequest and counts its
// streams, entries and metadata pairs, without allocating. It refuses what
// eachField refuses, wherever it is; decodePush then refuses the rest.
func countPush(b []byte) (pushCounts, error) {
	var c pushCounts
	err := eachField(b, func(num int32, typ protowire.Type, v []byte) error {
		if num != fieldStreams || typ != protowire.BytesType {
			return nil
		}
		c.streams++
		return eachField(v, func(num int32, typ protowire.Type, v []byte) error {
			if num != fieldEntries || typ != protowire.BytesType {
				return nil
			}
			c.entries++
			return eachField(v, func(num int32, typ protowire.Type, _ []byte) error {
				if num == fieldStructuredMetadata && typ == protowire.BytesType {
					c.metadata++
				}
				return nil
			})
		})
	})
	return c, err
}

// errStricter marks what decodePush refuses and Loki's Unmarshal takes:
// a group (wire types 3 and 4, deprecated since proto2), which gogo skips
// in an unknown field, and a varint whose tenth byte sets bits past 64,
// whose extra bits gogo drops. No encoder writes either into a PushRequest.
var errStricter = errors.New("proto: not accepted")

var (
	errGroup         = fmt.Errorf("%w: group (wire type 3)", errStricter)
	errVarintOverrun = fmt.Errorf("%w: varint over 64 bits", errStricter)
)

// eachField calls fn with each field of message b: its number, wire type
// and value's bytes (a varint's own bytes, a length-delimited field's
// content). It refuses what gogo's generated Unmarshal refuses about
// framing (a truncated field, a varint over ten bytes, field number 0, an
// end-group or an unknown wire type), and errStricter's cases.
func eachField(b []byte, fn func(num int32, typ protowire.Type, v []byte) error) error {
	for len(b) > 0 {
		tag, n := consumeVarint(b)
		if n < 0 {
			return varintError(n, "field tag")
		}
		b = b[n:]
		// int32, as gogo's generated code reads it: a tag whose number
		// overflows must count as the field gogo will take it for.
		num, typ := int32(tag>>3), protowire.Type(tag&7)
		if typ == protowire.EndGroupType {
			return errors.New("proto: wiretype end group for non-group")
		}
		if num <= 0 {
			return fmt.Errorf("proto: illegal tag %d (wire type %d)", num, typ)
		}
		var v []byte
		switch typ {
		case protowire.VarintType:
			_, n = consumeVarint(b)
			if n < 0 {
				return varintError(n, "field")
			}
			v = b[:n]
		case protowire.Fixed64Type:
			if _, n = protowire.ConsumeFixed64(b); n < 0 {
				return errUnexpectedEOF
			}
		case protowire.Fixed32Type:
			if _, n = protowire.ConsumeFixed32(b); n < 0 {
				return errUnexpectedEOF
			}
		case protowire.BytesType:
			l, m := consumeVarint(b)
			if m < 0 {
				return varintError(m, "field length")
			}
			if l > uint64(len(b)-m) {
				return errUnexpectedEOF
			}
			n = m + int(l)
			v = b[m:n]
		case protowire.StartGroupType:
			return errGroup
		default:
			return fmt.Errorf("proto: illegal wireType %d", typ)
		}
		b = b[n:]
		if err := fn(num, typ, v); err != nil {
			return err
		}
	}
	return nil
}

// errUnexpectedEOF is io.ErrUnexpectedEOF's text, which gogo returns for a
// truncated field; the message a Loki client sees is the same.
var errUnexpectedEOF = errors.New("unexpected EOF")

// consumeVarint is protowire.ConsumeVarint, telling apart (as n ==
// varintOverrun) a ten-byte varint whose last byte sets bits past 64, which
// gogo reads, dropping them.
func consumeVarint(b []byte) (uint64, int) {
	v, n := protowire.ConsumeVarint(b)
	if n < 0 && len(b) >= 10 && b[9] < 0x80 {
		return 0, varintOverrun
	}
	return v, n
}

const varintOverrun = -100

func varintError(n int, what string) error {
	switch n {
	case varintOverrun:
		return errVarintOverrun
	case -1: // protowire: truncated
		return errUnexpectedEOF
	}
	return fmt.Errorf("proto: integer overflow in %s", what)
}
