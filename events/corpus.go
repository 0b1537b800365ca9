package events

import (
	"bytes"
	"time"
)

// Corpus is n events of auth/mixed.ndjson (all three vendors), its lines
// cycled and their times moved to now (Fresh): the benchmarks' shared
// corpus, so that parse, filter and mask figures are over the same events
// and their ratios mean something.
func Corpus(n int, now time.Time) ([][]byte, error) {
	src, err := FS.ReadFile("auth/mixed.ndjson")
	if err != nil {
		return nil, err
	}
	var lines [][]byte
	for _, l := range bytes.Split(Fresh(src, now), []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			lines = append(lines, l)
		}
	}
	all := make([][]byte, 0, n+len(lines))
	for len(all) < n {
		all = append(all, lines...)
	}
	return all[:n], nil
}
