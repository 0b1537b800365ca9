package replay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/localstack/standin/table"
	"github.com/logstream/logstream/shared/archivestore"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/eventarchive"
	"github.com/logstream/logstream/shared/queue"
	"github.com/logstream/logstream/shared/replay"
	"github.com/logstream/logstream/shared/replaystore"
	"github.com/logstream/logstream/shared/stream"
)

// BenchmarkReplay is docs/performance.md's replay figure, on the stand-ins
// (fauxqs S3 and SQS, dynalite): 100,000 archived auth events (~450 bytes,
// two hours, in objects as the archiver writes them from full batches)
// replayed at the highest rate to a real delivery queue, with the job in
// the table. Beside it, in the same run, its floor: the same objects read
// and decoded, and the same events packed and published, with nothing
// else (no job, no selection, no checkpoints).
func BenchmarkReplay(b *testing.B) {
	const (
		total       = 100_000
		perRequest  = 500
		perArchiver = 25 // messages per archiver invocation: a full 6 MB payload
	)
	ctx := context.Background()
	cfg := standin.AWSConfig(b)
	_, bucketName := standin.S3(b, ctx, cfg, "replay-bench")
	bucket, err := archivestore.New(cfg, bucketName, true)
	if err != nil {
		b.Fatal(err)
	}
	sqsClient := sqs.NewFromConfig(cfg)
	q, err := sqsClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(standin.UniqueName(b, "replay-bench"))})
	if err != nil {
		b.Fatal(err)
	}
	url := aws.ToString(q.QueueUrl)
	now := time.Now().UTC()
	start := now.Truncate(time.Hour).Add(-3 * time.Hour)
	w := &eventarchive.Writer{Store: bucket, Log: quiet}
	var recs []events.SQSMessage
	for first := 0; first < total; first += perRequest {
		evs := make([]json.RawMessage, perRequest)
		for i := range evs {
			n := first + i
			at := start.Add(time.Duration(n) * 2 * time.Hour / total)
			evs[i] = json.RawMessage(fmt.Sprintf(`{"event_id":"0190b5b0-0000-7000-8000-%012d","timestamp":%q,"type":"user.session.start","actor":{"id":"00u%d","email":"user%d@example.com"},"client":{"ip":"203.0.113.%d","ua":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},"outcome":"success"}`,
				n, at.Format(time.RFC3339Nano), n, n, n%250))
		}
		msgs, err := envelope.Pack("proj-bench", envelope.ArchiveStreamID, evs, envelope.MaxMessageBytes)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range msgs {
			recs = append(recs, events.SQSMessage{MessageId: fmt.Sprint(len(recs)), Body: string(m.Body)})
		}
		if len(recs) >= perArchiver || first+perRequest >= total {
			if _, err := w.Handle(ctx, events.SQSEvent{Records: recs}); err != nil {
				b.Fatal(err)
			}
			recs = nil
		}
	}
	since, until := start, start.Add(2*time.Hour)
	size, err := eventarchive.Measure(ctx, bucket, "proj-bench", since, until)
	if err != nil || size.Events != total {
		b.Fatalf("archived %+v, %v", size, err)
	}

	// The floor: read and decode every object; pack and publish every event.
	floorStart := time.Now()
	var all []json.RawMessage
	for _, h := range eventarchive.Hours(since, until) {
		err := eventarchive.Partition(ctx, bucket, eventarchive.HourPrefix("proj-bench", h), "", func(o eventarchive.Object) (bool, error) {
			body, err := bucket.Get(ctx, o.Key)
			if err != nil {
				return false, err
			}
			evs, err := eventarchive.Decode(body)
			for _, ev := range evs {
				all = append(all, ev.Raw)
			}
			return err == nil, err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	read := time.Since(floorStart)
	pub := &queue.Publisher{Client: sqsClient}
	for i := 0; i < len(all); i += replay.BatchEvents {
		msgs, err := envelope.Pack("proj-bench", "str_bench", all[i:min(i+replay.BatchEvents, len(all))], envelope.MaxMessageBytes)
		if err != nil {
			b.Fatal(err)
		}
		if err := pub.Publish(ctx, url, msgs); err != nil {
			b.Fatal(err)
		}
	}
	floor := time.Since(floorStart)

	tcfg, tableName := table.New(b)
	sid := fmt.Sprintf("str_%032x", 7)
	svc := &replay.Service{Jobs: replaystore.New(dynamodb.NewFromConfig(tcfg), tableName), Archive: bucket, Reader: bucket,
		Streams:   streams{"proj-bench/" + sid: {ID: sid, ProjectID: "proj-bench", DestinationType: "http", Status: stream.StatusActive}},
		Publisher: pub, QueueURLs: map[string]string{"http": url}, MaxActive: 1 << 20, Log: quiet}
	jobs := svc.Jobs
	// At the API's highest rate, the pacing is what binds; unpaced (the
	// job's rate raised in the store, past what the API takes), what the
	// worker itself can do beside its floor.
	for _, rate := range []int{replay.MaxRate, 1 << 30} {
		name := fmt.Sprintf("rate=%d", rate)
		if rate > replay.MaxRate {
			name = "unpaced"
		}
		b.Run(name, func(b *testing.B) {
			var took time.Duration
			sent := 0
			for b.Loop() {
				t0 := time.Now()
				j, _, err := svc.Start(ctx, "proj-bench", sid, replay.Request{Since: &since, Until: &until, Rate: new(int(replay.MaxRate))}, "")
				if err != nil {
					b.Fatal(err)
				}
				j.Rate = rate
				if _, err := jobs.Update(ctx, j); err != nil {
					b.Fatal(err)
				}
				if err := svc.RunJob(ctx, "proj-bench", j.ID); err != nil {
					b.Fatal(err)
				}
				took += time.Since(t0)
				if j, _ = svc.Job(ctx, "proj-bench", j.ID); j.Progress.Sent != total {
					b.Fatalf("replayed %+v", j.Progress)
				}
				sent += j.Progress.Sent
			}
			got := float64(sent) / took.Seconds()
			b.ReportMetric(got, "events/s")
			b.ReportMetric(float64(total)/floor.Seconds(), "floor-events/s")
			b.ReportMetric(got/(float64(total)/floor.Seconds()), "x-floor")
			b.ReportMetric(float64(total)/read.Seconds(), "read-events/s")
			b.ReportMetric(float64(size.Objects), "objects")
		})
	}
}
