package archive

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/lokipush/pushtest"
)

// Records gives the records Encode compresses, in the same partition,
// named by their own hash; Compress gives exactly what Encode gives, body
// and key; a message carries the records whole.
func TestRecordsCompressAndMessage(t *testing.T) {
	enc, err := Encode("acme", goldenRequest())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Records("acme", goldenRequest())
	if err != nil {
		t.Fatal(err)
	}
	plain := pushtest.Gunzip(t, enc.Body)
	recPart, _ := Partition(rec.Key)
	encPart, _ := Partition(enc.Key)
	if recPart != encPart || rec.Key == enc.Key || rec.Records != enc.Records || rec.RawBytes != enc.RawBytes || !bytes.Equal(rec.Body, plain) {
		t.Fatalf("Records %s %d %d differs from Encode %s %d %d", rec.Key, rec.Records, rec.RawBytes, enc.Key, enc.Records, enc.RawBytes)
	}
	if c := Compress(rec); c.Key != enc.Key || !bytes.Equal(c.Body, enc.Body) {
		t.Errorf("Compress: key %s, want %s; same body %v", c.Key, enc.Key, bytes.Equal(c.Body, enc.Body))
	}
	// Over several flushes too.
	big := &lokipush.Request{Streams: []lokipush.Stream{{Labels: map[string]string{"job": "x"}}}}
	for i := range 400 {
		big.Streams[0].Entries = append(big.Streams[0].Entries,
			lokipush.Entry{Time: t0.Add(time.Duration(i)), Line: fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, strings.Repeat("x", 300))})
	}
	encBig, _ := Encode("acme", big)
	recBig, _ := Records("acme", big)
	if c := Compress(recBig); recBig.RawBytes <= flushAt || c.Key != encBig.Key || !bytes.Equal(c.Body, encBig.Body) {
		t.Errorf("Compress of %d bytes of records: key %s, want %s", recBig.RawBytes, c.Key, encBig.Key)
	}

	msg := EncodeMessage(rec)
	if len(msg) > MaxMessageBytes {
		t.Fatalf("message of %d bytes", len(msg))
	}
	got, err := DecodeMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != rec.Key || got.Records != rec.Records || got.RawBytes != rec.RawBytes || !bytes.Equal(got.Body, rec.Body) {
		t.Errorf("round trip: %s %d %d", got.Key, got.Records, got.RawBytes)
	}
}

// A message that is not exactly a queued push is refused, never read in
// part: the archiver leaves it for the DLQ.
func TestDecodeMessageRefuses(t *testing.T) {
	rec, err := Records("acme", goldenRequest())
	if err != nil {
		t.Fatal(err)
	}
	good := EncodeMessage(rec)
	with := func(field, value string) string {
		start := strings.Index(good, `"`+field+`":`) + len(field) + 3
		end := start + strings.IndexAny(good[start:], ",}")
		return good[:start] + value + good[end:]
	}
	b64 := func(b []byte) string { return `"` + base64.StdEncoding.EncodeToString(b) + `"` }
	oneLess := bytes.TrimSuffix(rec.Body, []byte("\n"))
	oneLess = oneLess[:bytes.LastIndexByte(oneLess, '\n')+1]
	for name, body := range map[string]string{
		"not JSON":            "tenant=acme/...",
		"an event envelope":   `{"stream_id":"archive","events":[]}`,
		"other version":       with("v", "2"),
		"key of another dir":  with("key", `"tenant=acme/dt=2026-11-24/hour=07/../../x.ndjson.gz"`),
		"key with bad tenant": with("key", `"tenant=a/b/dt=2026-11-24/hour=07/`+strings.Repeat("0", 32)+`.ndjson.gz"`),
		"no records":          with("records", "0"),
		"records miscounted":  with("records", "3"),
		"raw size wrong":      with("raw_bytes", "12"),
		"huge raw size":       with("raw_bytes", "1000000000"),
		"body not snappy":     with("body", b64([]byte("plain text, no snappy"))),
		"body truncated":      with("body", b64(s2.EncodeSnappy(nil, rec.Body)[:40])),
		"a record lost":       with("body", b64(s2.EncodeSnappy(nil, oneLess))),
	} {
		if _, err := DecodeMessage(body); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: %v, want ErrBadMessage", name, err)
		}
	}
}

func TestPartition(t *testing.T) {
	name := strings.Repeat("0a", 16) + ".ndjson.gz"
	for key, want := range map[string]string{
		"tenant=acme/dt=2026-11-24/hour=07/" + name:           "tenant=acme/dt=2026-11-24/hour=07/",
		"tenant=a.b(c)/dt=2026-01-01/hour=23/" + name:         "tenant=a.b(c)/dt=2026-01-01/hour=23/",
		"tenant=acme/dt=2026-11-24/hour=24/" + name:           "",
		"tenant=acme/dt=2026-13-24/hour=07/" + name:           "",
		"tenant=../dt=2026-11-24/hour=07/" + name:             "",
		"tenant=acme/dt=2026-11-24/hour=07/x/" + name:         "",
		"tenant=acme/dt=2026-11-24/hour=07/" + "A" + name[1:]: "",
		"tenant=acme/dt=2026-11-24/hour=07/1-2.ndjson.gz":     "",
		"loki/tenant=acme/dt=2026-11-24/hour=07/" + name:      "",
	} {
		got, err := Partition(key)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("Partition(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
}

// Batch keys sort by when they were written, stay in their partition, fit
// MaxKeyLength and never look like a push's.
func TestBatchKey(t *testing.T) {
	p := "tenant=" + strings.Repeat("t", MaxTenantLength) + "/dt=2026-11-24/hour=07/"
	early := BatchKey(p, time.UnixMilli(999), "00000000000000ff")
	late := BatchKey(p, time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC), "0000000000000000")
	if !(early < late) || !strings.HasPrefix(early, p) || len(late) > MaxKeyLength {
		t.Errorf("keys %s, %s", early, late)
	}
	if _, err := Partition(late); err == nil {
		t.Errorf("batch key %s parses as a push's", late)
	}
}

// FuzzDecodeMessage: whatever a queue holds, DecodeMessage returns an error
// or a push whose key stays in its partition and whose records are whole,
// and which encodes back to a message that decodes to the same.
func FuzzDecodeMessage(f *testing.F) {
	rec, err := Records("acme", goldenRequest())
	if err != nil {
		f.Fatal(err)
	}
	msg := EncodeMessage(rec)
	f.Add(msg)
	f.Add(strings.Replace(msg, `"records":`, `"records":1`, 1))
	f.Add(`{"v":1,"key":"tenant=a/dt=2026-12-07/hour=01/0123456789abcdef0123456789abcdef.ndjson.gz","records":1,"raw_bytes":2,"body":"AgQxCg=="}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, body string) {
		got, err := DecodeMessage(body)
		if err != nil {
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("error %v is not ErrBadMessage", err)
			}
			return
		}
		if _, err := Partition(got.Key); err != nil {
			t.Fatalf("decoded key %q: %v", got.Key, err)
		}
		if got.Records < 1 || got.RawBytes != len(got.Body) || bytes.Count(got.Body, []byte{'\n'}) != got.Records ||
			got.Body[len(got.Body)-1] != '\n' {
			t.Fatalf("decoded %d records of %d bytes: %q", got.Records, got.RawBytes, got.Body)
		}
		again, err := DecodeMessage(EncodeMessage(got))
		if err != nil || again.Key != got.Key || again.Records != got.Records || !bytes.Equal(again.Body, got.Body) {
			t.Fatalf("re-encoded message: %v", err)
		}
	})
}
