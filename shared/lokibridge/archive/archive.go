package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/logstream/logstream/shared/jsonobj"
	"github.com/logstream/logstream/shared/lokipush"
)

// Object headers: what the records are, and how they are stored.
const (
	ContentType     = "application/x-ndjson"
	ContentEncoding = "gzip"
)

// nameHexLen is how much of the SHA-256 names an object: 128 bits, far from
// any chance collision however many pushes a tenant makes in an hour.
const nameHexLen = 32

// Object is one push request as an archive object.
type Object struct {
	// Key is tenant=…/dt=…/hour=…/<name>.ndjson.gz, without the store's
	// prefix. Empty when Records is 0.
	Key string
	// Body is the gzip-compressed NDJSON records (Encode, Compress) or the
	// records themselves (Records); the caller's to keep.
	Body []byte
	// Records is the number of entries archived; 0 for a push without
	// entries, which needs no object.
	Records int
	// RawBytes is the size of the uncompressed records.
	RawBytes int
}

// Encode returns the archive object of one push request for tenant. A push
// without entries gives an Object with Records 0 and no key: there is
// nothing to store. The only error is an invalid tenant.
func Encode(tenant string, req *lokipush.Request) (Object, error) {
	return encode(tenant, req, true)
}

// Records is Encode without the compression: Body is the NDJSON records
// themselves, for a push small enough to hold them (the bridge's queued
// pushes; EncodeMessage, Compress).
func Records(tenant string, req *lokipush.Request) (Object, error) {
	return encode(tenant, req, false)
}

// Compress returns records (a Records result) as Encode would have
// returned it: the records compressed into the same bytes, in the same
// flushes, and so under the same key, the hash of that body.
func Compress(records Object) Object {
	enc := encoders.Get().(*encoder)
	defer enc.release()
	var out bytes.Buffer
	out.Grow(len(records.Body)/4 + 4096)
	enc.gz.Reset(&out)
	for p := records.Body; len(p) > 0; {
		n := min(len(p), flushAt)
		_, _ = enc.gz.Write(p[:n]) // writes to a bytes.Buffer do not fail
		p = p[n:]
	}
	_ = enc.gz.Close()
	records.Key = objectKey(records.Key, out.Bytes())
	records.Body = out.Bytes()
	return records
}

func encode(tenant string, req *lokipush.Request, compress bool) (Object, error) {
	if err := ValidateTenant(tenant); err != nil {
		return Object{}, err
	}
	var earliest time.Time
	n, size := 0, 0
	for _, st := range req.Streams {
		for _, e := range st.Entries {
			if n == 0 || e.Time.Before(earliest) {
				earliest = e.Time
			}
			n++
			size += len(e.Line)
		}
	}
	if n == 0 {
		return Object{}, nil
	}

	enc := encoders.Get().(*encoder)
	defer enc.release()
	// The body is not pooled: the store's HTTP transport may still read it
	// after the response arrived. Records of log lines compress five to
	// seven times at BestSpeed (the labels repeat on every one): a quarter
	// of the lines' size leaves room, as growing past a guess too small
	// costs a second buffer and a copy of the first.
	var out bytes.Buffer
	if compress {
		out.Grow(size/4 + 4096)
	} else {
		out.Grow(size + size/2)
	}
	enc.reset(&out, compress)
	for _, st := range req.Streams {
		enc.labels = appendLabels(enc.labels[:0], st.Labels, &enc.names)
		for _, e := range st.Entries {
			enc.record(e)
		}
	}
	raw := enc.close()

	// A compressed object is named by the hash of its body, a queued
	// push's records by theirs. The body is about a sixth of the records'
	// size, so hashing it instead took a tenth of the CPU of a large
	// protobuf push; the same records always compress to the same bytes
	// (one level, writes cut at the same places, a header without a time),
	// so a retry of the push, which takes the same path, names the same
	// object either way.
	var sum [sha256.Size]byte
	if compress {
		sum = sha256.Sum256(out.Bytes())
	} else {
		enc.hash.Sum(sum[:0])
	}
	var k []byte
	k = append(k, "tenant="...)
	k = append(k, tenant...)
	k = earliest.UTC().AppendFormat(k, "/dt=2006-01-02/hour=15/")
	k = hex.AppendEncode(k, sum[:nameHexLen/2])
	k = append(k, ".ndjson.gz"...)
	return Object{Key: string(k), Body: out.Bytes(), Records: n, RawBytes: raw}, nil
}

// objectKey is key, in the same partition, named by the hash of body.
func objectKey(key string, body []byte) string {
	sum := sha256.Sum256(body)
	dir := key[:strings.LastIndexByte(key, '/')+1]
	return dir + hex.EncodeToString(sum[:nameHexLen/2]) + ".ndjson.gz"
}

// timeLayout is RFC 3339 with all nine digits of nanoseconds, where
// time.RFC3339Nano drops trailing zeros: records of one day then sort as
// strings, and every reader sees the same width.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// flushAt is how many bytes of records are gathered before they go to the
// hash and the compressor: large enough that per-call overhead vanishes,
// small enough to stay in cache. The records of a push are never all held
// at once, only compressed.
const flushAt = 64 << 10

// encoder holds what one Encode call reuses: the gzip writer, the hash and
// the scratch of the records.
type encoder struct {
	gz   *gzip.Writer
	sink io.Writer // gz, or the output itself for uncompressed records
	hash hash.Hash // of the records, when they are not compressed
	// hashRecords is set for Records: its records are hashed as they are
	// written.
	hashRecords bool
	buf         bytes.Buffer     // records not yet flushed
	labels      []byte           // the current stream's labels as a JSON object
	names       []string         // scratch for sorting label names
	meta        []lokipush.Label // scratch for sorting metadata
	raw         int              // bytes flushed
}

// level is the gzip level of the objects the bridge writes itself (pushes
// too large to queue): BestSpeed, for issue 15's CPU goal. On 10,000 auth
// events it took Encode from 4.4 to 3.2 CPU-seconds per million entries
// and made objects 38% larger (99.5 to 137.1 bytes an entry); level 2 is
// 118.3 bytes for 3.5 CPU-seconds. The CPU saved (about $0.02 a billion
// entries of Lambda time at 1 GB) is less than a day of storing the extra
// bytes in S3 Standard (about $0.86 a billion entries a month), but it is
// spent while the client waits, and only large pushes pay it: the queued
// ones, most pushes, are compressed by the Loki archiver at the default
// level (docs/performance.md, "The Loki-compatible S3 bridge"). Names hash
// the compressed body (see encode), so changing the level names a retried
// push's object anew, once.
const level = gzip.BestSpeed

var encoders = sync.Pool{New: func() any {
	gz, _ := gzip.NewWriterLevel(io.Discard, level)
	return &encoder{gz: gz, hash: sha256.New()}
}}

func (e *encoder) reset(dst io.Writer, compress bool) {
	e.sink = dst
	if compress {
		e.gz.Reset(dst)
		e.sink = e.gz
	}
	e.hashRecords = !compress
	e.hash.Reset()
	e.buf.Reset()
	e.raw = 0
}

// release returns e to the pool without references to the last push; a
// rare huge line does not keep its buffer alive.
func (e *encoder) release() {
	e.gz.Reset(io.Discard)
	e.sink = nil
	clear(e.names)
	clear(e.meta)
	if e.buf.Cap() > 4*flushAt {
		e.buf = bytes.Buffer{}
	}
	encoders.Put(e)
}

// record appends one entry's record.
func (e *encoder) record(en lokipush.Entry) {
	w := &e.buf
	w.WriteString(`{"timestamp":"`)
	w.Write(en.Time.UTC().AppendFormat(w.AvailableBuffer(), timeLayout))
	w.WriteString(`","labels":`)
	w.Write(e.labels)
	w.WriteString(`,"line":`)
	writeLine(w, en.Line)
	if len(en.Metadata) > 0 {
		w.WriteString(`,"metadata":`)
		w.Write(e.appendMetadata(w.AvailableBuffer(), en.Metadata))
	}
	w.WriteString("}\n")
	if w.Len() >= flushAt {
		e.flush()
	}
}

// writeLine writes the line as JSON: itself, compacted, when it is a JSON
// object or array (compacting removes the line breaks NDJSON cannot hold
// and nothing else), a JSON string otherwise. A line that is not valid
// UTF-8 is always a string, since JSON text must be UTF-8 (RFC 8259 §8.1):
// AppendCompact refuses it.
func writeLine(w *bytes.Buffer, line string) {
	if len(line) > 0 && (line[0] == '{' || line[0] == '[') {
		w.Grow(len(line)) // compacting never lengthens it
		if b, ok := jsonobj.AppendCompact(w.AvailableBuffer(), line); ok {
			w.Write(b)
			return
		}
	}
	w.Write(jsonobj.AppendString(w.AvailableBuffer(), line))
}

func (e *encoder) flush() {
	p := e.buf.Bytes()
	if e.hashRecords {
		e.hash.Write(p)
	}
	_, _ = e.sink.Write(p) // writes to a bytes.Buffer do not fail
	e.raw += len(p)
	e.buf.Reset()
}

// close flushes the last records and the gzip trailer, and returns the
// size of the records.
func (e *encoder) close() int {
	e.flush()
	if e.sink == e.gz {
		_ = e.gz.Close()
	}
	return e.raw
}

// appendLabels appends m as a JSON object with its names sorted, so the same
// labels give the same bytes whichever order the push carried them in.
func appendLabels(b []byte, m map[string]string, names *[]string) []byte {
	*names = (*names)[:0]
	for k := range m {
		*names = append(*names, k)
	}
	slices.Sort(*names)
	b = append(b, '{')
	for i, k := range *names {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonobj.AppendString(b, k)
		b = append(b, ':')
		b = jsonobj.AppendString(b, m[k])
	}
	return append(b, '}')
}

// appendMetadata appends structured metadata as a JSON object with its
// names sorted. A name sent twice keeps its last value, as a JSON object
// read with a duplicate name does (encoding/json, JavaScript), so no record
// has a duplicate name.
func (e *encoder) appendMetadata(b []byte, md []lokipush.Label) []byte {
	e.meta = append(e.meta[:0], md...)
	slices.SortStableFunc(e.meta, func(x, y lokipush.Label) int { return strings.Compare(x.Name, y.Name) })
	b = append(b, '{')
	first := true
	for i, l := range e.meta {
		if i+1 < len(e.meta) && e.meta[i+1].Name == l.Name {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jsonobj.AppendString(b, l.Name)
		b = append(b, ':')
		b = jsonobj.AppendString(b, l.Value)
	}
	return append(b, '}')
}
