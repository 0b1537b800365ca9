package lokipush

import (
	"unsafe"
)

// What a parsed request's parts cost in memory. Parse charges every
// allocation of structure against Limits.MaxDecodedBytes before it makes
// it, so a body of millions of empty entries, metadata pairs or streams,
// small on the wire and decoded, cannot expand past the limit as structs.
// Strings are not charged: each is at most as long as its encoded form, so
// together they are bounded by the decoded body.
const (
	entrySize  = int(unsafe.Sizeof(Entry{}))
	labelSize  = int(unsafe.Sizeof(Label{}))
	streamSize = int(unsafe.Sizeof(Stream{}))
	// A stream's label map, estimated for Go's swiss-table maps: a header
	// and one group of eight 32-byte slots, and about 40 bytes a label.
	mapSize      = 48 + 8 + 8*32
	mapLabelSize = 40
)

// builder collects a request's streams, entries and structured metadata.
// Entries and metadata go into two request-wide slices, of which each
// stream and entry take a window: a few growing allocations per request
// rather than two per entry.
type builder struct {
	lim     Limits
	streams []Stream
	entries []Entry
	meta    []Label
	cost    int
	// Where the entry and the stream being decoded from protobuf start
	// in meta and entries.
	metaStart, streamStart int
	scratch                []byte // unescaping space, reused across strings
}

// charge adds n bytes to what the request costs and refuses it once that
// is over MaxDecodedBytes.
func (b *builder) charge(n int) error {
	b.cost += n
	if b.cost > b.lim.MaxDecodedBytes {
		return tooLarge("push request expands to more than %d bytes in memory: too many streams, entries or structured metadata pairs for its size",
			b.lim.MaxDecodedBytes)
	}
	return nil
}

// reserve sizes the slices for a request whose counts are known, charging
// them once.
func (b *builder) reserve(streams, entries, meta int) error {
	if err := b.charge(streams*streamSize + entries*entrySize + meta*labelSize); err != nil {
		return err
	}
	b.streams = make([]Stream, 0, streams)
	b.entries = make([]Entry, 0, entries)
	b.meta = make([]Label, 0, meta)
	return nil
}

// grow makes room for one more element in s, charging what the new array
// costs when it has to allocate one (capacity doubles, so all of a slice's
// arrays together cost less than twice its last).
func grow[T any](b *builder, s []T) ([]T, error) {
	if len(s) < cap(s) {
		return s, nil
	}
	c := max(2*cap(s), 16)
	var zero T
	if err := b.charge(c * int(unsafe.Sizeof(zero))); err != nil {
		return nil, err
	}
	grown := make([]T, len(s), c)
	copy(grown, s)
	return grown, nil
}

// roomForEntry is checked before an entry is read, so a request over
// MaxEntries stops at the first entry too many.
func (b *builder) roomForEntry() error {
	if len(b.entries) >= b.lim.MaxEntries {
		return tooLarge("push request has more than %d entries", b.lim.MaxEntries)
	}
	return nil
}

// addMeta appends one structured metadata pair of the entry being read.
func (b *builder) addMeta(l Label) error {
	var err error
	if b.meta, err = grow(b, b.meta); err != nil {
		return err
	}
	b.meta = append(b.meta, l)
	return nil
}

// addEntry appends e, whose metadata are b.meta[metaStart:].
func (b *builder) addEntry(e Entry, metaStart int) error {
	var err error
	if b.entries, err = grow(b, b.entries); err != nil {
		return err
	}
	if n := len(b.meta); n > metaStart {
		e.Metadata = b.meta[metaStart:n:n]
	}
	b.entries = append(b.entries, e)
	return nil
}

// addStream appends a stream whose entries are b.entries[start:], after
// checking their lines against MaxLineBytes (Loki: max_line_size, checked
// per entry by the distributor's validator). Its labels' map has been
// charged by the caller, as it was built.
func (b *builder) addStream(labels map[string]string, start int) error {
	n := len(b.entries)
	for _, e := range b.entries[start:n] {
		if len(e.Line) > b.lim.MaxLineBytes {
			return tooLarge(msgLineTooLong, b.lim.MaxLineBytes, truncate(labelString(labels)), len(e.Line))
		}
	}
	return b.appendStream(labels, start)
}

// appendStream appends a stream whose entries are b.entries[start:], their
// lines checked.
func (b *builder) appendStream(labels map[string]string, start int) error {
	n := len(b.entries)
	var err error
	if b.streams, err = grow(b, b.streams); err != nil {
		return err
	}
	b.streams = append(b.streams, Stream{Labels: labels, Entries: b.entries[start:n:n]})
	return nil
}

// finish re-points every stream and entry at the final arrays: growing
// b.entries and b.meta moved them after windows on them were taken.
// Streams, entries and metadata are in request order, so each window
// starts where the one before it ended.
func (b *builder) finish() *Request {
	e, m := 0, 0
	for i := range b.streams {
		s := &b.streams[i]
		n := len(s.Entries)
		s.Entries = b.entries[e : e+n : e+n]
		e += n
		for j := range s.Entries {
			en := &s.Entries[j]
			if k := len(en.Metadata); k > 0 {
				en.Metadata = b.meta[m : m+k : m+k]
				m += k
			}
		}
	}
	return &Request{Streams: b.streams}
}
