package filter

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/logstream/logstream/shared/jsonobj"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/stream"
)

// maxPaths bounds the distinct field paths of one stream's filters: the
// 20 include and 20 exclude rules stream.Filters.Validate allows. It sizes
// the per-event array of found values, which then stays on the stack.
const maxPaths = 40

// Matcher decides whether an event passes one stream's filters. It is
// compiled once per stream and safe for concurrent use.
type Matcher struct {
	include, exclude []rule
	root             node
	paths            int
}

type rule struct {
	slot int // index of the rule's field in the values found for an event
	glob glob
	in   map[string]struct{}
}

// node is one name of a dotted path: the slot its value goes to when the
// path ends here (-1 when none does), and the names below it.
type node struct {
	name     string
	slot     int
	children []*node
	// buckets index children by bucketOf their name: most members of an
	// event fall in an empty bucket and are turned away without a single
	// comparison, cheaper than hashing every name for a map.
	buckets [64][]uint8
	// leaves counts the paths ending at n or below it.
	leaves int
}

// bucketOf mixes a name's length and its first and last bytes.
func bucketOf(name []byte) int {
	return (len(name)*7 + int(name[0])*3 + int(name[len(name)-1])) & 63
}

// child returns the child named name, and its index for walk's seen mask.
func (n *node) child(name []byte) (*node, int) {
	if len(name) == 0 {
		return nil, -1
	}
	for _, i := range n.buckets[bucketOf(name)] {
		if c := n.children[i]; c.name == string(name) {
			return c, int(i)
		}
	}
	return nil, -1
}

// Compile builds the matcher of f; nil filters (or none) pass every event.
// f must be valid (stream.Filters.Validate): Compile checks only what it
// relies on.
func Compile(f *stream.Filters) (*Matcher, error) {
	if f == nil || len(f.Include)+len(f.Exclude) == 0 {
		return nil, nil
	}
	m := &Matcher{root: node{slot: -1}}
	slots := map[string]int{}
	build := func(rs []stream.Rule) ([]rule, error) {
		out := make([]rule, 0, len(rs))
		for _, r := range rs {
			if strings.Contains("."+r.Field+".", "..") {
				return nil, fmt.Errorf("field %q has an empty name", r.Field)
			}
			slot, ok := slots[r.Field]
			if !ok {
				if m.paths == maxPaths {
					return nil, fmt.Errorf("filters name more than %d fields", maxPaths)
				}
				slot = m.paths
				m.paths++
				slots[r.Field] = slot
				m.root.add(strings.Split(r.Field, "."), slot)
			}
			cr := rule{slot: slot}
			if r.Match != "" {
				if _, err := path.Match(r.Match, ""); err != nil {
					return nil, fmt.Errorf("rule on %s: match %q: %w", r.Field, r.Match, err)
				}
				cr.glob = compileGlob(r.Match)
			} else {
				cr.in = make(map[string]struct{}, len(r.In))
				for _, v := range r.In {
					cr.in[v] = struct{}{}
				}
			}
			out = append(out, cr)
		}
		return out, nil
	}
	var err error
	if m.include, err = build(f.Include); err != nil {
		return nil, err
	}
	if m.exclude, err = build(f.Exclude); err != nil {
		return nil, err
	}
	return m, nil
}

func (n *node) add(names []string, slot int) {
	n.leaves++
	if len(names) == 0 {
		n.slot = slot
		return
	}
	c, _ := n.child([]byte(names[0]))
	if c == nil {
		c = &node{name: names[0], slot: -1}
		b := bucketOf([]byte(names[0]))
		n.buckets[b] = append(n.buckets[b], uint8(len(n.children)))
		n.children = append(n.children, c)
	}
	c.add(names[1:], slot)
}

// Pass reports whether the event (one JSON object, as ingestion stamped it)
// passes: it matches at least one include rule, or there are none, and no
// exclude rule. A nil Matcher passes every event.
func (m *Matcher) Pass(event []byte) bool {
	if m == nil {
		return true
	}
	var buf [maxPaths][]byte
	vals := buf[:m.paths]
	m.extract(event, nil, vals)
	return m.decide(vals)
}

// PassEvent is Pass for an event Parse made: it reads the event's top-level
// members from the index Parse kept (logevent.Event.Members) instead of
// walking the event, which is most of Pass's cost.
func (m *Matcher) PassEvent(ev *logevent.Event) bool {
	if m == nil {
		return true
	}
	var buf [maxPaths][]byte
	vals := buf[:m.paths]
	m.extract(nil, ev, vals)
	return m.decide(vals)
}

func (m *Matcher) decide(vals [][]byte) bool {
	if len(m.include) > 0 {
		ok := false
		for i := range m.include {
			if m.include[i].matches(vals[m.include[i].slot]) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for i := range m.exclude {
		if m.exclude[i].matches(vals[m.exclude[i].slot]) {
			return false
		}
	}
	return true
}

// extract finds the raw value of every path in one walk of the event,
// descending only into the objects a path goes through, and leaves each
// object as soon as every name wanted in it has been met: most rules name top-level members near the
// start of an event, so most of its bytes are never looked at. That is why
// the first of repeated names counts here (the whole member: a later
// repeat is not looked into either), where encoding/json would take the
// last; ingestion refuses repeats only of the members it owns.
//
// The top level is ev's indexed members when ev is not nil, else event's.
func (m *Matcher) extract(event []byte, ev *logevent.Event, vals [][]byte) {
	var walk func(obj []byte, ev *logevent.Event, n *node)
	walk = func(obj []byte, ev *logevent.Event, n *node) {
		var seen uint64     // children met at this level; at most maxPaths of them
		pending := n.leaves // paths below n whose first name here is not met yet
		visit := func(key, value []byte) bool {
			c, i := n.child(key)
			if c == nil {
				if k, ok := jsonobj.Unescape(key); ok && len(k) != len(key) {
					c, i = n.child(k)
				}
				if c == nil {
					return true
				}
			}
			if seen&(1<<i) != 0 {
				return true
			}
			seen |= 1 << i
			if c.slot >= 0 {
				vals[c.slot] = value
			}
			if c.children != nil && len(value) > 0 && value[0] == '{' {
				walk(value, nil, c)
			}
			// Everything below c is settled: found, or missing for good.
			pending -= c.leaves
			return pending > 0
		}
		// A malformed object (never one that ingestion accepted) keeps the
		// values found before the fault; the rest are missing.
		if ev != nil {
			_ = ev.Members(visit)
		} else {
			_ = jsonobj.Members(obj, visit)
		}
	}
	walk(event, ev, &m.root)
}

// matches applies the rule to a field's raw value (nil when missing). A
// string is matched by its text, a number by its JSON text as written
// (200, 1.5e3), true and false by their names. null, objects and missing
// fields never match. An array matches when one of its elements, one of
// those scalars, does.
func (r *rule) matches(raw []byte) bool {
	if len(raw) == 0 {
		return false
	}
	if raw[0] == '[' {
		hit := false
		_ = jsonobj.Elements(raw, func(v []byte) bool {
			if len(v) > 0 && v[0] != '[' && r.scalar(v) {
				hit = true
			}
			return !hit
		})
		return hit
	}
	return r.scalar(raw)
}

func (r *rule) scalar(raw []byte) bool {
	var text []byte
	switch raw[0] {
	case '{', 'n':
		return false
	case '"':
		t, ok := jsonobj.Text(raw)
		if !ok {
			return false
		}
		text = t
	default:
		text = raw
	}
	if r.in != nil {
		_, ok := r.in[string(text)]
		return ok
	}
	return r.glob.match(text)
}

// glob is a path.Match pattern with fast paths for the shapes filters
// almost always have: an exact value, a literal prefix followed by a star
// ("user.session.*"), a star then a literal suffix ("*Authenticate"), a
// literal between stars ("*bot*"). They also keep path.Match's string
// conversion, an allocation, out of the usual case.
type glob struct {
	pattern string
	kind    globKind
	literal string
	lit     []byte // literal, for bytes.Contains without a conversion per call
}

type globKind int

const (
	globGeneral globKind = iota
	globExact
	globPrefix
	globSuffix
	globContains
)

func compileGlob(p string) glob {
	g := glob{pattern: p}
	const meta = `*?[\`
	switch i := strings.IndexAny(p, meta); {
	case i < 0:
		g.kind, g.literal = globExact, p
	case i == len(p)-1 && p[i] == '*':
		g.kind, g.literal = globPrefix, p[:i]
	case i == 0 && p[0] == '*' && len(p) > 1:
		// The literal must hold no '/': a star cannot match one, so a '/' in
		// the text is then a mismatch wherever it is.
		lit := p[1:]
		switch j := strings.IndexAny(lit, meta); {
		case strings.Contains(lit, "/"):
		case j < 0:
			g.kind, g.literal = globSuffix, lit
		case j == len(lit)-1 && lit[j] == '*' && j > 0:
			g.kind, g.literal, g.lit = globContains, lit[:j], []byte(lit[:j])
		}
	}
	return g
}

func (g glob) match(text []byte) bool {
	switch g.kind {
	case globExact:
		return string(text) == g.literal
	case globPrefix:
		// path.Match's star matches any run of characters but '/'.
		return len(text) >= len(g.literal) && string(text[:len(g.literal)]) == g.literal &&
			bytes.IndexByte(text[len(g.literal):], '/') < 0
	case globSuffix:
		return len(text) >= len(g.literal) && string(text[len(text)-len(g.literal):]) == g.literal &&
			bytes.IndexByte(text, '/') < 0
	case globContains:
		return bytes.Contains(text, g.lit) && bytes.IndexByte(text, '/') < 0
	}
	ok, _ := path.Match(g.pattern, string(text))
	return ok
}
