package lokipush

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// parseLabels parses a stream's label string, `{name="value", …}`, as Loki's
// syntax.ParseLabels does (Prometheus' promql parser.ParseMetric, then
// labels.NewBuilder to drop empty values), but only in the form every Loki
// client writes (Prometheus' labels.Labels.String): names
// [a-zA-Z_][a-zA-Z0-9_]*, values in double quotes with Go's escapes,
// whitespace and one trailing comma allowed. What ParseMetric takes beyond
// that (a metric name before the brace, quoted UTF-8 label names, single or
// back quotes) is a 400 here. A duplicate name is a 400, as Loki's validator
// makes it (ValidateLabels), and so is a set with no non-empty label.
//
// A value without escapes is a substring of s, not a copy.
func parseLabels(s string) (map[string]string, error) {
	p := labelParser{s: s}
	ls := make(map[string]string)
	p.space()
	if !p.take('{') {
		return nil, p.errorf(`expected "{"`)
	}
	for {
		p.space()
		if p.take('}') {
			break
		}
		name := p.name()
		if name == "" {
			return nil, p.errorf(`expected a label name or "}"`)
		}
		p.space()
		if !p.take('=') {
			return nil, p.errorf("expected \"=\" after label name %q", name)
		}
		p.space()
		value, err := p.quoted()
		if err != nil {
			return nil, err
		}
		if _, dup := ls[name]; dup {
			return nil, badRequest(msgDuplicateLabel, truncate(s), truncate(name))
		}
		ls[name] = value
		p.space()
		if p.take(',') {
			continue
		}
		if !p.take('}') {
			return nil, p.errorf(`expected "," or "}"`)
		}
		break
	}
	p.space()
	if p.i < len(s) {
		return nil, p.errorf(`unexpected text after "}"`)
	}
	return dropEmpty(ls)
}

// dropEmpty removes the labels with an empty value and refuses a set left
// empty (Loki: validation.MissingLabelsErrorMsg).
func dropEmpty(ls map[string]string) (map[string]string, error) {
	for k, v := range ls {
		if v == "" {
			delete(ls, k)
		}
	}
	if len(ls) == 0 {
		return nil, badRequest(msgMissingLabels)
	}
	return ls, nil
}

type labelParser struct {
	s string
	i int
}

// space skips what the promql lexer counts as space.
func (p *labelParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *labelParser) take(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *labelParser) name() string {
	start := p.i
	for p.i < len(p.s) && isNameByte(p.s[p.i], p.i > start) {
		p.i++
	}
	return p.s[start:p.i]
}

// quoted reads a double-quoted value with Go's escapes (\n, \", \\, \x41,
// \u00e9, …); a raw newline ends it unterminated, as in promql's lexer.
func (p *labelParser) quoted() (string, error) {
	if !p.take('"') {
		return "", p.errorf("expected a double-quoted label value")
	}
	start, escaped := p.i-1, false
	for ; p.i < len(p.s); p.i++ {
		switch p.s[p.i] {
		case '\\':
			escaped = true
			p.i++ // the escaped byte cannot end the string
		case '\n':
			p.i = start
			return "", p.failf("unterminated quoted string")
		case '"':
			p.i++
			if !escaped {
				return p.s[start+1 : p.i-1], nil
			}
			lit := p.s[start:p.i]
			v, err := strconv.Unquote(lit)
			if err != nil {
				p.i = start
				return "", p.failf("invalid escape in label value %s", truncate(lit))
			}
			return v, nil
		}
	}
	p.i = start
	return "", p.failf("unterminated quoted string")
}

// errorf is failf with what was found instead.
func (p *labelParser) errorf(format string, args ...any) error {
	got := "end of input"
	if p.i < len(p.s) {
		got = strconv.QuoteRune(rune(p.s[p.i]))
		if p.s[p.i] >= 0x80 {
			got = fmt.Sprintf("byte %#x", p.s[p.i])
		}
	}
	return p.failf("%s, got %s", fmt.Sprintf(format, args...), got)
}

// failf is a 400 in the form of Loki's answer to a label string promql
// cannot parse: "couldn't parse labels: 1:<column>: parse error: …".
func (p *labelParser) failf(format string, args ...any) error {
	return badRequest(msgCouldNotParseLabels+"1:%d: parse error: %s", p.i+1, fmt.Sprintf(format, args...))
}

// isNameByte reports whether c may be in a label name
// ([a-zA-Z_][a-zA-Z0-9_]*, Prometheus' legacy name rule), digits only after
// the first byte.
func isNameByte(c byte, notFirst bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || notFirst && c >= '0' && c <= '9'
}

func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i], i > 0) {
			return false
		}
	}
	return true
}

// LabelString is the stream's label set as Loki prints one in its messages,
// `{a="b", c="d"}`, cut to 1 KiB: for a message about the stream.
func (s Stream) LabelString() string { return truncate(labelString(s.Labels)) }

// labelString is ls as Loki prints a label set in its messages
// (labels.Labels.String): sorted, `{a="b", c="d"}`.
func labelString(ls map[string]string) string {
	names := make([]string, 0, len(ls))
	for k := range ls {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(ls[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// truncate shortens what a message echoes back from the request: a
// label set is short in any sane request, but nothing stops one from being
// megabytes long.
func truncate(s string) string {
	const max = 1024
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
