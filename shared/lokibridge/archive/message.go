package archive

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"
)

// MaxMessageBytes is the largest queued push the bridge sends to its queue:
// SQS bills a request per 64 KB chunk of payload ("Amazon SQS pricing":
// "each 64 KB chunk of a payload is billed as 1 request"), so a push in one
// chunk costs one request to send and a share of a batch to receive and
// delete. Far below SQS's largest message (256 KiB; 1 MiB since 2025, as the
// stand-in fauxqs also allows), so a larger push goes straight to S3, where
// its object is already worth a PUT (docs/cost.md).
const MaxMessageBytes = 64 << 10

// messageOverhead bounds everything in a message but its base64 body: the
// longest key, the counts, the field names.
const messageOverhead = MaxKeyLength + 128

// messageVersion is the format's version; a message of another is refused,
// so an archiver older than its bridge parks what it cannot read.
const messageVersion = 1

// maxMessageRaw bounds the records a message may claim, checked before
// they are decoded: a Snappy block expands at most about six times, so no
// message within SQS's largest (1 MiB) holds more.
const maxMessageRaw = 8 << 20

// message is a queued push as SQS carries it: JSON, with the records
// compressed as one Snappy block (the compression of Loki's own protobuf
// pushes; on a 10-entry push it takes a third of gzip's CPU at its fastest,
// docs/performance.md) in base64, as SQS message bodies are XML characters,
// not bytes.
type message struct {
	V        int    `json:"v"`
	Key      string `json:"key"`
	Records  int    `json:"records"`
	RawBytes int    `json:"raw_bytes"`
	Body     []byte `json:"body"`
}

// blocks pools the Snappy blocks EncodeMessage writes before their base64:
// the block is garbage once encoded, and a small push's message is
// built thousands of times a minute.
var blocks = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBlock bounds the blocks kept: a push too large for one message
// does not keep its block alive.
const maxPooledBlock = 2 * MaxMessageBytes

// EncodeMessage is records (a Records result) as the body of one SQS
// message for the archiver. The caller sends it when it is at most
// MaxMessageBytes, and stores Compress(records) otherwise.
func EncodeMessage(records Object) string {
	bp := blocks.Get().(*[]byte)
	defer blocks.Put(bp)
	if n := s2.MaxEncodedLen(len(records.Body)); cap(*bp) < n && n <= maxPooledBlock {
		*bp = make([]byte, n)
	}
	block := s2.EncodeSnappy((*bp)[:cap(*bp)], records.Body)
	var b strings.Builder
	b.Grow(messageOverhead + base64.StdEncoding.EncodedLen(len(block)))
	b.WriteString(`{"v":`)
	b.WriteString(strconv.Itoa(messageVersion))
	// A key holds only tenant characters (ValidateTenant), digits, '=',
	// '/', '-', '.' and hex: nothing JSON escapes.
	b.WriteString(`,"key":"`)
	b.WriteString(records.Key)
	b.WriteString(`","records":`)
	b.WriteString(strconv.Itoa(records.Records))
	b.WriteString(`,"raw_bytes":`)
	b.WriteString(strconv.Itoa(records.RawBytes))
	b.WriteString(`,"body":"`)
	enc := base64.NewEncoder(base64.StdEncoding, &b)
	_, _ = enc.Write(block) // a strings.Builder does not fail
	_ = enc.Close()
	b.WriteString(`"}`)
	return b.String()
}

// ErrBadMessage is wrapped by every error of DecodeMessage.
var ErrBadMessage = errors.New("not a queued push")

// DecodeMessage reads a message EncodeMessage wrote, and returns the push
// as Records did. The key must be one Encode gives (so an object written
// from it stays in its tenant's partition), and the records must be as
// many and as long as the message says: a damaged message is an error,
// never part of an object.
func DecodeMessage(body string) (Object, error) {
	var m message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return Object{}, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	if m.V != messageVersion {
		return Object{}, fmt.Errorf("%w: version %d, want %d", ErrBadMessage, m.V, messageVersion)
	}
	if _, err := Partition(m.Key); err != nil {
		return Object{}, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	if m.Records < 1 || m.RawBytes < 1 || m.RawBytes > maxMessageRaw {
		return Object{}, fmt.Errorf("%w: %d records of %d bytes", ErrBadMessage, m.Records, m.RawBytes)
	}
	if n, err := s2.DecodedLen(m.Body); err != nil || n != m.RawBytes {
		return Object{}, fmt.Errorf("%w: body decodes to %d bytes (%v), want %d", ErrBadMessage, n, err, m.RawBytes)
	}
	raw, err := s2.Decode(nil, m.Body)
	if err != nil {
		return Object{}, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	if n := bytes.Count(raw, []byte{'\n'}); n != m.Records || raw[len(raw)-1] != '\n' {
		return Object{}, fmt.Errorf("%w: %d records, want %d", ErrBadMessage, n, m.Records)
	}
	return Object{Key: m.Key, Body: raw, Records: m.Records, RawBytes: m.RawBytes}, nil
}

// Partition is the tenant=<tenant>/dt=YYYY-MM-DD/hour=HH/ prefix of key, a
// key Encode returns; an error for any other key.
func Partition(key string) (string, error) {
	bad := func(why string) (string, error) { return "", fmt.Errorf("key %.200q: %s", key, why) }
	rest, ok := strings.CutPrefix(key, "tenant=")
	if !ok {
		return bad("no tenant= partition")
	}
	tenant, rest, ok := strings.Cut(rest, "/")
	if !ok || ValidateTenant(tenant) != nil {
		return bad("invalid tenant")
	}
	const hourPart = "dt=2006-01-02/hour=15/"
	if len(rest) < len(hourPart) {
		return bad("no dt= and hour= partitions")
	}
	if _, err := time.Parse(hourPart, rest[:len(hourPart)]); err != nil {
		return bad("invalid dt= or hour= partition")
	}
	name := rest[len(hourPart):]
	hexName, ok := strings.CutSuffix(name, ".ndjson.gz")
	if !ok || len(hexName) != nameHexLen || strings.Trim(hexName, "0123456789abcdef") != "" {
		return bad("name is not <32 hex>.ndjson.gz")
	}
	return key[:len(key)-len(name)], nil
}

// BatchKey names the object the archiver writes for a partition (as
// Partition returns it): <ms>-<random>.ndjson.gz, where ms is when it was
// written (Unix milliseconds, 13 digits until the year 2286, so names sort
// by the time they were written) and random keeps two archivers writing in
// the same millisecond apart. Its name never has a push's 32 hex digits
// alone, so it cannot replace an object the bridge wrote.
func BatchKey(partition string, written time.Time, random string) string {
	return fmt.Sprintf("%s%013d-%s.ndjson.gz", partition, written.UnixMilli(), random)
}
