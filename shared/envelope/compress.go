package envelope

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// AttrEncoding marks a message whose body is compressed, and how: the
// archive's messages and ingestion's delivery messages, when that makes them
// smaller (SQS bills every 64 KiB of a message as one request, on the send
// and on the receive: docs/cost.md). A body without it is plain envelope
// JSON, as every message was before, and as the delivery core's parked and
// requeued messages still are. Every reader of a queue body goes through
// Open (or Inflate), so either form is read.
const AttrEncoding = "logstream_encoding"

// EncodingGzip is a body that is the base64 of the gzip of the envelope's
// JSON (an SQS body is text).
const EncodingGzip = "gzip"

// maxInflated bounds what a compressed body may inflate to: what Pack ever
// puts in one message. Ingestion packs delivery and archive messages by their
// plain size, within MaxMessageBytes, and compresses them after, so no
// message it sends inflates past it (TestCompressedDeliveryInflatesWithinBound).
const maxInflated = MaxMessageBytes

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

// Compress returns m with its body compressed (EncodingGzip, marked with
// AttrEncoding) when that makes it smaller, else m as it is. Events of one
// project compress ~10–50×: the archive queue carries and bills (per 64 KiB)
// a fraction of what it would, and the SDK escapes and sends less.
func Compress(m Message) (Message, error) {
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(m.Body); err != nil {
		return m, err
	}
	if err := zw.Close(); err != nil {
		return m, err
	}
	if base64.StdEncoding.EncodedLen(buf.Len())+len(AttrEncoding)+len(EncodingGzip)+attrOverheadSlop >= len(m.Body) {
		return m, nil
	}
	out := m
	out.Body = base64.StdEncoding.AppendEncode(nil, buf.Bytes())
	out.Attributes = maps.Clone(m.Attributes)
	if out.Attributes == nil {
		out.Attributes = map[string]string{}
	}
	out.Attributes[AttrEncoding] = EncodingGzip
	return out, nil
}

// Inflate returns the envelope JSON of a message body sent with encoding
// (its AttrEncoding attribute; "" for a plain body).
func Inflate(body, encoding string) ([]byte, error) {
	switch encoding {
	case "":
		return []byte(body), nil
	case EncodingGzip:
	default:
		return nil, fmt.Errorf("decode envelope: unknown encoding %q", encoding)
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("decode envelope: body is not base64: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decode envelope: body is not gzip: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxInflated+1))
	if err != nil {
		return nil, fmt.Errorf("decode envelope: body is not gzip: %w", err)
	}
	if len(out) > maxInflated {
		return nil, fmt.Errorf("decode envelope: body inflates to more than %d bytes", maxInflated)
	}
	return out, nil
}

// Open decodes a message body sent with encoding (its AttrEncoding
// attribute; "" for a plain body, as every message of a deployment older
// than compressed delivery messages is).
func Open(body, encoding string) (Envelope, error) {
	raw, err := Inflate(body, encoding)
	if err != nil {
		return Envelope{}, err
	}
	return Decode(raw)
}

// CompressAll compresses each of msgs in place (Compress): what ingestion,
// replay and a dead-letter redrive do to the messages they send. Packed by
// their plain size, they stay within MaxMessageBytes, their attributes
// included, and inflate within maxInflated.
func CompressAll(msgs []Message) error {
	for i := range msgs {
		c, err := Compress(msgs[i])
		if err != nil {
			return fmt.Errorf("compress message: %w", err)
		}
		msgs[i] = c
	}
	return nil
}
