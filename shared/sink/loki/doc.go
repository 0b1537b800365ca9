// Package loki delivers events to a "grafana_loki" stream: one push request
// per batch to the stream's Loki (Grafana Cloud Logs or self-hosted), in the
// stream's format.
//
// Wire format (Loki HTTP API, "Ingest logs", POST /loki/api/v1/push:
// https://grafana.com/docs/loki/latest/reference/loki-http-api/#ingest-logs;
// the receiving side is ParseLokiRequest in Loki's pkg/loghttp/push/push.go):
//
//   - "protobuf" (the default, and what Promtail and Alloy send): a
//     logproto.PushRequest (push.proto of Loki's module
//     github.com/grafana/loki/pkg/push), written by hand with protowire
//     exactly as Loki's generated Marshal writes it (its tests check this
//     byte for byte), so no binary links Loki's types, gogo or grpc;
//     Snappy block-compressed, Content-Type: application/x-protobuf and no
//     Content-Encoding. Loki decodes it with golang/snappy's Decode
//     (pkg/util/http.go, RawSnappy); s2.EncodeSnappy writes that format.
//   - "json": {"streams":[{"stream":{labels},"values":[[ns, line, metadata]]}]}
//     with Content-Type: application/json, gzip-compressed with
//     Content-Encoding: gzip. The timestamp is Unix epoch nanoseconds as a
//     string; the optional third element is the entry's structured metadata
//     (Loki ≥ 2.9, on by default from 3.0; pkg/loghttp/entry.go).
//
// Every request holds one stream, labelled {service="<project id>",
// source="logstream"} plus the stream's own static labels: few labels, each
// with one value per stream, as Loki's label best practices ask. Each entry's
// line is the event's JSON exactly as received, its timestamp the event's
// "timestamp", and its structured metadata the event's event_id and
// request_id, so a query can find one event or one API request without
// indexing them as labels. Entries are sorted by timestamp.
//
// HTTP basic auth carries the stream's username and password, and
// X-Scope-OrgID its tenant ID when one is set (Loki's multi-tenancy header).
//
// Loki answers 204 when it stored everything. A 400 lists the entries it
// refused (a timestamp too old or too new, a line too long) after storing
// the others; since Loki drops an entry identical in stream, timestamp and
// line to one it holds (pkg/chunkenc, "ignore duplicate lines", grafana/loki
// #1519), the core may resend parts of the batch while it isolates the bad
// entries without duplicating the good ones.
package loki
