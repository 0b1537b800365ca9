package stream

import (
	"strings"
	"testing"
)

func TestPIIValidate(t *testing.T) {
	tests := []struct {
		name    string
		pii     PII
		wantErr string // "" when valid
	}{
		{"every action", PII{Fields: []PIIField{{"a", PIIRedact}, {"b.c", PIIHash}, {"ip", PIITruncateIP}, {"d", PIIXXHash}}}, ""},
		{"unknown action", PII{Fields: []PIIField{{"a", "scramble"}}}, "must be redact, hash, truncate_ip or xxhash"},
		{"twice", PII{Fields: []PIIField{{"a", PIIRedact}, {"a", PIIHash}}}, "listed twice"},
		{"array syntax is not a name", PII{Fields: []PIIField{{"target[].id", PIIRedact}}}, "segment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.pii.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}
