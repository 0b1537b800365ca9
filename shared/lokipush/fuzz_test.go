package lokipush

import (
	"bytes"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/s2"
)

// The fuzz targets' seed corpora are in testdata/fuzz/<target>: the sample
// requests, bodies from logstream's Loki sender, and the malformed bodies of
// TestParse. Run them with `make fuzz` or
// go test -run '^$' -fuzz '^FuzzParseJSON$' ./shared/lokipush.

// fuzzLimits are small, so the fuzzer reaches every limit.
var fuzzLimits = Limits{MaxBodyBytes: 64 << 10, MaxDecodedBytes: 256 << 10, MaxLineBytes: 1024, MaxEntries: 100}

// FuzzParseJSON: no body makes Parse panic or break its promises, and what
// it reads, written back as JSON, reads the same.
func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(sampleJSON))
	f.Add([]byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","l",{"k":"v"}],null]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := Parse(bytes.NewReader(body), js, "", fuzzLimits)
		checkParsed(t, req, err)
		if err != nil {
			return
		}
		again, err := Parse(bytes.NewReader(appendJSON(nil, req)), js, "", Limits{MaxLineBytes: fuzzLimits.MaxLineBytes})
		if err != nil {
			t.Fatalf("re-encoded request refused: %v\n%s", err, appendJSON(nil, req))
		}
		if d := diffRequest(again, req); d != "" {
			t.Fatalf("re-encoded request reads differently:\n%s", d)
		}
	})
}

// FuzzParseProto: no protobuf body makes Parse panic or break its promises;
// Parse accepts one only if Loki's own PushRequest.Unmarshal does, reads
// what Unmarshal reads, and counts (to charge memory) exactly the
// streams, entries and metadata pairs Unmarshal makes. raw is the protobuf, snappy-encoded here, or with
// isBlock the body as sent (so the snappy decoder is fuzzed too).
func FuzzParseProto(f *testing.F) {
	f.Add(sampleProto(f), false)
	f.Add(snap(sampleProto(f)), true)
	f.Fuzz(func(t *testing.T, raw []byte, isBlock bool) {
		body := raw
		if !isBlock {
			body = snap(raw)
		}
		req, err := Parse(bytes.NewReader(body), pb, "", fuzzLimits)
		checkParsed(t, req, err)

		n, derr := s2.DecodedLen(body)
		if derr != nil || n > fuzzLimits.MaxDecodedBytes {
			if err == nil {
				t.Fatalf("accepted a body whose decoded length is %d, %v", n, derr)
			}
			return
		}
		decoded, derr := s2.Decode(nil, body)
		if derr != nil {
			if err == nil {
				t.Fatalf("accepted a body s2 cannot decode: %v", derr)
			}
			return
		}
		var pr push.PushRequest
		uerr := pr.Unmarshal(decoded)
		if uerr != nil {
			if err == nil {
				t.Fatalf("accepted what PushRequest.Unmarshal refuses: %v", uerr)
			}
			return
		}
		if c, cerr := countPush(decoded); cerr == nil {
			want := pushCounts{streams: len(pr.Streams)}
			for _, s := range pr.Streams {
				want.entries += len(s.Entries)
				for _, e := range s.Entries {
					want.metadata += len(e.StructuredMetadata)
				}
			}
			if c != want {
				t.Fatalf("countPush = %+v, Unmarshal made %+v", c, want)
			}
		}
		if err != nil {
			return
		}
		want := &Request{}
		for _, s := range pr.Streams {
			ls, err := parseLabels(s.Labels)
			if err != nil {
				t.Fatalf("accepted labels %q: %v", s.Labels, err)
			}
			st := Stream{Labels: ls}
			for _, e := range s.Entries {
				en := Entry{Time: e.Timestamp, Line: e.Line}
				for _, l := range e.StructuredMetadata {
					en.Metadata = append(en.Metadata, Label(l))
				}
				st.Entries = append(st.Entries, en)
			}
			want.Streams = append(want.Streams, st)
		}
		if d := diffRequest(req, want); d != "" {
			t.Fatalf("Parse and PushRequest.Unmarshal disagree:\n%s", d)
		}
	})
}

// FuzzParseLabels: parseLabels never panics, accepts only valid names and
// non-empty values, and reads back what labelString writes of its result.
func FuzzParseLabels(f *testing.F) {
	f.Add(`{a="b", c="d"}`)
	f.Add(`{a="\x41\u00e9\n\"", _b="}{,="}`)
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := parseLabels(s)
		if err != nil {
			if StatusOf(err) != 400 || ls != nil {
				t.Fatalf("refusal %v with status %d and labels %v", err, StatusOf(err), ls)
			}
			return
		}
		checkLabels(t, ls)
		again, err := parseLabels(labelString(ls))
		if err != nil || !maps.Equal(again, ls) {
			t.Fatalf("%s reads back as %v, %v", labelString(ls), again, err)
		}
	})
}

// checkParsed fails the test if Parse broke a promise: an error is a 400
// or 413 and comes alone; a request is within fuzzLimits, with valid labels
// and UTC times.
func checkParsed(t *testing.T, req *Request, err error) {
	t.Helper()
	if err != nil {
		if s := StatusOf(err); (s != 400 && s != 413) || req != nil {
			t.Fatalf("error %v with status %d and request %v", err, s, req)
		}
		return
	}
	entries := 0
	for _, s := range req.Streams {
		checkLabels(t, s.Labels)
		for _, e := range s.Entries {
			entries++
			if len(e.Line) > fuzzLimits.MaxLineBytes {
				t.Fatalf("line of %d bytes accepted", len(e.Line))
			}
			if e.Time.Location() != time.UTC {
				t.Fatalf("time %v not in UTC", e.Time)
			}
			if e.Metadata != nil && len(e.Metadata) == 0 {
				t.Fatalf("empty, non-nil metadata")
			}
		}
	}
	if entries > fuzzLimits.MaxEntries {
		t.Fatalf("%d entries accepted", entries)
	}
}

func checkLabels(t *testing.T, ls map[string]string) {
	t.Helper()
	if len(ls) == 0 {
		t.Fatal("a stream without labels")
	}
	for k, v := range ls {
		if !validLabelName(k) || v == "" {
			t.Fatalf("label %q=%q accepted", k, v)
		}
	}
}

// appendJSON writes req as a JSON push body: keys sorted, strings escaped
// only where JSON requires, other bytes (invalid UTF-8 too) as they are.
func appendJSON(dst []byte, req *Request) []byte {
	dst = append(dst, `{"streams":[`...)
	for i, s := range req.Streams {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"stream":{`...)
		for j, k := range slices.Sorted(maps.Keys(s.Labels)) {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendString(dst, s.Labels[k])
		}
		dst = append(dst, `},"values":[`...)
		for j, e := range s.Entries {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `["`...)
			dst = strconv.AppendInt(dst, e.Time.UnixNano(), 10)
			dst = append(dst, `",`...)
			dst = appendString(dst, e.Line)
			if len(e.Metadata) > 0 {
				dst = append(dst, ",{"...)
				for k, l := range e.Metadata {
					if k > 0 {
						dst = append(dst, ',')
					}
					dst = appendString(dst, l.Name)
					dst = append(dst, ':')
					dst = appendString(dst, l.Value)
				}
				dst = append(dst, '}')
			}
			dst = append(dst, ']')
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, "]}"...)
}

func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// FuzzParseJSONFast: parseJSON, on jsonparser, is the fast path's oracle.
// What parseJSONFast accepts, parseJSON accepts and reads the same; what
// it gives up on, it has not written to (parseJSON reads the same bytes
// next). Its seed corpus is FuzzParseJSON's, plus strings the fast path
// unescapes in place.
func FuzzParseJSONFast(f *testing.F) {
	f.Add([]byte(sampleJSON))
	f.Add([]byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","{\"m\":\"\\u00e9\\n\\t\\\"\\/\"}",{"k":"v\u00e9\\\\"}]]}]}`))
	f.Add([]byte(` { "streams" : [ { "values" : [ [ "1" , "l\u20ac\u0000\b\f\r" , { } ] ] , "stream" : { "a" : "b" , "c" : "" } } ] } `))
	f.Add([]byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","\ud83d\ude00"]]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fastBody := bytes.Clone(body)
		fast, ok := parseJSONFast(fastBody, fuzzLimits)
		if !ok {
			if fast != nil || !bytes.Equal(fastBody, body) {
				t.Fatalf("gave up with %v, having written over the body:\n%q\n%q", fast, body, fastBody)
			}
			return
		}
		checkParsed(t, fast, nil)
		slow, err := parseJSON(bytes.Clone(body), fuzzLimits)
		if err != nil {
			t.Fatalf("fast path accepted what parseJSON refuses: %v", err)
		}
		if d := diffRequest(fast, slow); d != "" {
			t.Fatalf("fast path and parseJSON disagree:\n%s", d)
		}
	})
}
