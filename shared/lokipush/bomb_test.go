package lokipush

import (
	"bytes"
	"encoding/binary"
	"hash/adler32"
	"hash/crc32"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/s2"
)

// bombLimits are small, so that the bombs below are many times over them
// and cheap to build even under -race.
var bombLimits = Limits{MaxBodyBytes: 2 << 20, MaxDecodedBytes: 1 << 20, MaxEntries: 10_000_000}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// zeroDeflate is 16 MiB of zeros as one raw DEFLATE stream (~16 KB), with
// the checksums its gzip and zlib wrappings need.
var zeroDeflate = sync.OnceValues(func() ([]byte, [2]uint32) {
	const n = 16 << 20
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	io.CopyN(w, zeros{}, n)
	w.Close()
	z := make([]byte, n)
	return buf.Bytes(), [2]uint32{crc32.ChecksumIEEE(z), adler32.Checksum(z)}
})

// gzipMember wraps zeroDeflate as one gzip member (RFC 1952): header,
// data, CRC-32, ISIZE.
func gzipMember() []byte {
	d, sums := zeroDeflate()
	b := append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}, d...)
	b = binary.LittleEndian.AppendUint32(b, sums[0])
	return binary.LittleEndian.AppendUint32(b, 16<<20)
}

// TestDecompressionBombs: a small body that inflates far past
// MaxDecodedBytes is a 413, having allocated no more than a small multiple
// of the limit however far it would inflate.
func TestDecompressionBombs(t *testing.T) {
	deflated, sums := zeroDeflate()
	member := gzipMember()
	tiny := gz([]byte(sampleJSON))
	forgedHeader := binary.AppendUvarint(nil, 1<<31-1) // a 2 GiB claim, 5 bytes
	forgedHeader = append(forgedHeader, 0, 0, 0)

	tests := []struct {
		name   string
		body   []byte
		ct, ce string
	}{
		{"gzip, 16 MiB", member, js, "gzip"},
		// 1 GiB in 1 MB of body; the last member's ISIZE claims 16 MiB.
		{"gzip, 64 members, 1 GiB", bytes.Repeat(member, 64), js, "gzip"},
		// ISIZE forged small: the first member inflates, the last is tiny.
		{"gzip, forged ISIZE", append(bytes.Clone(member), tiny...), js, "gzip"},
		{"gzip around snappy protobuf", member, pb, "gzip"},
		{"raw deflate, 16 MiB", deflated, js, "deflate"},
		{"zlib, 16 MiB", binary.BigEndian.AppendUint32(append([]byte{0x78, 0x01}, deflated...), sums[1]), js, "deflate"},
		{"snappy, 16 MiB", s2.EncodeSnappy(nil, make([]byte, 16<<20)), pb, ""},
		{"snappy, forged 2 GiB header", forgedHeader, pb, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			start := time.Now()
			alloc := allocated(func() { _, err = Parse(bytes.NewReader(tt.body), tt.ct, tt.ce, bombLimits) })
			t.Logf("%d-byte body: %v after %v, %.2f× MaxDecodedBytes allocated", len(tt.body), err, time.Since(start), float64(alloc)/float64(bombLimits.MaxDecodedBytes))
			if StatusOf(err) != 413 || !strings.Contains(err.Error(), "received message larger than max") {
				t.Fatalf("got %v, want a 413", err)
			}
			checkBound(t, alloc)
		})
	}
}

// TestStructureBombs: a body within every size limit whose entries,
// metadata pairs or streams are empty would cost 30-150 times its size as
// structs; it is refused before they are allocated.
func TestStructureBombs(t *testing.T) {
	n := bombLimits.MaxDecodedBytes / 2
	stream := func(body []byte) []byte { // one stream {a="b"} around body
		s := append([]byte{0x0a, 7}, `{a="b"}`...)
		s = append(s, body...)
		return append(binary.AppendUvarint([]byte{0x0a}, uint64(len(s))), s...)
	}
	emptyEntries := stream(bytes.Repeat([]byte{0x12, 0}, n/2))                 // entries = 2
	emptyPairs := stream(append(binary.AppendUvarint([]byte{0x12}, uint64(n)), // one entry,
		bytes.Repeat([]byte{0x1a, 0}, n/2)...)) // structuredMetadata = 3
	tinyStreams := bytes.Repeat(stream(nil), n/len(stream(nil)))

	var jsonEntries, jsonPairs strings.Builder
	jsonEntries.WriteString(`{"streams":[{"stream":{"a":"b"},"values":[["0",""]`)
	for jsonEntries.Len() < n {
		jsonEntries.WriteString(`,["0",""]`)
	}
	jsonEntries.WriteString(`]}]}`)
	jsonPairs.WriteString(`{"streams":[{"stream":{"a":"b"},"values":[["0","",{"":""`)
	for jsonPairs.Len() < n {
		jsonPairs.WriteString(`,"":""`)
	}
	jsonPairs.WriteString(`}]]}]}`)

	tests := []struct {
		name string
		body []byte
		ct   string
	}{
		{"protobuf empty entries", snap(emptyEntries), pb},
		{"protobuf empty metadata pairs", snap(emptyPairs), pb},
		{"protobuf tiny streams", snap(tinyStreams), pb},
		{"json empty entries", []byte(jsonEntries.String()), js},
		{"json empty metadata pairs", []byte(jsonPairs.String()), js},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			alloc := allocated(func() { _, err = Parse(bytes.NewReader(tt.body), tt.ct, "", bombLimits) })
			t.Logf("%v, %.2f× MaxDecodedBytes allocated", err, float64(alloc)/float64(bombLimits.MaxDecodedBytes))
			if StatusOf(err) != 413 || !strings.Contains(err.Error(), "expands to more than") {
				t.Fatalf("got %v, want a 413", err)
			}
			checkBound(t, alloc)
		})
	}
}

// checkBound fails the test if a refused request cost more than a
// generous bound; the logged ratio is the real figure.
func checkBound(t *testing.T, alloc uint64) {
	t.Helper()
	if bound := 4 * uint64(bombLimits.MaxDecodedBytes); alloc > bound {
		t.Errorf("allocated %d bytes, more than 4× MaxDecodedBytes (%d)", alloc, bound)
	}
}

// allocated is how many bytes f allocates on the heap, in all (TotalAlloc):
// an upper bound of the heap it adds at its peak.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
