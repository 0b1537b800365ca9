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
//   - xxhash: the unkeyed XXH64 (seed 0, github.com/cespare/xxhash/v2) of
//     the same text as hash, as 16 lowercase hex digits of its big-endian
//     value. Auth0's log streams offer "hash" with algorithm "xxhash"; its
//     documentation names the algorithm but not the text it writes, so
//     compare one value Auth0 sent before relying on equality. It is much
//     weaker than hash: anyone can hash a guessed email and compare, so it
//     hides nothing from someone who can guess; it is there only for
//     customers who must correlate with Auth0's values.
//
// null stays null under every action: it holds nothing to hide.
//
// # Bytes
//
// Masking splices the new values into the event as written: every other
// byte, order, white space and escapes of the members it does not touch, is
// kept. The result is valid JSON whenever the event is.
package pii
