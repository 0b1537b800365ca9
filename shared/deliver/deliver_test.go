package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/stream"
)

type fakeStreams struct {
	get func(projectID, streamID string) (stream.Stream, error)
}

func (f *fakeStreams) Get(_ context.Context, p, s string) (stream.Stream, error) { return f.get(p, s) }

type sent struct {
	streamID string
	key      string
	events   []string
}

type fakeSender struct {
	mu   sync.Mutex
	got  []sent
	send func(ctx context.Context, s stream.Stream, n int) error
}

func (f *fakeSender) Send(ctx context.Context, s stream.Stream, b Batch) error {
	evs := b.Events
	f.mu.Lock()
	rec := sent{streamID: s.ID, key: b.Key}
	for _, e := range evs {
		rec.events = append(rec.events, string(e))
	}
	f.got = append(f.got, rec)
	f.mu.Unlock()
	if f.send != nil {
		return f.send(ctx, s, len(evs))
	}
	return nil
}

func record(t testing.TB, id, project, streamID string, evs ...string) events.SQSMessage {
	t.Helper()
	raws := make([]json.RawMessage, len(evs))
	for i, e := range evs {
		raws[i] = json.RawMessage(e)
	}
	msgs, err := envelope.Pack(project, streamID, raws, envelope.MaxMessageBytes)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("pack: %v (%d messages)", err, len(msgs))
	}
	return events.SQSMessage{MessageId: id, Body: string(msgs[0].Body)}
}

func activeStreams(status map[string]stream.Status) *fakeStreams {
	return &fakeStreams{get: func(p, s string) (stream.Stream, error) {
		st, ok := status[s]
		if !ok {
			return stream.Stream{}, stream.ErrNotFound
		}
		if st == "error" {
			return stream.Stream{}, errors.New("dynamodb unavailable")
		}
		return stream.Stream{ID: s, ProjectID: p, DestinationType: "http", Status: st}, nil
	}}
}

func failures(r events.SQSEventResponse) []string {
	var out []string
	for _, f := range r.BatchItemFailures {
		out = append(out, f.ItemIdentifier)
	}
	sort.Strings(out)
	return out
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestHandle(t *testing.T) {
	statuses := map[string]stream.Status{"good": stream.StatusActive, "bad": stream.StatusActive,
		"paused": stream.StatusPaused, "flaky-store": "error"}
	failBad := func(_ context.Context, s stream.Stream, _ int) error {
		if s.ID == "bad" {
			return errors.New("receiver answered 500")
		}
		return nil
	}
	tests := []struct {
		name         string
		records      func(t *testing.T) []events.SQSMessage
		send         func(context.Context, stream.Stream, int) error
		limits       Limits
		wantFailures []string
		wantSends    int
	}{
		{name: "all delivered in one request per stream",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{record(t, "m1", "p", "good", `{"n":1}`), record(t, "m2", "p", "good", `{"n":2}`)}
			}, wantSends: 1},
		{name: "only the failing stream's messages are reported",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{record(t, "m1", "p", "good", `{}`), record(t, "m2", "p", "bad", `{}`), record(t, "m3", "p", "bad", `{}`)}
			}, send: failBad, wantFailures: []string{"m2", "m3"}, wantSends: 2},
		{name: "undecodable message fails alone",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{{MessageId: "junk", Body: "not an envelope"}, record(t, "m1", "p", "good", `{}`)}
			}, wantFailures: []string{"junk"}, wantSends: 1},
		{name: "deleted and paused streams are acknowledged without sending",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{record(t, "m1", "p", "gone", `{}`), record(t, "m2", "p", "paused", `{}`)}
			}, wantSends: 0},
		{name: "a store error retries the stream's messages",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{record(t, "m1", "p", "flaky-store", `{}`)}
			}, wantFailures: []string{"m1"}},
		{name: "limits split a stream into several requests",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{record(t, "m1", "p", "good", `{"a":1}`, `{"a":2}`, `{"a":3}`), record(t, "m2", "p", "good", `{"a":4}`)}
			}, limits: Limits{MaxBytes: 1 << 20, MaxEvents: 2}, wantSends: 2},
		{name: "a message spanning a failed request is reported, earlier ones are not",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{record(t, "m1", "p", "good", `{"a":1}`, `{"a":2}`), record(t, "m2", "p", "good", `{"a":3}`, `{"a":4}`), record(t, "m3", "p", "good", `{"a":5}`)}
			},
			limits: Limits{MaxBytes: 1 << 20, MaxEvents: 3},
			send: func(_ context.Context, _ stream.Stream, n int) error {
				if n == 2 { // the second request: a4, a5
					return errors.New("timeout")
				}
				return nil
			}, wantFailures: []string{"m2", "m3"}, wantSends: 2},
		{name: "a failure stops the stream's later requests",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{record(t, "m1", "p", "bad", `{}`), record(t, "m2", "p", "bad", `{}`)}
			}, limits: Limits{MaxBytes: 1 << 20, MaxEvents: 1}, send: failBad, wantFailures: []string{"m1", "m2"}, wantSends: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snd := &fakeSender{send: tc.send}
			lim := tc.limits
			if lim.MaxEvents == 0 {
				lim = Limits{MaxBytes: 1 << 20, MaxEvents: 1000}
			}
			c := &Core{Streams: activeStreams(statuses), Sender: snd, Limits: lim, Log: quietLog()}
			resp, err := c.Handle(context.Background(), events.SQSEvent{Records: tc.records(t)})
			if err != nil {
				t.Fatal(err)
			}
			if got := failures(resp); !slices.Equal(got, tc.wantFailures) {
				t.Errorf("failures = %v, want %v", got, tc.wantFailures)
			}
			if len(snd.got) != tc.wantSends {
				t.Errorf("sends = %d, want %d", len(snd.got), tc.wantSends)
			}
		})
	}
}

func TestHandleKeepsEventOrderWithinAStream(t *testing.T) {
	snd := &fakeSender{}
	c := &Core{Streams: activeStreams(map[string]stream.Status{"s": stream.StatusActive}), Sender: snd,
		Limits: Limits{MaxBytes: 1 << 20, MaxEvents: 1000}, Log: quietLog()}
	var recs []events.SQSMessage
	var want []string
	for i := range 5 {
		e := fmt.Sprintf(`{"n":%d}`, i)
		want = append(want, e)
		recs = append(recs, record(t, fmt.Sprint("m", i), "p", "s", e))
	}
	if _, err := c.Handle(context.Background(), events.SQSEvent{Records: recs}); err != nil {
		t.Fatal(err)
	}
	if len(snd.got) != 1 || !slices.Equal(snd.got[0].events, want) {
		t.Fatalf("sent %+v, want one request with %v", snd.got, want)
	}
}

// The sender must see a deadline earlier than the invocation's, so the handler
// can still answer with its partial batch response in time.
func TestHandleLeavesMarginBeforeDeadline(t *testing.T) {
	outer := time.Now().Add(8 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), outer)
	defer cancel()
	var inner time.Time
	snd := &fakeSender{send: func(ctx context.Context, _ stream.Stream, _ int) error {
		inner, _ = ctx.Deadline()
		return ctx.Err()
	}}
	c := &Core{Streams: activeStreams(map[string]stream.Status{"s": stream.StatusActive}), Sender: snd,
		Limits: Limits{MaxBytes: 1 << 20, MaxEvents: 10}, Margin: time.Second, Log: quietLog()}
	if _, err := c.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{record(t, "m1", "p", "s", `{}`)}}); err != nil {
		t.Fatal(err)
	}
	if inner.IsZero() || !inner.Before(outer.Add(-900*time.Millisecond)) {
		t.Fatalf("sender deadline %v is not a margin before the invocation deadline %v", inner, outer)
	}
}

func TestStreamConfigIsCached(t *testing.T) {
	loads := 0
	fs := &fakeStreams{get: func(p, s string) (stream.Stream, error) {
		loads++
		return stream.Stream{ID: s, ProjectID: p, Status: stream.StatusActive}, nil
	}}
	c := &Core{Streams: fs, Sender: &fakeSender{}, Limits: Limits{MaxBytes: 1 << 20, MaxEvents: 10}, CacheTTL: time.Minute, Log: quietLog()}
	for range 3 {
		c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{record(t, "m", "p", "s", `{}`)}})
	}
	if loads != 1 {
		t.Fatalf("stream loaded %d times, want 1", loads)
	}
}

// The SQS batch sample in events/ is delivered in full.
func TestSampleBatch(t *testing.T) {
	b, err := samples.FS.ReadFile("sqs/deliver-http-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	snd := &fakeSender{}
	fs := &fakeStreams{get: func(p, s string) (stream.Stream, error) {
		return stream.Stream{ID: s, ProjectID: p, DestinationType: "http", Status: stream.StatusActive}, nil
	}}
	c := &Core{Streams: fs, Sender: snd, Limits: Limits{MaxBytes: 1 << 20, MaxEvents: 1000}, Log: quietLog()}
	resp, err := c.Handle(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v, err %v", resp.BatchItemFailures, err)
	}
	want := 0
	for _, r := range ev.Records {
		env, _ := envelope.Decode([]byte(r.Body))
		want += len(env.Events)
	}
	got := 0
	for _, s := range snd.got {
		got += len(s.events)
	}
	if got != want || want == 0 {
		t.Fatalf("sent %d of %d events", got, want)
	}
}
