// Package events holds logstream's sample payloads, for tests and docs: auth
// event logs shaped like the ones Stytch, Auth0 and Okta emit, one API Gateway
// HTTP API request per route, and an SQS batch of delivery envelopes.
//
// Every person, address and id in them is fictitious: example.com mailboxes,
// documentation IP ranges (RFC 5737) and AS numbers (RFC 5398).
package events

import "embed"

// FS holds the samples, so a test anywhere in the module reads them without
// relative paths:
//
//   - auth/: stytch.json, auth0.json and okta.json (JSON arrays) and
//     mixed.ndjson (all three vendors, one event per line). A few events carry
//     event_id and timestamp; logstream assigns them to the rest.
//   - apigw/: API Gateway HTTP API payload format 2.0 requests, as Lambda
//     receives them, for every route of topology.New.
//   - sqs/: an SQS event as a delivery function receives it; each body is a
//     logstream envelope {"v":1,"project_id","stream_id","events":[…]}.
//
//go:embed auth apigw sqs
var FS embed.FS

//go:generate go run gen_ingest_gzip.go
