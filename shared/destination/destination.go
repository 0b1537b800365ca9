package destination

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/logstream/logstream/shared/jsonstrict"
	"github.com/logstream/logstream/shared/netguard"
)

// kinds is every destination type, in the order Types lists them (and so
// topology its queues and functions). A type is declared once, beside its
// config (datadog.go, s3.go, …); this list is its one registration.
var kinds = []Kind{datadogKind, grafanaLokiKind, splunkHECKind, httpKind, eventBridgeKind, s3Kind}

// Kind declares one destination type: its name, its config, and what
// deploying its sender needs. Validation, the deployed shape (topology, and
// from it infra and the local stack) and the CLI derive from these
// declarations instead of listing the types again.
type Kind struct {
	// Type is the destination_type value, as users write it.
	Type string
	// New returns a zero config of the type.
	New func() Config
	// AWS is the AWS service the sender calls with logstream's own role;
	// empty for a destination reached over HTTPS with the customer's own
	// credentials.
	AWS AWSService
	// Grants are the IAM statements the sender needs on resources customers
	// name in their streams.
	Grants []Grant
}

// AWSService names the AWS SDK client a sender uses.
type AWSService string

// The AWS services destinations are written with.
const (
	AWSEventBridge AWSService = "eventbridge"
	AWSS3          AWSService = "s3"
)

// Grant is one IAM statement a sender needs on resources in customers'
// accounts. They are known only at run time, so the resource is a pattern
// matching any of them, and the statement holds only where AccountKey is not
// the deploying account, so a stream cannot be pointed at the platform's own
// resources. The customer's resource policy is what admits logstream.
type Grant struct {
	Sid     string
	Actions []string
	// ARN is the resource pattern after "arn:<partition>:", for example
	// "s3:::*/*"; the deployment puts its partition in front.
	ARN string
	// AccountKey is the condition key holding the resource's account
	// ("aws:ResourceAccount", "s3:ResourceAccount").
	AccountKey string
}

// Kinds returns every destination type's declaration, in Types' order.
func Kinds() []Kind { return slices.Clone(kinds) }

// KindOf returns the declaration of type typ.
func KindOf(typ string) (Kind, bool) {
	for _, k := range kinds {
		if k.Type == typ {
			return k, true
		}
	}
	return Kind{}, false
}

// Types returns every destination type, always in the same order.
func Types() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.Type
	}
	return out
}

// Config is one destination type's configuration. Only this package's types
// implement it: validate is the check Validate runs.
type Config interface {
	Type() string
	// Secrets returns pointers to the config's secret string fields, keyed by JSON field name,
	// so storage can encrypt them, responses can mask them, and updates can keep them.
	Secrets() map[string]*string
	// SecretBindings names, for each secret logstream puts on the wire, the
	// JSON fields that decide who receives it. An update that changes one of
	// them must give that secret again (see ValidateUpdate). A secret that is
	// never sent (a signing key) has no entry.
	SecretBindings() map[string][]string
	// validate checks every field and normalises them; endpoints go through
	// the policy.
	validate(netguard.Policy) *FieldError
}

// FieldError is a validation failure of one field. Field is a path relative to
// destination_config ("site", "labels.env", "custom_headers.X-Foo"); it is
// empty when the config as a whole is at fault, and "destination_type" for an
// unknown type.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func invalid(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// MaxConfigBytes bounds a destination config's JSON; the largest legitimate
// one (20 custom headers of 4 KiB) stays well under it.
const MaxConfigBytes = 128 << 10

// newConfig returns a zero config of type typ.
func newConfig(typ string) (Config, error) {
	k, ok := KindOf(typ)
	if !ok {
		return nil, invalid("destination_type", "must be one of %s", strings.Join(Types(), ", "))
	}
	return k.New(), nil
}

// Decode strictly decodes raw (DisallowUnknownFields, one object, no trailing data) into the type's
// config struct. Unknown type → FieldError{"destination_type", …}. Field paths in errors are relative
// to destination_config, e.g. "site", "labels.env", "custom_headers.X-Foo".
func Decode(typ string, raw json.RawMessage) (Config, error) {
	c, err := newConfig(typ)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, invalid("", "is required")
	}
	if len(raw) > MaxConfigBytes {
		return nil, invalid("", "is larger than %d bytes", MaxConfigBytes)
	}
	if err := decodeStrict(trimmed, c); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeStrict decodes exactly one JSON object into v, refusing unknown
// fields and anything after the object; the error names the member by its
// path (jsonstrict).
func decodeStrict(data []byte, v any) *FieldError {
	if path, err := jsonstrict.Decode(data, v); err != nil {
		return invalid(path, "%v", err)
	}
	return nil
}

// Validate checks every field (required ones included) and normalises (trim, lower-case host names,
// defaults such as Loki format "protobuf", http content_format "JSONLINES"). Returns *FieldError.
//
// For an http config with generate_signing_secret set, Validate fills
// signing_secret with a new secret and clears the request-only flag: a caller
// that wants to show the new secret once reads SigningSecret afterwards when
// the flag was set before.
func Validate(c Config, p netguard.Policy) error {
	if isNil(c) {
		return invalid("destination_type", "unsupported destination config %T", c)
	}
	if err := c.validate(p); err != nil {
		return err
	}
	return nil
}

// ValidateUpdate validates next, the config an update asks for, as the
// successor of prev, the stored config of the same type. A secret that next
// leaves empty keeps its stored value, so an update need not repeat secrets
// it cannot read, unless the update changes a field that decides where that
// secret is sent (SecretBindings): then the update is refused with a
// *FieldError on the secret, and must give it again. Otherwise whoever may
// edit a stream but not read its secrets could point it at a server of their
// own and receive the stored credential; and dropping the secret quietly
// would leave the customer to find out from failed deliveries.
//
// The bound fields are compared once validated, in the normalised form they
// are stored in, so the same address spelled differently is no change. An
// http update that asks for generate_signing_secret gets a new signing
// secret instead of the stored one.
func ValidateUpdate(next, prev Config, p netguard.Policy) error {
	if isNil(next) || isNil(prev) || next.Type() != prev.Type() {
		return Validate(next, p)
	}
	kept := keepSecrets(next, prev)
	if err := Validate(next, p); err != nil {
		return err
	}
	if len(kept) == 0 {
		return nil
	}
	now, err := fieldValues(next)
	if err != nil {
		return err
	}
	before, err := fieldValues(prev)
	if err != nil {
		return err
	}
	bindings := next.SecretBindings()
	for _, name := range kept {
		var moved []string
		for _, f := range bindings[name] {
			if !bytes.Equal(now[f], before[f]) {
				moved = append(moved, f)
			}
		}
		if len(moved) > 0 {
			return invalid(name, "is required when %s changes: the stored %s is sent only to the destination it was given for",
				strings.Join(moved, ", "), name)
		}
	}
	return nil
}

// keepSecrets copies into next every secret that next leaves empty and prev
// holds, and returns their names, sorted. An http config that asks for
// generate_signing_secret keeps no signing secret.
func keepSecrets(next, prev Config) []string {
	old := prev.Secrets()
	var kept []string
	for name, p := range next.Secrets() {
		if strings.TrimSpace(*p) != "" {
			continue
		}
		if h, ok := next.(*HTTPConfig); ok && name == "signing_secret" && h.GenerateSigningSecret {
			continue
		}
		if o, ok := old[name]; ok && *o != "" {
			*p = *o
			kept = append(kept, name)
		}
	}
	slices.Sort(kept)
	return kept
}

// fieldValues returns the config's JSON fields by name, so bound fields are
// compared without a case per type.
func fieldValues(c Config) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("compare %s config: %w", c.Type(), err)
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("compare %s config: %w", c.Type(), err)
	}
	return out, nil
}

// isNil reports whether c is nil or a nil pointer.
func isNil(c Config) bool {
	if c == nil {
		return true
	}
	v := reflect.ValueOf(c)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// Public returns the config as API responses show it: each secret field removed and replaced by
// "<field>_last_four": last four characters (or "" when shorter than 12 chars — never reveal a
// short secret), never the secret itself. A map or struct that marshals to a JSON object.
func Public(c Config) map[string]any {
	out := map[string]any{}
	if isNil(c) {
		return out
	}
	clear, secrets, err := Split(c)
	if err != nil {
		return out
	}
	dec := json.NewDecoder(bytes.NewReader(clear))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return map[string]any{}
	}
	for name := range c.Secrets() {
		delete(out, name)
		// An unset secret is simply absent; a set one shows its last four.
		if secrets[name] != "" {
			out[name+"_last_four"] = LastFour(secrets[name])
		}
	}
	return out
}

// LastFour returns the last four characters of secret, or "" when the secret
// is shorter than 12 characters: four characters of a short secret are too
// large a part of it to show.
func LastFour(secret string) string {
	r := []rune(secret)
	if len(r) < 12 {
		return ""
	}
	return string(r[len(r)-4:])
}

// Split returns the config's JSON with every secret field emptied (for storage in clear) and the
// secrets as a map (to be encrypted); Join is the inverse (used after decryption).
// Empty secrets are left out of the map. Request-only fields
// (generate_signing_secret) are never in the clear JSON.
func Split(c Config) (clear json.RawMessage, secrets map[string]string, err error) {
	if isNil(c) {
		return nil, nil, errors.New("split destination config: nil config")
	}
	whole, err := json.Marshal(c)
	if err != nil {
		return nil, nil, fmt.Errorf("split %s config: %w", c.Type(), err)
	}
	// Work on a copy so that c is never modified, not even for a moment:
	// another goroutine may be reading it.
	cp, err := newConfig(c.Type())
	if err != nil {
		return nil, nil, fmt.Errorf("split %s config: %w", c.Type(), err)
	}
	if err := json.Unmarshal(whole, cp); err != nil {
		return nil, nil, fmt.Errorf("split %s config: %w", c.Type(), err)
	}
	if h, ok := cp.(*HTTPConfig); ok {
		h.GenerateSigningSecret = false
	}
	secrets = map[string]string{}
	for name, p := range cp.Secrets() {
		if *p != "" {
			secrets[name] = *p
		}
		*p = ""
	}
	clear, err = json.Marshal(cp)
	if err != nil {
		return nil, nil, fmt.Errorf("split %s config: %w", c.Type(), err)
	}
	return clear, secrets, nil
}

// Join rebuilds a config from the clear JSON and the secrets Split returned.
func Join(typ string, clear json.RawMessage, secrets map[string]string) (Config, error) {
	c, err := Decode(typ, clear)
	if err != nil {
		return nil, fmt.Errorf("join %s config: %w", typ, err)
	}
	fields := c.Secrets()
	for name, v := range secrets {
		p, ok := fields[name]
		if !ok {
			return nil, fmt.Errorf("join %s config: %q is not a secret of this type", typ, name)
		}
		*p = v
	}
	return c, nil
}
