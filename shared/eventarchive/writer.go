package eventarchive

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
	"github.com/logstream/logstream/shared/batchobj"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/jsonobj"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/metrics"
)

// Store writes archive objects.
type Store interface {
	// Put writes one object; body is gzip NDJSON.
	Put(ctx context.Context, key string, body []byte) error
}

// Writer is the archiver: it writes the archive queue's messages to the
// archive, one object per project and event hour of each batch.
type Writer struct {
	Store Store
	// Now is the clock object names are stamped with (default time.Now).
	Now func() time.Time
	// Random names objects apart (default 8 random hex digits).
	Random func() string
	Log    *slog.Logger
	// Metrics receives each batch's line: the objects written and those
	// that failed (nil: none).
	Metrics *metrics.Emitter
}

func (w *Writer) log() *slog.Logger { return cmp.Or(w.Log, slog.Default()) }

func (w *Writer) now() time.Time { return batchobj.Now(w.Now) }

func (w *Writer) random() string { return batchobj.Random(w.Random, 4) }

// partition is what the archiver counts of one object: a project's
// events of one hour from this batch.
type partition struct {
	project string
	hour    time.Time
	events  int
	bytes   int64
}

// Handle archives a batch. A message is reported failed (and received
// again) when an object holding any of its events was not written; the
// objects of its other hours may then hold its events twice, which a
// replay drops (it keeps one event per event_id in a partition). A message
// that is not an archive envelope is reported failed too: SQS moves it to
// the archive's DLQ after its retries, where an operator sees it, rather
// than it being deleted unread.
func (w *Writer) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	// BestSpeed: the archive is written once and read rarely, so the CPU of
	// every write matters more than the last bytes of storage
	// (docs/performance.md, "Event archive").
	batch := batchobj.New[partition](gzip.BestSpeed)
	for _, r := range ev.Records {
		var enc string
		if a, ok := r.MessageAttributes[envelope.AttrEncoding]; ok && a.StringValue != nil {
			enc = *a.StringValue
		}
		body, err := envelope.Inflate(r.Body, enc)
		var env envelope.Envelope
		if err == nil {
			env, err = envelope.Decode(body)
		}
		if err == nil && env.StreamID != envelope.ArchiveStreamID {
			err = fmt.Errorf("stream_id %q is not the archive's", env.StreamID)
		}
		if err != nil {
			w.log().ErrorContext(ctx, "archive queue message is not an archive envelope; left for the DLQ", "message_id", r.MessageId, "err", err)
			batch.Fail(r.MessageId)
			continue
		}
		sent := sentAt(r)
		for _, raw := range env.Events {
			hour := eventHour(raw, sent)
			p, started := batch.Part(env.ProjectID + "/" + strconv.FormatInt(hour.Unix(), 10))
			if started {
				p.Meta = partition{project: env.ProjectID, hour: hour}
			}
			p.Write(r.MessageId, raw, newline)
			p.Meta.events++
			p.Meta.bytes += int64(len(raw)) + 1
		}
	}
	failures := 0
	stored := batch.Store(ctx, func(ctx context.Context, p *batchobj.Part[partition], body []byte) error {
		m := p.Meta
		err := w.Store.Put(ctx, Key(m.project, m.hour, w.now(), w.random(), m.events, m.bytes), body)
		if err != nil {
			failures++
			w.log().ErrorContext(ctx, "archive object not written; its messages are received again",
				"project_id", m.project, "hour", m.hour, "events", m.events, "messages", p.Messages(), "err", err)
		}
		return err
	})
	written := 0
	for _, p := range stored {
		written += p.Meta.events
	}
	resp := batch.Response(ev)
	w.log().InfoContext(ctx, "events archived", "messages", len(ev.Records), "objects", len(stored), "events", written,
		"failed_messages", len(resp.BatchItemFailures))
	batchobj.Emit(w.Metrics, len(stored), failures)
	return resp, nil
}

var newline = []byte{'\n'}

// eventHour is the hour of an event's timestamp, which ingestion stamped
// on every event it accepted; an event without one (which ingestion never
// sends) is filed under the hour its message was sent, so it is kept
// rather than dropped.
func eventHour(raw []byte, sent time.Time) time.Time {
	if text, ok := jsonobj.Text(jsonobj.Get(raw, logevent.FieldTimestamp)); ok {
		if t, err := time.Parse(time.RFC3339Nano, string(text)); err == nil {
			return t.UTC().Truncate(time.Hour)
		}
	}
	return sent.UTC().Truncate(time.Hour)
}

// sentAt is when SQS received the message (its SentTimestamp, epoch ms).
func sentAt(r events.SQSMessage) time.Time {
	if ms, err := strconv.ParseInt(r.Attributes["SentTimestamp"], 10, 64); err == nil {
		return time.UnixMilli(ms)
	}
	return time.Now()
}
