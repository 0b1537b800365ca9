package s3archive

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/logstream/logstream/shared/lokibridge/archive"
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
		s, err := New(aws.Config{Region: "eu-west-1"}, Options{Bucket: "logs", Prefix: tc.prefix})
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
	s, _ := New(aws.Config{Region: "eu-west-1"}, Options{Bucket: "logs", Prefix: "p"})
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

func TestNewValidates(t *testing.T) {
	longest := strings.Repeat("p", maxKeyBytes-1-archive.MaxKeyLength)
	if _, err := New(aws.Config{}, Options{Bucket: "logs", Prefix: longest}); err != nil {
		t.Errorf("longest prefix refused: %v", err)
	}
	for name, o := range map[string]Options{
		"no bucket":       {Prefix: "p"},
		"prefix too long": {Bucket: "logs", Prefix: longest + "p"},
	} {
		if _, err := New(aws.Config{}, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
