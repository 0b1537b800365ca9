package pii

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"strings"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/logstream/logstream/shared/jsonobj"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/stream"
)

// Redacted is what redact writes, and truncate_ip for a value that is not
// an IP address.
const Redacted = `"[REDACTED]"`

// maxArrayDepth bounds how many arrays within arrays a path goes through at
// one name. A value nested deeper is redacted whole, whatever the action:
// the walk stays bounded and nothing it did not look into leaks.
const maxArrayDepth = 32

// ErrMalformed is wrapped by Mask's error when the event is not one
// well-formed JSON object; nothing of it should then be sent.
var ErrMalformed = errors.New("pii: event is not a well-formed JSON object")

// Masker masks the fields of one stream's rules. It is compiled once per
// stream and safe for concurrent use.
type Masker struct {
	root node
	key  []byte // the stream's hash key; nil when no rule hashes
	// macs reuses keyed HMAC states across events: hmac.New per event was
	// a third of a hashing masker's allocations.
	macs sync.Pool
}

// node is one name of the rules' paths: the action of the path ending here
// ("" when none does) and the names below it.
type node struct {
	name     string
	action   string
	children []*node
}

func (n *node) child(name []byte) *node {
	for _, c := range n.children {
		if c.name == string(name) {
			return c
		}
	}
	return nil
}

// Compile builds the masker of p. key is the stream's hash key (StreamKey);
// it is needed only when a rule hashes. nil rules (or none) give a nil
// Masker, which masks nothing.
func Compile(p *stream.PII, key []byte) (*Masker, error) {
	if p == nil || len(p.Fields) == 0 {
		return nil, nil
	}
	m := &Masker{}
	for _, f := range p.Fields {
		switch f.Action {
		case stream.PIIRedact, stream.PIITruncateIP, stream.PIIXXHash:
		case stream.PIIHash:
			if len(key) == 0 {
				return nil, fmt.Errorf("field %s: hash needs the stream's key", f.Field)
			}
			m.key = key
			m.macs.New = func() any { return hmac.New(sha256.New, key) }
		default:
			return nil, fmt.Errorf("field %s: unknown action %q", f.Field, f.Action)
		}
		names := strings.Split(f.Field, ".")
		n := &m.root
		for _, name := range names {
			if name == "" {
				return nil, fmt.Errorf("field %q has an empty name", f.Field)
			}
			c := n.child([]byte(name))
			if c == nil {
				c = &node{name: name}
				n.children = append(n.children, c)
			}
			n = c
		}
		// A path that is also a prefix of another ("actor" and
		// "actor.id") masks the whole of "actor": the longer rule is
		// then moot, which is the safe reading.
		n.action = f.Action
	}
	return m, nil
}

// edit replaces event[start:end] with repl.
type edit struct {
	start, end int
	repl       []byte
}

// Mask returns event with the rules' fields masked: a new slice when a
// field was masked, event itself when none was there. It fails (wrapping
// ErrMalformed) when event is not one well-formed JSON object.
func (m *Masker) Mask(event []byte) ([]byte, error) {
	if m == nil {
		return event, nil
	}
	return m.mask(event, nil)
}

// MaskEvent is Mask for an event Parse made: it reads the top-level
// members from the index Parse kept instead of scanning them again.
func (m *Masker) MaskEvent(ev *logevent.Event) ([]byte, error) {
	if m == nil {
		return ev.Raw, nil
	}
	return m.mask(ev.Raw, ev)
}

func (m *Masker) mask(event []byte, ev *logevent.Event) ([]byte, error) {
	w := walker{m: m, base: event}
	var err error
	if ev != nil {
		err = ev.Members(w.visitor(&m.root))
	} else {
		err = jsonobj.Members(event, w.visitor(&m.root))
	}
	if w.mac != nil {
		m.macs.Put(w.mac)
	}
	if err == nil {
		err = w.err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(w.edits) == 0 {
		return event, nil
	}
	size := len(event)
	for _, e := range w.edits {
		size += len(e.repl) - (e.end - e.start)
	}
	out := make([]byte, 0, size)
	at := 0
	for _, e := range w.edits {
		out = append(append(out, event[at:e.start]...), e.repl...)
		at = e.end
	}
	return append(out, event[at:]...), nil
}

// walker collects the edits of one event, in the order of the bytes.
type walker struct {
	m     *Masker
	base  []byte
	edits []edit
	mac   hash.Hash
	err   error
}

// offset is where value, a subslice of base, starts in it.
func (w *walker) offset(value []byte) int { return cap(w.base) - cap(value) }

func (w *walker) visitor(n *node) func(key, value []byte) bool {
	return func(key, value []byte) bool {
		c := n.child(key)
		if c == nil {
			if k, ok := jsonobj.Unescape(key); ok && len(k) != len(key) {
				c = n.child(k)
			}
			if c == nil {
				return true
			}
		}
		w.value(c, value, 0)
		return w.err == nil
	}
}

// value masks value when c ends a path, or goes on into it.
func (w *walker) value(c *node, value []byte, arrays int) {
	if len(value) == 0 {
		return
	}
	if value[0] == '[' {
		if arrays == maxArrayDepth {
			w.replace(value, []byte(Redacted))
			return
		}
		if err := jsonobj.Elements(value, func(v []byte) bool {
			w.value(c, v, arrays+1)
			return w.err == nil
		}); err != nil && w.err == nil {
			w.err = err
		}
		return
	}
	if c.action != "" {
		w.apply(c.action, value)
		return
	}
	if value[0] == '{' {
		if err := jsonobj.Members(value, w.visitor(c)); err != nil && w.err == nil {
			w.err = err
		}
	}
}

func (w *walker) replace(value, repl []byte) {
	start := w.offset(value)
	w.edits = append(w.edits, edit{start: start, end: start + len(value), repl: repl})
}

// apply masks one value that is not an array.
func (w *walker) apply(action string, value []byte) {
	if value[0] == 'n' { // null: nothing to hide
		return
	}
	switch action {
	case stream.PIIRedact:
		w.replace(value, []byte(Redacted))
	case stream.PIIHash:
		if w.mac == nil {
			w.mac = w.m.macs.Get().(hash.Hash)
		}
		w.mac.Reset()
		w.mac.Write(text(value))
		var sum [sha256.Size]byte
		repl := make([]byte, 0, 2+hex.EncodedLen(sha256.Size))
		repl = append(repl, '"')
		repl = hex.AppendEncode(repl, w.mac.Sum(sum[:0]))
		w.replace(value, append(repl, '"'))
	case stream.PIITruncateIP:
		w.replace(value, truncateIP(value))
	case stream.PIIXXHash:
		var sum [8]byte
		binary.BigEndian.PutUint64(sum[:], xxhash.Sum64(text(value)))
		repl := make([]byte, 0, 2+hex.EncodedLen(len(sum)))
		repl = append(hex.AppendEncode(append(repl, '"'), sum[:]), '"')
		w.replace(value, repl)
	}
}

// text is what a value's hash covers: a string's decoded text, anything
// else as written.
func text(value []byte) []byte {
	if value[0] == '"' {
		if t, ok := jsonobj.Text(value); ok {
			return t
		}
	}
	return value
}

// truncateIP is the network of the IP address value holds, as a JSON
// string, or Redacted when it holds none.
func truncateIP(value []byte) []byte {
	t, ok := jsonobj.Text(value)
	if !ok {
		return []byte(Redacted)
	}
	a, err := netip.ParseAddr(string(t))
	if err != nil {
		return []byte(Redacted)
	}
	// An IPv4-mapped IPv6 address (::ffff:198.51.100.23) is an IPv4 one:
	// its /48 would keep the whole IPv4 address.
	a = a.Unmap().WithZone("")
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return jsonobj.AppendString(nil, p.Addr().String())
}

// NeedsKey reports whether a rule of p hashes with the stream's key.
func NeedsKey(p *stream.PII) bool {
	if p == nil {
		return false
	}
	for _, f := range p.Fields {
		if f.Action == stream.PIIHash {
			return true
		}
	}
	return false
}
