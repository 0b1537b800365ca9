package lokibridge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/lokibridge/archive"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/lokipush/pushtest"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// fakeS3 answers with its function fields.
type fakeS3 struct {
	putObject  func(*s3.PutObjectInput) error
	headBucket func(*s3.HeadBucketInput) error
}

func (f fakeS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return &s3.PutObjectOutput{}, f.putObject(in)
}

func (f fakeS3) HeadBucket(_ context.Context, in *s3.HeadBucketInput, _ ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	return &s3.HeadBucketOutput{}, f.headBucket(in)
}

func TestS3StorePut(t *testing.T) {
	for _, tc := range []struct{ prefix, want string }{
		{"", "tenant=a/k.ndjson.gz"},
		{"loki", "loki/tenant=a/k.ndjson.gz"},
		{"/archive/loki/", "archive/loki/tenant=a/k.ndjson.gz"},
	} {
		var got *s3.PutObjectInput
		s, err := NewS3Store(aws.Config{Region: "eu-west-1"}, S3Options{Bucket: "logs", Prefix: tc.prefix})
		if err != nil {
			t.Fatal(err)
		}
		s.client = fakeS3{putObject: func(in *s3.PutObjectInput) error { got = in; return nil }}
		if err := s.Put(context.Background(), "tenant=a/k.ndjson.gz", []byte("gzip")); err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(got.Body)
		if aws.ToString(got.Bucket) != "logs" || aws.ToString(got.Key) != tc.want || string(body) != "gzip" ||
			aws.ToInt64(got.ContentLength) != 4 || aws.ToString(got.ContentType) != "application/x-ndjson" ||
			aws.ToString(got.ContentEncoding) != "gzip" {
			t.Errorf("prefix %q: PutObject(%s/%s, %q, length %d, %s, %s)", tc.prefix, aws.ToString(got.Bucket), aws.ToString(got.Key),
				body, aws.ToInt64(got.ContentLength), aws.ToString(got.ContentType), aws.ToString(got.ContentEncoding))
		}
	}
}

func TestS3StoreErrors(t *testing.T) {
	s, _ := NewS3Store(aws.Config{Region: "eu-west-1"}, S3Options{Bucket: "logs", Prefix: "p"})
	denied := errors.New("AccessDenied")
	s.client = fakeS3{
		putObject:  func(*s3.PutObjectInput) error { return denied },
		headBucket: func(in *s3.HeadBucketInput) error { return denied },
	}
	if err := s.Put(context.Background(), "k", nil); !errors.Is(err, denied) || !strings.Contains(err.Error(), "s3://logs/p/k") {
		t.Errorf("Put: %v", err)
	}
	if err := s.Check(context.Background()); !errors.Is(err, denied) || !strings.Contains(err.Error(), "logs") {
		t.Errorf("Check: %v", err)
	}
}

func TestNewS3StoreValidates(t *testing.T) {
	longest := strings.Repeat("p", maxKeyBytes-1-archive.MaxKeyLength)
	if _, err := NewS3Store(aws.Config{}, S3Options{Bucket: "logs", Prefix: longest}); err != nil {
		t.Errorf("longest prefix refused: %v", err)
	}
	for name, o := range map[string]S3Options{
		"no bucket":       {Prefix: "p"},
		"prefix too long": {Bucket: "logs", Prefix: longest + "p"},
	} {
		if _, err := NewS3Store(aws.Config{}, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestS3StandIn pushes through the handler to the S3 stand-in (fauxqs) with
// the real SDK: the same push twice, as protobuf and as gzip JSON, is one
// object, whose records read back; a bucket that is not there is a 503 and
// an unhealthy /health.
func TestS3StandIn(t *testing.T) {
	cfg := standin.AWSConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	admin, bucket := standin.S3(t, ctx, cfg, "lokibridge")
	store, err := NewS3Store(cfg, S3Options{Bucket: bucket, Prefix: "loki/", UsePathStyle: true})
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
		gone, err := NewS3Store(cfg, S3Options{Bucket: standin.UniqueName(t, "lokibridge-none"), UsePathStyle: true})
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
