// Package archivestore is the event archive in S3 (shared/eventarchive's
// Store and Reader): objects are put whole, listed by partition prefix and
// read whole. The bucket's default encryption (SSE-KMS, infra) encrypts
// every object; no request names a key, so the same code runs against the
// local S3 stand-in.
package archivestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/logstream/logstream/shared/eventarchive"
)

// Bucket is the event archive's bucket.
type Bucket struct {
	client *s3.Client
	name   string
}

var (
	_ eventarchive.Store  = (*Bucket)(nil)
	_ eventarchive.Reader = (*Bucket)(nil)
)

// New returns the archive in bucket name; pathStyle addresses the bucket in
// the path (for S3-compatible endpoints with no bucket host names).
func New(cfg aws.Config, name string, pathStyle bool) (*Bucket, error) {
	if name == "" {
		return nil, errors.New("archivestore: no bucket")
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		if o.RequestChecksumCalculation == aws.RequestChecksumCalculationUnset {
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
		}
		// A response without a checksum (S3-compatible stores) is read
		// unvalidated, as the SDK does; it need not say so on every Get.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	return &Bucket{client: client, name: name}, nil
}

// Put writes one object.
func (b *Bucket) Put(ctx context.Context, key string, body []byte) error {
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:          aws.String(b.name),
		Key:             aws.String(key),
		Body:            bytes.NewReader(body),
		ContentLength:   aws.Int64(int64(len(body))),
		ContentType:     aws.String(eventarchive.ContentType),
		ContentEncoding: aws.String(eventarchive.ContentEncoding),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", b.name, key, err)
	}
	return nil
}

// List returns one page (up to 1,000 keys, S3's most) of the keys under
// prefix after startAfter.
func (b *Bucket) List(ctx context.Context, prefix, startAfter string) ([]eventarchive.Object, bool, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(b.name), Prefix: aws.String(prefix), MaxKeys: aws.Int32(1000)}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	out, err := b.client.ListObjectsV2(ctx, in)
	if err != nil {
		return nil, false, fmt.Errorf("list s3://%s/%s: %w", b.name, prefix, err)
	}
	objs := make([]eventarchive.Object, 0, len(out.Contents))
	for _, o := range out.Contents {
		objs = append(objs, eventarchive.Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size)})
	}
	return objs, aws.ToBool(out.IsTruncated), nil
}

// Get reads an object's stored body.
func (b *Bucket) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", b.name, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", b.name, key, err)
	}
	return body, nil
}
