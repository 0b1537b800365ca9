package lokibridge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/lokibridge/coalesce"
	"github.com/logstream/logstream/shared/lokibridge/s3archive"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// countingClient counts the requests an SDK client makes, by operation:
// SQS's X-Amz-Target ("SendMessage") or "PutObject" for an S3 PUT of an
// object (path-style: /bucket/key).
type countingClient struct {
	inner aws.HTTPClient
	mu    sync.Mutex
	n     map[string]int
}

func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if op == "" && r.Method == http.MethodPut && strings.Count(strings.Trim(r.URL.Path, "/"), "/") > 0 {
		op = "PutObject"
	}
	if op != "" {
		c.mu.Lock()
		c.n[op]++
		c.mu.Unlock()
	}
	return c.inner.Do(r)
}

func counted(cfg aws.Config) (aws.Config, *countingClient) {
	c := &countingClient{inner: awshttp.NewBuildableClient(), n: map[string]int{}}
	cfg.HTTPClient = c
	return cfg, c
}

// lambdaPayloadLimit is Lambda's limit on a synchronous invocation's
// payload, which caps the messages an SQS event source mapping hands one
// invocation whatever its batch size (Lambda quotas: 6 MB).
const lambdaPayloadLimit = 6 << 20

// TestRequestCounts pushes the same 2,000 entries (sinktest's ~1 KB auth
// events) through the real bridge at 1, 10, 100 and 1,000 entries per push,
// and drains the bridge queue into the Loki archiver as Lambda's event
// source mapping does (ReceiveMessage of up to 10, a batch of up to 10,000
// messages within the 6 MB payload, DeleteMessageBatch of 10), counting
// every request to the SQS and S3 stand-ins. docs/cost.md prices these
// counts; the test holds them to the model's formulas and every entry to
// being archived exactly once. Run with -v for the table.
func TestRequestCounts(t *testing.T) {
	base := standin.AWSConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	admin, bucket := standin.S3(t, ctx, base, "lokicost")
	const total = 2000
	evs := sinktest.Corpus(t, total)

	var table strings.Builder
	fmt.Fprintf(&table, "| entries/push | pushes | SendMessage | 64 KB chunks sent | ReceiveMessage | DeleteMessageBatch | PutObject (bridge) | PutObject (archiver) | batches |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, per := range []int{1, 10, 100, 1000} {
		t.Run(fmt.Sprint(per), func(t *testing.T) {
			tenant := fmt.Sprintf("cost-%d", per)
			bridgeCfg, bridgeCount := counted(base)
			archCfg, archCount := counted(base)
			url := standin.Queue(t, ctx, base, "lokicost")
			store, err := s3archive.New(bridgeCfg, s3archive.Options{Bucket: bucket, UsePathStyle: true})
			if err != nil {
				t.Fatal(err)
			}
			queue, err := NewSQSQueue(bridgeCfg, url)
			if err != nil {
				t.Fatal(err)
			}
			sized := &sizingQueue{Queue: queue}
			h := newTestHandler(t, store, lokipush.Limits{}, nil)
			h.queue = sized

			pushes := 0
			for i := 0; i < total; i += per {
				body := pushBodies(t, evs[i:i+per])[0]
				resp, _ := h.Handle(ctx, push(alice, body, map[string]string{"x-scope-orgid": tenant}))
				if resp.StatusCode != 204 {
					t.Fatalf("push %d: %d %s", pushes, resp.StatusCode, resp.Body)
				}
				pushes++
			}

			archStore, err := s3archive.New(archCfg, s3archive.Options{Bucket: bucket, UsePathStyle: true})
			if err != nil {
				t.Fatal(err)
			}
			w := &coalesce.Writer{Store: archStore}
			client := sqs.NewFromConfig(archCfg)
			batches, chunksReceived, deletes := 0, 0, 0
			received := map[string]bool{}
			// Until every queued push is received: an empty receive ends a
			// batch, but SQS's short polls (and the stand-in while other
			// tests load it) can come back empty with messages left. A
			// receive whose answer is lost on the wire (the SDK retries
			// it) leaves its messages in flight until their visibility
			// timeout, as on SQS: they come back, as they would to Lambda,
			// so the wait outlasts receiveVisibility, counting each
			// message once however often it is received.
			quiet := time.Now()
			for len(received) < sized.sent {
				batch, chunks := receiveBatch(t, ctx, client, url)
				chunksReceived += chunks
				if len(batch.Records) == 0 {
					if time.Since(quiet) > 3*receiveVisibility {
						t.Fatalf("received %d of %d queued pushes; none for %v", len(received), sized.sent, time.Since(quiet))
					}
					time.Sleep(100 * time.Millisecond)
					continue
				}
				quiet = time.Now()
				for _, r := range batch.Records {
					received[r.MessageId] = true
				}
				batches++
				resp, err := w.Handle(ctx, batch)
				if err != nil || len(resp.BatchItemFailures) != 0 {
					t.Fatalf("archiver: %v, failures %v", err, resp.BatchItemFailures)
				}
				deleteBatch(t, ctx, client, url, batch)
				deletes += ceilDiv(len(batch.Records), 10)
			}

			// Every entry exactly once.
			var all []byte
			for _, body := range gzipObjectsOf(t, ctx, admin, bucket, "tenant="+tenant+"/") {
				all = append(all, body...)
			}
			for i, ev := range evs {
				if n := bytes.Count(all, ev); n != 1 {
					t.Fatalf("entry %d archived %d times", i, n)
				}
			}

			queued := bridgeCount.n["SendMessage"]
			// The model's formulas: one send per queued push; the rest are
			// objects of their own; one object per batch (one tenant, one
			// hour); receives and deletes ten messages at a time.
			if queued+bridgeCount.n["PutObject"] != pushes || archCount.n["PutObject"] != batches || archCount.n["DeleteMessageBatch"] != deletes {
				t.Errorf("counts %v %v for %d pushes, %d batches", bridgeCount.n, archCount.n, pushes, batches)
			}
			fmt.Fprintf(&table, "| %d | %d | %d | %d | %d (%d chunks) | %d | %d | %d | %d |\n", per, pushes, queued, sized.chunks,
				archCount.n["ReceiveMessage"], chunksReceived, archCount.n["DeleteMessageBatch"], bridgeCount.n["PutObject"], archCount.n["PutObject"], batches)
		})
	}
	t.Logf("%d entries at each size (multiply by %d for per million):\n%s", total, 1_000_000/total, table.String())
	if os.Getenv("LOKIBRIDGE_COST_TABLE") != "" {
		fmt.Print(table.String())
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// sizingQueue counts the 64 KB chunks SQS bills for what is sent.
type sizingQueue struct {
	Queue
	chunks int
	sent   int // messages SQS took
}

func (q *sizingQueue) Enqueue(ctx context.Context, body string) error {
	q.chunks += ceilDiv(len(body), 64<<10)
	err := q.Queue.Enqueue(ctx, body)
	if err == nil {
		q.sent++
	}
	return err
}

// receiveVisibility is how long a received message stays hidden: long
// enough for a batch to be archived and deleted on a loaded machine, short
// enough that a lost receive's messages come back within the test.
const receiveVisibility = 30 * time.Second

// receiveBatch gathers one invocation's batch as the event source mapping
// does: ReceiveMessage of up to 10 until the queue is empty, 10,000
// messages, or the next messages would pass Lambda's 6 MB payload. It also
// returns the 64 KB chunks SQS bills for the receives.
func receiveBatch(t *testing.T, ctx context.Context, c *sqs.Client, url string) (events.SQSEvent, int) {
	t.Helper()
	var ev events.SQSEvent
	size, chunks := 0, 0
	for len(ev.Records) < 10000 && size < lambdaPayloadLimit-10*(64<<10) {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: int32(receiveVisibility / time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, m := range out.Messages {
			got += len(aws.ToString(m.Body))
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body)})
		}
		size += got
		chunks += max(1, ceilDiv(got, 64<<10))
		if len(out.Messages) == 0 {
			break
		}
	}
	return ev, chunks
}

func deleteBatch(t *testing.T, ctx context.Context, c *sqs.Client, url string, ev events.SQSEvent) {
	t.Helper()
	for i := 0; i < len(ev.Records); i += 10 {
		var entries []sqstypes.DeleteMessageBatchRequestEntry
		for j, r := range ev.Records[i:min(i+10, len(ev.Records))] {
			entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(j)), ReceiptHandle: aws.String(r.ReceiptHandle)})
		}
		out, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil || len(out.Failed) != 0 {
			t.Fatalf("delete: %v %v", err, out)
		}
	}
}

// gzipObjectsOf returns every object under prefix, gunzipped.
func gzipObjectsOf(t *testing.T, ctx context.Context, c *s3.Client, bucket, prefix string) [][]byte {
	t.Helper()
	var out [][]byte
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			raw, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, gunzip(t, raw))
		}
	}
	return out
}
