// Package s3archive is the S3 adapter of the Loki bridge's archive: the
// bridge writes large pushes through it, and the Loki archiver
// (shared/lokibridge/coalesce) its batches of small ones. It links the S3
// client and the archive's key layout, nothing of the bridge's HTTP side.
package s3archive
