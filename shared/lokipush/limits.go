package lokipush

// Limits bound what Parse reads and builds, so that no body, however it is
// crafted, costs more memory than the limits allow. A zero or negative field
// takes its default: Limits{} is DefaultLimits().
type Limits struct {
	// MaxBodyBytes bounds the body as sent, before any decompression.
	MaxBodyBytes int
	// MaxDecodedBytes bounds the body after Content-Encoding and, for
	// protobuf, snappy are undone. It also bounds what the parsed request's
	// structure allocates (its Entry and Label slices, the stream label
	// maps, Loki's push structs on the way), so a body of millions of empty
	// entries cannot expand past it as structs either.
	MaxDecodedBytes int
	// MaxLineBytes bounds one entry's line, in bytes.
	MaxLineBytes int
	// MaxEntries bounds the entries of one request, across its streams.
	MaxEntries int
}

// Defaults of Limits.
const (
	// DefaultMaxBodyBytes is Lambda's quota for a synchronous invocation's
	// payload (6 MB): a bigger body cannot reach the function at all. Loki's
	// Helm gateway allows 4M (nginx client_max_body_size), so any client that
	// pushes to a stock Loki stays below it.
	DefaultMaxBodyBytes = 6 << 20
	// DefaultMaxDecodedBytes leaves room for gzip JSON's usual 10:1 ratio on
	// a full body. Loki itself allows math.MaxInt32 (pkg/loghttp/push/push.go,
	// util.ParseProtoReader); Promtail and Alloy send batches of 1 MiB.
	DefaultMaxDecodedBytes = 64 << 20
	// DefaultMaxLineBytes is Loki's limits_config.max_line_size default,
	// 256KB (pkg/validation/limits.go; flagext.ByteSize reads KB as 1024).
	DefaultMaxLineBytes = 256 << 10
	// DefaultMaxEntries has no Loki counterpart: Loki bounds a push only by
	// its size. 100 000 entries is a full 64 MiB of ~670-byte lines, or ten
	// times a Promtail batch of 100-byte lines.
	DefaultMaxEntries = 100_000
)

// DefaultLimits returns the limits Parse applies to fields left zero.
func DefaultLimits() Limits {
	return Limits{
		MaxBodyBytes:    DefaultMaxBodyBytes,
		MaxDecodedBytes: DefaultMaxDecodedBytes,
		MaxLineBytes:    DefaultMaxLineBytes,
		MaxEntries:      DefaultMaxEntries,
	}
}

// withDefaults fills in the fields left zero (or set negative): a limit
// that is off by mistake must not mean "unlimited".
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	if l.MaxDecodedBytes <= 0 {
		l.MaxDecodedBytes = d.MaxDecodedBytes
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = d.MaxLineBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	return l
}
