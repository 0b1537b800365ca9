// Package archive is the format the Loki bridge writes to S3: gzip NDJSON
// objects, one record per log entry, under keys that partition by tenant,
// day and hour. A push written on its own is named by its content, so a
// client's retry of the same push overwrites its object instead of adding
// a second one; the Loki archiver writes many queued pushes (EncodeMessage)
// as one object named by when it was written (BatchKey).
//
// A record is
//
//	{"timestamp":"2026-11-24T07:00:00.123456789Z","labels":{"app":"api"},"line":…,"metadata":{"trace_id":"…"}}
//
// with the entry's time in RFC 3339 with all nine digits of nanoseconds,
// in UTC; the stream's
// labels and the entry's structured metadata as JSON objects with their
// names sorted ("metadata" left out when the entry has none); and "line" the
// entry's line — embedded as JSON (compacted) when it is a JSON object or
// array, a JSON string otherwise. Records keep the order of the push: stream
// by stream, entry by entry. Athena, DuckDB or jq read the objects as they
// are.
//
// The object key is
//
//	tenant=<tenant>/dt=YYYY-MM-DD/hour=HH/<32 hex>.ndjson.gz
//
// (the store adds its own prefix), where day and hour are those of the
// push's earliest entry, in UTC, and the name is the first 128 bits of the
// SHA-256 of the object's body, the gzip-compressed records (of the records
// themselves for a push the bridge queues, Records: the Loki archiver then
// writes it, with others, under a name of its own). The records
// depend only on what the push carries — not on its Content-Type or
// Content-Encoding — and the same records always compress to the same
// bytes, so the same push sent as protobuf and then retried as gzip JSON
// names the same object. (A retry across a release that compresses
// differently names a second object holding the same records.)
// Label and metadata order do not count; stream and entry order do, as they
// are part of the record order: Loki clients resend a failed batch as it was.
package archive
