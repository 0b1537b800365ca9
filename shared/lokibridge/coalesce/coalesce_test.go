package coalesce

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/lokibridge/archive"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/lokipush/pushtest"
)

// fakeStore keeps what it is given; put, when set, may refuse a key.
type fakeStore struct {
	mu   sync.Mutex
	put  func(key string) error
	objs map[string][]byte
}

func (f *fakeStore) Put(_ context.Context, key string, body []byte) error {
	if f.put != nil {
		if err := f.put(key); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.objs == nil {
		f.objs = map[string][]byte{}
	}
	if _, ok := f.objs[key]; ok {
		return fmt.Errorf("key %s written twice", key)
	}
	f.objs[key] = body
	return nil
}

var t0 = time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)

// queued is the message the bridge sends for a push of n entries of
// tenant at hour, lines tagged with tag.
func queued(t *testing.T, tenant string, at time.Time, tag string, n int) (string, archive.Object) {
	t.Helper()
	req := &lokipush.Request{Streams: []lokipush.Stream{{Labels: map[string]string{"app": "api"}}}}
	for i := range n {
		req.Streams[0].Entries = append(req.Streams[0].Entries, lokipush.Entry{Time: at.Add(time.Duration(i) * time.Second), Line: fmt.Sprintf("%s line %d", tag, i)})
	}
	rec, err := archive.Records(tenant, req)
	if err != nil {
		t.Fatal(err)
	}
	return archive.EncodeMessage(rec), rec
}

func sqsEvent(bodies ...string) events.SQSEvent {
	var ev events.SQSEvent
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("m%d", i), Body: b})
	}
	return ev
}

func failedIDs(resp events.SQSEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// counter names objects 0000…, 0001…, and a clock a millisecond apart each
// time, so keys are predictable.
func newWriter(store Store, log io.Writer) *Writer {
	n, ms := 0, int64(0)
	return &Writer{
		Store:  store,
		Now:    func() time.Time { ms++; return t0.Add(time.Hour + time.Duration(ms)*time.Millisecond) },
		Random: func() string { n++; return fmt.Sprintf("%016x", n) },
		Log:    slog.New(slog.NewJSONHandler(log, nil)),
	}
}

func TestHandleGroupsByPartition(t *testing.T) {
	a1, r1 := queued(t, "acme", t0, "a1", 3)
	a2, r2 := queued(t, "acme", t0.Add(10*time.Minute), "a2", 2)
	a3, r3 := queued(t, "acme", t0.Add(time.Hour), "a3", 1) // the next hour
	b1, r4 := queued(t, "bolt", t0, "b1", 4)
	store := &fakeStore{}
	resp, err := newWriter(store, io.Discard).Handle(context.Background(), sqsEvent(a1, b1, a2, a3))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%v, failures %v", err, failedIDs(resp))
	}
	want := map[string][]archive.Object{
		"tenant=acme/dt=2026-11-24/hour=07/": {r1, r2},
		"tenant=bolt/dt=2026-11-24/hour=07/": {r4},
		"tenant=acme/dt=2026-11-24/hour=08/": {r3},
	}
	if len(store.objs) != len(want) {
		t.Fatalf("%d objects, want %d: %v", len(store.objs), len(want), slices.Collect(maps.Keys(store.objs)))
	}
	for key, body := range store.objs {
		name := key[strings.LastIndexByte(key, '/')+1:]
		pushes, ok := want[key[:len(key)-len(name)]]
		if !ok || len(name) != len("0000000000000-0000000000000000.ndjson.gz") {
			t.Errorf("unexpected key %s", key)
			continue
		}
		var records []byte
		for _, p := range pushes {
			records = append(records, p.Body...)
		}
		if got := pushtest.Gunzip(t, body); !bytes.Equal(got, records) {
			t.Errorf("%s holds\n%s\nwant\n%s", key, got, records)
		}
	}
}

// A partition whose object is not stored reports exactly its messages;
// the other partitions' messages are deleted.
func TestHandleReportsFailedPartitions(t *testing.T) {
	a1, _ := queued(t, "acme", t0, "a1", 1)
	b1, _ := queued(t, "bolt", t0, "b1", 1)
	a2, _ := queued(t, "acme", t0, "a2", 1)
	store := &fakeStore{put: func(key string) error {
		if strings.HasPrefix(key, "tenant=acme/") {
			return errors.New("SlowDown")
		}
		return nil
	}}
	var log bytes.Buffer
	resp, err := newWriter(store, &log).Handle(context.Background(), sqsEvent(a1, b1, a2))
	if err != nil {
		t.Fatal(err)
	}
	if got := failedIDs(resp); !slices.Equal(got, []string{"m0", "m2"}) {
		t.Errorf("failures %v, want m0 m2", got)
	}
	if len(store.objs) != 1 || !strings.Contains(log.String(), "SlowDown") {
		t.Errorf("%d objects; log %s", len(store.objs), log.String())
	}
}

// A message that is not a queued push is reported (it reaches the DLQ),
// never dropped, and keeps no other message from its object.
func TestHandleReportsUndecodable(t *testing.T) {
	a1, r1 := queued(t, "acme", t0, "a1", 2)
	store := &fakeStore{}
	var log bytes.Buffer
	resp, _ := newWriter(store, &log).Handle(context.Background(), sqsEvent(`{"v":1,"key":"tenant=acme/x"}`, a1, "garbage"))
	if got := failedIDs(resp); !slices.Equal(got, []string{"m0", "m2"}) {
		t.Errorf("failures %v, want m0 m2", got)
	}
	if len(store.objs) != 1 {
		t.Fatalf("%d objects", len(store.objs))
	}
	for _, body := range store.objs {
		if !bytes.Equal(pushtest.Gunzip(t, body), r1.Body) {
			t.Errorf("object holds more than the good push")
		}
	}
	if !strings.Contains(log.String(), "left for the DLQ") || !strings.Contains(log.String(), `"message_id":"m2"`) {
		t.Errorf("log: %s", log.String())
	}
}

// The same push twice in a batch (a client's retry) is written once, and
// both messages wait for that object.
func TestHandleWritesAPushOncePerBatch(t *testing.T) {
	a1, r1 := queued(t, "acme", t0, "a1", 2)
	store := &fakeStore{}
	resp, _ := newWriter(store, io.Discard).Handle(context.Background(), sqsEvent(a1, a1))
	for _, body := range store.objs {
		if !bytes.Equal(pushtest.Gunzip(t, body), r1.Body) {
			t.Errorf("object holds the push twice or not at all")
		}
	}
	if len(store.objs) != 1 || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%d objects, failures %v", len(store.objs), failedIDs(resp))
	}
	store.put = func(string) error { return errors.New("down") }
	resp, _ = newWriter(store, io.Discard).Handle(context.Background(), sqsEvent(a1, a1))
	if got := failedIDs(resp); !slices.Equal(got, []string{"m0", "m1"}) {
		t.Errorf("failures %v, want both", got)
	}
}

// Two invocations writing the same partition in the same millisecond get
// two keys (the random part), and later keys sort after earlier ones.
func TestHandleKeysAreUniqueAndSorted(t *testing.T) {
	a1, _ := queued(t, "acme", t0, "a1", 1)
	store := &fakeStore{}
	same := func() time.Time { return t0 }
	for _, random := range []string{"00000000000000aa", "00000000000000bb"} {
		w := &Writer{Store: store, Now: same, Random: func() string { return random }, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
		if resp, _ := w.Handle(context.Background(), sqsEvent(a1)); len(resp.BatchItemFailures) != 0 {
			t.Fatal(failedIDs(resp))
		}
	}
	w := newWriter(store, io.Discard)
	w.Now = func() time.Time { return t0.Add(time.Millisecond) }
	w.Handle(context.Background(), sqsEvent(a1))
	keys := slices.Sorted(maps.Keys(store.objs))
	if len(keys) != 3 || !strings.HasSuffix(keys[2], "-0000000000000001.ndjson.gz") {
		t.Errorf("keys %v", keys)
	}
}

// Past the deadline margin nothing is written: every message is reported,
// so the answer arrives before Lambda stops the function. A short timeout
// (the local stack's seconds) keeps most of its time for writing.
func TestHandleStopsBeforeTheDeadline(t *testing.T) {
	a1, _ := queued(t, "acme", t0, "a1", 1)
	for _, tc := range []struct {
		left    time.Duration
		written int
	}{{-time.Second, 0}, {2 * time.Second, 1}, {time.Minute, 1}} {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(tc.left))
		store := &fakeStore{put: func(string) error {
			if d, _ := ctx.Deadline(); time.Until(d) <= 0 {
				return errors.New("called past the deadline")
			}
			return nil
		}}
		resp, _ := newWriter(store, io.Discard).Handle(ctx, sqsEvent(a1))
		cancel()
		if len(store.objs) != tc.written || len(resp.BatchItemFailures) != 1-tc.written {
			t.Errorf("%s left: %d objects, failures %v", tc.left, len(store.objs), failedIDs(resp))
		}
	}
}
