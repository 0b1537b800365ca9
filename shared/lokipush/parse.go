package lokipush

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
)

// Request is one push request: its streams in the order sent. Loki does not
// merge streams with the same labels at this stage, and neither does Parse.
// A JSON body may hold no stream at all ({} or {"streams":[]}): Loki's
// distributor answers that 422, "error at least one valid stream is required
// for ingestion" (validation.MissingStreamsErrorMsg), after parsing.
//
// Lines and structured metadata values are not copied out of the decoded
// body: they share its buffer, so holding any of them holds all of it.
type Request struct {
	Streams []Stream
}

// Stream is one stream of a push: its label set and its entries in the
// order sent.
type Stream struct {
	// Labels is the stream's label set, never empty. A label with an empty
	// value is left out, as Loki's syntax.ParseLabels leaves it out
	// ("empty label values are equivalent to absent labels").
	Labels  map[string]string
	Entries []Entry
}

// Entry is one log line.
type Entry struct {
	Time time.Time // UTC
	Line string
	// Metadata is the entry's structured metadata, in the order sent;
	// nil when there is none.
	Metadata []Label
}

// Label is one name/value pair of structured metadata.
type Label struct {
	Name, Value string
}

// Content types Parse reads (Loki HTTP API, POST /loki/api/v1/push).
const (
	ContentTypeProtobuf = "application/x-protobuf"
	ContentTypeJSON     = "application/json"
)

type format int

const (
	formatProtobuf format = iota
	formatJSON
)

type encoding int

const (
	encodingIdentity encoding = iota
	encodingSnappy            // a label only: protobuf bodies are always snappy
	encodingGzip
	encodingDeflate
)

// Parse reads a Loki push request body the way Loki's distributor does
// (ParseLokiRequest in pkg/loghttp/push/push.go), within lim:
//
//   - application/x-protobuf: a snappy block holding a logproto.PushRequest;
//   - application/json: {"streams":[{"stream":{…},"values":[[ns, line, {…}]]}]};
//
// either one optionally compressed with Content-Encoding gzip or deflate
// (zlib-wrapped or raw). Parse checks everything against the limits before
// it allocates for it, and reads no further than one byte past a limit.
//
// The error, if any, is ErrTooLarge, ErrUnsupportedMediaType or ErrBadRequest
// (see StatusOf), with a message for the client. An error reading body other
// than *http.MaxBytesError (413) is a 400: the client sent less than it said.
func Parse(body io.Reader, contentType, contentEncoding string, lim Limits) (*Request, error) {
	lim = lim.withDefaults()
	// Both headers first: a 415 costs no read.
	f, err := parseContentType(contentType)
	if err != nil {
		return nil, err
	}
	enc, err := parseContentEncoding(contentEncoding)
	if err != nil {
		return nil, err
	}
	if f == formatJSON && enc == encodingSnappy {
		// Loki would read the snappy bytes as JSON and fail; say why instead.
		return nil, unsupported("Content-Encoding \"snappy\" not supported for %s", ContentTypeJSON)
	}

	raw, err := readBody(body, lim.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	decoded, err := decodeContent(raw, enc, lim.MaxDecodedBytes)
	if err != nil {
		return nil, err
	}
	if f == formatJSON {
		// decoded is this call's own buffer (readLimited's, or the
		// decompressor's output), which the fast path may write over.
		if req, ok := parseJSONFast(decoded, lim); ok {
			return req, nil
		}
		return parseJSON(decoded, lim)
	}
	return parseProto(decoded, lim)
}

// parseContentType reads the media type case-insensitively, ignoring its
// parameters (charset). Loki takes anything but JSON as protobuf; here an
// unknown or missing type is a 415, so a client that sends, say, text/plain
// learns that instead of reading "snappy: corrupt input".
func parseContentType(ct string) (format, error) {
	if strings.TrimSpace(ct) == "" {
		return 0, unsupported("Content-Type %q not supported; use %s or %s", ct, ContentTypeProtobuf, ContentTypeJSON)
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return 0, malformed("Content-Type: ", err)
	}
	switch mt {
	case ContentTypeProtobuf:
		return formatProtobuf, nil
	case ContentTypeJSON:
		return formatJSON, nil
	}
	return 0, unsupported("Content-Type %q not supported; use %s or %s", mt, ContentTypeProtobuf, ContentTypeJSON)
}

// parseContentEncoding accepts the encodings Loki does ("", snappy, gzip,
// deflate), case-insensitively (RFC 9110 §8.4.1), plus x-gzip, which RFC
// 9110 §8.4.1.3 asks a recipient to take as gzip, and identity, its name for
// no encoding (§12.5.3).
func parseContentEncoding(ce string) (encoding, error) {
	switch strings.ToLower(strings.TrimSpace(ce)) {
	case "", "identity":
		return encodingIdentity, nil
	case "snappy":
		// Loki #3407: some clients label the protobuf's snappy this way.
		return encodingSnappy, nil
	case "gzip", "x-gzip":
		return encodingGzip, nil
	case "deflate":
		return encodingDeflate, nil
	}
	return 0, unsupported(msgEncodingNotSupported, ce)
}

// readBody reads at most limit+1 bytes of body (Loki: io.LimitReader(max+1)
// in util.decompressFromReader) and refuses it if there is a byte past limit.
// A reader that knows its length (bytes.Reader, strings.Reader: what a
// Lambda handler wraps the event's body in) is sized in one allocation, and
// refused before any read when it is too long.
func readBody(body io.Reader, limit int) ([]byte, error) {
	hint := 0
	if l, ok := body.(interface{ Len() int }); ok {
		hint = l.Len()
		if hint > limit {
			return nil, tooLarge(msgMessageTooLarge, hint, limit)
		}
	}
	raw, err := readLimited(body, limit, hint)
	if err != nil {
		if errors.Is(err, errOverLimit) {
			return nil, tooLarge(msgMessageTooLarge, limit+1, limit)
		}
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			// The server's own body limit, lower than ours.
			return nil, &parseError{class: ErrTooLarge, msg: fmt.Sprintf(msgMessageTooLarge, mbe.Limit+1, mbe.Limit), cause: err}
		}
		return nil, malformed("read request body: ", err)
	}
	return raw, nil
}

// decodeContent undoes the Content-Encoding, reading no more than limit+1
// decoded bytes.
func decodeContent(raw []byte, enc encoding, limit int) ([]byte, error) {
	var (
		rd   io.Reader
		hint int
	)
	switch enc {
	case encodingIdentity, encodingSnappy:
		if len(raw) > limit {
			return nil, tooLarge(msgMessageTooLarge, len(raw), limit)
		}
		return raw, nil
	case encodingGzip:
		// The trailer's ISIZE (RFC 1952 §2.3.1) is the last member's size
		// mod 2^32: only a hint for the buffer, never trusted for a limit (a
		// bomb forges it, a truncated body has none). A hint DEFLATE could
		// not reach (its best ratio is about 1032:1) is ignored, so garbage
		// does not cost a buffer of the full limit.
		if len(raw) >= 18 {
			isize := int(binary.LittleEndian.Uint32(raw[len(raw)-4:]))
			if isize <= limit && isize <= 1032*len(raw) {
				hint = isize
			}
		}
		zr, err := newGzipReader(raw)
		if err != nil {
			return nil, decodeError(enc, err)
		}
		defer putGzipReader(zr)
		rd = zr
	case encodingDeflate:
		// RFC 9110 §8.4.1.2 says "deflate" is zlib (RFC 1950); Loki reads
		// raw DEFLATE (RFC 1951), and clients send both (Vector's zlib
		// compression, for one, sends zlib as "deflate"). A raw stream from
		// any sane encoder cannot start with a valid zlib header: that would
		// take a stored block with non-zero padding bits.
		if isZlibHeader(raw) {
			zr, err := zlib.NewReader(bytes.NewReader(raw))
			if err != nil {
				return nil, decodeError(enc, err)
			}
			defer zr.Close()
			rd = zr
		} else {
			fr := flate.NewReader(bytes.NewReader(raw))
			defer fr.Close()
			rd = fr
		}
		hint = 4 * len(raw) // JSON logs deflate about 5-10:1; grown from there
	}
	out, err := readLimited(rd, limit, hint)
	if err != nil {
		if errors.Is(err, errOverLimit) {
			// Loki reports the limited read's length: limit+1.
			return nil, tooLarge(msgMessageTooLarge, limit+1, limit)
		}
		return nil, decodeError(enc, err)
	}
	return out, nil
}

// gzipReaders keeps gzip readers between requests: each holds a
// decompressor of some 40 KB (its window and Huffman tables), which a
// reader made per request allocates and clears every time.
var gzipReaders sync.Pool

// newGzipReader is a pooled reader of raw, which the caller puts back into
// gzipReaders once done. One Reset refuses a bad header as NewReader does.
func newGzipReader(raw []byte) (*gzip.Reader, error) {
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	if zr == nil {
		return gzip.NewReader(bytes.NewReader(raw))
	}
	if err := zr.Reset(bytes.NewReader(raw)); err != nil {
		putGzipReader(zr)
		return nil, err
	}
	return zr, nil
}

// putGzipReader returns zr to the pool without the body it read, so a
// pooled reader does not keep the last request's body alive.
func putGzipReader(zr *gzip.Reader) {
	_ = zr.Reset(bytes.NewReader(nil)) // fails (EOF) having let go of the body
	gzipReaders.Put(zr)
}

// decodeError is a 400 for a body its decompressor refuses, with the
// decompressor's message as Loki answers it ("gzip: invalid header"), and
// the encoding named where the message does not ("gzip: unexpected EOF").
func decodeError(enc encoding, err error) error {
	msg := err.Error()
	for _, p := range []string{"gzip: ", "flate: ", "zlib: "} {
		if strings.HasPrefix(msg, p) {
			return malformed("", err)
		}
	}
	if enc == encodingGzip {
		return malformed("gzip: ", err)
	}
	return malformed("deflate: ", err)
}

// renamed gives an error another text, keeping it for errors.Is.
type renamed struct {
	msg string
	err error
}

func (r *renamed) Error() string { return r.msg }
func (r *renamed) Unwrap() error { return r.err }

// isZlibHeader reports whether b starts with a zlib header (RFC 1950 §2.2):
// CM 8 (deflate), a window of at most 32K, and FCHECK making the first two
// bytes a multiple of 31.
func isZlibHeader(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

// errOverLimit is readLimited's "there is more than the limit".
var errOverLimit = errors.New("over limit")

// readLimited reads r to EOF into one buffer, or fails with errOverLimit
// as soon as it holds limit+1 bytes. The buffer starts at hint+1 bytes (a
// right hint needs one allocation and no copy) and doubles up to limit+1,
// so all its allocations together stay under 2×(limit+1) even when the
// hint is a lie, and it never holds more than limit+1 bytes.
func readLimited(r io.Reader, limit, hint int) ([]byte, error) {
	const minBuf = 512
	buf := make([]byte, 0, min(max(hint+1, minBuf), limit+1))
	for {
		if len(buf) == cap(buf) {
			if len(buf) > limit {
				return nil, errOverLimit
			}
			c := 2 * cap(buf)
			if c >= limit {
				c = limit + 1 // not limit, then limit+1: a whole extra copy
			}
			grown := make([]byte, len(buf), c)
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if len(buf) > limit {
				return nil, errOverLimit
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
