package s3archive

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// TestStandIn writes through the real SDK, with its default CRC32 request
// checksums, to the S3 stand-in (fauxqs) and reads the objects back.
func TestStandIn(t *testing.T) {
	cfg := standin.AWSConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	admin, bucket := standin.S3(t, ctx, cfg, "s3archive")

	s := New(cfg)
	s.UsePathStyle = true
	st := s3Stream(t, destination.S3Config{Bucket: bucket, Region: cfg.Region, Prefix: "auth/"})
	evs := sinktest.Corpus(t, 700)
	batches := []deliver.Batch{
		{Key: "11111111-aaaa-4bbb-8ccc-000000000001", Events: evs[:300], EnqueuedAt: time.Date(2026, 11, 24, 7, 59, 59, 0, time.UTC)},
		{Key: "11111111-aaaa-4bbb-8ccc-000000000002", Events: evs[300:301], EnqueuedAt: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)},
		{Key: "11111111-aaaa-4bbb-8ccc-000000000003-1", Events: evs[301:], EnqueuedAt: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
	}
	var wantKeys []string
	for _, b := range batches {
		if err := s.Send(ctx, st, b); err != nil {
			t.Fatalf("send %s: %v", b.Key, err)
		}
		wantKeys = append(wantKeys, objectKey("auth", st.ProjectID, st.ID, b.Key, b.EnqueuedAt))
	}
	// SQS redelivers the first message: the same object, overwritten.
	if err := s.Send(ctx, st, batches[0]); err != nil {
		t.Fatalf("resend: %v", err)
	}

	list, err := admin.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var gotKeys []string
	for _, o := range list.Contents {
		gotKeys = append(gotKeys, aws.ToString(o.Key))
	}
	slices.Sort(gotKeys)
	slices.Sort(wantKeys)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Fatalf("objects\n%s\nwant\n%s", strings.Join(gotKeys, "\n"), strings.Join(wantKeys, "\n"))
	}

	seen := map[string]int{}
	for _, key := range gotKeys {
		out, err := admin.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		raw, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if ct := aws.ToString(out.ContentType); ct != ContentType {
			t.Errorf("%s: content type %q", key, ct)
		}
		// fauxqs does not echo Content-Encoding: the stored bytes must be gzip.
		body := gunzip(t, raw)
		if !bytes.HasSuffix(body, []byte("\n")) {
			t.Fatalf("%s does not end in a newline", key)
		}
		for line := range bytes.SplitSeq(body[:len(body)-1], []byte("\n")) {
			var ev struct {
				EventID string `json:"event_id"`
			}
			if err := json.Unmarshal(line, &ev); err != nil || ev.EventID == "" {
				t.Fatalf("%s: line %q is not an event", key, line)
			}
			seen[ev.EventID]++
		}
	}
	if len(seen) != len(evs) {
		t.Fatalf("%d distinct events stored, want %d", len(seen), len(evs))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("event %s stored %d times", id, n)
		}
	}

	t.Run("deleted bucket is gone", func(t *testing.T) {
		gone := s3Stream(t, destination.S3Config{Bucket: standin.UniqueName(t, "s3archive-none"), Region: cfg.Region})
		err := s.Send(ctx, gone, batches[1])
		if c, _ := deliver.ClassOf(err); c != deliver.Gone {
			t.Fatalf("err = %v (%v), want gone", err, c)
		}
	})
}
