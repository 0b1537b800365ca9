// Package pushtest builds Loki push requests for tests of what reads them
// (the parser, the archive, the bridge): the same push in every form Loki
// accepts, encoded by logstream's own Loki sender.
package pushtest

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink/loki"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// Body is one encoding of a push.
type Body struct {
	Name, ContentType, ContentEncoding string
	Body                               []byte
}

// Bodies is the push of evs (one stream, labels env="prod" plus the
// sender's own) as protobuf+snappy, JSON plain, gzip and deflate; events
// without a timestamp get now.
func Bodies(tb testing.TB, evs []json.RawMessage, now time.Time) []Body {
	tb.Helper()
	encode := func(format string) (body []byte, ct, ce string) {
		cfg := &destination.GrafanaLokiConfig{Hostname: "loki.example", Format: format, Labels: map[string]string{"env": "prod"}}
		st := sinktest.Stream(tb, destination.GrafanaLoki, cfg)
		body, ct, ce, err := loki.Encode(st, cfg, evs, now)
		if err != nil {
			tb.Fatal(err)
		}
		return body, ct, ce
	}
	pb, pbCT, pbCE := encode(destination.LokiFormatProtobuf)
	gz, jsonCT, gzCE := encode(destination.LokiFormatJSON)
	plain := Gunzip(tb, gz)
	var deflated bytes.Buffer
	w, _ := flate.NewWriter(&deflated, flate.DefaultCompression)
	w.Write(plain)
	w.Close()
	return []Body{
		{"protobuf+snappy", pbCT, pbCE, pb},
		{"json", jsonCT, "", plain},
		{"json+gzip", jsonCT, gzCE, gz},
		{"json+deflate", jsonCT, "deflate", deflated.Bytes()},
	}
}

// Gunzip decompresses b or fails the test.
func Gunzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
