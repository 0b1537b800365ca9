package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/stream"
)

const archiveURL = "q-archive"

// archivedIDs are the event ids of the archive queue's messages, each
// checked to be an archive envelope of the project.
func archivedIDs(t *testing.T, msgs []envelope.Message) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, m := range msgs {
		body, err := envelope.Inflate(string(m.Body), m.Attributes[envelope.AttrEncoding])
		if err != nil {
			t.Fatal(err)
		}
		env, err := envelope.Decode(body)
		if err != nil || env.StreamID != envelope.ArchiveStreamID || env.ProjectID != "proj_demo" {
			t.Fatalf("archive message %s: %v", m.Body, err)
		}
		for _, ev := range env.Events {
			var e struct {
				ID string `json:"event_id"`
			}
			_ = json.Unmarshal(ev, &e)
			out[e.ID]++
		}
	}
	return out
}

// Every accepted event is archived as received, before any stream's
// filters or masking, whether or not the project has streams; the answer
// counts delivery messages only.
func TestEveryAcceptedEventIsArchived(t *testing.T) {
	for _, active := range []func(string) ([]stream.Stream, error){
		func(string) ([]stream.Stream, error) { return nil, nil },
		func(string) ([]stream.Stream, error) {
			return []stream.Stream{{ID: "str_a", DestinationType: "http",
				Filters: &stream.Filters{Include: []stream.Rule{{Field: "type", In: []string{"none"}}}},
				PII:     &stream.PII{Fields: []stream.PIIField{{Field: "email", Action: "redact"}}}}}, nil
		},
	} {
		pub := &fakePublisher{}
		s := newService(&fakeStreams{active: active}, pub)
		s.ArchiveURL = archiveURL
		body := `{"event_id":"e1","type":"login","email":"a@example.com"}` + "\n" + `{"event_id":"e2","type":"logout","email":"b@example.com"}`
		resp, _ := s.Handle(context.Background(), request([]byte(body), map[string]string{"content-type": "application/x-ndjson"}, false))
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		var res Result
		_ = json.Unmarshal([]byte(resp.Body), &res)
		ids := archivedIDs(t, pub.byQueue[archiveURL])
		if ids["e1"] != 1 || ids["e2"] != 1 || len(ids) != 2 || res.Messages != 0 {
			t.Fatalf("archived %v, answered %+v", ids, res)
		}
		if !strings.Contains(string(pub.byQueue[archiveURL][0].Body), "a@example.com") {
			t.Fatalf("the archive holds events as received, unmasked: %s", pub.byQueue[archiveURL][0].Body)
		}
	}
}

// A large request's archive and delivery messages are compressed, each
// keeping its other attributes (the trace), within SQS's limit and
// inflating within envelope.Inflate's bound, even packed full of the largest
// events; a small one is left plain.
func TestMessagesAreCompressed(t *testing.T) {
	pad := strings.Repeat("session started from a known device; ", 5400) // an event of ~200 KB
	tests := []struct {
		name           string
		events         []string // NDJSON lines
		wantCompressed bool
	}{
		{"many small events", func() []string {
			var out []string
			for i := range 300 {
				out = append(out, fmt.Sprintf(`{"event_id":"e%03d","type":"user.session.start","actor":{"email":"u%d@example.com"}}`, i, i%5))
			}
			return out
		}(), true},
		{"events of the largest size", []string{
			`{"event_id":"big1","message":"` + pad + `"}`, `{"event_id":"big2","message":"` + pad + `"}`,
			`{"event_id":"e1","type":"x"}`}, true},
		{"one small event", []string{`{"event_id":"e1","type":"x"}`}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub := &fakePublisher{}
			s := newService(&fakeStreams{active: twoStreams}, pub)
			s.ArchiveURL = archiveURL
			req := request([]byte(strings.Join(tc.events, "\n")), map[string]string{"content-type": "application/x-ndjson",
				"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, false)
			resp, _ := s.Handle(context.Background(), req)
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			if ids := archivedIDs(t, pub.byQueue[archiveURL]); len(ids) != len(tc.events) {
				t.Fatalf("archived %d events of %d", len(ids), len(tc.events))
			}
			for _, q := range []string{"q-http", archiveURL} {
				got := 0
				for _, m := range pub.byQueue[q] {
					if compressed := m.Attributes[envelope.AttrEncoding] == envelope.EncodingGzip; compressed != tc.wantCompressed {
						t.Fatalf("%s: compressed %v, want %v", q, compressed, tc.wantCompressed)
					}
					if q != archiveURL && m.Attributes[envelope.AttrTrace] == "" {
						t.Fatalf("%s: the trace is lost: %v", q, m.Attributes)
					}
					if m.Size() > envelope.MaxMessageBytes {
						t.Fatalf("%s: a message of %d bytes", q, m.Size())
					}
					env, err := envelope.Open(string(m.Body), m.Attributes[envelope.AttrEncoding])
					if err != nil {
						t.Fatalf("%s: %v", q, err)
					}
					got += len(env.Events)
				}
				want := 2 * len(tc.events) // twoStreams, both on q-http
				if q == archiveURL {
					want = len(tc.events)
				}
				if got != want {
					t.Fatalf("%s carries %d events, want %d", q, got, want)
				}
			}
		})
	}
}

// logstream's own lifecycle events go to the streams, not to the archive.
func TestLifecycleEventsAreNotArchived(t *testing.T) {
	pub := &fakePublisher{}
	s := newService(&fakeStreams{active: twoStreams}, pub)
	s.ArchiveURL = archiveURL
	evs, err := logevent.Parse([]byte(`{"event_id":"life","type":"lifecycle"}`), logevent.FormatNDJSON, logevent.DefaultLimits, logevent.Stamper{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Emit(context.Background(), "proj_demo", evs); err != nil {
		t.Fatal(err)
	}
	if len(pub.byQueue[archiveURL]) != 0 || len(pub.byQueue["q-http"]) != 2 {
		t.Fatalf("queued %v", pub.byQueue)
	}
}

// An archive queue that refuses fails the request (503): a 202 promises
// the archive holds the events. A retry with the same Idempotency-Key
// sends only what was not enqueued: the archive, not the streams again.
func TestArchiveFailureFailsTheRequestAndTheRetrySendsOnlyIt(t *testing.T) {
	down := true
	pub := &fakePublisher{publish: func(url string, _ []envelope.Message) error {
		if url == archiveURL && down {
			return errors.New("the archive queue is down")
		}
		return nil
	}}
	s := newService(&fakeStreams{active: twoStreams}, pub)
	s.ArchiveURL, s.Attempts = archiveURL, &memAttempts{}
	body := []byte(`{"event_id":"e1","type":"login"}`)
	const key = "0190c0ff-ee00-7000-8000-000000000002"
	first, _ := s.Handle(context.Background(), keyedRequest(body, key))
	if first.StatusCode != http.StatusServiceUnavailable || !strings.Contains(first.Body, "enqueue_failed") {
		t.Fatalf("first: %d %s", first.StatusCode, first.Body)
	}
	if len(pub.byQueue["q-http"]) != 2 || len(pub.byQueue[archiveURL]) != 0 {
		t.Fatalf("after the first attempt %v", pub.byQueue)
	}
	down = false
	second, _ := s.Handle(context.Background(), keyedRequest(body, key))
	if second.StatusCode != http.StatusAccepted {
		t.Fatalf("retry: %d %s", second.StatusCode, second.Body)
	}
	if len(pub.byQueue["q-http"]) != 2 || len(archivedIDs(t, pub.byQueue[archiveURL])) != 1 {
		t.Fatalf("after the retry %v", pub.byQueue)
	}
}

// A keyed retry skips the delivery messages a first attempt sent, whether
// that attempt compressed them or ran on a deployment that did not: the
// ledger marks a message by its plain body.
func TestLedgerMarksPlainBodies(t *testing.T) {
	var raws []json.RawMessage
	for i := range 100 {
		raws = append(raws, json.RawMessage(fmt.Sprintf(`{"event_id":"e%03d","type":"user.session.start"}`, i)))
	}
	plain, err := envelope.Pack("proj_demo", "str_1", raws, envelope.MaxMessageBytes)
	if err != nil || len(plain) != 1 {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		sent     ledger
		wantSent int
	}{
		{"sent before, plain", ledger{"str_1": {mark(0, plain[0])}}, 0},
		{"nothing sent", ledger{}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub := &fakePublisher{}
			s := newService(&fakeStreams{active: twoStreams}, pub)
			n, err := s.enqueue(context.Background(), "proj_demo", "str_1", "q-http", raws, tc.sent, 0)
			if err != nil || n != 1 || len(pub.byQueue["q-http"]) != tc.wantSent {
				t.Fatalf("%d messages, %d sent, %v", n, len(pub.byQueue["q-http"]), err)
			}
			for _, m := range pub.byQueue["q-http"] {
				if m.Attributes[envelope.AttrEncoding] != envelope.EncodingGzip {
					t.Fatal("not compressed")
				}
			}
		})
	}
}
