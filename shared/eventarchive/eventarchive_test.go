package eventarchive_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/eventarchive"
	"github.com/logstream/logstream/shared/eventarchive/archivetest"
)

// quiet discards the archiver's log lines.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var base = time.Now().UTC().Truncate(time.Hour).Add(-48 * time.Hour)

func event(id string, at time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"event_id":%q,"timestamp":%q,"type":"login","nested":{"timestamp":"1999-01-01T00:00:00Z"}}`,
		id, at.Format(time.RFC3339Nano)))
}

// message is an archive queue message of a project's events.
func message(t *testing.T, id, project string, evs ...json.RawMessage) events.SQSMessage {
	t.Helper()
	msgs, err := envelope.Pack(project, envelope.ArchiveStreamID, evs, envelope.MaxMessageBytes)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("pack: %v (%d messages)", err, len(msgs))
	}
	return events.SQSMessage{MessageId: id, Body: string(msgs[0].Body),
		Attributes: map[string]string{"SentTimestamp": strconv.FormatInt(base.UnixMilli(), 10)}}
}

func TestKeyRoundTrip(t *testing.T) {
	hour := base.Add(13*time.Hour + 17*time.Minute)
	k := eventarchive.Key("proj-1.a_b", hour, base, "deadbeef", 42, 4200)
	if !strings.HasPrefix(k, eventarchive.HourPrefix("proj-1.a_b", hour)) || !strings.HasPrefix(k, eventarchive.ProjectPrefix("proj-1.a_b")) {
		t.Fatalf("key %s not under its partition", k)
	}
	want := fmt.Sprintf("events/project=proj-1.a_b/date=%s/hour=%02d/", hour.Format(time.DateOnly), hour.Hour())
	if !strings.HasPrefix(k, want) {
		t.Fatalf("key %s, want it under %s (Hive partitions)", k, want)
	}
	o, err := eventarchive.ParseKey(k)
	if err != nil || o.ProjectID != "proj-1.a_b" || !o.Hour.Equal(hour.Truncate(time.Hour)) || o.Events != 42 || o.Bytes != 4200 || o.Key != k {
		t.Fatalf("ParseKey(%s) = %+v, %v", k, o, err)
	}
	for _, bad := range []string{"", "events/", "events/project=p/date=2026-01-01/hour=24/1-a.n1.b1.ndjson.gz",
		"events/project=p/date=2026-13-01/hour=01/1-a.n1.b1.ndjson.gz", "events/project=p/date=2026-01-01/hour=01/1-a.n-1.b1.ndjson.gz",
		"events/project=p/date=2026-01-01/hour=01/1-a.ndjson.gz", "events/project=/date=2026-01-01/hour=01/1-a.n1.b1.ndjson.gz",
		"other/project=p/date=2026-01-01/hour=01/1-a.n1.b1.ndjson.gz", "events/project=p/date=2026-01-01/hour=01/x/1-a.n1.b1.ndjson.gz"} {
		if _, err := eventarchive.ParseKey(bad); !errors.Is(err, eventarchive.ErrNotArchiveKey) {
			t.Errorf("ParseKey(%q) = %v, want ErrNotArchiveKey", bad, err)
		}
	}
}

// FuzzParseKey: no key makes ParseKey panic, and every key it accepts is
// the one Key makes of what it read.
func FuzzParseKey(f *testing.F) {
	f.Add(eventarchive.Key("p", base, base, "ab", 3, 99))
	f.Add("events/project=p/date=2026-01-01/hour=01/1-a.n1.b1.ndjson.gz")
	f.Add("events/project=p/date=2026-01-01/hour=1/1-a.n1.b1.ndjson.gz")
	f.Fuzz(func(t *testing.T, key string) {
		o, err := eventarchive.ParseKey(key)
		if err != nil {
			return
		}
		if !strings.HasPrefix(key, eventarchive.HourPrefix(o.ProjectID, o.Hour)) || o.Events < 0 || o.Bytes < 0 {
			t.Fatalf("ParseKey(%q) = %+v: not under its own partition", key, o)
		}
	})
}

func TestHours(t *testing.T) {
	h := eventarchive.Hours(base.Add(30*time.Minute), base.Add(3*time.Hour))
	if len(h) != 3 || !h[0].Equal(base) || !h[2].Equal(base.Add(2*time.Hour)) {
		t.Fatalf("Hours = %v", h)
	}
	if h := eventarchive.Hours(base, base.Add(time.Hour+time.Nanosecond)); len(h) != 2 {
		t.Fatalf("a window a nanosecond into its second hour spans 2 partitions, got %v", h)
	}
}

// The archiver writes one object per project and event hour of a batch,
// each holding exactly its events, named with their count and bytes; the
// hour is the event's own top-level timestamp, not a nested one.
func TestWriterPartitionsByProjectAndHour(t *testing.T) {
	a := &archivetest.Archive{}
	w := &eventarchive.Writer{Log: quiet, Store: a, Now: func() time.Time { return base.Add(50 * time.Hour) }}
	batch := events.SQSEvent{Records: []events.SQSMessage{
		message(t, "m1", "alpha", event("a1", base.Add(10*time.Minute)), event("a2", base.Add(70*time.Minute)), event("a3", base.Add(59*time.Minute))),
		message(t, "m2", "beta", event("b1", base.Add(5*time.Minute))),
		message(t, "m3", "alpha", event("a4", base.Add(65*time.Minute))),
	}}
	resp, err := w.Handle(context.Background(), batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %+v, %v", resp, err)
	}
	want := map[string][]string{
		eventarchive.HourPrefix("alpha", base):                {"a1", "a3"},
		eventarchive.HourPrefix("alpha", base.Add(time.Hour)): {"a2", "a4"},
		eventarchive.HourPrefix("beta", base):                 {"b1"},
	}
	total := 0
	for prefix, ids := range want {
		keys := a.Keys(prefix)
		if len(keys) != 1 {
			t.Fatalf("%s holds %v, want one object", prefix, keys)
		}
		o, _ := eventarchive.ParseKey(keys[0])
		body, _ := a.Get(context.Background(), keys[0])
		evs, err := eventarchive.Decode(body)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		var raw int64
		for _, ev := range evs {
			got = append(got, ev.ID)
			raw += int64(len(ev.Raw)) + 1
		}
		if strings.Join(got, ",") != strings.Join(ids, ",") || o.Events != len(ids) || o.Bytes != raw {
			t.Errorf("%s: events %v (key says %d events, %d bytes; read %d), want %v", prefix, got, o.Events, o.Bytes, raw, ids)
		}
		total += len(keys)
	}
	if all := a.Keys(eventarchive.Root); len(all) != total {
		t.Fatalf("archive holds %v, want only %d objects", all, total)
	}
}

// A compressed archive message (ingestion compresses them) is archived as
// a plain one is.
func TestWriterReadsCompressedMessages(t *testing.T) {
	var evs []json.RawMessage
	for i := range 200 {
		evs = append(evs, event(fmt.Sprint("c", i), base.Add(time.Duration(i)*time.Second)))
	}
	msgs, _ := envelope.Pack("alpha", envelope.ArchiveStreamID, evs, envelope.MaxMessageBytes)
	c, err := envelope.Compress(msgs[0])
	if err != nil || c.Attributes[envelope.AttrEncoding] == "" {
		t.Fatalf("not compressed: %v", err)
	}
	enc := c.Attributes[envelope.AttrEncoding]
	a := &archivetest.Archive{}
	w := &eventarchive.Writer{Log: quiet, Store: a}
	resp, err := w.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "z", Body: string(c.Body),
		MessageAttributes: map[string]events.SQSMessageAttribute{envelope.AttrEncoding: {StringValue: &enc, DataType: "String"}}}}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%+v %v", resp, err)
	}
	if s, _ := eventarchive.Measure(context.Background(), a, "alpha", base, base.Add(time.Hour)); s.Events != 200 {
		t.Fatalf("archived %+v", s)
	}
}

// An object that fails to be written fails the messages with events in it,
// and only those; an envelope that is not the archive's is failed too
// (SQS takes it to the archive's DLQ), never dropped.
func TestWriterFailsOnlyTheMessagesOfAnUnwrittenObject(t *testing.T) {
	a := &archivetest.Archive{FailPut: func(key string) error {
		if strings.Contains(key, "project=beta/") {
			return errors.New("s3 is down for beta")
		}
		return nil
	}}
	w := &eventarchive.Writer{Log: quiet, Store: a}
	stream, _ := envelope.Pack("alpha", "str_0123456789abcdef0123456789abcdef", []json.RawMessage{event("x", base)}, envelope.MaxMessageBytes)
	batch := events.SQSEvent{Records: []events.SQSMessage{
		message(t, "ok", "alpha", event("a1", base)),
		message(t, "down", "beta", event("b1", base)),
		{MessageId: "stream-envelope", Body: string(stream[0].Body)},
		{MessageId: "garbage", Body: "not json"},
	}}
	resp, err := w.Handle(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if strings.Join(failed, ",") != "down,stream-envelope,garbage" {
		t.Fatalf("failed %v, want down, stream-envelope and garbage", failed)
	}
	if keys := a.Keys(eventarchive.ProjectPrefix("alpha")); len(keys) != 1 {
		t.Fatalf("alpha's object not written: %v", keys)
	}
}

// Measure sizes a window from the listing alone: no object is read.
func TestMeasure(t *testing.T) {
	a := &archivetest.Archive{}
	w := &eventarchive.Writer{Log: quiet, Store: a}
	var msgs []events.SQSMessage
	for i := range 10 { // 10 objects over hours 0..4
		msgs = append(msgs, message(t, fmt.Sprint(i), "alpha", event(fmt.Sprint("e", i, "a"), base.Add(time.Duration(i)*30*time.Minute)),
			event(fmt.Sprint("e", i, "b"), base.Add(time.Duration(i)*30*time.Minute))))
		if _, err := w.Handle(context.Background(), events.SQSEvent{Records: msgs[i : i+1]}); err != nil {
			t.Fatal(err)
		}
	}
	gets := a.Gets
	s, err := eventarchive.Measure(context.Background(), a, "alpha", base.Add(time.Hour), base.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if s.Partitions != 2 || s.Objects != 4 || s.Events != 8 || !s.Exact || s.Bytes == 0 || s.StoredBytes == 0 || a.Gets != gets {
		t.Fatalf("Measure = %+v (gets %d → %d)", s, gets, a.Gets)
	}
	s, _ = eventarchive.Measure(context.Background(), a, "alpha", base.Add(time.Hour+time.Minute), base.Add(2*time.Hour))
	if s.Exact || s.Events != 4 {
		t.Fatalf("a window inside an hour counts its whole partition, not exactly: %+v", s)
	}
	if s, _ := eventarchive.Measure(context.Background(), a, "beta", base, base.Add(5*time.Hour)); s.Events != 0 || s.Partitions != 0 {
		t.Fatalf("another project's window: %+v", s)
	}
}
