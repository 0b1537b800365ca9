package runner

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestReceiver(t *testing.T) {
	tests := []struct {
		name     string
		body     []byte
		encoding string
		want     string
	}{
		{name: "one JSON object", body: []byte("{\n \"a\": 1\n}"), want: "{\"a\":1}\n"},
		{name: "JSON array: one line per element", body: []byte(`[{"a":1}, {"b":2}]`), want: "{\"a\":1}\n{\"b\":2}\n"},
		{name: "newline-delimited JSON", body: []byte("{\"a\":1}\n\n{\"b\": 2}\n"), want: "{\"a\":1}\n{\"b\":2}\n"},
		{name: "gzip", body: gzipped(t, `[{"a":1}]`), encoding: "gzip", want: "{\"a\":1}\n"},
		{name: "text is quoted, not lost", body: []byte("plain line\n"), want: "\"plain line\"\n"},
		{name: "empty body", body: nil, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			srv := httptest.NewServer(NewReceiver(&out, testLogger(t)))
			defer srv.Close()
			req, _ := http.NewRequest("POST", srv.URL+"/hook", bytes.NewReader(tc.body))
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			eq(t, "printed", out.String(), tc.want)
		})
	}
}

// FuzzReceivedLines: whatever arrives, the receiver prints only valid JSON,
// one document per line.
func FuzzReceivedLines(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[{"a":1},2,"x"]`, "{\"a\":1}\n{\"b\":2}", "not json\n{\"a\":1}", `[`, "\n\n", `"\u2028"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, l := range receivedLines(body) {
			if !json.Valid(l) || bytes.ContainsAny(l, "\n\r") {
				t.Fatalf("printed line %q is not one JSON document", l)
			}
		}
	})
}

// The locked path answers 401 without its token, and takes the events with it.
func TestReceiverLockedPath(t *testing.T) {
	var out bytes.Buffer
	srv := httptest.NewServer(NewReceiver(&out, testLogger(t)))
	defer srv.Close()
	for _, tc := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer wrong", 401}, {"Bearer " + ReceiverLockedToken, 204}} {
		req, _ := http.NewRequest("POST", srv.URL+ReceiverLockedPath, bytes.NewReader([]byte(`{"a":1}`)))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("authorization %q: %d, want %d", tc.auth, resp.StatusCode, tc.want)
		}
	}
	if out.String() != "{\"a\":1}\n" {
		t.Errorf("printed %q, want the one authorized event", out.String())
	}
}
