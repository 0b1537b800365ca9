package deadletter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/logstream/logstream/localstack/standin/table"
	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/dlqueue"
	"github.com/logstream/logstream/shared/dlstore"
	"github.com/logstream/logstream/shared/queue"
	"github.com/logstream/logstream/shared/stream"
)

// The figures of docs/performance.md's dead-letter section, on the
// stand-ins (make dlq-bench): how long a project's summary takes as its
// dead letters grow, and how fast a redrive moves events back onto a real
// (fauxqs) delivery queue.

const benchEventsPerLetter = 100

// benchEvent is an auth-event-sized event (~450 bytes).
func benchEvent(i int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"event_id":"0190b5b0-0000-7000-8000-%012d","timestamp":"2026-11-24T10:00:00Z","type":"user.session.start","actor":{"id":"00u%d","email":"user%d@example.com"},"client":{"ip":"203.0.113.%d","ua":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},"outcome":"success"}`, i, i, i, i%250))
}

// fillStore stores letters of benchEventsPerLetter events for one stream.
func fillStore(b *testing.B, s *dlstore.DeadLetters, project, streamID string, letters int, at time.Time, round int) {
	b.Helper()
	ctx := context.Background()
	for k := range letters {
		evs := make([]json.RawMessage, benchEventsPerLetter)
		for i := range evs {
			evs[i] = benchEvent(k*benchEventsPerLetter + i)
		}
		l := deadletter.Letter{ProjectID: project, StreamID: streamID, DestinationType: "http", Reason: stream.ReasonPermanent,
			Error: "401", Events: len(evs), SourceMessageID: fmt.Sprintf("m-%d-%d", round, k), ParkedAt: at.Add(time.Duration(k) * time.Millisecond), ExpiresAt: at.Add(deadletter.DefaultRetention)}
		l.ID = deadletter.LetterID(project, streamID, l.SourceMessageID, l.Reason, evs, nil)
		if err := s.Put(ctx, l, evs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeadLetterSummary(b *testing.B) {
	for _, letters := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("events=%d", letters*benchEventsPerLetter), func(b *testing.B) {
			cfg, tableName := table.New(b)
			st := &dlstore.DeadLetters{Client: dynamodb.NewFromConfig(cfg), Table: tableName}
			sid := fmt.Sprintf("str_%032x", 1)
			fillStore(b, st, "proj-bench", sid, letters, time.Now().Add(-time.Hour), 0)
			svc := &deadletter.Service{Letters: st, Jobs: st, Counters: st}
			b.ResetTimer()
			for b.Loop() {
				sum, err := svc.Summary(context.Background(), "proj-bench", "")
				if err != nil || sum.Events != letters*benchEventsPerLetter {
					b.Fatal(err, sum.Events)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/summary")
		})
	}
	// A project's summary costs what its own dead letters do, not the
	// store's: 1,000 events beside another project's 100,000.
	b.Run("events=1000,beside=100000", func(b *testing.B) {
		cfg, tableName := table.New(b)
		st := &dlstore.DeadLetters{Client: dynamodb.NewFromConfig(cfg), Table: tableName}
		at := time.Now().Add(-time.Hour)
		fillStore(b, st, "proj-big", fmt.Sprintf("str_%032x", 3), 1000, at, 0)
		fillStore(b, st, "proj-small", fmt.Sprintf("str_%032x", 4), 10, at, 0)
		svc := &deadletter.Service{Letters: st, Jobs: st, Counters: st}
		b.ResetTimer()
		for b.Loop() {
			sum, err := svc.Summary(context.Background(), "proj-small", "")
			if err != nil || sum.Events != 10*benchEventsPerLetter {
				b.Fatal(err, sum.Events)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/summary")
	})
}

func BenchmarkDeadLetterRedrive(b *testing.B) {
	cfg, tableName := table.New(b)
	ctx := context.Background()
	st := &dlstore.DeadLetters{Client: dynamodb.NewFromConfig(cfg), Table: tableName}
	sqsClient := sqs.NewFromConfig(cfg)
	q, err := sqsClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("dl-bench-%d", time.Now().UnixNano()))})
	if err != nil {
		b.Fatal(err)
	}
	sid := fmt.Sprintf("str_%032x", 2)
	svc := &deadletter.Service{Letters: st, Jobs: st, Counters: st,
		Streams:  streamsFake{sid: {ID: sid, ProjectID: "proj-bench", DestinationType: "http", Status: stream.StatusActive}},
		Redriver: &dlqueue.Redriver{Publisher: &queue.Publisher{Client: sqsClient}, QueueURLs: map[string]string{"http": aws.ToString(q.QueueUrl)}}}
	const letters = 100 // 10,000 events
	events := 0
	var took time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fillStore(b, st, "proj-bench", sid, letters, time.Now().Add(-time.Hour), i)
		b.StartTimer()
		start := time.Now()
		j, _, err := svc.StartJob(ctx, "proj-bench", deadletter.KindRedrive, deadletter.JobRequest{Rate: new(int(deadletter.MaxRate))}, "")
		if err != nil {
			b.Fatal(err)
		}
		if err := svc.RunJob(ctx, "proj-bench", j.ID); err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		if j, _ = svc.Job(ctx, "proj-bench", j.ID); j.Progress.Done != letters*benchEventsPerLetter {
			b.Fatalf("redrove %d events, want %d", j.Progress.Done, letters*benchEventsPerLetter)
		}
		events += j.Progress.Done
	}
	b.ReportMetric(float64(events)/took.Seconds(), "events/s")
}
