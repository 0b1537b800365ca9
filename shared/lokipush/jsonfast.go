package lokipush

import (
	"bytes"
	"encoding/binary"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// parseJSONFast reads a JSON push body of the shape every Loki client
// sends, in one pass over it:
//
//	{"streams":[{"stream":{"name":"value",…},"values":[["<ns>","<line>",{"name":"value",…}],…]},…]}
//
// with white space anywhere JSON allows it and "stream" and "values" in
// either order. Anything else — another key, a null, a number as a label
// value, an escaped key, a lone UTF-16 surrogate escape, a syntax error, a
// limit exceeded — and it gives up with ok false, having written nothing,
// and parseJSON reads the body instead: every refusal and every rarity is
// still parseJSON's, word for word. What it accepts, parseJSON accepts
// and reads the same (FuzzParseJSONFast holds it to that).
//
// parseJSON, on jsonparser, scans each line five times (once per level of
// nesting, as each level finds where its value ends) and copies it when
// unescaping. Here each string is scanned once, and lines and structured
// metadata values are not copied: once the whole body has been read, each
// one with escapes is unescaped in place, over its own escaped form (never
// longer), and the request's strings point into data. data must therefore
// be Parse's own buffer, written by nothing after this.
func parseJSONFast(data []byte, lim Limits) (*Request, bool) {
	s := fastJSON{d: data, b: &builder{lim: lim}}
	if !s.push() {
		return nil, false
	}
	req := s.b.finish()
	// Every string below was checked when it was scanned, so unescaping
	// cannot fail: nothing can be refused once data has been written.
	for _, k := range s.escLines {
		e := &s.b.entries[k]
		e.Line = unescapeInPlace(e.Line)
	}
	for _, k := range s.escMeta {
		l := &s.b.meta[k]
		l.Value = unescapeInPlace(l.Value)
	}
	return req, true
}

// fastJSON is parseJSONFast's scanner: d[i] is the next byte to read.
type fastJSON struct {
	d []byte
	i int
	b *builder
	// Which entries' lines and which metadata values hold escapes, by
	// index in b.entries and b.meta: they are unescaped at the end.
	escLines, escMeta []int
}

// space skips JSON white space (RFC 8259 §2).
func (s *fastJSON) space() {
	for s.i < len(s.d) {
		switch s.d[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c,
// consuming it if so.
func (s *fastJSON) next(c byte) bool {
	s.space()
	if s.i < len(s.d) && s.d[s.i] == c {
		s.i++
		return true
	}
	return false
}

// push reads the whole body.
func (s *fastJSON) push() bool {
	if !s.next('{') {
		return false
	}
	if k, ok := s.key(); !ok || k != "streams" || !s.next('[') {
		return false
	}
	if !s.next(']') {
		for {
			if !s.next('{') || !s.stream() {
				return false
			}
			if s.next(']') {
				break
			}
			if !s.next(',') {
				return false
			}
		}
	}
	if !s.next('}') {
		return false
	}
	s.space()
	return s.i == len(s.d)
}

// key reads an object's key without escapes and the colon after it. The
// key aliases d: it is compared, or kept as a metadata name, which is never
// unescaped in place.
func (s *fastJSON) key() (string, bool) {
	start, end, _, esc, ok := s.str()
	if !ok || esc || !s.next(':') {
		return "", false
	}
	return bytesString(s.d[start:end]), true
}

// str reads a string after white space: its contents are d[start:end], of
// n bytes once unescaped, and esc says whether it holds escapes. ok is
// false for anything parseJSON might refuse or read otherwise: a bad
// escape, or a lone surrogate (which jsonparser reads as U+FFFD).
// Other bytes, control characters and invalid UTF-8 included, are taken
// as they are, as jsonparser takes them.
func (s *fastJSON) str() (start, end, n int, esc, ok bool) {
	if !s.next('"') {
		return 0, 0, 0, false, false
	}
	d := s.d
	i := s.i
	start = i
	saved := 0 // bytes the escapes lose when unescaped
	for {
		for i+8 <= len(d) && noQuoteOrBackslash(d[i:i+8]) {
			i += 8
		}
		for i < len(d) && d[i] != '"' && d[i] != '\\' {
			i++
		}
		if i >= len(d) {
			return 0, 0, 0, false, false
		}
		if d[i] == '"' {
			s.i = i + 1
			return start, i, i - start - saved, saved > 0, true
		}
		if i+1 >= len(d) {
			return 0, 0, 0, false, false
		}
		switch d[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
			saved++
		case 'u':
			r, n := unicodeEscape(d, i)
			if n == 0 {
				return 0, 0, 0, false, false
			}
			i += n
			saved += n - utf8.RuneLen(r)
		default:
			return 0, 0, 0, false, false
		}
	}
}

// noQuoteOrBackslash reports whether none of the eight bytes of w8 is a
// quote or a backslash, testing them as one word ("Determine if a word
// has a byte equal to n", Bit Twiddling Hacks: exact for "is there one",
// which is all it asks).
func noQuoteOrBackslash(w8 []byte) bool {
	w := binary.LittleEndian.Uint64(w8)
	q := w ^ ('"' * ones)
	return (q-ones)&^q&high == 0 && noBackslash(w)
}

// noBackslash is the same test for a backslash alone, in a word read.
func noBackslash(w uint64) bool {
	b := w ^ ('\\' * ones)
	return (b-ones)&^b&high == 0
}

const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// unicodeEscape reads the \u escape at d[i:]: a code point of the Basic
// Multilingual Plane, or a UTF-16 surrogate pair (Python's json.dumps
// writes every character beyond the plane so) as one code point, and the
// escape's length; 0 for anything else, a lone surrogate included, which
// is left to parseJSON.
func unicodeEscape(d []byte, i int) (rune, int) {
	r, ok := hex4(d, i+2)
	switch {
	case !ok || 0xDC00 <= r && r <= 0xDFFF:
		return 0, 0
	case r < 0xD800 || r > 0xDBFF:
		return r, 6
	}
	if i+8 > len(d) || d[i+6] != '\\' || d[i+7] != 'u' {
		return 0, 0
	}
	lo, ok := hex4(d, i+8)
	if !ok || lo < 0xDC00 || lo > 0xDFFF {
		return 0, 0
	}
	return utf16.DecodeRune(r, lo), 12
}

// hex4 reads the four hex digits at d[i:].
func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// stream reads one stream, after its '{'.
func (s *fastJSON) stream() bool {
	b := s.b
	if b.charge(mapSize) != nil {
		return false
	}
	start := len(b.entries)
	var labels map[string]string
	seenValues := false
	for {
		k, ok := s.key()
		if !ok {
			return false
		}
		switch {
		case k == "stream" && labels == nil:
			if labels, ok = s.labels(); !ok {
				return false
			}
		case k == "values" && !seenValues:
			seenValues = true
			if !s.values() {
				return false
			}
		default:
			return false
		}
		if s.next('}') {
			break
		}
		if !s.next(',') {
			return false
		}
	}
	if labels == nil {
		return false
	}
	labels, err := dropEmpty(labels)
	if err != nil {
		return false
	}
	return b.appendStream(labels, start) == nil
}

// labels reads a stream's non-empty label object of string values, as
// jsonLabels reads it.
func (s *fastJSON) labels() (map[string]string, bool) {
	if !s.next('{') {
		return nil, false
	}
	ls := make(map[string]string)
	for {
		if s.b.charge(mapLabelSize) != nil {
			return nil, false
		}
		name, ok := s.key()
		if !ok || !validLabelName(name) {
			return nil, false
		}
		start, end, _, _, ok := s.str()
		if !ok {
			return nil, false
		}
		v, err := s.b.unescape(s.d[start:end]) // a copy: the map may outlive the body
		if err != nil {
			return nil, false
		}
		if _, dup := ls[name]; dup {
			return nil, false
		}
		ls[strings.Clone(name)] = v // name aliases the body
		if s.next('}') {
			return ls, true
		}
		if !s.next(',') {
			return nil, false
		}
	}
}

// values reads a stream's entries, after its key.
func (s *fastJSON) values() bool {
	if !s.next('[') {
		return false
	}
	if s.next(']') {
		return true
	}
	for {
		if !s.entry() {
			return false
		}
		if s.next(']') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// entry reads ["<ns>","<line>"] or ["<ns>","<line>",{metadata}].
func (s *fastJSON) entry() bool {
	b := s.b
	if b.roomForEntry() != nil || !s.next('[') {
		return false
	}
	start, end, _, _, ok := s.str()
	if !ok {
		return false
	}
	ns, ok := parseNanos(s.d[start:end])
	if !ok || !s.next(',') {
		return false
	}
	start, end, n, esc, ok := s.str()
	// A line over the limit is parseJSON's to refuse, with the stream's
	// labels in the message.
	if !ok || n > b.lim.MaxLineBytes {
		return false
	}
	e := Entry{Time: time.Unix(0, ns).UTC(), Line: bytesString(s.d[start:end])}
	metaStart := len(b.meta)
	if s.next(',') {
		if !s.metadata() {
			return false
		}
	}
	if !s.next(']') {
		return false
	}
	if esc {
		s.escLines = append(s.escLines, len(b.entries))
	}
	return b.addEntry(e, metaStart) == nil
}

// metadata reads an entry's structured metadata object, after the comma
// before it.
func (s *fastJSON) metadata() bool {
	if !s.next('{') {
		return false
	}
	if s.next('}') {
		return true
	}
	for {
		name, ok := s.key()
		if !ok {
			return false
		}
		start, end, _, esc, ok := s.str()
		if !ok {
			return false
		}
		if esc {
			s.escMeta = append(s.escMeta, len(s.b.meta))
		}
		if s.b.addMeta(Label{Name: name, Value: bytesString(s.d[start:end])}) != nil {
			return false
		}
		if s.next('}') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// bytesString is b as a string without a copy: b must not change while
// the string is in use (unescapeInPlace is the one writer, before the
// request is returned).
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// unescapeInPlace unescapes s, a JSON string's contents that str checked,
// over its own bytes, and returns the unescaped string: an escape is never
// shorter than what it stands for, so each byte is written at or before
// where it was read. s must alias the request's body, which nothing else
// reads as escaped any more. Lines of JSON hold an escape every few bytes
// (each quote), so the runs between them are moved eight bytes at a time
// rather than found with IndexByte and copied, two calls a run.
func unescapeInPlace(s string) string {
	d := unsafe.Slice(unsafe.StringData(s), len(s))
	r := bytes.IndexByte(d, '\\')
	if r < 0 {
		return s
	}
	w := r
	for r < len(d) {
		if r+8 <= len(d) {
			// Read before written: d[w:w+8] may overlap d[r:r+8].
			x := binary.LittleEndian.Uint64(d[r:])
			if noBackslash(x) {
				binary.LittleEndian.PutUint64(d[w:], x)
				w, r = w+8, r+8
				continue
			}
		}
		c := d[r]
		if c != '\\' {
			d[w] = c
			w, r = w+1, r+1
			continue
		}
		switch c = d[r+1]; c {
		case 'u':
			x, n := unicodeEscape(d, r)
			w += utf8.EncodeRune(d[w:], x)
			r += n
			continue
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		} // '"', '\\' and '/' stand for themselves
		d[w] = c
		w, r = w+1, r+2
	}
	return bytesString(d[:w])
}
