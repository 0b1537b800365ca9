package lokibridge

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/lokibridge/archive"
	"github.com/logstream/logstream/shared/lokibridge/s3archive"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/lokipush/pushtest"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// TestS3StandIn pushes through the handler to the S3 stand-in (fauxqs) with
// the real SDK: the same push twice, as protobuf and as gzip JSON, is one
// object, whose records read back; a bucket that is not there is a 503 and
// an unhealthy /health.
func TestS3StandIn(t *testing.T) {
	cfg := standin.AWSConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	admin, bucket := standin.S3(t, ctx, cfg, "lokibridge")
	store, err := s3archive.New(cfg, s3archive.Options{Bucket: bucket, Prefix: "loki/", UsePathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	h := newTestHandler(t, store, lokipush.Limits{}, nil)

	evs := sinktest.Corpus(t, 400)
	bodies := pushBodies(t, evs)
	for _, b := range []pushtest.Body{bodies[0], bodies[2]} { // protobuf+snappy, then gzip JSON
		resp, _ := h.Handle(ctx, push(alice, b, map[string]string{"x-scope-orgid": "acme"}))
		if resp.StatusCode != 204 {
			t.Fatalf("%s: %d %s", b.Name, resp.StatusCode, resp.Body)
		}
	}
	if resp, _ := h.Handle(ctx, request("GET", PathHealth, nil, nil, false)); resp.StatusCode != 200 {
		t.Errorf("health: %d %s", resp.StatusCode, resp.Body)
	}

	list, err := admin.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != 1 {
		var ks []string
		for _, o := range list.Contents {
			ks = append(ks, aws.ToString(o.Key))
		}
		t.Fatalf("%d objects for one push sent twice, want 1: %v", len(list.Contents), ks)
	}
	key := aws.ToString(list.Contents[0].Key)
	if !strings.HasPrefix(key, "loki/tenant=acme/dt=2026-11-24/hour=07/") || !strings.HasSuffix(key, ".ndjson.gz") {
		t.Errorf("key %s", key)
	}
	out, err := admin.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ct := aws.ToString(out.ContentType); ct != archive.ContentType {
		t.Errorf("content type %q", ct)
	}
	// fauxqs does not echo Content-Encoding: the stored bytes must be gzip.
	records := gunzip(t, raw)
	if n := bytes.Count(records, []byte("\n")); n != len(evs) {
		t.Errorf("%d records, want %d", n, len(evs))
	}
	for i, ev := range evs {
		if !bytes.Contains(records, ev) {
			t.Fatalf("event %d is not in the object as it was sent", i)
		}
	}

	t.Run("missing bucket", func(t *testing.T) {
		gone, err := s3archive.New(cfg, s3archive.Options{Bucket: standin.UniqueName(t, "lokibridge-none"), UsePathStyle: true})
		if err != nil {
			t.Fatal(err)
		}
		h := newTestHandler(t, gone, lokipush.Limits{}, nil)
		if resp, _ := h.Handle(ctx, push(alice, bodies[1], nil)); resp.StatusCode != 503 {
			t.Errorf("push: %d %s, want 503", resp.StatusCode, resp.Body)
		}
		if resp, _ := h.Handle(ctx, request("GET", PathHealth, nil, nil, false)); resp.StatusCode != 503 {
			t.Errorf("health: %d %s, want 503", resp.StatusCode, resp.Body)
		}
	})
}
