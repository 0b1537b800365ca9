package jsonobj

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"unicode/utf8"
)

// Errors of Members and Elements: the input is not one JSON object (array)
// with intact structure.
var (
	ErrNotObject = errors.New("not a well-formed JSON object")
	ErrNotArray  = errors.New("not a well-formed JSON array")
)

// Members calls fn with the name and the value of each top-level member of
// the JSON object obj, in order, until fn returns false. key is the name as
// written between its quotes, escapes and all (Unescape decodes it); value
// is the member's value as written, a string with its quotes. White space
// around the object and its tokens is allowed.
//
// Members returns ErrNotObject when obj is not one object with intact
// structure, possibly after fn has seen the members before the fault. When
// fn stops the walk, the rest of obj is not checked.
func Members(obj []byte, fn func(key, value []byte) bool) error {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return ErrNotObject
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return end(obj, i+1, ErrNotObject)
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return ErrNotObject
		}
		kEnd := stringEnd(obj, i)
		if kEnd < 0 {
			return ErrNotObject
		}
		key := obj[i+1 : kEnd-1]
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return ErrNotObject
		}
		i = skipSpace(obj, i+1)
		vEnd := valueEnd(obj, i)
		if vEnd < 0 {
			return ErrNotObject
		}
		if !fn(key, obj[i:vEnd]) {
			return nil
		}
		i = skipSpace(obj, vEnd)
		if i >= len(obj) {
			return ErrNotObject
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return end(obj, i+1, ErrNotObject)
		default:
			return ErrNotObject
		}
	}
}

// Elements does for the JSON array arr what Members does for an object: it
// calls fn with the raw bytes of each element, in order, until fn returns
// false, and returns ErrNotArray when arr's structure is broken.
func Elements(arr []byte, fn func(value []byte) bool) error {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return ErrNotArray
	}
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return end(arr, i+1, ErrNotArray)
	}
	for {
		vEnd := valueEnd(arr, i)
		if vEnd < 0 {
			return ErrNotArray
		}
		if !fn(arr[i:vEnd]) {
			return nil
		}
		i = skipSpace(arr, vEnd)
		if i >= len(arr) {
			return ErrNotArray
		}
		switch arr[i] {
		case ',':
			i = skipSpace(arr, i+1)
		case ']':
			return end(arr, i+1, ErrNotArray)
		default:
			return ErrNotArray
		}
	}
}

// Get returns the raw value of the last top-level member of obj named name
// (names compared after decoding escapes, as encoding/json reads them: the
// last of repeated names wins), or nil when there is none or obj is not a
// well-formed object.
func Get(obj []byte, name string) []byte {
	var val []byte
	err := Members(obj, func(key, value []byte) bool {
		if k, ok := Unescape(key); ok && string(k) == name {
			val = value
		}
		return true
	})
	if err != nil {
		return nil
	}
	return val
}

// Text returns the text of value when it is a JSON string (quotes
// included): the bytes between the quotes when they hold no escape, else a
// decoded copy. ok is false when value is not a string.
func Text(value []byte) (text []byte, ok bool) {
	if len(value) < 2 || value[0] != '"' || value[len(value)-1] != '"' {
		return nil, false
	}
	return Unescape(value[1 : len(value)-1])
}

// Unescape decodes the contents of a JSON string, such as a key from
// Members: s itself when it holds no escape (it is then not checked
// further), else a copy decoded as encoding/json decodes it. ok is false for
// an invalid escape.
func Unescape(s []byte) (text []byte, ok bool) {
	if bytes.IndexByte(s, '\\') < 0 {
		return s, true
	}
	// Rare: decode the slow, obviously right way.
	q := make([]byte, 0, len(s)+2)
	q = append(append(append(q, '"'), s...), '"')
	var out string
	if json.Unmarshal(q, &out) != nil {
		return nil, false
	}
	return []byte(out), true
}

// Open returns the offset of the brace that opens the JSON object b, or -1
// when b does not start (after white space) with one. A member spliced in
// right after it comes first in the object.
func Open(b []byte) int {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return -1
	}
	return i
}

// IsObject reports whether b is one valid JSON object, fully checked
// (Valid, which accepts what json.Valid accepts).
func IsObject(b []byte) bool {
	return Open(b) >= 0 && Valid(b)
}

// end checks that only white space follows b[i-1], the closing bracket.
func end(b []byte, i int, err error) error {
	if skipSpace(b, i) != len(b) {
		return err
	}
	return nil
}

// skipSpace returns the index of the first byte from b[i] on that is not
// JSON white space (RFC 8259 §2: space, tab, line feed, carriage return).
func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string whose opening quote
// is b[i], or -1 when it is not terminated. A quote ends the string unless
// an odd number of backslashes precede it; looking for quotes with
// bytes.IndexByte rather than at every byte is what makes long strings
// (user agents, URLs) cheap.
func stringEnd(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		if b[j-1] != '\\' {
			return j + 1
		}
		n := 1
		for p := j - 2; b[p] == '\\'; p-- { // stops at the opening quote at the latest
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
}

// literal marks the bytes a number, true, false or null may hold, in a
// generous sense: everything but white space, quotes and JSON's structural
// characters, so that a literal always ends at one of those.
var literal = func() (t [256]bool) {
	for c := range t {
		t[c] = true
	}
	for _, c := range " \t\r\n\",:[]{}" {
		t[c] = false
	}
	return t
}()

// valueEnd returns the index just past the JSON value that starts at b[i],
// or -1 when there is none or it is cut short or its brackets do not match.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		return containerEnd(b, i)
	}
	j := i
	for j < len(b) && literal[b[j]] {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// structural marks the bytes containerEnd must look at; it skips the others
// a table lookup at a time.
var structural = func() (t [256]bool) {
	for _, c := range "\"{}[]" {
		t[c] = true
	}
	return t
}()

// containerEnd returns the index just past the object or array that starts
// at b[i], or -1 when it is cut short or its brackets do not match. Inside
// it, only strings and brackets are looked at.
func containerEnd(b []byte, i int) int {
	var buf [64]byte // the open brackets; events nest far less deep, and deeper ones move to the heap
	stack := buf[:0]
	for ; i < len(b); i++ {
		c := b[i]
		if !structural[c] {
			continue
		}
		switch c {
		case '"':
			if i = stringEnd(b, i); i < 0 {
				return -1
			}
			i--
		case '{', '[':
			stack = append(stack, c)
		case '}', ']':
			if len(stack) == 0 || stack[len(stack)-1] != c-2 { // '{'+2 == '}', '['+2 == ']'
				return -1
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// AppendString appends s as a JSON string: quotes, backslashes and
// control characters escaped (RFC 8259 §7), invalid UTF-8 replaced with
// U+FFFD as encoding/json does, everything else verbatim (no HTML escaping,
// so a line reads back byte for byte).
//
// It is the inner loop of every body that carries events as JSON strings
// (Loki's JSON push holds each event as its line), where a quote comes every
// few bytes. So it decides each byte with one table lookup and stores it
// straight into room made beforehand, rather than appending runs and
// escapes one call at a time: room for the rest of s is checked only at a
// byte that needs care, since a plain byte writes exactly one. (Eight bytes
// at a time, with bit tricks, measured no faster: in an event the run
// between two quotes is about a word long.)
func AppendString(dst []byte, s string) []byte {
	n := len(dst)
	// Room for s, its quotes and, typically, its escapes: a JSON event's
	// quotes are about one byte in eight, each written as two.
	dst = slices.Grow(dst, len(s)+len(s)/8+2)
	d := dst[:cap(dst)]
	d[n] = '"'
	n++
	for i := 0; i < len(s); {
		c := s[i]
		if plain[c] {
			d[n] = c
			n++
			i++
			continue
		}
		// At most 6 bytes for this one (\u00XX, \ufffd, or a rune of up
		// to 4), one for each byte after it, and the closing quote.
		if need := 6 + len(s) - i; len(d)-n < need {
			d = slices.Grow(d[:n], need+(len(s)-i)/8)
			d = d[:cap(d)]
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				n += copy(d[n:], `\ufffd`)
			} else {
				n += copy(d[n:], s[i:i+size])
			}
			i += size
			continue
		}
		if esc := shortEscape[c]; esc != 0 {
			d[n], d[n+1] = '\\', esc
			n += 2
		} else {
			d[n], d[n+1], d[n+2], d[n+3], d[n+4], d[n+5] = '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf]
			n += 6
		}
		i++
	}
	d[n] = '"'
	return d[:n+1]
}

const hexDigits = "0123456789abcdef"

// plain marks the bytes AppendString copies as they are: printable ASCII
// other than the quote and the backslash. The others are escaped, or (from
// 0x80 on) checked as UTF-8.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// shortEscape is the second byte of the two-byte escape of an ASCII byte
// that has one in AppendString's output, else 0 (a \u00XX escape).
var shortEscape = [256]byte{'"': '"', '\\': '\\', '\n': 'n', '\r': 'r', '\t': 't'}
