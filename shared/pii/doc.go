// Package pii applies a stream's masking rules (stream.PII) to events, and
// derives the per-stream key its keyed hash uses.
//
// # Paths
//
// A rule names a field by a dotted path, as filters do ("actor.alternateId").
// Unlike a filter's path, a masking path also goes through arrays: where a
// name meets an array, the rest of the path applies to each element, arrays
// within arrays included. So "target.alternateId" masks the alternateId of
// every object in Okta's target array, and "actor.emails" masks every string
// of an emails array. Every member carrying a name is masked, a repeated one
// too (encoding/json would read the last, a scanner the first: neither may
// see plaintext). Names are compared after decoding escapes.
//
// # Actions
//
//   - redact: the value becomes "[REDACTED]"; an object too.
//   - hash: the value becomes the lowercase hex of HMAC-SHA256(stream key,
//     text): a string's decoded text, a number's or boolean's JSON text, an
//     object's bytes as written. 64 characters; equal values of one stream
//     hash equal, so they can still be counted and joined, while another
//     stream's (or deployment's) hashes of them differ.
//   - truncate_ip: an IP address becomes its network: the /24 of an IPv4
//     address ("198.51.100.0"), the /48 of an IPv6 one ("2001:db8:1::").
//     A value that is not an IP address is redacted: a rule that meant to
//     keep a network must not let an unexpected value through whole.
//   - xxhash: Auth0's hash, the decimal text of the unkeyed XXH64 (seed 0)
//     of a string's text, so values match those Auth0 log streams send.
//     It is weaker: anyone can hash a guessed email and compare; use it only
//     to correlate with Auth0's values.
//
// null stays null under every action: it holds nothing to hide.
//
// # Bytes
//
// Masking splices the new values into the event as written: every other
// byte, order, white space and escapes of the members it does not touch, is
// kept. The result is valid JSON whenever the event is.
package pii
