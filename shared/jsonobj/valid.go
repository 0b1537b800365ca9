package jsonobj

// maxDepth is encoding/json's nesting limit (maxNestingDepth): Valid
// refuses what json.Valid refuses, including a value nested deeper.
const maxDepth = 10000

// Valid reports whether b is one valid JSON value (RFC 8259) with white
// space around it, exactly as json.Valid does: the same grammar for
// numbers, literals and escapes, control characters refused inside strings,
// bytes from 0x80 on accepted as they are (encoding/json does not check
// UTF-8 either), and values nested at most 10,000 deep.
//
// It exists because json.Valid, a state machine driven one byte at a time
// through a function value, was a quarter of the CPU of sending to
// EventBridge, which must check every event before it becomes an entry's
// Detail. This walks the value directly, with tables for the bytes of
// strings; it is fuzzed against json.Valid (FuzzValid) and does not
// allocate unless values nest more than 64 deep.
func Valid(b []byte) bool {
	i := validValue(b, skipSpace(b, 0), maxDepth)
	return i >= 0 && skipSpace(b, i) == len(b)
}

// ValidMembers reports whether obj is one valid JSON object (IsObject) and
// calls fn with the name and value of each of its top-level members, as
// Members does, in the same pass: a sender that must both check an event
// and read some of its members reads it once. fn sees the members before a
// fault, when there is one.
func ValidMembers(obj []byte, fn func(key, value []byte)) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return skipSpace(obj, i+1) == len(obj)
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return false
		}
		kEnd := validString(obj, i)
		if kEnd < 0 {
			return false
		}
		key := obj[i+1 : kEnd-1]
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return false
		}
		v := skipSpace(obj, i+1)
		vEnd := validValue(obj, v, maxDepth-1) // the object is one level
		if vEnd < 0 {
			return false
		}
		fn(key, obj[v:vEnd])
		i = skipSpace(obj, vEnd)
		if i >= len(obj) {
			return false
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return skipSpace(obj, i+1) == len(obj)
		default:
			return false
		}
	}
}

// validValue returns the index just past the valid JSON value that starts
// at b[i], with containers nested at most depth deep, or -1.
func validValue(b []byte, i, depth int) int {
	var buf [64]bool // open containers, true for an object
	stack := buf[:0]
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return -1
		}
		switch c := b[i]; c {
		case '{', '[':
			// encoding/json counts a container before it knows it is
			// empty, so an empty one counts too.
			if len(stack) == depth {
				return -1
			}
			obj := c == '{'
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == c+2 { // '{'+2 == '}', '['+2 == ']'
				i++
				break
			}
			stack = append(stack, obj)
			if obj {
				if i = member(b, i); i < 0 {
					return -1
				}
			}
			continue // to the first value inside
		case '"':
			if i = validString(b, i); i < 0 {
				return -1
			}
		case 't':
			if i = word(b, i, "true"); i < 0 {
				return -1
			}
		case 'f':
			if i = word(b, i, "false"); i < 0 {
				return -1
			}
		case 'n':
			if i = word(b, i, "null"); i < 0 {
				return -1
			}
		default:
			if i = number(b, i); i < 0 {
				return -1
			}
		}
		// A value ended at b[i-1]: what follows closes containers or
		// separates values.
		for {
			if len(stack) == 0 {
				return i
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return -1
			}
			obj := stack[len(stack)-1]
			c := b[i]
			if c == ',' {
				i = skipSpace(b, i+1)
				if obj {
					if i = member(b, i); i < 0 {
						return -1
					}
				}
				break // to the next value
			}
			if obj && c != '}' || !obj && c != ']' {
				return -1
			}
			stack = stack[:len(stack)-1]
			i++
		}
	}
}

// member checks the name and colon of an object member that starts at
// b[i] and returns the index of its value, or -1.
func member(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = validString(b, i); i < 0 {
		return -1
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipSpace(b, i+1)
}

// strByte classes the bytes of a JSON string: 0 for a byte that stands for
// itself, 1 for a control character (refused), 2 for the backslash that
// starts an escape, 3 for the closing quote.
var strByte = func() (t [256]uint8) {
	for c := range 0x20 {
		t[c] = 1
	}
	t['\\'] = 2
	t['"'] = 3
	return t
}()

// escaped marks the bytes that may follow a backslash, but for the u of a
// \uXXXX escape (RFC 8259 §7).
var escaped = [256]bool{'"': true, '\\': true, '/': true, 'b': true, 'f': true, 'n': true, 'r': true, 't': true}

// validString returns the index just past the JSON string whose opening
// quote is b[i], or -1 when it is not terminated or holds a control
// character or an invalid escape.
func validString(b []byte, i int) int {
	i++
	for {
		for i < len(b) && strByte[b[i]] == 0 {
			i++
		}
		if i >= len(b) {
			return -1
		}
		switch strByte[b[i]] {
		case 1:
			return -1
		case 3:
			return i + 1
		}
		// A backslash.
		i++
		switch {
		case i >= len(b):
			return -1
		case b[i] == 'u':
			if len(b)-i < 5 || !hex4(b[i+1:i+5]) {
				return -1
			}
			i += 5
		case escaped[b[i]]:
			i++
		default:
			return -1
		}
	}
}

// hex4 reports whether the four bytes of h are hexadecimal digits.
func hex4(h []byte) bool {
	return isHex[h[0]] && isHex[h[1]] && isHex[h[2]] && isHex[h[3]]
}

var isHex = func() (t [256]bool) {
	for _, c := range "0123456789abcdefABCDEF" {
		t[c] = true
	}
	return t
}()

// word returns the index just past the literal w at b[i], or -1. It,
// number and digits serve AppendCompact on strings too.
func word[T ~string | ~[]byte](b T, i int, w string) int {
	if len(b)-i < len(w) || string(b[i:i+len(w)]) != w {
		return -1
	}
	return i + len(w)
}

// number returns the index just past the JSON number at b[i], or -1:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (RFC 8259 §6).
func number[T ~string | ~[]byte](b T, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i+1 >= len(b) || !isDigit(b[i+1]) {
			return -1
		}
		i = digits(b, i+1)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = digits(b, i)
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// digits returns the index of the first byte from b[i] on that is not a
// decimal digit.
func digits[T ~string | ~[]byte](b T, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}
