// Package lokipush parses Loki push requests (POST /loki/api/v1/push) as
// Loki's own distributor does, within limits: the body of a request from
// Promtail, Alloy, the Docker driver, Fluent Bit, Vector or logstream's own
// Loki sender (shared/sink/loki) comes out as streams of entries.
//
// It is the parsing layer only: no HTTP server, no storage. A handler reads
// the two headers and the body, calls Parse, and answers StatusOf(err) with
// err's message, which is worded as Loki words the same refusal.
//
// What Parse reads, following ParseLokiRequest in Loki's
// pkg/loghttp/push/push.go (v3.5.3):
//
//   - Content-Type application/x-protobuf: a Snappy block holding a
//     logproto.PushRequest (push.proto of github.com/grafana/loki/pkg/push),
//     decoded with protowire as Loki's generated Unmarshal decodes it (the
//     tests and a fuzz target compare the two), so no binary links Loki's
//     types, gogo or grpc. Labels are
//     the Prometheus text form, `{a="b", c="d"}`; each entry's structured
//     metadata is Entry.StructuredMetadata.
//   - Content-Type application/json: {"streams":[{"stream":{labels},
//     "values":[["<unix ns>","<line>",{metadata}]]}]} (pkg/loghttp/query.go,
//     entry.go).
//   - Content-Encoding none, gzip or deflate on either (snappy too, on
//     protobuf, where it names what the body already is).
//
// Where Parse differs from Loki it is to refuse, with a clearer status or
// message, what Loki would refuse later or store mangled: see Parse,
// parseJSON and parseLabels. Every limit is checked before the memory it
// guards is allocated, so a request over a limit costs at most its body and
// about twice Limits.MaxDecodedBytes, however far it would inflate, and is
// refused at the first byte or entry over the limit.
package lokipush
