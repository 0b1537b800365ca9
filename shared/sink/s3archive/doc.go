// Package s3archive delivers events to an "s3" stream: each batch becomes one
// gzip-compressed NDJSON object in the customer's bucket.
//
// Wire format (one PutObject per batch, Amazon S3 API Reference, PutObject):
//
//	PUT /<bucket>/<key>   (virtual-hosted <bucket>.s3.<region>.amazonaws.com, or path style)
//	Content-Type: application/x-ndjson
//	Content-Encoding: gzip
//	x-amz-checksum-crc32: …   (the SDK's default request checksum; a trailer over TLS)
//
//	body: gzip of the events as compact JSON, one per line, each line ending in "\n"
//
// The key is
//
//	[<prefix>/]project=<project id>/stream=<stream id>/dt=YYYY-MM-DD/hour=HH/<batch key>.ndjson.gz
//
// with dt and hour the UTC time ingestion queued the events (the SQS message's
// SentTimestamp), so the partitions are Hive-style (Athena, Glue) and a retry
// lands in the same partition as the first attempt. The batch key is the SQS
// message id (Limits.PerMessage keeps a batch within one message), so a retry
// of a message overwrites its object instead of writing a duplicate: S3
// "never adds partial objects; if you receive a success response, Amazon S3
// added the entire object", and a later PUT of the same key replaces it.
//
// Credentials: logstream's own (the Lambda role) by default, which the
// customer grants s3:PutObject on the prefix in the bucket policy. When the
// stream names a role_arn, that role is assumed with STS AssumeRole,
// RoleSessionName "logstream-<stream id>" and ExternalId set to the stream's
// project id. The customer's trust policy for that role MUST require it:
//
//	"Condition": {"StringEquals": {"sts:ExternalId": "<project id>"}}
//
// Otherwise another logstream project that learns the role's ARN could
// configure it on its own stream and have logstream write into the
// customer's bucket (the confused-deputy problem, IAM User Guide, "Access to
// AWS accounts owned by third parties").
package s3archive
