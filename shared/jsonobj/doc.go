// Package jsonobj reads the top-level members of one JSON object without
// decoding it: each member's name as written and the raw bytes of its value,
// in order. Ingestion uses it to find event_id and timestamp, and the
// senders to find the few fields their envelopes depend on, while the event
// itself passes through byte for byte.
//
// Members checks the object's structure — quoted strings, matched brackets,
// colons and commas, nothing but white space after the closing brace — and
// refuses an object whose structure is broken, so a damaged event is never
// spliced into a request as if it were whole. It does not check the grammar
// inside strings and literals (escapes, UTF-8, the spelling of numbers and
// true): events reach the senders valid from ingestion, and IsObject
// (Valid, the same check as json.Valid, faster) is the full check where one
// is needed. It does not allocate
// (unless values nest more than 64 deep), and it is fuzzed against
// encoding/json: every valid object is accepted, with the members and raw
// values encoding/json finds.
//
// It is written by hand, from the scanner ingestion had, rather than on
// github.com/buger/jsonparser. Walking every member of the events in
// events/auth takes 31 µs here (BenchmarkMembers), against 39 µs with
// ingestion's old scanner and 45 µs with jsonparser.ObjectEach, measured
// side by side: finding the end of a string with bytes.IndexByte is most of
// the difference. jsonparser also hands string values over without their
// quotes and names already unescaped, where the senders splice raw values
// and some compare names as written, and it stops at the closing brace, so
// `{"a":1}{"b":2}` would pass as one object.
package jsonobj
