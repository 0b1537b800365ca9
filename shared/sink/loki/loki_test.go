package loki

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/s2"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/sink/sinktest"
	"github.com/logstream/logstream/shared/stream"
)

// Credentials shaped like Grafana Cloud's: the instance id and an access
// policy token.
const (
	testUser   = "987654"
	testPass   = "glc_eyJvIjoiOTg3NjU0IiwibiI6InN0YWNrLWxvZ3Mtd3JpdGUiLCJrIjoiczNjcjN0In0="
	testTenant = "tenant-a"
)

var testLabels = map[string]string{"env": "prod", "team": "identity"}

// lokiStream is a grafana_loki stream pushing to srv; with auth, it sends
// testUser, testPass and testTenant.
func lokiStream(t *testing.T, srv *httptest.Server, format string, labels map[string]string, auth bool) (stream.Stream, *destination.GrafanaLokiConfig) {
	t.Helper()
	cfg := &destination.GrafanaLokiConfig{URL: srv.URL + destination.LokiPushPath, Format: format, Labels: labels}
	if auth {
		cfg.Username, cfg.Password, cfg.TenantID = testUser, testPass, testTenant
	}
	return sinktest.Stream(t, destination.GrafanaLoki, cfg), cfg
}

func sender(timeout time.Duration) *Sender {
	return &Sender{Client: netguard.Policy{AllowPrivate: true}.Client(timeout), UserAgent: "logstream/test",
		Now: func() time.Time { return receiverNow }}
}

func send(t *testing.T, st stream.Stream, evs []json.RawMessage) error {
	t.Helper()
	return sender(5*time.Second).Send(context.Background(), st, deliver.Batch{Events: evs})
}

// Several batches, out of order, through a receiver that checks the push
// contract as Loki and its gateway do: every event arrives once, as sent,
// under the stream's labels, with its ids as structured metadata.
func TestSendThroughContract(t *testing.T) {
	for _, format := range []string{destination.LokiFormatProtobuf, destination.LokiFormatJSON} {
		for _, auth := range []bool{true, false} {
			t.Run(format+"/auth="+strconv.FormatBool(auth), func(t *testing.T) {
				user, pass, tenant := "", "", ""
				if auth {
					user, pass, tenant = testUser, testPass, testTenant
				}
				rcv, srv := newReceiver(t, user, pass, tenant)
				st, cfg := lokiStream(t, srv, format, testLabels, auth)
				evs := sinktest.Corpus(t, 300)
				first := slices.Clone(evs[:100])
				slices.Reverse(first)
				for i, b := range [][]json.RawMessage{first, evs[100:250], evs[250:]} {
					if err := send(t, st, b); err != nil {
						t.Fatalf("batch %d: %v", i, err)
					}
				}

				reqs := rcv.got()
				if len(reqs) != 3 {
					t.Fatalf("%d requests, want 3", len(reqs))
				}
				wantLabels := map[string]string{"source": "logstream", "service": "project-test-1", "env": "prod", "team": "identity"}
				for _, r := range reqs {
					if !maps.Equal(r.labels[0], wantLabels) {
						t.Errorf("labels %v, want %v", r.labels[0], wantLabels)
					}
				}
				got := rcv.entries(LabelString(st, cfg))
				if len(got) != len(evs) {
					t.Fatalf("Loki stored %d entries, want %d", len(got), len(evs))
				}
				lines := map[string]stored{}
				for _, e := range got {
					lines[e.line] = e
				}
				for _, ev := range evs {
					e, ok := lines[string(ev)]
					if !ok {
						t.Fatalf("event not stored as sent: %.100s", ev)
					}
					var want struct {
						EventID   string    `json:"event_id"`
						RequestID string    `json:"request_id"`
						Timestamp time.Time `json:"timestamp"`
					}
					if err := json.Unmarshal(ev, &want); err != nil {
						t.Fatal(err)
					}
					if !e.ts.Equal(want.Timestamp) || e.meta[MetadataEventID] != want.EventID || e.meta[MetadataRequestID] != want.RequestID {
						t.Fatalf("stored ts=%v meta=%v, want ts=%v event_id=%q request_id=%q", e.ts, e.meta, want.Timestamp, want.EventID, want.RequestID)
					}
				}
			})
		}
	}
}

// Hostile label values reach Loki intact in both formats; the receiver
// parses the protobuf label string strictly.
func TestSendHostileLabels(t *testing.T) {
	labels := map[string]string{"env": `pr"od\`, "team": "a}, b=\"c\"\n{", "region": "🙂"}
	for _, format := range []string{destination.LokiFormatProtobuf, destination.LokiFormatJSON} {
		t.Run(format, func(t *testing.T) {
			rcv, srv := newReceiver(t, "", "", "")
			st, _ := lokiStream(t, srv, format, labels, false)
			st.ProjectID = `proj"ect\1`
			if err := send(t, st, sinktest.Corpus(t, 3)); err != nil {
				t.Fatal(err)
			}
			want := maps.Clone(labels)
			want["source"], want["service"] = "logstream", st.ProjectID
			if reqs := rcv.got(); len(reqs) != 1 || !maps.Equal(reqs[0].labels[0], want) {
				t.Fatalf("labels %v, want %v", reqs, want)
			}
		})
	}
}

// Loki stores the valid entries of a push and answers 400 for the rest;
// the core then isolates the bad ones, and resending the good ones stores
// no duplicate.
func TestRejectedEntries(t *testing.T) {
	for _, format := range []string{destination.LokiFormatProtobuf, destination.LokiFormatJSON} {
		t.Run(format, func(t *testing.T) {
			rcv, srv := newReceiver(t, testUser, testPass, testTenant)
			st, cfg := lokiStream(t, srv, format, nil, true)
			good := sinktest.Corpus(t, 4)
			future := json.RawMessage(`{"event_id":"evt-future","timestamp":"2026-11-24T09:00:00Z"}`)
			err := send(t, st, []json.RawMessage{good[0], future, good[1], good[2], good[3]})
			if class, _ := deliver.ClassOf(err); class != deliver.Rejected {
				t.Fatalf("class %v, want rejected: %v", class, err)
			}
			if msg := err.Error(); !strings.Contains(msg, "400") || !strings.Contains(msg, "has timestamp too new: 2026-11-24T09:00:00Z") || strings.Contains(msg, testPass) {
				t.Errorf("error text %q", msg)
			}
			if n := len(rcv.entries(LabelString(st, cfg))); n != 4 {
				t.Fatalf("Loki stored %d entries, want the 4 valid ones", n)
			}
			if err := send(t, st, good); err != nil {
				t.Fatal(err)
			}
			if n := len(rcv.entries(LabelString(st, cfg))); n != 4 {
				t.Fatalf("resending stored duplicates: %d entries", n)
			}
		})
	}
}

// A Loki that refuses structured metadata gets the batch again without it.
func TestMetadataDisallowed(t *testing.T) {
	for _, format := range []string{destination.LokiFormatProtobuf, destination.LokiFormatJSON} {
		t.Run(format, func(t *testing.T) {
			rcv, srv := newReceiver(t, "", "", "")
			rcv.noMetadata = true
			st, cfg := lokiStream(t, srv, format, nil, false)
			if err := send(t, st, sinktest.Corpus(t, 5)); err != nil {
				t.Fatal(err)
			}
			reqs := rcv.got()
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want 2", len(reqs))
			}
			for _, e := range reqs[1].streams[0].Entries {
				if len(e.StructuredMetadata) != 0 {
					t.Fatalf("retry still carries metadata %v", e.StructuredMetadata)
				}
			}
			if n := len(rcv.entries(LabelString(st, cfg))); n != 5 {
				t.Fatalf("Loki stored %d entries, want 5", n)
			}
		})
	}
}

// A stream whose labels Loki refuses fails as a whole, at once: every
// entry shares the fault, so isolating entries would only park them singly.
func TestStreamRefused(t *testing.T) {
	rcv, srv := newReceiver(t, "", "", "")
	labels := map[string]string{}
	for i := range 14 { // with source and service: 16, over max_label_names_per_series
		labels["l"+strconv.Itoa(i)] = "v"
	}
	st, _ := lokiStream(t, srv, destination.LokiFormatProtobuf, labels, false)
	err := send(t, st, sinktest.Corpus(t, 3))
	if class, _ := deliver.ClassOf(err); class != deliver.Permanent || !strings.Contains(err.Error(), "has 16 label names; limit 15") {
		t.Fatalf("class %v: %v", class, err)
	}
	if len(rcv.got()) != 1 {
		t.Fatalf("%d requests", len(rcv.got()))
	}
}

func TestAuthAnswers(t *testing.T) {
	tests := []struct {
		name               string
		user, pass, tenant string // what the stream sends
		want               string
	}{
		{"wrong password", testUser, "glc_wrong-token-0123456789", testTenant, "authentication error: invalid token"},
		{"no credentials", "", "", testTenant, "no credentials provided"},
		{"no tenant", testUser, testPass, "", "no org id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rcv, srv := newReceiver(t, testUser, testPass, testTenant)
			cfg := &destination.GrafanaLokiConfig{URL: srv.URL + destination.LokiPushPath, Username: tc.user, Password: tc.pass, TenantID: tc.tenant}
			st := sinktest.Stream(t, destination.GrafanaLoki, cfg)
			err := send(t, st, sinktest.Corpus(t, 2))
			if class, _ := deliver.ClassOf(err); class != deliver.Permanent {
				t.Fatalf("class %v: %v", class, err)
			}
			if msg := err.Error(); !strings.Contains(msg, "401") || !strings.Contains(msg, tc.want) || (tc.pass != "" && strings.Contains(msg, tc.pass)) {
				t.Fatalf("error text %q", msg)
			}
			if len(rcv.got()) != 0 {
				t.Fatal("an unauthenticated push reached Loki")
			}
		})
	}
}

// answer is a Loki (or the gateway in front of it) that answers every push
// with status, header and body.
func answer(status int, header map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, body+"\n")
	}
}

func TestFaults(t *testing.T) {
	const nginx413 = "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>"
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		status     int // in the error text; 0 for no answer
		class      deliver.Class
		retryAfter time.Duration
	}{
		{"429 retry-after seconds", answer(429, map[string]string{"Retry-After": "7"},
			"Ingestion rate limit exceeded for user 987654 (limit: 4194304 bytes/sec) while attempting to ingest '300' lines totaling '160000' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased"),
			429, deliver.Retryable, 7 * time.Second},
		{"429 retry-after date", answer(429, map[string]string{"Retry-After": receiverNow.Add(90 * time.Second).Format(http.TimeFormat)}, "Ingestion rate limit exceeded"),
			429, deliver.Retryable, 90 * time.Second},
		{"429 stream limit", answer(429, nil, "Maximum active stream limit exceeded when trying to create stream {service=\"p\", source=\"logstream\"}, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: '987654'"),
			429, deliver.Retryable, 0},
		{"500", answer(500, nil, "rpc error: code = Unavailable desc = connection error"), 500, deliver.Retryable, 0},
		{"503", answer(503, map[string]string{"Retry-After": "30"}, "no healthy upstream"), 503, deliver.Retryable, 30 * time.Second},
		{"401", answer(401, nil, `{"status":"error","error":"authentication error: invalid token"}`), 401, deliver.Permanent, 0},
		{"403", answer(403, nil, `{"status":"error","error":"authentication error: token lacks logs:write"}`), 403, deliver.Permanent, 0},
		{"404", answer(404, nil, "404 page not found"), 404, deliver.Permanent, 0},
		{"400 entry", answer(400, nil, `entry for stream '{service="p", source="logstream"}' has timestamp too new: 2026-11-24T09:00:00Z`), 400, deliver.Rejected, 0},
		{"400 line too long", answer(400, nil, `Max entry size '262144' bytes exceeded for stream '{service="p", source="logstream"}' while adding an entry with length '300000' bytes`), 400, deliver.Rejected, 0},
		{"400 labels", answer(400, nil, `couldn't parse labels: 1:8: parse error: unexpected "=" in label set, expected "}"`), 400, deliver.Permanent, 0},
		{"400 enforced labels", answer(400, nil, `missing required labels cluster for user 987654 for stream {service="p", source="logstream"}`), 400, deliver.Permanent, 0},
		{"413", answer(413, nil, nginx413), 413, deliver.TooLarge, 0},
		{"260 ingestion blocked", answer(260, nil, "ingestion blocked for user 987654 until '2026-12-01T00:00:00Z' with status code '260'"), 260, deliver.Permanent, 0},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			// Once the body is read, the server notices the client hanging
			// up and cancels the request's context.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		}, 0, deliver.Retryable, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			st, _ := lokiStream(t, srv, destination.LokiFormatProtobuf, nil, true)
			err := sender(200*time.Millisecond).Send(context.Background(), st, deliver.Batch{Events: sinktest.Corpus(t, 3)})
			class, after := deliver.ClassOf(err)
			if err == nil || class != tc.class || after != tc.retryAfter {
				t.Fatalf("class %v, retry after %v, want %v, %v: %v", class, after, tc.class, tc.retryAfter, err)
			}
			if tc.status != 0 && !strings.Contains(err.Error(), "answered "+strconv.Itoa(tc.status)) {
				t.Errorf("error text lacks the status: %v", err)
			}
			if strings.Contains(err.Error(), testPass) {
				t.Errorf("error text holds the password: %v", err)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	st, _ := lokiStream(t, srv, destination.LokiFormatProtobuf, nil, true)
	srv.Close()
	err := send(t, st, sinktest.Corpus(t, 1))
	if class, _ := deliver.ClassOf(err); err == nil || class != deliver.Retryable || strings.Contains(err.Error(), testPass) {
		t.Fatalf("class %v: %v", class, err)
	}
}

func TestSendRefusesLoopbackWithoutSwitch(t *testing.T) {
	rcv, srv := newReceiver(t, "", "", "")
	st, _ := lokiStream(t, srv, destination.LokiFormatProtobuf, nil, false)
	s := &Sender{Client: netguard.Policy{}.Client(time.Second), UserAgent: "logstream/test"}
	err := s.Send(context.Background(), st, deliver.Batch{Events: sinktest.Corpus(t, 1)})
	if !errors.Is(err, netguard.ErrForbiddenAddress) || len(rcv.got()) != 0 {
		t.Fatalf("err = %v, Loki got %d requests", err, len(rcv.got()))
	}
}

// What the core should never hand over is refused before any request.
func TestSendGuards(t *testing.T) {
	big := json.RawMessage(`{"event_id":"big","pad":"` + strings.Repeat("x", Limits.MaxEventBytes) + `"}`)
	many := sinktest.Corpus(t, 2000) // more than MaxBytes together
	rcv, srv := newReceiver(t, "", "", "")
	st, _ := lokiStream(t, srv, destination.LokiFormatProtobuf, nil, false)
	tests := []struct {
		name  string
		st    stream.Stream
		evs   []json.RawMessage
		class deliver.Class
		err   bool
	}{
		{"empty batch", st, nil, 0, false},
		{"event over max_line_size", st, []json.RawMessage{big}, deliver.TooLarge, true},
		{"batch over MaxBytes", st, many, deliver.TooLarge, true},
		{"not a loki stream", stream.Stream{ID: "str_x", DestinationType: destination.HTTP, DestinationConfig: json.RawMessage(`{"endpoint":"https://example.com"}`)},
			sinktest.Corpus(t, 1), deliver.Permanent, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := send(t, tc.st, tc.evs)
			if class, _ := deliver.ClassOf(err); (err != nil) != tc.err || (err != nil && class != tc.class) {
				t.Fatalf("class %v: %v", class, err)
			}
		})
	}
	if len(rcv.got()) != 0 {
		t.Fatalf("%d requests sent", len(rcv.got()))
	}
}

// The receiver refuses malformed label strings as Loki does, so the tests
// above would catch a sender that wrote one.
func TestReceiverRefusesMalformedLabels(t *testing.T) {
	bad := []string{
		``, `{`, `source="logstream"`, `{source=logstream}`, `{source="logstream}`,
		`{source="a"b"}`, `{source="a" service="b"}`, `{source="a", source="b"}`,
		`{1source="a"}`, `{source='a'}`, "{source=\"a\nb\"}", `{source="\q"}`, `{source="a"} x`,
	}
	for _, s := range bad {
		if m, err := parseLabels(s); err == nil {
			t.Errorf("parseLabels(%q) = %v, want an error", s, m)
		}
	}
	if m, err := parseLabels(`{ a = "x\"y" ,b="\u00e9\x41",}`); err != nil || m["a"] != `x"y` || m["b"] != "éA" {
		t.Errorf("valid label string refused: %v, %v", m, err)
	}

	rcv, srv := newReceiver(t, "", "", "")
	pr := push.PushRequest{Streams: []push.Stream{{Labels: `{source="logstream", service="p}`,
		Entries: []push.Entry{{Timestamp: receiverNow, Line: `{}`}}}}}
	raw, err := pr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+destination.LokiPushPath, bytes.NewReader(s2.EncodeSnappy(nil, raw)))
	req.Header.Set("Content-Type", ContentTypeProtobuf)
	req.Header.Set("User-Agent", "logstream/test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(string(body), "couldn't parse labels: ") || len(rcv.got()) != 0 {
		t.Fatalf("answered %d %q", resp.StatusCode, body)
	}
	class, _ := deliver.ClassOf(classify(&sink.Answer{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}, receiverNow))
	if class != deliver.Permanent {
		t.Fatalf("malformed labels classified %v", class)
	}
}
