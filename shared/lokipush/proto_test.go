package lokipush

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
)

// decoded is a PushRequest as decodePush hands it to its sink, and as
// lokiStreams reads Loki's own: labels unparsed, parsed pairs and hash
// dropped.
type decoded struct {
	Labels  string
	Entries []Entry
}

// collector is a pushSink that keeps everything, in order.
type collector struct {
	streams []decoded
	entries []Entry
	meta    []Label
}

func (c *collector) pushMeta(l Label) error { c.meta = append(c.meta, l); return nil }

func (c *collector) pushEntry(t time.Time, line string) error {
	c.entries = append(c.entries, Entry{Time: t, Line: line, Metadata: c.meta})
	c.meta = nil
	return nil
}

func (c *collector) pushStream(labels string) error {
	c.streams = append(c.streams, decoded{Labels: labels, Entries: c.entries})
	c.entries = nil
	return nil
}

func lokiStreams(pr *push.PushRequest) []decoded {
	var out []decoded
	for _, s := range pr.Streams {
		d := decoded{Labels: s.Labels}
		for _, e := range s.Entries {
			en := Entry{Time: e.Timestamp, Line: e.Line}
			for _, l := range e.StructuredMetadata {
				en.Metadata = append(en.Metadata, Label(l))
			}
			d.Entries = append(d.Entries, en)
		}
		out = append(out, d)
	}
	return out
}

// diffDecoded is "" when got and want hold the same streams, entries (times
// compared as instants, and both zero or neither) and metadata.
func diffDecoded(got, want []decoded) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d streams, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Labels != w.Labels || len(g.Entries) != len(w.Entries) {
			return fmt.Sprintf("stream %d: %q with %d entries, want %q with %d", i, g.Labels, len(g.Entries), w.Labels, len(w.Entries))
		}
		for j := range g.Entries {
			ge, we := g.Entries[j], w.Entries[j]
			if !ge.Time.Equal(we.Time) || ge.Time.IsZero() != we.Time.IsZero() || ge.Line != we.Line || fmt.Sprint(ge.Metadata) != fmt.Sprint(we.Metadata) || len(ge.Metadata) != len(we.Metadata) {
				return fmt.Sprintf("stream %d entry %d: %+v, want %+v", i, j, ge, we)
			}
		}
	}
	return ""
}

// compareWithLoki fails t unless decodePush and Loki's PushRequest.Unmarshal
// accept and refuse raw alike and read the same request from it. The one
// allowed difference: decodePush refuses with errStricter what Unmarshal
// takes.
func compareWithLoki(t *testing.T, raw []byte) error {
	t.Helper()
	var c collector
	err := decodePush(raw, &c)
	var pr push.PushRequest
	lerr := pr.Unmarshal(raw)
	switch {
	case err == nil && lerr != nil:
		t.Fatalf("decodePush accepted what Unmarshal refuses: %v", lerr)
	case err != nil && lerr == nil && !errors.Is(err, errStricter):
		t.Fatalf("decodePush refused what Unmarshal accepts: %v", err)
	case err == nil:
		if d := diffDecoded(c.streams, lokiStreams(&pr)); d != "" {
			t.Fatalf("decodePush and Unmarshal disagree: %s", d)
		}
		if cnt, cerr := countPush(raw); cerr != nil || cnt.streams != len(c.streams) {
			t.Fatalf("countPush = %+v, %v; decoded %d streams", cnt, cerr, len(c.streams))
		}
	}
	return err
}

func marshal(t testing.TB, streams ...push.Stream) []byte {
	t.Helper()
	b, err := (&push.PushRequest{Streams: streams}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// field is one protobuf field: tag and value, as given.
func field(num int, typ byte, v []byte) []byte {
	b := binary.AppendUvarint(nil, uint64(num)<<3|uint64(typ))
	if typ == 2 {
		b = binary.AppendUvarint(b, uint64(len(v)))
	}
	return append(b, v...)
}

func varint(x uint64) []byte { return binary.AppendUvarint(nil, x) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestDecodePushMatchesLoki: decodePush reads each body as Loki's own
// Unmarshal does, or refuses it as Unmarshal does.
func TestDecodePushMatchesLoki(t *testing.T) {
	labels := field(1, 2, []byte(`{a="b"}`))
	inStream := func(entry ...[]byte) []byte {
		s := labels
		for _, e := range entry {
			s = append(s, field(2, 2, e)...)
		}
		return field(1, 2, s)
	}
	tsField := func(parts ...[]byte) []byte { return field(1, 2, cat(parts...)) }
	before := int64(minTimestampSeconds - 1)
	overrun := append(bytes.Repeat([]byte{0xff}, 9), 0x7f)
	tests := []struct {
		name     string
		raw      []byte
		wantErr  string // "" to accept
		stricter bool   // refused here, accepted by Loki
	}{
		{name: "empty", raw: nil},
		{name: "sample", raw: sampleProto(t)},
		{name: "empty stream", raw: marshal(t, push.Stream{})},
		{name: "unicode and metadata", raw: marshal(t, push.Stream{Labels: `{é="ü"}`, Hash: 42, Entries: []push.Entry{
			{Timestamp: ts(-1), Line: "日本語 ✓", StructuredMetadata: push.LabelsAdapter{{Name: "k", Value: "é"}, {}}, Parsed: push.LabelsAdapter{{Name: "p", Value: "q"}}},
		}})},
		{name: "no timestamp", raw: inStream(field(2, 2, []byte("line")))},
		{name: "empty timestamp", raw: inStream(tsField())},
		{name: "timestamp fields repeated", raw: inStream(cat(tsField(field(1, 0, varint(5)), field(1, 0, varint(7))), tsField(field(2, 0, varint(9)))))},
		{name: "timestamp nanos low 32 bits", raw: inStream(tsField(field(2, 0, varint(1<<32|5))))},
		{name: "timestamp unknown field", raw: inStream(tsField(field(3, 2, []byte("x")), field(1, 0, varint(1))))},
		{name: "timestamp before year 1", raw: inStream(tsField(field(1, 0, varint(uint64(before))))), wantErr: "out of range"},
		{name: "timestamp year 10000", raw: inStream(tsField(field(1, 0, varint(maxTimestampSeconds)))), wantErr: "out of range"},
		{name: "timestamp negative nanos", raw: inStream(tsField(field(2, 0, varint(1<<64-1)))), wantErr: "out of range"},
		{name: "timestamp nanos one second", raw: inStream(tsField(field(2, 0, varint(1e9)))), wantErr: "out of range"},
		{name: "timestamp seconds wrong type", raw: inStream(tsField(field(1, 2, nil))), wantErr: "wrong wireType = 2 for field Seconds"},
		{name: "timestamp wrong type", raw: inStream(field(1, 0, varint(1))), wantErr: "wrong wireType = 0 for field Timestamp"},
		{name: "line repeated, last wins", raw: inStream(cat(field(2, 2, []byte("a")), field(2, 2, []byte("b"))))},
		{name: "labels repeated, last wins", raw: field(1, 2, cat(labels, field(1, 2, []byte(`{c="d"}`))))},
		{name: "labels after entries", raw: field(1, 2, cat(field(2, 2, field(2, 2, []byte("x"))), labels))},
		{name: "hash wrong type", raw: field(1, 2, field(3, 2, nil)), wantErr: "wrong wireType = 2 for field Hash"},
		{name: "labels wrong type", raw: field(1, 2, field(1, 0, varint(1))), wantErr: "wrong wireType = 0"},
		{name: "streams wrong type", raw: field(1, 0, varint(1)), wantErr: "wrong wireType = 0 for field Streams"},
		{name: "metadata wrong type", raw: inStream(field(3, 0, varint(1))), wantErr: "wrong wireType = 0 for field StructuredMetadata"},
		{name: "metadata name wrong type", raw: inStream(field(3, 2, field(1, 5, []byte{1, 2, 3, 4}))), wantErr: "wrong wireType = 5 for field Name"},
		{name: "parsed pair checked", raw: inStream(field(4, 2, field(2, 0, varint(1)))), wantErr: "wrong wireType = 0 for field Value"},
		{name: "unknown fields of every type", raw: cat(field(9, 0, varint(1)), field(9, 1, make([]byte, 8)), field(9, 5, make([]byte, 4)), field(9, 2, nil), inStream(field(7, 2, nil)))},
		{name: "field number wraps to 1", raw: cat(varint((1<<32|1)<<3|2), varint(uint64(len(labels))), labels)},
		{name: "field zero", raw: []byte{0x00, 0x01}, wantErr: "illegal tag 0"},
		{name: "wire type 6", raw: []byte{0x0e}, wantErr: "illegal wireType 6"},
		{name: "end group", raw: []byte{0x0c}, wantErr: "end group"},
		{name: "truncated length", raw: []byte{0x0a, 0x05, 0x01}, wantErr: "unexpected EOF"},
		{name: "truncated varint", raw: []byte{0x08, 0x80}, wantErr: "unexpected EOF"},
		{name: "truncated fixed64", raw: []byte{0x09, 0x01}, wantErr: "unexpected EOF"},
		{name: "varint of eleven bytes", raw: cat([]byte{0x08}, bytes.Repeat([]byte{0x80}, 10), []byte{0}), wantErr: "integer overflow"},
		{name: "group", raw: cat(field(9, 3, nil), field(9, 4, nil)), wantErr: "group", stricter: true},
		{name: "varint over 64 bits", raw: cat([]byte{0x48}, overrun), wantErr: "over 64 bits", stricter: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := compareWithLoki(t, tt.raw)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.wantErr)) {
				t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
			}
			if errors.Is(err, errStricter) != tt.stricter {
				t.Fatalf("errors.Is(%v, errStricter) = %v, want %v", err, !tt.stricter, tt.stricter)
			}
		})
	}
}

// FuzzDecodePush: on any input, decodePush accepts what Loki's own
// PushRequest.Unmarshal accepts and reads the same request from it, or
// refuses it as stricter (a group, a varint over 64 bits); it refuses what
// Unmarshal refuses.
func FuzzDecodePush(f *testing.F) {
	f.Add(sampleProto(f))
	f.Fuzz(func(t *testing.T, raw []byte) {
		_ = compareWithLoki(t, raw)
	})
}
