// Package store is the one DynamoDB adapter of the streams table: streams,
// their delivery counters and stream places (Streams), and API keys (Keys,
// which implements apikey.Store). Every kind of item shares one DynamoDBAPI.
//
// # The table's key scheme
//
// One table (topology.Spec.Table: string partition key "pk", string sort key
// "sk", no index). Times are RFC 3339 strings with nanoseconds, in UTC. This is
// the one description of what it holds; docs/architecture.md links here.
//
// A stream — pk "PROJECT#<project_id>", sk "STREAM#<stream_id>" (store.go).
// Attributes: id, project_id, name, destination_type, destination_config (the
// config as a JSON string, without its secrets), status, status_reason,
// filters and pii (JSON strings), created_at, updated_at, version (a number),
// and secrets (binary: the destination's secrets sealed by the Sealer, with
// "<project_id>/<stream_id>" as additional data); status_reason, filters, pii
// and secrets are absent when empty.
//   - Create: PutItem if attribute_not_exists(pk), after reserving a place
//     (below) and before the place may be reclaimed; a failed condition is an
//     earlier attempt of the same put, so success.
//   - Update: PutItem if attribute_exists(pk) AND version = <expected>; a
//     failed condition is stream.ErrNotFound when the stream is gone,
//     otherwise stream.ErrConflict.
//   - Suspend: UpdateItem SET status, status_reason, updated_at,
//     version = version + 1 if attribute_exists(pk) AND status = "active"; a
//     failed condition leaves the stream as it is, without an error, and
//     reports that this call did not suspend it (so only one caller
//     notifies).
//   - Delete: DeleteItem if attribute_exists(pk) (else stream.ErrNotFound),
//     then, best effort, the stream's health item and its place.
//   - Get: GetItem, strongly consistent. List and Active: Query pk = <pk> AND
//     begins_with(sk, "STREAM#") (List's cursor is the last stream id in
//     unpadded base64url; Active keeps status "active" and reads every page).
//
// A stream's delivery counters — pk "HEALTH#<project_id>#<stream_id>", sk
// "HEALTH" (health.go): a partition key per stream, since every delivery
// invocation writes it and a project's busy streams sharing the project's
// key would make it hot (docs/scaling.md). Until issue 16 they were kept
// at pk "PROJECT#<project_id>", sk "HEALTH#<stream_id>"; Health adds what
// is there (counts summed, the later time of each), and that item now
// holds only dead_letters_expired once written by the dead-letter store.
// Attributes: delivered_events,
// failed_events (events parked), retried_attempts (numbers);
// last_success_at, last_error (at most 512 bytes), last_error_at;
// failing_since and permanent_failures, the current stream.FailureRun,
// absent while the destination succeeds; and dead_letters_expired
// (shared/dlstore's sweep). Top-level numbers: an
// UpdateItem can ADD to one that does not exist yet.
//   - Record: one UpdateItem per stream and delivery invocation: ADD
//     delivered_events, retried_attempts, failed_events; SET
//     last_success_at when some were delivered, last_error and
//     last_error_at when some failed. In the same update, the run: REMOVE
//     failing_since and permanent_failures when some were delivered; SET
//     failing_since = if_not_exists(failing_since, now) and, for a
//     permanent failure, ADD permanent_failures when none were. ReturnValues
//     ALL_NEW hands the run back for the suspension decision. No condition:
//     the first record creates the item, and ADD is atomic, so concurrent
//     delivery functions never lose a count or move a run's start.
//     The same update counts the tally into its hour (hourly.go): ADD to
//     the hour's slot (ha_* for even hours, hb_* for odd) if it holds that
//     hour; the first write of an hour reads the item, SETs the hour
//     before last on the stream's hours item (pk the same, sk "HOURS",
//     attributes h<hour>, a week kept) and starts the slot conditional on
//     its hour and version.
//   - ResetFailures (enabling a stream): UpdateItem REMOVE failing_since,
//     permanent_failures if attribute_exists(pk).
//   - Health: GetItem of the stream's item and of the legacy one; no item
//     is a stream with nothing delivered yet.
//   - Delete (of the stream): DeleteItem of both.
//
// A stream's circuit breaker — pk "PROJECT#<project_id>", sk
// "CIRCUIT#<stream_id>" (circuits.go; shared/deliver.Breaker says what it
// means). Only streams whose destination failed have one. Attributes:
// version, failures, timeouts (numbers), reason (at most 512 bytes),
// open_until and probe_until (absent when not set), expires_at (epoch
// seconds, the table's TTL attribute: a day after the last open period or
// probe).
//   - Load: BatchGetItem, strongly consistent, 100 keys per call, unprocessed
//     keys read again.
//   - Swap: UpdateItem SET every attribute, version = <old>+1, if
//     attribute_not_exists(pk) (old version 0) or version = <old>; a failed
//     condition is another container's write, and the caller reads again.
//     UpdateItem, not PutItem: the delivery functions hold no PutItem.
//   - Delete of the stream removes it, best effort; TTL removes the rest.
//
// A project's stream places — pk "PROJECT#<project_id>", sk "SLOTS#streams"
// (slots.go, which explains the scheme). Attribute: ids, a string set with a
// place for every stream the project has or is creating (absent when empty).
//   - reserve: UpdateItem ADD ids if attribute_exists(pk) AND NOT
//     contains(ids, <id>) AND (attribute_not_exists(ids) OR size(ids) <
//     <limit>).
//   - count (first use in a project): PutItem of the stored streams' ids if
//     attribute_not_exists(pk).
//   - release (a delete, a reclaim): UpdateItem DELETE ids if
//     contains(ids, <id>).
//
// Dead letters, their jobs and a stream's expired count
// (dead_letters_expired on its health item) are kept by shared/dlstore in
// this table too; dlstore.go lists their items.
//
// An ingest request's Idempotency-Key — pk "IDEMPOTENCY#<project_id>#<key>",
// sk "IDEMPOTENCY" (attempts.go; shared/ingest says what it means). Its own
// partition, so ingestion's one write permission can be limited to these
// items (dynamodb:LeadingKeys in infra). Attributes: body_hash (hex SHA-256
// of the request), started_at (the first attempt), expires_at (epoch
// seconds, the table's TTL attribute: 24 h after started_at, rounded up),
// sent (a map from stream id to the marks of the messages enqueued for it),
// done (a boolean), accepted, streams, messages, filtered (the answer of a
// completed request, numbers).
//   - Get: GetItem, strongly consistent, once per request with a key; an
//     expired item still in the table is ignored by the reader.
//   - Put: one unconditional PutItem when an attempt ends having enqueued
//     something or completed; it holds everything enqueued so far.
//
// An API key — pk "APIKEY#<key_id>", sk "APIKEY" (keys.go). Attributes: id,
// name, hash (hex SHA-256 of the secret, which is never stored), projects (a
// list of strings), access, admin (a boolean), created_at, revoked_at (absent
// until revoked), last_four. Keys are revoked, never deleted.
//   - Create: PutItem if attribute_not_exists(pk).
//   - Get (authentication): GetItem, strongly consistent; an id not in
//     apikey's format is apikey.ErrNotFound without a read.
//   - List: Scan with the filter sk = "APIKEY", strongly consistent, every
//     page, sorted by created_at then id (an admin operation on a small table).
//   - Revoke: UpdateItem SET revoked_at = if_not_exists(revoked_at, <now>) if
//     attribute_exists(pk), returning the new item (else apikey.ErrNotFound).
package store
