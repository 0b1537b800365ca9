package webhook

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/stream"
)

// receiver checks the request contract of an http stream and answers status.
func receiver(t *testing.T, status int, got *[]string) *httptest.Server {
	t.Helper()
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method != http.MethodPost:
			t.Errorf("method %s", r.Method)
		case r.Header.Get("Content-Type") != ContentType:
			t.Errorf("content-type %q", r.Header.Get("Content-Type"))
		case r.Header.Get("X-Team") != "sec" || r.Header.Get("Authorization") != "Bearer tok-123456789":
			t.Errorf("custom headers missing: %v", r.Header)
		case !strings.HasPrefix(r.Header.Get("User-Agent"), "logstream/"):
			t.Errorf("user agent %q", r.Header.Get("User-Agent"))
		case r.URL.Path != "/hook":
			t.Errorf("path %s", r.URL.Path)
		}
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			if !json.Valid(sc.Bytes()) {
				t.Errorf("line is not JSON: %q", sc.Text())
			}
			*got = append(*got, sc.Text())
		}
		w.WriteHeader(status)
		io.WriteString(w, `{"ok":false}`)
	}))
}

func testStream(endpoint string) stream.Stream {
	cfg, _ := json.Marshal(stream.HTTPConfig{Endpoint: endpoint + "/hook", Headers: map[string]string{"X-Team": "sec", "Authorization": "Bearer tok-123456789"}})
	return stream.Stream{ID: "str_x", DestinationType: "http", DestinationConfig: cfg, Status: stream.StatusActive}
}

func TestSend(t *testing.T) {
	evs := []json.RawMessage{json.RawMessage(`{"event_id":"a"}`), json.RawMessage(`{"event_id":"b","x":[1,2]}`)}
	tests := []struct {
		name   string
		status int
		want   int // expected StatusError code, 0 = success
	}{
		{"200", 200, 0}, {"202", 202, 0}, {"204", 204, 0},
		{"400", 400, 400}, {"401", 401, 401}, {"429", 429, 429}, {"500", 500, 500}, {"302 is not success", 302, 302},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			srv := receiver(t, tc.status, &got)
			defer srv.Close()
			s := &Sender{Client: netguard.Policy{AllowPrivate: true}.Client(2 * time.Second), UserAgent: "logstream/test"}
			err := s.Send(context.Background(), testStream(srv.URL), evs)
			if len(got) != 2 || got[0] != `{"event_id":"a"}` {
				t.Errorf("receiver got %v", got)
			}
			var se *StatusError
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if !errors.As(err, &se) || se.StatusCode != tc.want {
				t.Fatalf("err = %v, want status %d", err, tc.want)
			}
		})
	}
}

func TestSendTimesOut(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	s := &Sender{Client: netguard.Policy{AllowPrivate: true}.Client(100 * time.Millisecond), UserAgent: "logstream/test"}
	if err := s.Send(context.Background(), testStream(srv.URL), []json.RawMessage{json.RawMessage(`{}`)}); err == nil {
		t.Fatal("a receiver that never answers was treated as delivered")
	}
}

func TestSendRefusesLoopbackWithoutSwitch(t *testing.T) {
	var got []string
	srv := receiver(t, 200, &got)
	defer srv.Close()
	s := &Sender{Client: netguard.Policy{}.Client(time.Second), UserAgent: "logstream/test"}
	err := s.Send(context.Background(), testStream(srv.URL), []json.RawMessage{json.RawMessage(`{}`)})
	if !errors.Is(err, netguard.ErrForbiddenAddress) || len(got) != 0 {
		t.Fatalf("err = %v, receiver got %d lines", err, len(got))
	}
}
