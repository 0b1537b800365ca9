// Package jsonstrict decodes a request body into a Go value as an API should:
// one JSON value of the expected shape, valid UTF-8, with no member the type
// does not have and nothing after it. What it refuses it explains in the
// API's own terms — the member's path in the body (filters.include[1].regex)
// and the JSON type expected there (an array of strings) — where
// encoding/json would name Go types ("cannot unmarshal array into Go value of
// type manage.CreateKeyRequest") or lose the path of a nested member
// ("unknown field \"regex\"").
//
// Member names match exactly, as the API documents them: encoding/json would
// also take "NAME" for a field tagged "name", which makes a typo pass
// silently. A name given twice in one object is refused. JSON null is accepted for any member, as encoding/json leaves
// the value unset. A json.RawMessage member (a destination_config, decoded
// later by its own type) is taken as it is.
package jsonstrict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Decode decodes data, exactly one JSON value, into v (a pointer), or says
// why it cannot: err is what is wrong, without its subject ("must be a
// string", "unknown field", "is not valid JSON: …"), and path the member at
// fault in the body's terms (name, filters.include[1].regex,
// custom_headers.X-A), "" for the body itself. Callers put the two into
// their own field errors.
func Decode(data []byte, v any) (path string, err error) {
	if !utf8.Valid(data) {
		return "", errors.New("is not valid UTF-8")
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic(fmt.Sprintf("jsonstrict: Decode needs a non-nil pointer, not %T", v))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if e := walk(dec, rv.Type().Elem(), ""); e != nil {
		return e.path, errors.New(e.msg)
	}
	if _, err := dec.Token(); err != io.EOF {
		what := "value"
		if rv.Type().Elem().Kind() == reflect.Struct {
			what = "object"
		}
		return "", errors.New("must hold exactly one JSON " + what)
	}
	// The shape is checked: encoding/json now only fills v in.
	if err := json.Unmarshal(data, v); err != nil {
		return "", errors.New("does not have the expected shape")
	}
	return "", nil
}

// fault is what walk found wrong, and where.
type fault struct {
	path, msg string
}

var (
	rawMessage = reflect.TypeFor[json.RawMessage]()
	timeType   = reflect.TypeFor[time.Time]()
)

// walk reads one value from dec and checks it against t, the Go type it
// will be decoded into; path names the value.
// unmarshaler is json.Unmarshaler's type.
var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

func walk(dec *json.Decoder, t reflect.Type, path string) *fault {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(dec, err)
	}
	if tok == nil { // null: encoding/json leaves the value as it is
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessage || t.Kind() == reflect.Interface {
		return skip(dec, tok)
	}
	if reflect.PointerTo(t).Implements(unmarshaler) {
		// A type that decodes itself (time.Time from a string) is checked
		// by its own UnmarshalJSON: here, for a scalar, so that a bad one
		// is named by its path; an object or array when v is filled in.
		if _, ok := tok.(json.Delim); ok {
			return skip(dec, tok)
		}
		b, _ := json.Marshal(tok)
		if err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(b); err != nil {
			if t == timeType {
				return &fault{path: path, msg: "must be an RFC 3339 time (2026-01-02T15:04:05Z)"}
			}
			return &fault{path: path, msg: "is not valid here"}
		}
		return nil
	}
	wrong := func() *fault { return &fault{path: path, msg: "must be " + kind(t)} }
	switch tok := tok.(type) {
	case json.Delim:
		return container(dec, tok, t, path, wrong)
	case string:
		if t.Kind() != reflect.String {
			return wrong()
		}
	case bool:
		if t.Kind() != reflect.Bool {
			return wrong()
		}
	case json.Number:
		return number(tok, t, path, wrong)
	}
	return nil
}

// container checks the members of the object or array that delim opened
// against t, and reads its closing delimiter.
func container(dec *json.Decoder, delim json.Delim, t reflect.Type, path string, wrong func() *fault) *fault {
	switch {
	case delim == '{' && t.Kind() == reflect.Struct:
		fields := fieldsOf(t)
		seen := map[string]bool{}
		for dec.More() {
			name, err := key(dec, seen, path)
			if err != nil {
				return err
			}
			ft, ok := fields[name]
			if !ok {
				return &fault{path: join(path, name), msg: "unknown field"}
			}
			if err := walk(dec, ft, join(path, name)); err != nil {
				return err
			}
		}
	case delim == '{' && t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		seen := map[string]bool{}
		for dec.More() {
			name, err := key(dec, seen, path)
			if err != nil {
				return err
			}
			if err := walk(dec, t.Elem(), join(path, name)); err != nil {
				return err
			}
		}
	case delim == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for i := 0; dec.More(); i++ {
			if t.Kind() == reflect.Array && i >= t.Len() {
				return &fault{path: path, msg: fmt.Sprintf("must have at most %d items", t.Len())}
			}
			if err := walk(dec, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	default:
		return wrong()
	}
	if _, err := dec.Token(); err != nil { // the closing } or ]
		return syntaxError(dec, err)
	}
	return nil
}

// number checks that n fits t.
func number(n json.Number, t reflect.Type, path string, wrong func() *fault) *fault {
	var err error
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		_, err = strconv.ParseInt(string(n), 10, t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		_, err = strconv.ParseUint(string(n), 10, t.Bits())
	case reflect.Float32, reflect.Float64:
		_, err = strconv.ParseFloat(string(n), t.Bits())
	default:
		return wrong()
	}
	if errors.Is(err, strconv.ErrRange) {
		return &fault{path: path, msg: "is out of range"}
	}
	if err != nil {
		return wrong()
	}
	return nil
}

// key reads a member's name, and refuses one the object already had (seen):
// encoding/json would take the last, and whatever read the body before the
// API (a proxy, a log, an audit trail) the first, so the two would disagree
// on what was asked for.
func key(dec *json.Decoder, seen map[string]bool, path string) (string, *fault) {
	tok, err := dec.Token()
	if err != nil {
		return "", syntaxError(dec, err)
	}
	name, _ := tok.(string) // the decoder allows only a string here
	if seen[name] {
		return "", &fault{path: join(path, name), msg: "is given more than once"}
	}
	seen[name] = true
	return name, nil
}

// skip reads the rest of a value whose first token was tok.
func skip(dec *json.Decoder, tok json.Token) *fault {
	if d, ok := tok.(json.Delim); !ok || (d != '{' && d != '[') {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(dec, err)
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

func syntaxError(dec *json.Decoder, err error) *fault {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &fault{msg: "is not valid JSON: it ends too soon"}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return &fault{msg: fmt.Sprintf("is not valid JSON: %s (at byte %d)", msg, dec.InputOffset())}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// fieldsOf maps the JSON names of t's fields to their types, as
// encoding/json names them: the json tag's name, else the field's; fields
// of embedded structs as if they were t's own.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && tag == "" && ft.Kind() == reflect.Struct {
			for name, typ := range fieldsOf(ft) {
				if _, shadowed := fields[name]; !shadowed {
					fields[name] = typ
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		fields[tag] = f.Type
	}
	return fields
}

// kind names the JSON a Go type is decoded from: "a string", "an array of
// strings", "an object".
func kind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array of " + plural(kind(t.Elem()))
	case reflect.Map:
		return "an object of " + plural(kind(t.Elem()))
	case reflect.Struct:
		return "a JSON object"
	}
	return "a JSON value"
}

// plural turns "a string" into "strings", "an object" into "objects".
func plural(k string) string {
	k = strings.TrimPrefix(strings.TrimPrefix(k, "a "), "an ")
	switch {
	case strings.HasPrefix(k, "JSON "):
		return strings.TrimPrefix(k, "JSON ") + "s"
	case k == "true or false":
		return "true or false values"
	case strings.HasPrefix(k, "array of "), strings.HasPrefix(k, "object of "):
		first, rest, _ := strings.Cut(k, " ")
		return first + "s " + rest
	}
	return k + "s"
}
