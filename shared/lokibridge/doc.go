// Package lokibridge is the Loki-compatible S3 bridge: an HTTP handler, for a
// Lambda behind a Function URL or API Gateway's HTTP API (both send payload
// format 2.0), that takes Loki push requests from any Loki client (Promtail,
// Alloy, the Docker driver, Vector, Fluent Bit, Stytch …) and archives each
// one to S3 (package archive): a large push as its own object, a small one
// through the bridge's SQS queue, whose pushes the Loki archiver writes a
// tenant's hour of a batch at a time (package coalesce; docs/cost.md).
//
// Routes:
//
//	POST /loki/api/v1/push   basic auth; 204 once the object is stored or the message queued
//	GET  /ready              200 "ready", no auth (Loki's readiness probe)
//	GET  /health             200 "ok" when the bucket answers, else 503; no auth, no details
//
// Nothing is lost silently: the answer to a push is 204 only after the store
// accepted the object or the queue the message, and 503 whenever it did
// not, which every Loki client retries. Since an object's key is derived
// from the push's content, a retry overwrites whatever a failed attempt may
// have left instead of duplicating it; a queued push is archived at least
// once (a retry whose first attempt reached SQS is archived twice).
//
// Errors are answered as Loki answers them — a plain-text message with the
// status (Loki's distributor uses http.Error) — because Loki clients log that
// text: 400 malformed body, labels or tenant, or entries dated outside the
// plausible window (event.DefaultWindow: as Loki does, the push's other
// entries are archived and the 400 names the first refused); 401 missing or wrong
// credentials; 404 unknown path; 405 wrong method; 413 body over the limit;
// 415 unknown Content-Type or Content-Encoding; 503 not stored, retry.
//
// The tenant is X-Scope-OrgID, Loki's tenant header, when the client sends
// one, and otherwise the authenticated username: every credential may write
// for any tenant, as with a Loki behind an authenticating proxy.
package lokibridge
