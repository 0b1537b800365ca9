package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/stream"
)

// memAttempts keeps attempts in memory and counts reads and writes.
type memAttempts struct {
	items        map[string]Attempt
	gets, writes int
}

func (m *memAttempts) Get(_ context.Context, projectID, key string) (Attempt, bool, error) {
	m.gets++
	a, ok := m.items[projectID+"/"+key]
	return a, ok, nil
}

func (m *memAttempts) Put(_ context.Context, projectID, key string, a Attempt) error {
	m.writes++
	if m.items == nil {
		m.items = map[string]Attempt{}
	}
	m.items[projectID+"/"+key] = a
	return nil
}

// acceptedError is a publish that stopped part-way, naming what SQS accepted
// (as queue.PublishError does).
type acceptedError struct{ accepted []int }

func (e acceptedError) Error() string           { return "SQS refused some entries" }
func (e acceptedError) MessagesSent() int       { return len(e.accepted) }
func (e acceptedError) AcceptedMessages() []int { return e.accepted }

// sqsFake is a Publisher that records every message SQS would hold and can
// refuse chosen messages (by their position in one Publish call) of a stream.
type sqsFake struct {
	queued []envelope.Message
	calls  int
	refuse func(call int) map[int]bool // nil: accept all
}

func (f *sqsFake) Publish(_ context.Context, _ string, msgs []envelope.Message) error {
	f.calls++
	var refused map[int]bool
	if f.refuse != nil {
		refused = f.refuse(f.calls)
	}
	var ok []int
	for i, m := range msgs {
		if !refused[i] {
			f.queued = append(f.queued, m)
			ok = append(ok, i)
		}
	}
	if len(ok) < len(msgs) {
		return acceptedError{accepted: ok}
	}
	return nil
}

// bigEvents is a body of n events without ids or timestamps (so logstream
// stamps both), each large enough that a message holds two: three messages
// for a stream.
func bigEvents(n int, tag string) []byte {
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"seq":%d,"tag":%q,"pad":%q}`, i, tag, strings.Repeat("x", 100<<10))
	}
	b.WriteString("]")
	return []byte(b.String())
}

func keyedRequest(body []byte, key string) events.APIGatewayV2HTTPRequest {
	return request(body, map[string]string{"content-type": "application/json", IdempotencyHeader: key}, false)
}

// eventIDs counts, per stream, how often each event id was queued.
func eventIDs(t *testing.T, msgs []envelope.Message) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	for _, m := range msgs {
		env, err := envelope.Open(string(m.Body), m.Attributes[envelope.AttrEncoding])
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range env.Events {
			var ev struct {
				EventID string `json:"event_id"`
			}
			if err := json.Unmarshal(raw, &ev); err != nil || ev.EventID == "" {
				t.Fatalf("event without event_id: %s", raw)
			}
			if out[m.StreamID] == nil {
				out[m.StreamID] = map[string]int{}
			}
			out[m.StreamID][ev.EventID]++
		}
	}
	return out
}

// A request cut off part-way, retried with its key, queues only what the
// first attempt did not, so every event is queued once per stream; the
// answer of the completed request is the answer of every later attempt,
// without publishing again; one write per attempt that enqueued something,
// none for a replay.
func TestIdempotentRetryQueuesOnlyTheRest(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	attempts := &memAttempts{}
	pub := &sqsFake{refuse: func(call int) map[int]bool {
		if call == 2 {
			return map[int]bool{1: true} // the second stream's middle message
		}
		return nil
	}}
	s := newService(&fakeStreams{active: twoStreams}, nil)
	s.Publisher, s.Attempts = pub, attempts
	s.Now = func() time.Time { return now }
	body := bigEvents(6, "a")
	const key = "0190c0ff-ee00-7000-8000-000000000001"

	first, _ := s.Handle(context.Background(), keyedRequest(body, key))
	if first.StatusCode != http.StatusServiceUnavailable || !strings.Contains(first.Body, "enqueue_failed") {
		t.Fatalf("first attempt: %d %s, want 503 enqueue_failed", first.StatusCode, first.Body)
	}
	if len(pub.queued) != 5 || attempts.writes != 1 {
		t.Fatalf("after the first attempt: %d messages queued, %d writes; want 5 and 1", len(pub.queued), attempts.writes)
	}

	now = now.Add(time.Minute) // a retry a minute later still stamps as the first attempt did
	pub.refuse = nil
	second, _ := s.Handle(context.Background(), keyedRequest(body, key))
	if second.StatusCode != http.StatusAccepted {
		t.Fatalf("retry: %d %s, want 202", second.StatusCode, second.Body)
	}
	var res Result
	if err := json.Unmarshal([]byte(second.Body), &res); err != nil || res != (Result{Accepted: 6, Streams: 2, Messages: 6}) {
		t.Errorf("retry answered %s, want every event and message counted once", second.Body)
	}
	if len(pub.queued) != 6 || attempts.writes != 2 {
		t.Errorf("after the retry: %d messages queued, %d writes; want 6 and 2", len(pub.queued), attempts.writes)
	}
	ids := eventIDs(t, pub.queued)
	for _, st := range []string{"str_a", "str_b"} {
		if len(ids[st]) != 6 {
			t.Errorf("stream %s got %d distinct events, want 6", st, len(ids[st]))
		}
		for id, n := range ids[st] {
			if n != 1 {
				t.Errorf("stream %s got event %s %d times", st, id, n)
			}
		}
	}

	calls := pub.calls
	third, _ := s.Handle(context.Background(), keyedRequest(body, key))
	if third.StatusCode != second.StatusCode || third.Body != second.Body {
		t.Errorf("replay: %d %s, want the completed answer %d %s", third.StatusCode, third.Body, second.StatusCode, second.Body)
	}
	if pub.calls != calls || attempts.writes != 2 {
		t.Errorf("replay published %d times and wrote %d times; want neither", pub.calls-calls, attempts.writes-2)
	}
}

// The same key with another body is refused with 422 and queues nothing,
// while the key is kept; after 24 h (the injected clock) it is a new key,
// even if the table still holds it (TTL deletes late, dynalite never).
func TestIdempotencyKeyReuseAndExpiry(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	attempts := &memAttempts{}
	pub := &sqsFake{}
	s := newService(&fakeStreams{active: twoStreams}, nil)
	s.Publisher, s.Attempts = pub, attempts
	s.Now = func() time.Time { return now }
	const key = "batch:2030-01-02:0001"

	if r, _ := s.Handle(context.Background(), keyedRequest([]byte(`[{"a":1}]`), key)); r.StatusCode != http.StatusAccepted {
		t.Fatalf("first: %d %s", r.StatusCode, r.Body)
	}
	queued := len(pub.queued)
	for _, tc := range []struct {
		name       string
		after      time.Duration
		body       string
		wantStatus int
	}{
		{"another body within a day", KeepAttempts - time.Nanosecond, `[{"a":2}]`, http.StatusUnprocessableEntity},
		{"another content type within a day", time.Hour, "{\"a\":1}\n", http.StatusUnprocessableEntity},
		{"another body once the key expired", KeepAttempts, `[{"a":2}]`, http.StatusAccepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).Add(tc.after)
			r, _ := s.Handle(context.Background(), keyedRequest([]byte(tc.body), key))
			if r.StatusCode != tc.wantStatus {
				t.Fatalf("%d %s, want %d", r.StatusCode, r.Body, tc.wantStatus)
			}
			if tc.wantStatus != http.StatusUnprocessableEntity {
				return
			}
			var e errorBody
			if json.Unmarshal([]byte(r.Body), &e) != nil || e.Error.Code != "idempotency_key_reused" || e.Error.Message == "" {
				t.Errorf("body %s, want code idempotency_key_reused", r.Body)
			}
			if len(pub.queued) != queued {
				t.Errorf("a refused request queued %d messages", len(pub.queued)-queued)
			}
		})
	}
	if a := attempts.items["proj_demo/"+key]; !a.StartedAt.Equal(now) || !a.ExpiresAt.Equal(now.Add(KeepAttempts)) {
		t.Errorf("the expired key was not started again: %+v", a)
	}
}

// Keys are scoped per project: another project's request with the same key
// is its own.
func TestIdempotencyKeyIsPerProject(t *testing.T) {
	attempts := &memAttempts{}
	s := newService(&fakeStreams{active: twoStreams}, nil)
	s.Publisher, s.Attempts = &sqsFake{}, attempts
	const key = "shared-key-0001"
	for i, project := range []string{"proj_one", "proj_two"} {
		req := keyedRequest([]byte(fmt.Sprintf(`[{"n":%d}]`, i)), key)
		req.PathParameters["project_id"] = project
		if r, _ := s.Handle(context.Background(), req); r.StatusCode != http.StatusAccepted {
			t.Errorf("%s: %d %s", project, r.StatusCode, r.Body)
		}
	}
}

func TestInvalidIdempotencyKey(t *testing.T) {
	for _, tc := range []struct{ name, key string }{
		{"too short", "abc1234"},
		{"too long", strings.Repeat("k", 257)},
		{"space", "my key 123"},
		{"hash sign", "key#00000001"},
		{"not ASCII", "ключ-00000001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attempts := &memAttempts{}
			pub := &sqsFake{}
			s := newService(&fakeStreams{active: twoStreams}, nil)
			s.Publisher, s.Attempts = pub, attempts
			r, _ := s.Handle(context.Background(), keyedRequest([]byte(`[{}]`), tc.key))
			var e errorBody
			if r.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(r.Body), &e) != nil ||
				e.Error.Code != "invalid_idempotency_key" || e.Error.Field != IdempotencyHeader {
				t.Errorf("%d %s, want 400 invalid_idempotency_key", r.StatusCode, r.Body)
			}
			if attempts.gets+attempts.writes != 0 || pub.calls != 0 {
				t.Errorf("a refused key touched the table (%d reads, %d writes) or SQS (%d)", attempts.gets, attempts.writes, pub.calls)
			}
		})
	}
	// The longest and shortest keys allowed, and every allowed character.
	for _, key := range []string{strings.Repeat("k", 256), "aZ09-_.:"} {
		s := newService(&fakeStreams{active: twoStreams}, nil)
		s.Publisher, s.Attempts = &sqsFake{}, &memAttempts{}
		if r, _ := s.Handle(context.Background(), keyedRequest([]byte(`[{}]`), key)); r.StatusCode != http.StatusAccepted {
			t.Errorf("key %.20q: %d %s, want 202", key, r.StatusCode, r.Body)
		}
	}
}

// A stream whose messages changed between attempts (its packing is not
// the same) gets them again rather than losing one: a message is skipped only
// if the very same one was queued at its place.
func TestLedgerSkipsOnlyTheSameMessage(t *testing.T) {
	a := envelope.Message{Body: []byte("a")}
	b := envelope.Message{Body: []byte("b")}
	l := ledger{}
	_, marks := l.unsent("s", []envelope.Message{a, b})
	l.sent("s", marks, acceptedError{accepted: []int{0}})
	if todo, _ := l.unsent("s", []envelope.Message{a, b}); len(todo) != 1 || string(todo[0].Body) != "b" {
		t.Errorf("same packing: todo %v, want only b", todo)
	}
	if todo, _ := l.unsent("s", []envelope.Message{b, a}); len(todo) != 2 {
		t.Errorf("changed packing: todo %d messages, want both", len(todo))
	}
	var none ledger
	l2 := ledger{}
	_, marks = l2.unsent("s", []envelope.Message{a})
	l2.sent("s", marks, fmt.Errorf("no positions"))
	if len(l2["s"]) != 0 || none.count() != 0 {
		t.Errorf("an error that names no accepted messages counted %v as sent", l2["s"])
	}
}

// A stream's filters pack the same messages on every attempt, so a keyed
// retry skips what the filtered stream already got, and the completed answer,
// filtered count included, is what a replay gets.
func TestIdempotentRetryWithFilters(t *testing.T) {
	streams := func(string) ([]stream.Stream, error) {
		return []stream.Stream{
			{ID: "str_a", DestinationType: "http", Filters: &stream.Filters{Include: []stream.Rule{{Field: "tag", Match: "keep"}}}},
			{ID: "str_b", DestinationType: "http"},
		}, nil
	}
	pub := &sqsFake{refuse: func(call int) map[int]bool {
		if call == 2 {
			return map[int]bool{0: true, 1: true, 2: true}
		}
		return nil
	}}
	s := newService(&fakeStreams{active: streams}, nil)
	s.Publisher, s.Attempts = pub, &memAttempts{}
	body := []byte(`[{"tag":"keep","n":1},{"tag":"drop","n":2},{"tag":"keep","n":3}]`)
	const key = "filters-0000000001"

	if r, _ := s.Handle(context.Background(), keyedRequest(body, key)); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("first attempt: %d %s, want 503", r.StatusCode, r.Body)
	}
	pub.refuse = nil
	second, _ := s.Handle(context.Background(), keyedRequest(body, key))
	var res Result
	if err := json.Unmarshal([]byte(second.Body), &res); err != nil || second.StatusCode != http.StatusAccepted ||
		res != (Result{Accepted: 3, Streams: 2, Messages: 2, Filtered: 1}) {
		t.Fatalf("retry: %d %s", second.StatusCode, second.Body)
	}
	ids := eventIDs(t, pub.queued)
	if len(ids["str_a"]) != 2 || len(ids["str_b"]) != 3 || len(pub.queued) != 2 {
		t.Errorf("queued %d messages, events per stream %v; want each stream's events once", len(pub.queued), ids)
	}
	if third, _ := s.Handle(context.Background(), keyedRequest(body, key)); third.Body != second.Body {
		t.Errorf("replay %s, want %s", third.Body, second.Body)
	}
}

// Masking is deterministic too: a keyed retry packs a masking stream's
// messages as the first attempt did, so it skips what that stream already
// got, and what it queues is masked the same way (the same keyed hash).
func TestIdempotentRetryWithMasking(t *testing.T) {
	rules := &stream.PII{Fields: []stream.PIIField{{Field: "email", Action: stream.PIIHash}, {Field: "ip", Action: stream.PIITruncateIP}}}
	streams := func(string) ([]stream.Stream, error) {
		return []stream.Stream{{ID: "str_m", DestinationType: "http", PII: rules}, {ID: "str_p", DestinationType: "http"}}, nil
	}
	pub := &sqsFake{refuse: func(call int) map[int]bool {
		if call == 2 {
			return map[int]bool{0: true, 1: true, 2: true}
		}
		return nil
	}}
	s := newService(&fakeStreams{active: streams}, nil)
	s.Publisher, s.Attempts, s.Keys = pub, &memAttempts{}, &fakeKeys{}
	body := []byte(`[{"email":"ann@example.com","ip":"198.51.100.23","n":1},{"email":"bob@example.com","ip":"203.0.113.9","n":2}]`)
	const key = "masking-000000001"

	if r, _ := s.Handle(context.Background(), keyedRequest(body, key)); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("first attempt: %d %s, want 503", r.StatusCode, r.Body)
	}
	pub.refuse = nil
	if r, _ := s.Handle(context.Background(), keyedRequest(body, key)); r.StatusCode != http.StatusAccepted {
		t.Fatalf("retry: %d %s", r.StatusCode, r.Body)
	}
	ids := eventIDs(t, pub.queued)
	if len(ids["str_m"]) != 2 || len(ids["str_p"]) != 2 || len(pub.queued) != 2 {
		t.Fatalf("queued %d messages, events per stream %v; want each stream's events once", len(pub.queued), ids)
	}
	for _, q := range pub.queued {
		env, err := envelope.Open(string(q.Body), q.Attributes[envelope.AttrEncoding])
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		for _, raw := range env.Events {
			all = append(all, raw...)
		}
		masked := q.StreamID == "str_m"
		for _, plain := range []string{"ann@example.com", "198.51.100.23"} {
			if got := bytes.Contains(all, []byte(plain)); got == masked {
				t.Errorf("stream %s: plaintext %q present %v, want %v: %s", q.StreamID, plain, got, !masked, all)
			}
		}
	}
}
