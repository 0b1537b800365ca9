package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/logstream/logstream/shared/stream"
)

// Access is what a key may do within its projects.
type Access string

// Access levels. Write implies read.
const (
	AccessRead  Access = "read"
	AccessWrite Access = "write"
)

// Valid reports whether a is a known access level.
func (a Access) Valid() bool { return a == AccessRead || a == AccessWrite }

// AllProjects in Key.Projects (alone) scopes a key to every project.
const AllProjects = "*"

// Key is an API key as stored and listed; the secret itself is never kept.
type Key struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Projects  []string   `json:"projects"` // project ids, or ["*"] for all projects
	Access    Access     `json:"access"`
	Admin     bool       `json:"admin"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	LastFour  string     `json:"last_four"` // the secret's last four characters, to recognise it in a list
	Hash      string     `json:"-"`         // hex SHA-256 of the secret
}

// ValidationError is a field-level validation failure. It is the domain's one
// validation error type, so the HTTP boundary answers it as 400 like any other.
type ValidationError = stream.ValidationError

const (
	secretPrefix = "lsk_"
	idPrefix     = "key_"
	secretBytes  = 32
	// idHexChars is 80 bits of the hash: ids are looked up, not trusted, so
	// they only need to be unique among issued keys (the full hash is then
	// compared), and short enough to read in a list.
	idHexChars     = 20
	maxNameLength  = 100
	maxProjects    = 100
	lastFourLength = 4
)

var (
	// secretPattern is what Generate produces: 32 bytes in unpadded base64url
	// are 43 characters.
	secretPattern = regexp.MustCompile(`^lsk_[A-Za-z0-9_-]{43}$`)
	idPattern     = regexp.MustCompile(`^key_[0-9a-f]{20}$`)
)

// ValidID reports whether id has the form Generate gives key ids.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// HashKey returns the hex SHA-256 of a key: what the store keeps, and how the
// bootstrap admin key is configured (Authenticator.AdminKeyHash).
//
// A fast, unsalted hash is right here, unlike for passwords: a generated key
// has 256 bits of entropy, so a leaked hash cannot be brute-forced however
// fast the hash is, and a slow KDF (bcrypt, scrypt) would add tens of
// milliseconds to every request and make the hash unusable as a lookup id.
// The admin key is chosen by an operator; it must be as random as a
// generated one (use Generate's format).
func HashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// idOf derives a key's id from its hash, so Authenticate can find the stored
// key without an index on the hash.
func idOf(hash string) string { return idPrefix + hash[:idHexChars] }

// hashesEqual compares two hashes in constant time, so response timing does not
// tell an attacker how much of a guessed hash is right.
func hashesEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Generate makes a new key: the secret, to show once, and the Key to store.
// Errors are *ValidationError. The Key is not an admin key; a caller that
// issues one sets Admin itself.
func Generate(name string, projects []string, access Access, now time.Time) (secret string, k Key, err error) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxNameLength || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", Key{}, &ValidationError{Field: "name", Msg: fmt.Sprintf("is required: 1 to %d characters, no control characters", maxNameLength)}
	}
	if err := validateProjects(projects); err != nil {
		return "", Key{}, err
	}
	if !access.Valid() {
		return "", Key{}, &ValidationError{Field: "access", Msg: fmt.Sprintf("must be %q or %q", AccessRead, AccessWrite)}
	}
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil { // crypto/rand.Read does not fail on supported platforms; kept for safety
		return "", Key{}, fmt.Errorf("generate api key: %w", err)
	}
	secret = secretPrefix + base64.RawURLEncoding.EncodeToString(b)
	hash := HashKey(secret)
	return secret, Key{
		ID:        idOf(hash),
		Name:      name,
		Projects:  append([]string(nil), projects...),
		Access:    access,
		CreatedAt: now.UTC(),
		LastFour:  secret[len(secret)-lastFourLength:],
		Hash:      hash,
	}, nil
}

func validateProjects(projects []string) error {
	if len(projects) == 0 || len(projects) > maxProjects {
		return &ValidationError{Field: "projects", Msg: fmt.Sprintf("must list 1 to %d project ids, or [%q]", maxProjects, AllProjects)}
	}
	seen := make(map[string]bool, len(projects))
	for _, p := range projects {
		switch {
		case p == AllProjects && len(projects) != 1:
			return &ValidationError{Field: "projects", Msg: fmt.Sprintf("%q must be the only entry", AllProjects)}
		case p != AllProjects && !stream.ValidProjectID(p):
			return &ValidationError{Field: "projects", Msg: fmt.Sprintf("%q is not a valid project id", p)}
		case seen[p]:
			return &ValidationError{Field: "projects", Msg: fmt.Sprintf("%q is listed twice", p)}
		}
		seen[p] = true
	}
	return nil
}

// Active reports whether the key has not been revoked.
func (k Key) Active() bool { return k.RevokedAt == nil }

// Allows reports whether the key may access projectID with the needed access.
// Admin keys may do anything; revoked keys nothing. Callers answer 403 when a
// key lacks the access level for a project it has, and 404 when it names a
// project the key does not have.
func (k Key) Allows(projectID string, need Access) bool {
	if !k.Active() || !need.Valid() || !stream.ValidProjectID(projectID) {
		return false
	}
	if k.Admin {
		return true
	}
	if !k.Access.Valid() || (need == AccessWrite && k.Access != AccessWrite) {
		return false
	}
	return k.HasProject(projectID)
}

// HasProject reports whether projectID is in the key's scope, whatever its
// access level: the caller's choice between 403 (in scope, not allowed) and
// 404 (another project's resource, whose existence must not show).
func (k Key) HasProject(projectID string) bool {
	if !k.Active() || !stream.ValidProjectID(projectID) {
		return false
	}
	if k.Admin {
		return true
	}
	for _, p := range k.Projects {
		if p == AllProjects || p == projectID {
			return true
		}
	}
	return false
}
