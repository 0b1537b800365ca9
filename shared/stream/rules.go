package stream

import (
	"path"
	"strings"
)

// Filters choose which of a project's events a stream receives. They are
// stored and validated now; delivery applies them in a later change.
//
// An event passes when it matches at least one Include rule (or there are
// none) and no Exclude rule. A rule names a field by a dotted path into the
// event object ("eventType", "actor.alternateId") and either a glob
// (path.Match syntax: "user.session.*") or a list of exact values.
type Filters struct {
	Include []Rule `json:"include,omitempty"`
	Exclude []Rule `json:"exclude,omitempty"`
}

// Rule matches one field of an event.
type Rule struct {
	Field string   `json:"field"`
	Match string   `json:"match,omitempty"`
	In    []string `json:"in,omitempty"`
}

// PII says which fields of every event a stream masks before delivery.
type PII struct {
	Fields []PIIField `json:"fields"`
}

// PIIField masks one field.
type PIIField struct {
	Field string `json:"field"`
	// Action: "redact" replaces the value with "[REDACTED]", "hash" with its
	// keyed SHA-256 (stable per stream, so values can still be correlated),
	// "truncate_ip" keeps an IP address's network part (/24, /48);
	// "xxhash" is Auth0's unkeyed hash, weaker, for matching Auth0's values.
	Action string `json:"action"`
}

// PII masking actions.
const (
	PIIRedact     = "redact"
	PIIHash       = "hash"
	PIITruncateIP = "truncate_ip"
	// PIIXXHash is the unkeyed XXH64 Auth0's log streams hash with: anyone
	// can hash a guessed value and compare, so it hides nothing from
	// someone who can guess; it exists for matching values Auth0 sent.
	PIIXXHash = "xxhash"
)

const (
	maxRules      = 20
	maxRuleValues = 50
	maxPIIFields  = 50
	maxPathDepth  = 10
)

func checkFieldPath(field, p string) *ValidationError {
	segs := strings.Split(p, ".")
	if p == "" || len(segs) > maxPathDepth {
		return invalid(field, "must be a dotted path of at most %d names", maxPathDepth)
	}
	for _, s := range segs {
		if !validSegment(s) {
			return invalid(field, "segment %q must be 1-64 letters, digits, _ $ @ or -", s)
		}
	}
	return nil
}

// Validate checks the filters.
func (f *Filters) Validate() error {
	if f == nil {
		return nil
	}
	for name, rules := range map[string][]Rule{"filters.include": f.Include, "filters.exclude": f.Exclude} {
		if len(rules) > maxRules {
			return invalid(name, "at most %d rules", maxRules)
		}
		for i, r := range rules {
			field := name + "[" + itoa(i) + "]"
			if err := checkFieldPath(field+".field", r.Field); err != nil {
				return err
			}
			switch {
			case (r.Match == "") == (len(r.In) == 0):
				return invalid(field, "needs exactly one of match or in")
			case r.Match != "":
				if len(r.Match) > 256 {
					return invalid(field+".match", "must be at most 256 characters")
				}
				if _, err := path.Match(r.Match, ""); err != nil {
					return invalid(field+".match", "is not a glob (path.Match syntax: *, ?, [a-z], \\ escapes): %v", err)
				}
			case len(r.In) > maxRuleValues:
				return invalid(field+".in", "at most %d values", maxRuleValues)
			}
		}
	}
	return nil
}

// Validate checks the masking rules.
func (p *PII) Validate() error {
	if p == nil {
		return nil
	}
	if len(p.Fields) > maxPIIFields {
		return invalid("pii.fields", "at most %d fields", maxPIIFields)
	}
	seen := map[string]bool{}
	for i, f := range p.Fields {
		field := "pii.fields[" + itoa(i) + "]"
		if err := checkFieldPath(field+".field", f.Field); err != nil {
			return err
		}
		if seen[f.Field] {
			return invalid(field+".field", "%q is listed twice", f.Field)
		}
		seen[f.Field] = true
		switch f.Action {
		case PIIRedact, PIIHash, PIITruncateIP, PIIXXHash:
		default:
			return invalid(field+".action", "must be %s, %s, %s or %s", PIIRedact, PIIHash, PIITruncateIP, PIIXXHash)
		}
	}
	return nil
}
