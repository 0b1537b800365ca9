package lokibridge

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/logstream/logstream/shared/lokibridge/archive"
)

// MinPasswordLength is the shortest password ParseCredentials accepts: with
// no lockout, only length keeps guessing out of reach.
const MinPasswordLength = 16

// Credential is one username/password pair clients may authenticate with.
type Credential struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Credentials are the pairs clients may authenticate with. Several are
// valid at once so they can be rotated: add the new pair, move the clients,
// remove the old one. The zero value accepts nobody.
type Credentials struct {
	pairs []storedCredential
}

// storedCredential keeps hashes, so every comparison is between 32-byte
// values whatever the lengths presented: subtle.ConstantTimeCompare returns
// at once on a length mismatch, which would tell a guesser the length.
type storedCredential struct {
	username string
	user     [sha256.Size]byte
	pass     [sha256.Size]byte
}

// ParseCredentials reads the credentials document:
//
//	{"credentials":[{"username":"…","password":"…"},…]}
//
// or, for a single pair, {"username":"…","password":"…"} — the shape
// Secrets Manager generates from a template (GenerateSecretString with
// SecretStringTemplate {"username":…} and GenerateStringKey "password").
// Every username must be a valid tenant ID (it is the tenant of pushes
// without X-Scope-OrgID), which also keeps ':' out of it (RFC 7617 §2), and
// every password at least MinPasswordLength characters. Errors never quote
// a password.
func ParseCredentials(doc []byte) (Credentials, error) {
	var in struct {
		Credentials []Credential `json:"credentials"`
		Credential
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		// A syntax error may quote a character of a password; the others
		// name a field at most.
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return Credentials{}, fmt.Errorf("credentials: not valid JSON (offset %d)", syn.Offset)
		case errors.As(err, &typ):
			field := typ.Field
			if field == "" {
				field = "the document"
			}
			return Credentials{}, fmt.Errorf("credentials: %s must be a JSON %s", field, jsonKind(typ.Type.Kind()))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return Credentials{}, fmt.Errorf("credentials: %s; want {\"credentials\":[{\"username\":…,\"password\":…},…]}", strings.TrimPrefix(err.Error(), "json: "))
		}
		return Credentials{}, errors.New(`credentials: want {"credentials":[{"username":…,"password":…},…]}`)
	}
	if dec.More() {
		return Credentials{}, errors.New("credentials: more than one JSON document")
	}
	list := in.Credentials
	single := in.Credential != Credential{}
	switch {
	case single && len(list) > 0:
		return Credentials{}, errors.New(`credentials: give either "credentials" or one "username" and "password", not both`)
	case single:
		list = []Credential{in.Credential}
	case len(list) == 0:
		return Credentials{}, errors.New("credentials: none given; at least one username/password pair is needed")
	}
	return NewCredentials(list...)
}

// jsonKind names a Go kind as JSON does.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return k.String()
}

// NewCredentials validates pairs as ParseCredentials does.
func NewCredentials(pairs ...Credential) (Credentials, error) {
	if len(pairs) == 0 {
		return Credentials{}, errors.New("credentials: none given; at least one username/password pair is needed")
	}
	c := Credentials{pairs: make([]storedCredential, 0, len(pairs))}
	for i, p := range pairs {
		switch {
		case p.Username == "":
			return Credentials{}, fmt.Errorf("credentials[%d]: username is empty", i)
		case strings.Contains(p.Username, ":"):
			return Credentials{}, fmt.Errorf("credentials[%d]: username contains ':', which basic auth cannot carry", i)
		case utf8.RuneCountInString(p.Password) < MinPasswordLength:
			return Credentials{}, fmt.Errorf("credentials[%d] (%s): password is shorter than %d characters", i, p.Username, MinPasswordLength)
		}
		if err := archive.ValidateTenant(p.Username); err != nil {
			return Credentials{}, fmt.Errorf("credentials[%d]: the username is the tenant of pushes without X-Scope-OrgID: %w", i, err)
		}
		c.pairs = append(c.pairs, storedCredential{
			username: p.Username,
			user:     sha256.Sum256([]byte(p.Username)),
			pass:     sha256.Sum256([]byte(p.Password)),
		})
	}
	return c, nil
}

// Len is the number of pairs.
func (c Credentials) Len() int { return len(c.pairs) }

// Usernames lists the usernames, for logs at start-up.
func (c Credentials) Usernames() []string {
	out := make([]string, len(c.pairs))
	for i, p := range c.pairs {
		out[i] = p.username
	}
	return out
}

// authenticate returns the username an Authorization header authenticates,
// or why it does not ("missing", "malformed", "mismatch") for the log.
func (c Credentials) authenticate(authorization string) (string, string) {
	if authorization == "" {
		return "", "missing"
	}
	user, pass, ok := parseBasic(authorization)
	if !ok {
		return "", "malformed"
	}
	if u, ok := c.match(user, pass); ok {
		return u, ""
	}
	return "", "mismatch"
}

// match compares the presented pair with every stored pair, each in
// constant time and without stopping at a match, so the time taken says
// neither which pair matched nor how much of one did.
func (c Credentials) match(user, pass string) (string, bool) {
	u := sha256.Sum256([]byte(user))
	p := sha256.Sum256([]byte(pass))
	found, at := 0, 0
	for i := range c.pairs {
		ok := subtle.ConstantTimeCompare(u[:], c.pairs[i].user[:]) & subtle.ConstantTimeCompare(p[:], c.pairs[i].pass[:])
		at = subtle.ConstantTimeSelect(ok&^found, i, at)
		found |= ok
	}
	if found == 0 {
		return "", false
	}
	return c.pairs[at].username, true
}

// parseBasic reads "Basic base64(user:pass)" (RFC 7617 §2; the scheme is
// case-insensitive, RFC 9110 §11.1), as net/http's Request.BasicAuth does.
func parseBasic(h string) (user, pass string, ok bool) {
	const prefix = "basic "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[len(prefix):]))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(raw), ":")
	if !ok {
		return "", "", false
	}
	return user, pass, true
}
