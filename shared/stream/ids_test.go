package stream

import (
	"regexp"
	"strings"
	"testing"
)

// The regexps the byte-set checks replace: the specification they must keep.
var (
	projectIDRegexp = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	streamIDRegexp  = regexp.MustCompile(`^str_[0-9a-f]{32}$`)
	segmentRegexp   = regexp.MustCompile(`^[A-Za-z0-9_$@-]{1,64}$`)
)

var idCases = []string{
	"", "a", "A", "0", ".", "-a", "_a", "a.b-c_d", "proj\n", "pröj", "a b", "a/b", "a$", "@x",
	strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("a", 128), strings.Repeat("a", 129),
	"str_0123456789abcdef0123456789abcdef", "str_0123456789ABCDEF0123456789abcdef",
	"str_0123456789abcdef0123456789abcde", "str_0123456789abcdef0123456789abcdef0",
	"STR_0123456789abcdef0123456789abcdef", "str_0123456789abcdef0123456789abcdeg", NewID(),
}

func checkIDs(t *testing.T, s string) {
	if got, want := ValidProjectID(s), projectIDRegexp.MatchString(s); got != want {
		t.Errorf("ValidProjectID(%q) = %v, the regexp says %v", s, got, want)
	}
	if got, want := ValidStreamID(s), streamIDRegexp.MatchString(s); got != want {
		t.Errorf("ValidStreamID(%q) = %v, the regexp says %v", s, got, want)
	}
	if got, want := validSegment(s), segmentRegexp.MatchString(s); got != want {
		t.Errorf("validSegment(%q) = %v, the regexp says %v", s, got, want)
	}
}

func TestIDChecksAgreeWithTheirRegexps(t *testing.T) {
	for _, s := range idCases {
		checkIDs(t, s)
	}
	if !ValidStreamID(NewID()) {
		t.Error("NewID makes an id ValidStreamID refuses")
	}
}

func FuzzIDChecks(f *testing.F) {
	for _, s := range idCases {
		f.Add(s)
	}
	f.Fuzz(checkIDs)
}
