// Package datadog delivers events to a "datadog" stream: Datadog Log
// Management's HTTP intake, Logs API v2 "Send logs"
// (https://docs.datadoghq.com/api/latest/logs/#send-logs).
//
// # Wire format
//
// One request per batch:
//
//	POST https://http-intake.logs.<site>/api/v2/logs
//	DD-API-KEY: <api_key>
//	Content-Type: application/json
//	Content-Encoding: gzip
//
//	[{"ddsource":"logstream","service":"logstream","ddtags":"env:prod,team:sec",
//	  "hostname":"logstream","message":"PasswordsAuthenticate",
//	  "action":"PasswordsAuthenticate","event_id":"…","status":"success",
//	  "timestamp":"2026-11-24T07:00:00.000Z",…}, …]
//
// Each log entry is the event's own JSON object with the stream's envelope
// in front: ddsource (the stream's source, default "logstream"), service
// (default "logstream"), ddtags (the stream's tags joined by commas; left
// out when there are none), hostname ("logstream") and message. Datadog
// answers 202 with {} when it accepts the request.
//
// # Why the event's members sit at the top level
//
// Datadog parses a JSON log into attributes, nested objects into nested
// attributes (@client.geographicalContext.city), and reads a few reserved
// names itself (Pipelines → Preprocessing for JSON logs): timestamp is the
// log's date (Datadog lists it after @timestamp and before date, so an
// Auth0 event's own date does not override it), status/severity/level its
// status, host/hostname its host, service and message their namesakes.
// Splicing the event's bytes into the entry therefore makes every event
// field a searchable attribute, dates the log by the event's timestamp, and
// costs no parse and no re-encoding. The alternatives are worse: the event
// as a JSON string in message doubles its escaping and its size; the event
// nested under one key would hide timestamp from the date preprocessing and
// prefix every search. The reserved names work in the customer's favour
// with the vendor shapes carried here: Stytch's status (success, error)
// and Okta's severity (INFO, WARN) become the log status, and Auth0's
// hostname (the tenant) the host. Datadog's status mapping also means an
// event status starting with "f" (such as "failure") shows as Emergency;
// a customer can override it with a status remapper.
//
// The envelope only fills in what the event leaves out: a JSON object must
// not repeat a name, and a field the event carries itself (service,
// ddsource, ddtags, host or hostname, message) describes it better than the
// stream's default does. message is required by the API (HTTPLogItem) and
// is what the Log Explorer shows in its Content column; for an event
// without one it is a copy of the event's first short one-line description,
// displayMessage (Okta), description (Auth0) or action (Stytch), else "".
//
// # Limits and answers
//
// Limits follow the documented 1000 entries, 5 MB uncompressed per request
// and 1 MB per log, with headroom for the envelope. Datadog truncates a log
// over 1 MB and answers 2xx, so such events are parked by the core through
// Limits.MaxEventBytes; a payload that still ends up over a limit is never
// sent but answered TooLarge so the core splits it. Datadog also accepts,
// then drops, logs dated more than 18 hours in the past or 2 hours in the
// future (Send logs; log date remapper); such events are not sent but
// reported as Rejected in a deliver.PartialError so the core parks them
// with the reason. Answers are classified by sink.ClassOfStatus, which
// matches the statuses Send logs documents: 400 Rejected, 401 and 403
// Permanent, 408, 429, 500 and 503 Retryable (after any Retry-After), 413
// TooLarge.
package datadog
