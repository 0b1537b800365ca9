package main

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/logstream/logstream/shared/topology"
)

// The event archive's retention bounds, in whole days: S3 lifecycle expires
// objects in days, at least one; ten years is far beyond any replay anyone
// needs, so a larger value is a typo (hours for days), refused.
const (
	minArchiveRetentionDays = 1
	maxArchiveRetentionDays = 3650
)

// defaultArchiveRetentionDays is topology's default retention in days, so
// the bucket's lifecycle and the functions' LOGSTREAM_ARCHIVE_RETENTION
// agree unless the deployer sets both (through ArchiveRetentionDays).
var defaultArchiveRetentionDays = int(topology.DefaultArchiveRetention / (24 * time.Hour))

// archiveRetention resolves LogstreamStackProps.ArchiveRetentionDays: 0 is
// topology's default; anything outside 1–3650 days is refused.
func archiveRetention(days int) (time.Duration, error) {
	if days == 0 {
		days = defaultArchiveRetentionDays
	}
	if days < minArchiveRetentionDays || days > maxArchiveRetentionDays {
		return 0, fmt.Errorf("logstream: event archive retention %d days out of range %d-%d",
			days, minArchiveRetentionDays, maxArchiveRetentionDays)
	}
	return time.Duration(days) * 24 * time.Hour, nil
}

// eventArchive is the event archive's bucket and the KMS key its objects
// are encrypted with.
type eventArchive struct {
	Bucket awss3.Bucket
	Key    awskms.Key
}

// newEventArchive creates the event archive (issue 14): every accepted
// event, as received and before any masking, so the most sensitive data
// logstream keeps. Hence, unlike the Loki bridge's bucket:
//
//   - SSE-KMS with a customer-managed key of its own, so reading an object
//     takes kms:Decrypt on that key as well as s3:GetObject on the bucket,
//     and only the replay function has both (function.go); CloudTrail
//     records every use. The S3 Bucket Key makes S3 call KMS about once per
//     bucket-level key rather than once per object.
//   - expired after retention: the archive is there to replay recent
//     outages and backfill new streams, not to keep PII for ever; the
//     functions are told the same retention (LOGSTREAM_ARCHIVE_RETENTION),
//     so they never offer a window the lifecycle has already emptied.
//
// And like it: TLS only, never public, ACLs disabled, versioning off (an
// archiver retry overwrites its own object on purpose; versions would keep
// expired PII as noncurrent versions), incomplete multipart uploads
// aborted after a day, and retained when the stack is deleted, key too
// (without the key the retained objects could never be read).
func newEventArchive(scope constructs.Construct, prefix string, retention time.Duration) eventArchive {
	key := awskms.NewKey(scope, jsii.String("EventArchiveKey"), &awskms.KeyProps{
		Description:       jsii.String("logstream " + prefix + ": encrypts the event archive (every accepted event, unmasked)"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	bucket := awss3.NewBucket(scope, jsii.String("EventArchive"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_KMS,
		EncryptionKey:     key,
		BucketKeyEnabled:  jsii.Bool(true),
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(false),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("retention"),
			Enabled:                             jsii.Bool(true),
			Expiration:                          awscdk.Duration_Days(jsii.Number(retention.Hours() / 24)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	return eventArchive{Bucket: bucket, Key: key}
}
