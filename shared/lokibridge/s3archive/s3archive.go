package s3archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/logstream/logstream/shared/lokibridge/archive"
)

// maxKeyBytes is S3's limit on an object key: "a sequence of Unicode
// characters whose UTF-8 encoding is at most 1,024 bytes long" (Amazon S3
// User Guide, "Naming Amazon S3 objects").
const maxKeyBytes = 1024

// Options say where the objects go.
type Options struct {
	// Bucket receives the objects; required.
	Bucket string
	// Prefix, when set, comes before every key, followed by "/"; slashes
	// around it are ignored. Keys are <prefix>/tenant=…/dt=…/hour=…/….
	Prefix string
	// UsePathStyle addresses the bucket as <endpoint>/<bucket>/<key>; S3
	// stand-ins and most S3-compatible stores need it, AWS does not.
	UsePathStyle bool
}

// s3API is the part of the S3 client the store uses.
type s3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

// Store writes archive objects to an S3 bucket: the Loki bridge its large
// pushes, the Loki archiver its batches (lokibridge.Store, coalesce.Store).
// Its client keeps the SDK's defaults: the standard retryer (three
// attempts, so a throttled or failed PutObject is retried before the push
// is answered 503 or the batch's messages are received again) and a CRC32
// checksum S3 verifies before it stores an object.
type Store struct {
	bucket string
	prefix string // without slashes
	client s3API
}

// New returns the store for opts, with a client built from cfg: its
// endpoint comes from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL as the SDK
// resolves them.
func New(cfg aws.Config, opts Options) (*Store, error) {
	prefix := strings.Trim(opts.Prefix, "/")
	switch {
	case opts.Bucket == "":
		return nil, errors.New("s3 store: no bucket")
	case len(prefix)+1+archive.MaxKeyLength > maxKeyBytes:
		return nil, fmt.Errorf("s3 store: prefix is %d bytes; at most %d leave room for the longest key within S3's %d",
			len(prefix), maxKeyBytes-1-archive.MaxKeyLength, maxKeyBytes)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = opts.UsePathStyle
		if o.RequestChecksumCalculation == aws.RequestChecksumCalculationUnset {
			// config.LoadDefaultConfig's default; a hand-built aws.Config
			// leaves it unset, which would send no checksum at all.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
		}
	})
	return &Store{bucket: opts.Bucket, prefix: prefix, client: client}, nil
}

// Key is where key is stored in the bucket.
func (s *Store) Key(key string) string {
	if s.prefix == "" {
		return key
	}
	return s.prefix + "/" + key
}

// Put writes one archive object, replacing any object under the same key
// (a retry of the same push).
func (s *Store) Put(ctx context.Context, key string, body []byte) error {
	k := s.Key(key)
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:          aws.String(s.bucket),
		Key:             aws.String(k),
		Body:            bytes.NewReader(body),
		ContentLength:   aws.Int64(int64(len(body))),
		ContentType:     aws.String(archive.ContentType),
		ContentEncoding: aws.String(archive.ContentEncoding),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, k, err)
	}
	return nil
}

// Check asks S3 whether the bucket exists and the function may use it
// (HeadBucket needs s3:ListBucket on the bucket).
func (s *Store) Check(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)}); err != nil {
		return fmt.Errorf("head bucket %s: %w", s.bucket, err)
	}
	return nil
}
