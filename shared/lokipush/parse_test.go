package lokipush

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grafana/loki/pkg/push"
)

const (
	pb   = ContentTypeProtobuf
	js   = ContentTypeJSON
	none = ""
)

// TestParse covers every content type and encoding Parse takes, and every
// way it refuses a request, each with its status and (part of) its message.
func TestParse(t *testing.T) {
	proto := sampleProto(t)
	small := Limits{MaxBodyBytes: 4096, MaxDecodedBytes: 8192, MaxLineBytes: 64, MaxEntries: 3}
	big := strings.Repeat("x", 100)

	tests := []struct {
		name    string
		body    []byte
		ct, ce  string
		lim     Limits
		want    *Request // checked when status is 204
		status  int
		message string // a substring of the error's text
	}{
		// Every content type and encoding.
		{name: "protobuf snappy", body: snap(proto), ct: pb, ce: none, want: sampleWant, status: 204},
		{name: "protobuf snappy labelled snappy", body: snap(proto), ct: pb, ce: "snappy", want: sampleWant, status: 204},
		{name: "protobuf snappy in gzip", body: gz(snap(proto)), ct: pb, ce: "gzip", want: sampleWant, status: 204},
		{name: "protobuf snappy in raw deflate", body: rawDeflate(snap(proto)), ct: pb, ce: "deflate", want: sampleWant, status: 204},
		{name: "protobuf snappy in zlib deflate", body: zlibDeflate(snap(proto)), ct: pb, ce: "deflate", want: sampleWant, status: 204},
		{name: "protobuf with parameters", body: snap(proto), ct: "application/x-protobuf; proto=logproto.PushRequest", want: sampleWant, status: 204},
		{name: "json", body: []byte(sampleJSON), ct: js, ce: none, want: sampleWant, status: 204},
		{name: "json identity", body: []byte(sampleJSON), ct: js, ce: "identity", want: sampleWant, status: 204},
		{name: "json gzip", body: gz([]byte(sampleJSON)), ct: js, ce: "gzip", want: sampleWant, status: 204},
		{name: "json x-gzip, any case", body: gz([]byte(sampleJSON)), ct: js, ce: " X-GZIP ", want: sampleWant, status: 204},
		{name: "json raw deflate", body: rawDeflate([]byte(sampleJSON)), ct: js, ce: "deflate", want: sampleWant, status: 204},
		{name: "json zlib deflate", body: zlibDeflate([]byte(sampleJSON)), ct: js, ce: "Deflate", want: sampleWant, status: 204},
		{name: "json charset, any case", body: []byte(sampleJSON), ct: "Application/JSON; charset=utf-8", want: sampleWant, status: 204},
		{name: "json bad parameter ignored", body: []byte(sampleJSON), ct: "application/json; charset", want: sampleWant, status: 204},
		{name: "gzip multi-member", body: append(gz([]byte(sampleJSON[:40])), gz([]byte(sampleJSON[40:]))...), ct: js, ce: "gzip", want: sampleWant, status: 204},

		// What Loki accepts in JSON, accepted alike.
		{name: "json empty object", body: []byte(`{}`), ct: js, want: &Request{}, status: 204},
		{name: "json null streams", body: []byte(` {"streams":null} `), ct: js, want: &Request{}, status: 204},
		{name: "json unknown keys ignored", body: []byte(`{"x":[1,{"y":2}],"streams":[{"z":true,"stream":{"a":"b"},"values":[["1","l"]]}],"w":"v"}`), ct: js,
			want: &Request{Streams: []Stream{{Labels: map[string]string{"a": "b"}, Entries: []Entry{{Time: ts(1), Line: "l"}}}}}, status: 204},
		{name: "json null values and null entry", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":null},{"stream":{"a":"c"},"values":[null,["2","l"]]}]}`), ct: js,
			want: &Request{Streams: []Stream{{Labels: map[string]string{"a": "b"}}, {Labels: map[string]string{"a": "c"}, Entries: []Entry{{Time: ts(2), Line: "l"}}}}}, status: 204},
		{name: "json number label value", body: []byte(`{"streams":[{"stream":{"port":8080},"values":[]}]}`), ct: js,
			want: &Request{Streams: []Stream{{Labels: map[string]string{"port": "8080"}}}}, status: 204},
		{name: "json empty label value dropped", body: []byte(`{"streams":[{"stream":{"a":"b","empty":""},"values":[]}]}`), ct: js,
			want: &Request{Streams: []Stream{{Labels: map[string]string{"a": "b"}}}}, status: 204},
		{name: "json values before stream", body: []byte(`{"streams":[{"values":[["-5","l",{}]],"stream":{"a":"b"}}]}`), ct: js,
			want: &Request{Streams: []Stream{{Labels: map[string]string{"a": "b"}, Entries: []Entry{{Time: ts(-5), Line: "l"}}}}}, status: 204},
		{name: "json escaped key and metadata", body: []byte(`{"streams":[{"stream":{"\u0061":"b"},"values":[["1","l",{"k\"":"v\u00e9\n"}]]}]}`), ct: js,
			want: &Request{Streams: []Stream{{Labels: map[string]string{"a": "b"}, Entries: []Entry{{Time: ts(1), Line: "l", Metadata: []Label{{`k"`, "vé\n"}}}}}}}, status: 204},
		{name: "protobuf empty label value dropped", body: snap(protoBody(t, push.Stream{Labels: `{a="b", e=""}`})), ct: pb,
			want: &Request{Streams: []Stream{{Labels: map[string]string{"a": "b"}}}}, status: 204},
		{name: "limits exactly met", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","` + big[:64] + `"],["2","x"],["3","y"]]}]}`), ct: js, lim: small, status: 204},

		// 415: types and encodings Parse does not read.
		{name: "no content type", body: []byte(sampleJSON), ct: "", status: 415, message: `Content-Type "" not supported`},
		{name: "text/plain", body: []byte(sampleJSON), ct: "text/plain", status: 415, message: `Content-Type "text/plain" not supported`},
		{name: "application/protobuf", body: snap(proto), ct: "application/protobuf", status: 415, message: "not supported"},
		{name: "octet-stream", body: snap(proto), ct: "application/octet-stream", status: 415, message: "not supported"},
		{name: "brotli", body: []byte(sampleJSON), ct: js, ce: "br", status: 415, message: `Content-Encoding "br" not supported`},
		{name: "two encodings", body: []byte(sampleJSON), ct: js, ce: "gzip, deflate", status: 415, message: `Content-Encoding "gzip, deflate" not supported`},
		{name: "json labelled snappy", body: snap([]byte(sampleJSON)), ct: js, ce: "snappy", status: 415, message: `Content-Encoding "snappy" not supported for application/json`},

		// 400: malformed headers and encodings.
		{name: "malformed content type", body: []byte(sampleJSON), ct: "application/", status: 400, message: "Content-Type: mime:"},
		{name: "gzip not gzip", body: []byte(sampleJSON), ct: js, ce: "gzip", status: 400, message: "gzip: invalid header"},
		{name: "gzip truncated", body: gz([]byte(sampleJSON))[:30], ct: js, ce: "gzip", status: 400, message: "unexpected EOF"},
		{name: "gzip bad checksum", body: corruptCRC(gz([]byte(sampleJSON))), ct: js, ce: "gzip", status: 400, message: "invalid checksum"},
		{name: "deflate garbage", body: []byte{0xff, 0xff, 0xff, 0xff}, ct: js, ce: "deflate", status: 400, message: "flate: corrupt input"},
		{name: "zlib bad checksum", body: corruptAdler(zlibDeflate([]byte(sampleJSON))), ct: js, ce: "deflate", status: 400, message: "checksum"},
		{name: "snappy corrupt", body: []byte{0x10, 0xff, 0xff}, ct: pb, status: 400, message: "snappy: corrupt input"},
		{name: "snappy empty body", body: nil, ct: pb, status: 400, message: "snappy: corrupt input"},
		{name: "snappy not snappy", body: proto, ct: pb, status: 400, message: "snappy"},

		// 400: malformed protobuf and labels.
		{name: "protobuf truncated", body: snap(proto[:len(proto)-3]), ct: pb, status: 400, message: "unexpected EOF"},
		{name: "protobuf wrong wire type", body: snap([]byte{0x08, 0x01}), ct: pb, status: 400, message: "wrong wireType"},
		{name: "protobuf field 0", body: snap([]byte{0x00, 0x01}), ct: pb, status: 400, message: "illegal tag 0"},
		{name: "protobuf bare labels", body: snap(protoBody(t, push.Stream{Labels: `{app=api}`})), ct: pb, status: 400,
			message: `couldn't parse labels: 1:6: parse error: expected a double-quoted label value, got 'a'`},
		{name: "protobuf no labels", body: snap(protoBody(t, push.Stream{Labels: `{}`})), ct: pb, status: 400, message: msgMissingLabels},
		{name: "protobuf only empty labels", body: snap(protoBody(t, push.Stream{Labels: `{a=""}`})), ct: pb, status: 400, message: msgMissingLabels},
		{name: "protobuf duplicate label", body: snap(protoBody(t, push.Stream{Labels: `{a="1", a="2"}`})), ct: pb, status: 400,
			message: `stream '{a="1", a="2"}' has duplicate label name: 'a'`},
		{name: "protobuf metric name", body: snap(protoBody(t, push.Stream{Labels: `up{a="1"}`})), ct: pb, status: 400, message: `1:1: parse error: expected "{", got 'u'`},

		// 400: malformed JSON.
		{name: "json empty body", body: nil, ct: js, status: 400, message: "couldn't parse push request: "},
		{name: "json array", body: []byte(`[]`), ct: js, status: 400, message: "couldn't parse push request: "},
		{name: "json truncated", body: []byte(sampleJSON[:100]), ct: js, status: 400, message: "couldn't parse push request: "},
		{name: "json trailing data", body: []byte(`{"streams":[]} {}`), ct: js, status: 400, message: "unexpected data after the top-level object"},
		{name: "json trailing data, empty object", body: []byte(`{}x`), ct: js, status: 400, message: "unexpected data after the top-level object"},
		{name: "json streams twice", body: []byte(`{"streams":[],"streams":[]}`), ct: js, status: 400, message: `"streams" appears twice`},
		{name: "json streams object", body: []byte(`{"streams":{}}`), ct: js, status: 400, message: `"streams" must be an array, not object`},
		{name: "json stream string", body: []byte(`{"streams":["x"]}`), ct: js, status: 400, message: "streams[0] must be an object, not string"},
		{name: "json labels array", body: []byte(`{"streams":[{"stream":["a"]}]}`), ct: js, status: 400, message: `streams[0]: "stream" must be an object of labels, not array`},
		{name: "json labels missing", body: []byte(`{"streams":[{"values":[["1","l"]]}]}`), ct: js, status: 400, message: msgMissingLabels},
		{name: "json labels empty", body: []byte(`{"streams":[{"stream":{},"values":[]}]}`), ct: js, status: 400, message: msgMissingLabels},
		{name: "json label name invalid", body: []byte(`{"streams":[{"stream":{"a-b":"c"}}]}`), ct: js, status: 400, message: `couldn't parse labels: streams[0]: invalid label name "a-b"`},
		{name: "json label value bool", body: []byte(`{"streams":[{"stream":{"a":true}}]}`), ct: js, status: 400, message: "label a must be a string, not boolean"},
		{name: "json label twice", body: []byte(`{"streams":[{"stream":{"a":"1","a":"2"}}]}`), ct: js, status: 400, message: `stream '{a="1"}' has duplicate label name: 'a'`},
		{name: "json stream twice", body: []byte(`{"streams":[{"stream":{"a":"1"},"stream":{"a":"2"}}]}`), ct: js, status: 400, message: `streams[0]: "stream" appears twice`},
		{name: "json values twice", body: []byte(`{"streams":[{"values":[],"values":[]}]}`), ct: js, status: 400, message: `streams[0]: "values" appears twice`},
		{name: "json values object", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":{}}]}`), ct: js, status: 400, message: `"values" must be an array, not object`},
		{name: "json entry object", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[{}]}]}`), ct: js, status: 400, message: "streams[0].values[0] must be an array, not object"},
		{name: "json entry one element", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1"]]}]}`), ct: js, status: 400, message: "an entry is [timestamp, line]"},
		{name: "json entry empty", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[[]]}]}`), ct: js, status: 400, message: "an entry is [timestamp, line]"},
		{name: "json entry four elements", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","l",{},"x"]]}]}`), ct: js, status: 400, message: "an entry is [timestamp, line]"},
		{name: "json timestamp number", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","l"],[2,"l"]]}]}`), ct: js, status: 400,
			message: "streams[0].values[1]: timestamp must be a string of Unix epoch nanoseconds, not 2"},
		{name: "json timestamp RFC 3339", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["2024-01-01T00:00:00Z","l"]]}]}`), ct: js, status: 400, message: "timestamp must be a string of Unix epoch nanoseconds"},
		{name: "json timestamp overflow", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["9223372036854775808","l"]]}]}`), ct: js, status: 400, message: "timestamp must be"},
		{name: "json timestamp empty", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["","l"]]}]}`), ct: js, status: 400, message: "timestamp must be"},
		{name: "json line number", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1",2]]}]}`), ct: js, status: 400, message: "line must be a string, not number"},
		{name: "json line bad escape", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","\q"]]}]}`), ct: js, status: 400, message: "invalid escape in line"},
		{name: "json metadata array", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","l",[]]]}]}`), ct: js, status: 400, message: "structured metadata must be an object, not array"},
		{name: "json metadata number", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","l",{"k":1}]]}]}`), ct: js, status: 400, message: `structured metadata "k" must be a string, not number`},
		{name: "json metadata unterminated", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","l",{"k":"v}]]}]}`), ct: js, status: 400, message: "couldn't parse push request: "},

		// 413: every limit.
		{name: "body over limit", body: bytes.Repeat([]byte(" "), 4097), ct: js, lim: small, status: 413, message: "received message larger than max (4097 vs 4096)"},
		{name: "identity body over decoded limit", body: bytes.Repeat([]byte(" "), 3000), ct: js, lim: Limits{MaxBodyBytes: 4096, MaxDecodedBytes: 2048}, status: 413,
			message: "received message larger than max (3000 vs 2048)"},
		{name: "gzip over decoded limit", body: gz(bytes.Repeat([]byte(" "), 8193)), ct: js, ce: "gzip", lim: small, status: 413, message: "received message larger than max (8193 vs 8192)"},
		{name: "deflate over decoded limit", body: rawDeflate(bytes.Repeat([]byte(" "), 9000)), ct: js, ce: "deflate", lim: small, status: 413, message: "received message larger than max (8193 vs 8192)"},
		{name: "zlib over decoded limit", body: zlibDeflate(bytes.Repeat([]byte(" "), 9000)), ct: js, ce: "deflate", lim: small, status: 413, message: "received message larger than max (8193 vs 8192)"},
		{name: "snappy over decoded limit", body: snap(bytes.Repeat([]byte{0}, 9000)), ct: pb, lim: small, status: 413, message: "received message larger than max (9000 vs 8192)"},
		{name: "json line too long", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","` + big[:65] + `"]]}]}`), ct: js, lim: small, status: 413,
			message: `Max entry size '64' bytes exceeded for stream '{a="b"}' while adding an entry with length '65' bytes`},
		{name: "protobuf line too long", body: snap(protoBody(t, push.Stream{Labels: `{a="b"}`, Entries: []push.Entry{{Line: big[:65]}}})), ct: pb, lim: small, status: 413,
			message: `Max entry size '64' bytes exceeded for stream '{a="b"}' while adding an entry with length '65' bytes`},
		{name: "json too many entries", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","a"],["2","b"]]},{"stream":{"a":"c"},"values":[["3","c"],["4","d"]]}]}`), ct: js, lim: small, status: 413,
			message: "push request has more than 3 entries"},
		{name: "protobuf too many entries", body: snap(protoBody(t, push.Stream{Labels: `{a="b"}`, Entries: make([]push.Entry, 2)}, push.Stream{Labels: `{a="c"}`, Entries: make([]push.Entry, 2)})), ct: pb, lim: small, status: 413,
			message: "push request has more than 3 entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(bytes.NewReader(tt.body), tt.ct, tt.ce, tt.lim)
			t.Logf("%d %v", StatusOf(err), err)
			if s := StatusOf(err); s != tt.status {
				t.Fatalf("status %d (%v), want %d", s, err, tt.status)
			}
			if err != nil {
				if got != nil {
					t.Errorf("a request with the error %v", err)
				}
				if !strings.Contains(err.Error(), tt.message) {
					t.Errorf("error %q, want it to contain %q", err, tt.message)
				}
				return
			}
			if tt.want != nil {
				if d := diffRequest(got, tt.want); d != "" {
					t.Error(d)
				}
			}
		})
	}
}

func corruptCRC(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)-8] ^= 0xff // CRC-32 precedes ISIZE in the trailer
	return b
}

func corruptAdler(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)-1] ^= 0xff
	return b
}

// TestParseBodyReads covers bodies that do not know their length, as an
// HTTP request's does not, and bodies that fail.
func TestParseBodyReads(t *testing.T) {
	lim := Limits{MaxBodyBytes: 1000}
	body := []byte(sampleJSON)
	tests := []struct {
		name    string
		body    io.Reader
		status  int
		message string
	}{
		{name: "no Len, under the limit", body: hideLen{bytes.NewReader(body)}, status: 204},
		{name: "no Len, over the limit", body: hideLen{bytes.NewReader(bytes.Repeat([]byte(" "), 1001))}, status: 413, message: "received message larger than max (1001 vs 1000)"},
		{name: "one byte at a time", body: io.LimitReader(&oneByte{body}, int64(len(body))), status: 204},
		{name: "client hung up", body: &failingReader{data: body[:50], err: io.ErrUnexpectedEOF}, status: 400, message: "read request body: unexpected EOF"},
		{name: "server's body limit", body: http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(bytes.NewReader(body)), 10), status: 413, message: "received message larger than max (11 vs 10)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.body, js, "", lim)
			if s := StatusOf(err); s != tt.status {
				t.Fatalf("status %d (%v), want %d", s, err, tt.status)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.message) {
					t.Errorf("error %q, want it to contain %q", err, tt.message)
				}
				return
			}
			if d := diffRequest(got, sampleWant); d != "" {
				t.Error(d)
			}
		})
	}
}

type oneByte struct{ b []byte }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(o.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = o.b[0]
	o.b = o.b[1:]
	return 1, nil
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 204},
		{tooLarge("x"), 413},
		{unsupported("x"), 415},
		{badRequest("x"), 400},
		{malformed("x: ", io.ErrUnexpectedEOF), 400},
		{errors.New("something else"), 500},
	}
	for _, tt := range tests {
		if got := StatusOf(tt.err); got != tt.want {
			t.Errorf("StatusOf(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
	if err := malformed("read: ", io.ErrUnexpectedEOF); !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, ErrBadRequest) {
		t.Errorf("%v should match both its class and its cause", err)
	}
}

func TestDefaultLimits(t *testing.T) {
	if got := (Limits{}).withDefaults(); got != DefaultLimits() {
		t.Errorf("Limits{} = %+v, want the defaults %+v", got, DefaultLimits())
	}
	if got := (Limits{MaxBodyBytes: -1, MaxEntries: 7}).withDefaults(); got.MaxBodyBytes != DefaultMaxBodyBytes || got.MaxEntries != 7 {
		t.Errorf("negative limit not defaulted, or a set one lost: %+v", got)
	}
}
