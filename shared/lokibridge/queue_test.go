package lokibridge

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/logstream/logstream/shared/lokibridge/archive"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// fakeQueue keeps the messages it is sent; send, when set, may refuse one.
type fakeQueue struct {
	mu   sync.Mutex
	send func(body string) error
	sent []string
}

func (f *fakeQueue) Enqueue(_ context.Context, body string) error {
	if f.send != nil {
		if err := f.send(body); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, body)
	return nil
}

// With a queue, a push that fits one billing chunk is queued and stored
// nowhere else; a larger one is stored as Encode makes it, under the key
// it would have had without a queue; a queue that fails is a 503.
func TestHandleQueue(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries int
		random  bool // lines that do not compress
		sendErr error
		status  int
		queued  bool
	}{
		{name: "10 entries queued", entries: 10, status: 204, queued: true},
		{name: "40 entries queued", entries: 40, status: 204, queued: true},
		// Lines few enough to try, records too large for one message:
		// compressed after all.
		{name: "100 random entries stored", entries: 100, random: true, status: 204},
		// More lines than a message could ever hold: encoded for S3 at once.
		{name: "600 entries stored", entries: 600, status: 204},
		{name: "queue down", entries: 10, sendErr: errors.New("AWS.SimpleQueueService.NonExistentQueue"), status: 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := sinktest.Corpus(t, tc.entries)
			if tc.random {
				for i := range evs {
					var line strings.Builder
					for range 40 { // 1,040 random base32 characters
						line.WriteString(rand.Text())
					}
					evs[i] = json.RawMessage(fmt.Sprintf(`{"r":"%s"}`, line.String()))
				}
			}
			body := pushBodies(t, evs)[0]
			store := &fakeStore{}
			q := &fakeQueue{send: func(string) error { return tc.sendErr }}
			var log bytes.Buffer
			h := newTestHandler(t, store, lokipush.Limits{}, &log)
			h.queue = q
			resp, _ := h.Handle(context.Background(), push(alice, body, nil))
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}

			// What Encode makes of the same push: the object and key of every
			// path that stores it compressed.
			pr, err := lokipush.Parse(bytes.NewReader(body.Body), body.ContentType, body.ContentEncoding, lokipush.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := archive.Encode("alice", pr)
			records, _ := archive.Records("alice", pr) // a queued push is named by its records
			switch {
			case tc.status != 204:
				if len(store.puts) != 0 || len(q.sent) != 0 || !strings.Contains(log.String(), "push not queued") {
					t.Errorf("%d objects, %d messages; log %s", len(store.puts), len(q.sent), log.String())
				}
			case tc.queued:
				if len(store.puts) != 0 || len(q.sent) != 1 || len(q.sent[0]) > archive.MaxMessageBytes {
					t.Fatalf("%d objects, %d messages", len(store.puts), len(q.sent))
				}
				got, err := archive.DecodeMessage(q.sent[0])
				if err != nil || got.Key != records.Key || !bytes.Equal(got.Body, gunzip(t, want.Body)) {
					t.Errorf("message %s (%v), want the records of %s", got.Key, err, records.Key)
				}
			default:
				if len(q.sent) != 0 || len(store.puts) != 1 || !bytes.Equal(gunzip(t, store.puts[want.Key]), gunzip(t, want.Body)) {
					t.Errorf("%d messages, objects %v, want %s", len(q.sent), len(store.puts), want.Key)
				}
			}
		})
	}
}
