// Package s3 is the delivery pipeline of "s3" streams: S3 archive (gzip NDJSON objects), with its own S3 client.
// It is the one package a delivery function imports for its destination type.
package s3

import (
	"github.com/logstream/logstream/shared/app/deliverfn"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	sender "github.com/logstream/logstream/shared/sink/s3archive"
)

// Pipeline builds the s3 sender.
var Pipeline = deliverfn.Pipeline{
	Type:   destination.S3,
	Limits: sender.Limits,
	Sender: func(c deliverfn.Clients) deliver.Sender { return newS3(c) },
}

func newS3(c deliverfn.Clients) *sender.Sender {
	s := sender.New(c.AWS)
	s.UsePathStyle = c.S3PathStyle
	return s
}
