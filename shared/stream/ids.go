package stream

// The identifiers a stream is addressed by are checked with a length and a
// byte set instead of regexps with counted repetitions ({0,127}, {32}),
// which Go's regexp compiles by unrolling at package init: about 1.5 ms and
// 2,700 allocations in every function that links this package, before its
// first request. ids_test.go fuzzes each check against the regexp it replaces.

// byteSet is a set of ASCII bytes.
type byteSet [256]bool

func setOf(ranges ...string) *byteSet {
	var s byteSet
	for _, r := range ranges {
		if len(r) == 3 && r[1] == '-' {
			for c := int(r[0]); c <= int(r[2]); c++ {
				s[c] = true
			}
			continue
		}
		for i := 0; i < len(r); i++ {
			s[r[i]] = true
		}
	}
	return &s
}

// all reports whether every byte of s is in the set.
func (b *byteSet) all(s string) bool {
	for i := 0; i < len(s); i++ {
		if !b[s[i]] {
			return false
		}
	}
	return true
}

var (
	alnum        = setOf("A-Z", "a-z", "0-9")
	projectBytes = setOf("A-Z", "a-z", "0-9", "._-")
	lowerHex     = setOf("0-9", "a-f")
	segmentBytes = setOf("A-Z", "a-z", "0-9", "_$@-")
)

// ValidProjectID reports whether id can name a project: 1 to 128 letters,
// digits, '.', '_' or '-', starting with a letter or a digit.
func ValidProjectID(id string) bool {
	return len(id) >= 1 && len(id) <= 128 && alnum[id[0]] && projectBytes.all(id[1:])
}

// ValidStreamID reports whether id has the form NewID produces: "str_"
// and 32 lowercase hex digits.
func ValidStreamID(id string) bool {
	return len(id) == 36 && id[:4] == "str_" && lowerHex.all(id[4:])
}

// validSegment reports whether s can be one segment of a field path: 1 to
// 64 letters, digits, '_', '$', '@' or '-'.
func validSegment(s string) bool {
	return len(s) >= 1 && len(s) <= 64 && segmentBytes.all(s)
}
