package loki

import (
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of the messages a protobuf push carries: push.proto of
// Loki's module github.com/grafana/loki/pkg/push (the version pinned in
// go.mod, which the tests marshal with) and google/protobuf/timestamp.proto.
//
//	PushRequest      { repeated StreamAdapter streams = 1; }
//	StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2; }
//	EntryAdapter     { Timestamp timestamp = 1; string line = 2;
//	                   repeated LabelPairAdapter structuredMetadata = 3; }
//	LabelPairAdapter { string name = 1; string value = 2; }
//	Timestamp        { int64 seconds = 1; int32 nanos = 2; }
const (
	fieldStreams            = 1
	fieldLabels             = 1
	fieldEntries            = 2
	fieldTimestamp          = 1
	fieldLine               = 2
	fieldStructuredMetadata = 3
	fieldName               = 1
	fieldValue              = 2
	fieldSeconds            = 1
	fieldNanos              = 2
)

// appendPush appends a PushRequest of one stream, labelled labels, holding
// entries, written as Loki's generated (gogo) Marshal writes it, byte for
// byte: fields in number order; empty strings and zero integers left out,
// except the timestamp, which every entry carries even when it is empty;
// each entry's structured metadata event_id, then request_id, when set.
// Every size is computed before the bytes are written, so dst grows once.
func appendPush(dst []byte, labels string, entries []entry) []byte {
	stream := sizeString(labels)
	for i := range entries {
		stream += sizeMessage(entrySize(&entries[i]))
	}
	dst = slices.Grow(dst, sizeMessage(stream))
	dst = appendMessageHeader(dst, fieldStreams, stream)
	dst = appendString(dst, fieldLabels, labels)
	for i := range entries {
		en := &entries[i]
		dst = appendMessageHeader(dst, fieldEntries, entrySize(en))
		sec, nanos := timestamp(en.ts)
		dst = appendMessageHeader(dst, fieldTimestamp, timestampSize(sec, nanos))
		dst = appendVarint(dst, fieldSeconds, uint64(sec))
		dst = appendVarint(dst, fieldNanos, uint64(nanos))
		if len(en.line) > 0 {
			dst = protowire.AppendTag(dst, fieldLine, protowire.BytesType)
			dst = protowire.AppendBytes(dst, en.line)
		}
		dst = appendPair(dst, MetadataEventID, en.eventID)
		dst = appendPair(dst, MetadataRequestID, en.requestID)
	}
	return dst
}

// timestamp splits Unix nanoseconds into a Timestamp's seconds and
// non-negative nanos, as time.Unix(0, ns) does.
func timestamp(ns int64) (sec, nanos int64) {
	sec, nanos = ns/1e9, ns%1e9
	if nanos < 0 {
		sec, nanos = sec-1, nanos+1e9
	}
	return sec, nanos
}

func timestampSize(sec, nanos int64) int {
	return sizeVarint(uint64(sec)) + sizeVarint(uint64(nanos))
}

func entrySize(en *entry) int {
	sec, nanos := timestamp(en.ts)
	n := sizeMessage(timestampSize(sec, nanos)) + sizeString(view(en.line))
	if en.eventID != "" {
		n += sizeMessage(pairSize(MetadataEventID, en.eventID))
	}
	if en.requestID != "" {
		n += sizeMessage(pairSize(MetadataRequestID, en.requestID))
	}
	return n
}

func pairSize(name, value string) int { return sizeString(name) + sizeString(value) }

// appendPair appends a structured metadata pair, unless value is empty.
func appendPair(dst []byte, name, value string) []byte {
	if value == "" {
		return dst
	}
	dst = appendMessageHeader(dst, fieldStructuredMetadata, pairSize(name, value))
	dst = appendString(dst, fieldName, name)
	return appendString(dst, fieldValue, value)
}

// Every field number here is under 16: its tag is one byte.

// sizeMessage is the size of an embedded message field of n bytes.
func sizeMessage(n int) int { return 1 + protowire.SizeBytes(n) }

// sizeString is the size of a string field, which is left out when empty.
func sizeString(s string) int {
	if s == "" {
		return 0
	}
	return sizeMessage(len(s))
}

// sizeVarint is the size of an integer field, which is left out when zero.
func sizeVarint(v uint64) int {
	if v == 0 {
		return 0
	}
	return 1 + protowire.SizeVarint(v)
}

func appendMessageHeader(dst []byte, num protowire.Number, n int) []byte {
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	return protowire.AppendVarint(dst, uint64(n))
}

func appendString(dst []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return dst
	}
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	return protowire.AppendString(dst, s)
}

func appendVarint(dst []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return dst
	}
	dst = protowire.AppendTag(dst, num, protowire.VarintType)
	return protowire.AppendVarint(dst, v)
}
