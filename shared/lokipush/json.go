package lokipush

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/buger/jsonparser"
)

// parseJSON reads Loki's v1 JSON push body the way Loki does
// (loghttp.PushRequest; LogProtoStream.UnmarshalJSON and
// unmarshalHTTPToLogProtoEntry in pkg/loghttp/query.go, LabelSet in
// pkg/loghttp/labels.go), on the same jsonparser scanner:
//
//	{"streams":[{"stream":{"name":"value",…},"values":[["<ns>","<line>",{"name":"value",…}],…]},…]}
//
// As in Loki: unknown keys are ignored, "streams", "stream" and "values"
// may be null, a null entry is skipped, the timestamp is a string of Unix
// epoch nanoseconds (a JSON number is refused), the line a string, the
// optional third element an object of string structured metadata, and a
// label value may be a number.
//
// Stricter than Loki, which would store something other than what the
// client meant: an entry must have two or three elements (Loki takes ["ts"]
// as an empty line and ignores a fourth element), a key may not repeat
// (Loki keeps the last), a label value may not be an object, array, bool or
// null (Loki keeps its JSON text), and nothing may follow the object.
// Structured metadata values are unescaped (Loki v3.5.3 stores them with
// their JSON escapes, string(val) in unmarshalHTTPToLogProtoEntry).
func parseJSON(data []byte, lim Limits) (*Request, error) {
	if skipSpace(data, 0) == len(data) {
		return nil, badRequest(msgBadPush + "the body is empty")
	}
	b := &builder{lim: lim}
	seen, end := false, -1
	err := jsonparser.ObjectEach(data, func(key, value []byte, typ jsonparser.ValueType, off int) error {
		end = off
		if string(key) != "streams" {
			return nil
		}
		if seen {
			return badRequest(msgBadPush + `"streams" appears twice`)
		}
		seen = true
		switch typ {
		case jsonparser.Null:
			return nil
		case jsonparser.Array:
		default:
			return badRequest(msgBadPush+`"streams" must be an array, not %s`, typ)
		}
		i := 0
		_, err := jsonparser.ArrayEachErr(value, func(v []byte, t jsonparser.ValueType, _ int, err error) error {
			if err != nil {
				return err
			}
			if t != jsonparser.Object {
				return badRequest(msgBadPush+"streams[%d] must be an object, not %s", i, t)
			}
			if err := b.jsonStream(v, i); err != nil {
				return err
			}
			i++
			return nil
		})
		return at(fmt.Sprintf("streams[%d]", i), err)
	})
	if err != nil {
		return nil, at("", err)
	}
	if !onlyCloseBrace(data, end) {
		return nil, badRequest(msgBadPush + "unexpected data after the top-level object")
	}
	return b.finish(), nil
}

// jsonStream reads streams[i].
func (b *builder) jsonStream(data []byte, i int) error {
	var labels map[string]string
	seenLabels, seenValues := false, false
	start := len(b.entries)
	if err := b.charge(mapSize); err != nil {
		return err
	}
	err := jsonparser.ObjectEach(data, func(key, value []byte, typ jsonparser.ValueType, _ int) error {
		switch string(key) {
		case "stream":
			if seenLabels {
				return badRequest(msgBadPush+`streams[%d]: "stream" appears twice`, i)
			}
			seenLabels = true
			switch typ {
			case jsonparser.Null:
				return nil
			case jsonparser.Object:
				var err error
				labels, err = b.jsonLabels(value, i)
				return err
			}
			return badRequest(msgBadPush+`streams[%d]: "stream" must be an object of labels, not %s`, i, typ)
		case "values":
			if seenValues {
				return badRequest(msgBadPush+`streams[%d]: "values" appears twice`, i)
			}
			seenValues = true
			return b.jsonValues(value, typ, i)
		}
		return nil
	})
	if err != nil {
		return at(fmt.Sprintf("streams[%d]", i), err)
	}
	if labels == nil {
		return badRequest(msgMissingLabels)
	}
	if labels, err = dropEmpty(labels); err != nil {
		return err
	}
	return b.addStream(labels, start)
}

// jsonValues reads streams[i].values, whose JSON type is typ.
func (b *builder) jsonValues(value []byte, typ jsonparser.ValueType, i int) error {
	switch typ {
	case jsonparser.Null:
		return nil
	case jsonparser.Array:
	default:
		return badRequest(msgBadPush+`streams[%d]: "values" must be an array, not %s`, i, typ)
	}
	j := 0
	_, err := jsonparser.ArrayEachErr(value, func(v []byte, t jsonparser.ValueType, _ int, err error) error {
		if err != nil {
			return err
		}
		switch t {
		case jsonparser.Null:
			// As Loki: a null entry is skipped.
		case jsonparser.Array:
			if err := b.jsonEntry(v, i, j); err != nil {
				return err
			}
		default:
			return badRequest(msgBadPush+"streams[%d].values[%d] must be an array, not %s", i, j, t)
		}
		j++
		return nil
	})
	return at(fmt.Sprintf("streams[%d].values[%d]", i, j), err)
}

// jsonLabels reads a stream's label object (Loki: loghttp.LabelSet, then
// syntax.ParseLabels on its String form, which checks the names).
func (b *builder) jsonLabels(data []byte, i int) (map[string]string, error) {
	ls := make(map[string]string)
	err := jsonparser.ObjectEach(data, func(key, value []byte, typ jsonparser.ValueType, _ int) error {
		if err := b.charge(mapLabelSize); err != nil {
			return err
		}
		name := string(key) // ObjectEach has unescaped it, in a buffer it reuses
		if !validLabelName(name) {
			return badRequest(msgCouldNotParseLabels+"streams[%d]: invalid label name %q", i, truncate(name))
		}
		var v string
		switch typ {
		case jsonparser.String:
			var err error
			if v, err = b.unescape(value); err != nil {
				return badRequest(msgCouldNotParseLabels+"streams[%d]: label %s: invalid escape in value", i, name)
			}
		case jsonparser.Number:
			v = string(value)
		default:
			return badRequest(msgCouldNotParseLabels+"streams[%d]: label %s must be a string, not %s", i, name, typ)
		}
		if _, dup := ls[name]; dup {
			return badRequest(msgDuplicateLabel, truncate(labelString(ls)), name)
		}
		ls[name] = v
		return nil
	})
	return ls, err
}

// jsonEntry reads streams[i].values[j]: [ts, line] or [ts, line, {metadata}].
func (b *builder) jsonEntry(data []byte, i, j int) error {
	if err := b.roomForEntry(); err != nil {
		return err
	}
	var e Entry
	metaStart := len(b.meta)
	k := 0
	_, err := jsonparser.ArrayEachErr(data, func(v []byte, t jsonparser.ValueType, _ int, err error) error {
		if err != nil {
			return err
		}
		k++
		switch k - 1 {
		case 0:
			ns, ok := parseNanos(v)
			if t != jsonparser.String || !ok {
				got := truncate(string(v))
				if t == jsonparser.String {
					got = strconv.Quote(got)
				}
				return badRequest(msgBadPush+"streams[%d].values[%d]: timestamp must be a string of Unix epoch nanoseconds, not %s", i, j, got)
			}
			e.Time = time.Unix(0, ns).UTC()
		case 1:
			if t != jsonparser.String {
				return badRequest(msgBadPush+"streams[%d].values[%d]: line must be a string, not %s", i, j, t)
			}
			line, err := b.unescape(v)
			if err != nil {
				return badRequest(msgBadPush+"streams[%d].values[%d]: invalid escape in line", i, j)
			}
			e.Line = line
		case 2:
			if t != jsonparser.Object {
				return badRequest(msgBadPush+"streams[%d].values[%d]: structured metadata must be an object, not %s", i, j, t)
			}
			return b.jsonMetadata(v, i, j)
		default:
			return errEntryShape
		}
		return nil
	})
	if err == nil && k < 2 {
		err = errEntryShape
	}
	if errors.Is(err, errEntryShape) {
		return badRequest(msgBadPush+"streams[%d].values[%d]: an entry is [timestamp, line] or [timestamp, line, {structured metadata}]", i, j)
	}
	if err != nil {
		return at(fmt.Sprintf("streams[%d].values[%d]", i, j), err)
	}
	return b.addEntry(e, metaStart)
}

var errEntryShape = errors.New("entry shape")

// jsonMetadata appends an entry's structured metadata to b.meta.
func (b *builder) jsonMetadata(data []byte, i, j int) error {
	return jsonparser.ObjectEach(data, func(key, value []byte, typ jsonparser.ValueType, _ int) error {
		if typ != jsonparser.String {
			return badRequest(msgBadPush+"streams[%d].values[%d]: structured metadata %q must be a string, not %s", i, j, truncate(string(key)), typ)
		}
		v, err := b.unescape(value)
		if err != nil {
			return badRequest(msgBadPush+"streams[%d].values[%d]: structured metadata %q: invalid escape in value", i, j, truncate(string(key)))
		}
		return b.addMeta(Label{Name: string(key), Value: v})
	})
}

// unescape is a JSON string's value (raw: between its quotes), unescaped in
// b.scratch so the string is the one allocation.
func (b *builder) unescape(raw []byte) (string, error) {
	if cap(b.scratch) < len(raw) {
		b.scratch = make([]byte, len(raw))
	}
	out, err := jsonparser.Unescape(raw, b.scratch[:len(raw)])
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// parseNanos reads a decimal int64, as Loki's jsonparser.ParseInt does:
// an optional minus, then digits, no overflow.
func parseNanos(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case neg && n <= 1<<63:
		return int64(-n), true // -(1<<63) wraps to itself: MinInt64
	case !neg && n < 1<<63:
		return int64(n), true
	}
	return 0, false
}

// at gives a scanner error (jsonparser's, which say what but not where) the
// path it was found at; Parse's own errors already say both.
func at(path string, err error) error {
	if err == nil {
		return nil
	}
	var pe *parseError
	if errors.As(err, &pe) {
		return err
	}
	if path == "" {
		return malformed(msgBadPush, err)
	}
	return malformed(msgBadPush+path+": ", err)
}

// onlyCloseBrace reports whether data[from:] is the top-level object's
// closing brace and space: end is where ObjectEach's last value ended, or
// -1 for an object without keys.
func onlyCloseBrace(data []byte, end int) bool {
	i := end
	if i < 0 {
		i = skipSpace(data, 0) + 1 // past '{', which ObjectEach checked
	}
	i = skipSpace(data, i)
	if i >= len(data) || data[i] != '}' {
		return false
	}
	return skipSpace(data, i+1) == len(data)
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}
