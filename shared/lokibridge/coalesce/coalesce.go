// Package coalesce is the Loki archiver: it reads the pushes the bridge
// queued (small ones, archive.EncodeMessage) from the bridge's SQS queue
// and writes all of a batch's pushes of one tenant and hour as one archive
// object, under the same tenant=…/dt=…/hour=… partitions as the objects the
// bridge writes itself. Many small pushes then cost one S3 PUT between
// them, and the archive holds fewer, larger objects, which are cheaper to
// query (docs/cost.md).
//
// A message is deleted from the queue only once an object holding its
// records is stored: Handle reports every other message as a batch item
// failure, and SQS hands it out again (after maxReceiveCount receives, to
// the queue's DLQ). A message that is not a queued push is reported too,
// so it reaches the DLQ, where an operator sees it, instead of being
// deleted unread.
//
// Delivery is at least once: a push the bridge sent twice (a client's retry
// after a 503 whose first attempt had reached SQS), or a message received
// again after its object was stored but before the batch's answer, is
// archived twice, in two objects. Within one batch a push is written once:
// its key names its records (archive.Records).
package coalesce

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
	"github.com/logstream/logstream/shared/batchobj"
	"github.com/logstream/logstream/shared/lokibridge/archive"
	"github.com/logstream/logstream/shared/metrics"
)

// Store writes archive objects.
type Store interface {
	// Put stores body (gzip NDJSON) under key; nil only once it is stored.
	Put(ctx context.Context, key string, body []byte) error
}

// DeadlineMargin is kept before the invocation's deadline (or a quarter of
// the time left, when that is less: a local stack runs functions with
// timeouts of seconds): a partition not yet written by then is reported
// failed, so the answer reaches Lambda before the function is stopped and
// its messages come back sooner than after their visibility timeout.
const DeadlineMargin = 5 * time.Second

// Writer is the archiver's handler.
type Writer struct {
	Store Store
	// Now stamps object names (default time.Now).
	Now func() time.Time
	// Random keeps names apart (default 16 random hex digits).
	Random func() string
	Log    *slog.Logger
	// Metrics receives each batch's line: the objects written and those
	// that failed (nil: none).
	Metrics *metrics.Emitter
}

func (w *Writer) log() *slog.Logger { return cmp.Or(w.Log, slog.Default()) }

func (w *Writer) now() time.Time { return batchobj.Now(w.Now) }

func (w *Writer) random() string { return batchobj.Random(w.Random, 8) }

// partition is what the archiver counts of one object: a tenant's pushes
// of one hour from this batch.
type partition struct {
	prefix  string // tenant=…/dt=…/hour=…/
	pushes  int
	records int
	raw     int
}

// Handle writes a batch: one object per partition, then the messages of
// every object not stored, and of every message that is no queued push, as
// batch item failures. Its error is always nil: a failure is a message's,
// reported as such, never the whole batch's.
func (w *Writer) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	// The default level, unlike the objects the bridge writes while a
	// client waits (BestSpeed): each object is written once and kept, and
	// the CPU is a small part of the archiver's cost (docs/cost.md).
	batch := batchobj.New[partition](gzip.DefaultCompression)
	written := map[string]bool{} // push keys already in this batch's objects
	duplicates := 0
	for _, r := range ev.Records {
		obj, err := archive.DecodeMessage(r.Body)
		if err != nil {
			w.log().ErrorContext(ctx, "bridge queue message is not a queued push; left for the DLQ", "message_id", r.MessageId, "err", err)
			batch.Fail(r.MessageId)
			continue
		}
		prefix, _ := archive.Partition(obj.Key) // DecodeMessage checked it
		p, started := batch.Part(prefix)
		if started {
			p.Meta.prefix = prefix
		}
		if written[obj.Key] {
			// The message's deletion still waits for the object: it holds
			// the push.
			p.Hold(r.MessageId)
			duplicates++
			continue
		}
		written[obj.Key] = true
		p.Write(r.MessageId, obj.Body)
		p.Meta.pushes++
		p.Meta.records += obj.Records
		p.Meta.raw += obj.RawBytes
	}

	putCtx := ctx
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		putCtx, cancel = context.WithDeadline(ctx, d.Add(-min(DeadlineMargin, time.Until(d)/4)))
		defer cancel()
	}
	failures := 0
	stored := batch.Store(putCtx, func(putCtx context.Context, p *batchobj.Part[partition], body []byte) error {
		key := archive.BatchKey(p.Meta.prefix, w.now(), w.random())
		err := putCtx.Err()
		if err == nil {
			err = w.Store.Put(putCtx, key, body)
		}
		if err != nil {
			failures++
			w.log().ErrorContext(ctx, "archive object not written; its messages are received again",
				"key", key, "pushes", p.Meta.pushes, "records", p.Meta.records, "messages", p.Messages(), "err", err)
		}
		return err
	})
	records := 0
	for _, p := range stored {
		records += p.Meta.records
	}
	resp := batch.Response(ev)
	w.log().InfoContext(ctx, "pushes archived", "messages", len(ev.Records), "objects", len(stored), "records", records,
		"duplicate_pushes", duplicates, "failed_messages", len(resp.BatchItemFailures))
	batchobj.Emit(w.Metrics, len(stored), failures)
	return resp, nil
}

// Validate reports what is missing.
func (w *Writer) Validate() error {
	if w.Store == nil {
		return fmt.Errorf("coalesce: no store")
	}
	return nil
}
