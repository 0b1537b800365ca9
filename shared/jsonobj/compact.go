package jsonobj

import "unicode/utf8"

// AppendCompact appends s without its insignificant white space when s is
// exactly one JSON value (RFC 8259) in valid UTF-8, and reports whether it
// was; when it is not, dst comes back unchanged. It is json.Valid,
// json.Compact and utf8.Valid in one pass, without json.Compact's function
// call per byte: it was half the time of ingestion's Parse and of the
// bridge's archive encoding. s is copied in runs between its white space
// (once, whole, when it is compact already). FuzzAppendCompact holds it to
// encoding/json's answers.
//
// Only strings may hold bytes above 0x7F, so checking UTF-8 there costs
// nothing on ASCII text. Like encoding/json, it refuses values nested more
// than maxDepth deep.
func AppendCompact[T ~string | ~[]byte](dst []byte, s T) ([]byte, bool) {
	out, end, ok := CompactValue(dst, s, 0, nil)
	if !ok || skip(s, end) != len(s) {
		return dst, false
	}
	return out, true
}

// CompactValue is AppendCompact for the one value that starts at s[i],
// after white space: it returns where the value ends in s, and leaves what
// follows to the caller (a splitter of arrays or lines). ok is false, with
// dst unchanged, when no valid value starts there.
//
// With index non-nil and the value an object, it also appends three
// offsets for each of the object's own members, relative to the object's
// first byte in dst, which make walking them again unnecessary: where the
// member's name starts and ends inside its quotes, escapes and all, and
// where its value ends; the value starts two bytes after the name's end,
// after `":`. On failure index comes back as it was.
func CompactValue[T ~string | ~[]byte](dst []byte, s T, i int, index *[]uint32) (out []byte, end int, ok bool) {
	i = skip(s, i)
	c := compactor[T]{s: s, i: i, mark: i, dst: dst, base: len(dst), index: index}
	var n int
	if index != nil {
		n = len(*index)
	}
	if !c.value() {
		if index != nil {
			*index = (*index)[:n]
		}
		return dst, i, false
	}
	return append(c.dst, s[c.mark:c.i]...), c.i, true
}

// skip is where white space from s[i] ends.
func skip[T ~string | ~[]byte](s T, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// compactor copies s to dst in runs between white space: the bytes from
// mark up to i are kept and not yet copied. A compact value is checked
// byte by byte and copied once, whole, at the end.
type compactor[T ~string | ~[]byte] struct {
	s     T
	i     int
	mark  int
	dst   []byte
	depth int
	// index receives the offsets of the outermost object's members,
	// relative to base, where the value starts in dst (see CompactValue).
	index *[]uint32
	base  int
}

// at is where s[i] is, or will be once copied, in the value's output:
// the bytes from mark to i are all kept.
func (c *compactor[T]) at() uint32 {
	return uint32(len(c.dst) + c.i - c.mark - c.base)
}

// space skips white space, copying what was kept before it.
func (c *compactor[T]) space() {
	j := c.i
	for j < len(c.s) && (c.s[j] == ' ' || c.s[j] == '\t' || c.s[j] == '\n' || c.s[j] == '\r') {
		j++
	}
	if j > c.i {
		c.dst = append(c.dst, c.s[c.mark:c.i]...)
		c.mark = j
		c.i = j
	}
}

// value reads one value, after white space.
func (c *compactor[T]) value() bool {
	c.space()
	if c.i >= len(c.s) {
		return false
	}
	switch ch := c.s[c.i]; {
	case ch == '{':
		return c.container('}')
	case ch == '[':
		return c.container(']')
	case ch == '"':
		return c.str()
	case ch == 't':
		return c.literal("true")
	case ch == 'f':
		return c.literal("false")
	case ch == 'n':
		return c.literal("null")
	case ch == '-' || '0' <= ch && ch <= '9':
		return c.number()
	}
	return false
}

// container reads an object (end '}') or array (end ']') whose opening
// bracket is at c.i.
func (c *compactor[T]) container(end byte) bool {
	if c.depth++; c.depth > maxDepth {
		return false
	}
	c.i++
	c.space()
	if c.i < len(c.s) && c.s[c.i] == end {
		c.i++
		c.depth--
		return true
	}
	record := end == '}' && c.depth == 1 && c.index != nil
	for {
		var ks, ke uint32
		if end == '}' {
			c.space()
			ks = c.at() + 1
			if c.i >= len(c.s) || c.s[c.i] != '"' || !c.str() {
				return false
			}
			ke = c.at() - 1
			c.space()
			if c.i >= len(c.s) || c.s[c.i] != ':' {
				return false
			}
			c.i++
		}
		if !c.value() {
			return false
		}
		if record {
			*c.index = append(*c.index, ks, ke, c.at())
		}
		c.space()
		if c.i >= len(c.s) {
			return false
		}
		switch c.s[c.i] {
		case ',':
			c.i++
		case end:
			c.i++
			c.depth--
			return true
		default:
			return false
		}
	}
}

// str reads a string whose opening quote is at c.i.
func (c *compactor[T]) str() bool {
	s := c.s
	i := c.i + 1
	for {
		for i < len(s) && plain[s[i]] {
			i++
		}
		if i >= len(s) {
			return false
		}
		switch b := s[i]; {
		case b == '"':
			c.i = i + 1
			return true
		case b == '\\':
			if i+1 >= len(s) {
				return false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) || !isHex[s[i+2]] || !isHex[s[i+3]] || !isHex[s[i+4]] || !isHex[s[i+5]] {
					return false
				}
				i += 6
			default:
				return false
			}
		case b >= utf8.RuneSelf:
			n := runeLen(s, i)
			if n == 0 {
				return false
			}
			i += n
		default: // a control character
			return false
		}
	}
}

// runeLen is the length of the valid UTF-8 sequence at s[i] (whose first
// byte is above 0x7F), or 0 when it is not one: the table of well-formed
// sequences in the Unicode Standard (§3.9, table 3-7), which refuses
// overlong forms, surrogates and code points above U+10FFFF as
// utf8.Valid does.
func runeLen[T ~string | ~[]byte](s T, i int) int {
	b0 := s[i]
	var n int
	lo, hi := byte(0x80), byte(0xBF) // the second byte's range
	switch {
	case 0xC2 <= b0 && b0 <= 0xDF:
		n = 2
	case b0 == 0xE0:
		n, lo = 3, 0xA0
	case 0xE1 <= b0 && b0 <= 0xEC, b0 == 0xEE, b0 == 0xEF:
		n = 3
	case b0 == 0xED:
		n, hi = 3, 0x9F
	case b0 == 0xF0:
		n, lo = 4, 0x90
	case 0xF1 <= b0 && b0 <= 0xF3:
		n = 4
	case b0 == 0xF4:
		n, hi = 4, 0x8F
	default:
		return 0
	}
	if i+n > len(s) || s[i+1] < lo || s[i+1] > hi {
		return 0
	}
	for j := i + 2; j < i+n; j++ {
		if s[j] < 0x80 || s[j] > 0xBF {
			return 0
		}
	}
	return n
}

// literal reads true, false or null.
func (c *compactor[T]) literal(w string) bool {
	return c.skipTo(word(c.s, c.i, w))
}

// number reads a number (RFC 8259 §6).
func (c *compactor[T]) number() bool {
	return c.skipTo(number(c.s, c.i))
}

// skipTo keeps s[c.i:end] and moves past it, when end is not -1.
func (c *compactor[T]) skipTo(end int) bool {
	if end < 0 {
		return false
	}
	c.i = end
	return true
}
