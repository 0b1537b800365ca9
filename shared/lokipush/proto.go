package lokipush

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/s2"
)

// parseProto reads a protobuf push body: a snappy block (Snappy's block
// format, no framing) holding a logproto.PushRequest, decoded as Loki's
// util.ParseProtoReader with RawSnappy does (pkg/util/http.go) — the decoded
// length read from the block's header and checked against the limit before
// anything is decoded — and unmarshalled with Loki's own push types.
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

	// Count, then charge, before unmarshalling anything: Unmarshal makes a
	// struct of every entry and metadata pair, which a body of empty ones
	// (two bytes each) turns into tens of times its size.
	c, err := countPush(raw)
	if err != nil {
		return nil, malformed(msgBadPush, err)
	}
	if c.entries > lim.MaxEntries {
		return nil, tooLarge("push request has more than %d entries", lim.MaxEntries)
	}
	b := &builder{lim: lim}
	if err := b.charge(c.entries*pushEntrySize + c.pushPairs*pushLabelSize); err != nil {
		return nil, err
	}
	if err := b.reserve(c.streams, c.entries, c.metadata); err != nil {
		return nil, err
	}

	// PushRequest.Unmarshal's own loop, with each stream unmarshalled by
	// its generated Stream.Unmarshal into entries sized by counting them:
	// no slice regrowth, and one stream's push structs alive at a time.
	err = eachField(raw, func(num int32, typ byte, v []byte) error {
		if num != fieldStreams {
			return nil // unknown fields are skipped, as gogo skips them
		}
		if typ != wireBytes {
			return fmt.Errorf("proto: wrong wireType = %d for field Streams", typ)
		}
		entries := 0
		_ = eachField(v, func(num int32, typ byte, _ []byte) error { // countPush has walked v
			if num == fieldEntries && typ == wireBytes {
				entries++
			}
			return nil
		})
		s := push.Stream{Entries: make([]push.Entry, 0, entries)}
		if err := s.Unmarshal(v); err != nil {
			return err
		}
		return b.protoStream(&s)
	})
	if err != nil {
		var pe *parseError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, malformed(msgBadPush, err)
	}
	return b.finish(), nil
}

// What Unmarshal allocates per entry and per pair: a push.Entry (and the
// timestamp gogo decodes it through), a push.LabelAdapter.
const (
	pushEntrySize = int(unsafe.Sizeof(push.Entry{})) + 32
	pushLabelSize = int(unsafe.Sizeof(push.LabelAdapter{}))
)

// protoStream adds an unmarshalled stream to the request. Its strings are
// Unmarshal's own copies, so they are taken, not copied.
func (b *builder) protoStream(s *push.Stream) error {
	// An upper bound of the labels, to charge their map before making it.
	if err := b.charge(mapSize + strings.Count(s.Labels, "=")*mapLabelSize); err != nil {
		return err
	}
	labels, err := parseLabels(s.Labels)
	if err != nil {
		return err
	}
	start := len(b.entries)
	for _, e := range s.Entries {
		metaStart := len(b.meta)
		for _, l := range e.StructuredMetadata {
			if err := b.addMeta(Label(l)); err != nil {
				return err
			}
		}
		if err := b.addEntry(Entry{Time: e.Timestamp, Line: e.Line}, metaStart); err != nil {
			return err
		}
	}
	return b.addStream(labels, start)
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

// pushCounts is what a PushRequest will unmarshal into.
type pushCounts struct {
	streams  int
	entries  int
	metadata int // structured metadata pairs
	// pushPairs is the push.LabelAdapter slots Unmarshal allocates for
	// structured metadata and parsed labels (field 4, which Parse drops),
	// appending them one at a time (see appendSlots).
	pushPairs int
}

// Field numbers and wire types of push.proto (github.com/grafana/loki/pkg/push):
// PushRequest.streams = 1; StreamAdapter.entries = 2; EntryAdapter.
// structuredMetadata = 3, parsed = 4. Every one of them is length-delimited.
const (
	fieldStreams            = 1
	fieldEntries            = 2
	fieldStructuredMetadata = 3
	fieldParsed             = 4
	wireVarint              = 0
	wireFixed64             = 1
	wireBytes               = 2
	wireFixed32             = 5
)

// countPush walks the protobuf wire format of a PushRequest and counts what
// Unmarshal would make of it, without allocating. It refuses what Unmarshal
// refuses about framing (a truncated field, a bad varint, field number 0),
// and also groups (wire types 3 and 4, deprecated since proto2), which gogo
// would skip in an unknown field.
func countPush(b []byte) (pushCounts, error) {
	var c pushCounts
	err := eachField(b, func(num int32, typ byte, v []byte) error {
		if num != fieldStreams || typ != wireBytes {
			return nil
		}
		c.streams++
		return eachField(v, func(num int32, typ byte, v []byte) error {
			if num != fieldEntries || typ != wireBytes {
				return nil
			}
			c.entries++
			meta, parsed := 0, 0
			err := eachField(v, func(num int32, typ byte, _ []byte) error {
				if typ == wireBytes && num == fieldStructuredMetadata {
					meta++
				}
				if typ == wireBytes && num == fieldParsed {
					parsed++
				}
				return nil
			})
			c.metadata += meta
			c.pushPairs += appendSlots(meta) + appendSlots(parsed)
			return err
		})
	})
	return c, err
}

// appendSlots bounds the slots of all the arrays append allocates while a
// slice grows from nil to n elements: doubling (under 2n in all) up to 256
// elements, then growing by a quarter (under 5n).
func appendSlots(n int) int {
	if n <= 256 {
		return 2 * n
	}
	return 5 * n
}

// eachField calls fn with each field of message b: its number, wire type
// and, for a length-delimited field, its bytes.
func eachField(b []byte, fn func(num int32, typ byte, v []byte) error) error {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("proto: bad varint in field tag")
		}
		b = b[n:]
		// int32, as gogo's generated code reads it: a tag whose number
		// overflows must count as the field gogo will take it for.
		num, typ := int32(tag>>3), byte(tag&7)
		if num <= 0 {
			return fmt.Errorf("proto: illegal tag %d (wire type %d)", num, typ)
		}
		var v []byte
		switch typ {
		case wireVarint:
			_, n := binary.Uvarint(b)
			if n <= 0 {
				return errors.New("proto: bad varint")
			}
			b = b[n:]
		case wireFixed64, wireFixed32:
			size := 8
			if typ == wireFixed32 {
				size = 4
			}
			if len(b) < size {
				return errors.New("unexpected EOF")
			}
			b = b[size:]
		case wireBytes:
			l, n := binary.Uvarint(b)
			if n <= 0 {
				return errors.New("proto: bad varint in field length")
			}
			b = b[n:]
			if l > uint64(len(b)) {
				return errors.New("unexpected EOF")
			}
			v, b = b[:l], b[l:]
		default:
			return fmt.Errorf("proto: illegal wireType %d", typ)
		}
		if err := fn(num, typ, v); err != nil {
			return err
		}
	}
	return nil
}
