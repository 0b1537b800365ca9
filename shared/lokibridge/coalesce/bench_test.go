package coalesce

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/lokibridge/archive"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/lokipush/pushtest"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// sizeStore keeps only the size of what it is given.
type sizeStore struct{ bytes int }

func (s *sizeStore) Put(_ context.Context, _ string, body []byte) error {
	s.bytes += len(body)
	return nil
}

// BenchmarkHandle is one Loki archiver invocation: 1,000 queued 10-entry
// pushes (sinktest's ~1 KB auth events, one tenant and hour, about 5 MB
// of messages, near Lambda's 6 MB payload) into one object. It reports the
// CPU per push and the object's bytes per entry against the same pushes
// stored one object each, as the bridge stores a push it does not queue.
func BenchmarkHandle(b *testing.B) {
	const pushes, per = 1000, 10
	evs := sinktest.Corpus(b, pushes*per)
	var ev events.SQSEvent
	separate, msgBytes := 0, 0
	for i := range pushes {
		body := pushtest.Bodies(b, evs[i*per:(i+1)*per], time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC))[0]
		req, err := lokipush.Parse(bytes.NewReader(body.Body), body.ContentType, body.ContentEncoding, lokipush.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		rec, _ := archive.Records("acme", req)
		msg := archive.EncodeMessage(rec)
		msgBytes += len(msg)
		separate += len(archive.Compress(rec).Body)
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprint(i), Body: msg})
	}
	w := &Writer{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	var store *sizeStore
	b.ReportAllocs()
	for b.Loop() {
		store = &sizeStore{}
		w.Store = store
		if resp, _ := w.Handle(context.Background(), ev); len(resp.BatchItemFailures) != 0 {
			b.Fatal(resp.BatchItemFailures)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*pushes), "µs/push")
	b.ReportMetric(float64(store.bytes)/float64(pushes*per), "object-B/entry")
	b.ReportMetric(float64(separate)/float64(pushes*per), "separate-B/entry")
	b.ReportMetric(float64(msgBytes)/float64(pushes), "message-B/push")
}
