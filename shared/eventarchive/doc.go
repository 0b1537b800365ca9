// Package eventarchive is logstream's archive of record: every event
// ingestion accepted, as it was received (before any stream's filters or
// masking), kept per project for the retention the operator chooses, so a
// stream can be sent any window of its project's events again (shared/replay).
//
// The path of an event into the archive:
//
//	ingest ──(202 only once SQS holds it)──▶ archive queue ──Writer──▶ S3: one object per project and hour per batch
//
// Ingestion enqueues the events it accepted to the archive queue beside the
// streams' delivery queues, in the same request and under the same promise:
// the 202 means the archive queue holds them too. The archiver (Writer)
// receives up to a minute of messages at a time and writes one gzip NDJSON
// object per project and event hour, so the archive gets few, large objects
// (S3 bills per request) and a replay of a window reads only that window's
// partitions. docs/architecture.md ("The event archive") says why a queue
// rather than a write in the request.
//
// Layout (Hive-style partitions, so Athena or Glue can read it as a table
// partitioned by project, date and hour):
//
//	events/project=<project>/date=<YYYY-MM-DD>/hour=<HH>/<written ms>-<random>.n<events>.b<bytes>.ndjson.gz
//
// The hour is the events' own timestamp's (UTC), which is what a replay's
// since and until bound. The object's name carries how many events it holds
// and their bytes before compression: a listing of a window's partitions,
// with the compressed sizes S3 lists beside the names, is the window's index,
// so a replay's size is known without reading an object.
package eventarchive
