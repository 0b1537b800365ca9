package destination

import (
	"regexp"
	"strings"
	"testing"
)

// charsetPatterns pairs each charset with the regexp it stands for.
var charsetPatterns = []struct {
	name    string
	set     charset
	pattern *regexp.Regexp
}{
	{"event bus name", eventBusName, regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,256}$`)},
	{"eventbridge source", eventBridgeSource, regexp.MustCompile(`^[/.\-_A-Za-z0-9]{1,256}$`)},
	{"loki tenant", lokiTenantID, regexp.MustCompile(`^[a-zA-Z0-9!\-_.*'()]{1,150}$`)},
}

var charsetSeeds = []string{"", "a", "default", "my-bus_1.x", "a/b", "tenant!*'()", "é", "a b", "a\x00",
	strings.Repeat("a", 150), strings.Repeat("a", 151), strings.Repeat("z", 256), strings.Repeat("z", 257), "[x]", "a^b", "-"}

func TestCharsetMatchesItsPattern(t *testing.T) {
	for _, p := range charsetPatterns {
		for _, s := range charsetSeeds {
			if got, want := p.set.MatchString(s), p.pattern.MatchString(s); got != want {
				t.Errorf("%s: MatchString(%.20q) = %v, the pattern says %v", p.name, s, got, want)
			}
		}
	}
}

func FuzzCharsetMatchesItsPattern(f *testing.F) {
	for _, s := range charsetSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range charsetPatterns {
			if got, want := p.set.MatchString(s), p.pattern.MatchString(s); got != want {
				t.Fatalf("%s: MatchString(%q) = %v, the pattern says %v", p.name, s, got, want)
			}
		}
	})
}
