package stream

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/netguard"
)

func TestValidatorNew(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		body      string
		allow     bool
		wantField string // "" = valid
	}{
		{"valid", `{"name":"SIEM","destination_type":"http","destination_config":{"endpoint":"https://h.example.com/in","authorization":"Bearer abcdefghijkl"}}`, false, ""},
		{"valid paused", `{"name":"x","destination_type":"http","status":"paused","destination_config":{"endpoint":"https://h.example.com"}}`, false, ""},
		{"local receiver with switch", `{"name":"x","destination_type":"http","destination_config":{"endpoint":"http://127.0.0.1:9000/"}}`, true, ""},
		{"missing name", `{"destination_type":"http","destination_config":{"endpoint":"https://h.example.com"}}`, false, "name"},
		{"long name", `{"name":"` + strings.Repeat("n", 129) + `","destination_type":"http","destination_config":{"endpoint":"https://h.example.com"}}`, false, "name"},
		{"bad status", `{"name":"x","destination_type":"http","status":"suspended","destination_config":{"endpoint":"https://h.example.com"}}`, false, "status"},
		{"unknown type", `{"name":"x","destination_type":"ftp","destination_config":{}}`, false, "destination_type"},
		{"missing config", `{"name":"x","destination_type":"http"}`, false, "destination_config"},
		{"unknown config field", `{"name":"x","destination_type":"http","destination_config":{"endpoint":"https://h.example.com","url":"x"}}`, false, "destination_config.url"},
		{"http endpoint", `{"name":"x","destination_type":"http","destination_config":{"endpoint":"http://h.example.com"}}`, false, "destination_config.endpoint"},
		{"loopback endpoint", `{"name":"x","destination_type":"http","destination_config":{"endpoint":"https://127.0.0.1/"}}`, false, "destination_config.endpoint"},
		{"not a url", `{"name":"x","destination_type":"http","destination_config":{"endpoint":"hooks"}}`, false, "destination_config.endpoint"},
		{"reserved header", `{"name":"x","destination_type":"http","destination_config":{"endpoint":"https://h.example.com","custom_headers":{"Content-Type":"text/plain"}}}`, false, "destination_config.custom_headers.Content-Type"},
		{"bad header name", `{"name":"x","destination_type":"http","destination_config":{"endpoint":"https://h.example.com","custom_headers":{"a b":"c"}}}`, false, "destination_config.custom_headers.a b"},
		{"header injection", `{"name":"x","destination_type":"http","destination_config":{"endpoint":"https://h.example.com","custom_headers":{"X-A":"1\r\nX-B: 2"}}}`, false, "destination_config.custom_headers.X-A"},
		{"wrong type", `{"name":"x","destination_type":"http","destination_config":{"endpoint":5}}`, false, "destination_config.endpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Validator{Net: netguard.Policy{AllowPrivate: tc.allow}}
			var req CreateRequest
			err := DecodeStrict([]byte(tc.body), &req)
			var s Stream
			if err == nil {
				s, err = v.New("proj_1", req, now)
			}
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if !ValidStreamID(s.ID) || s.ProjectID != "proj_1" || s.CreatedAt != now || s.Status == "" {
					t.Fatalf("stream = %+v", s)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.wantField {
				t.Fatalf("err = %v, want a validation error on %q", err, tc.wantField)
			}
		})
	}
}

func TestDecodeStrictRejectsUnknownTopLevelField(t *testing.T) {
	var req CreateRequest
	err := DecodeStrict([]byte(`{"name":"x","colour":"red"}`), &req)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "colour" {
		t.Fatalf("err = %v", err)
	}
	if err := DecodeStrict([]byte(`{"name":"x"} {}`), &req); err == nil {
		t.Fatal("trailing object accepted")
	}
}

func TestPublicMasksSecrets(t *testing.T) {
	s := Stream{ID: NewID(), DestinationType: "http",
		DestinationConfig: json.RawMessage(`{"endpoint":"https://h.example.com","authorization":"Bearer s3cr3t-token-9876","custom_headers":{"X-Team":"sec"}}`)}
	out, _ := json.Marshal(s.Public())
	if strings.Contains(string(out), "s3cr3t") || !strings.Contains(string(out), `"authorization_last_four":"9876"`) || !strings.Contains(string(out), `"X-Team":"sec"`) {
		t.Fatalf("public view: %s", out)
	}
	c, _ := s.Destination()
	if c.(*destination.HTTPConfig).Authorization != "Bearer s3cr3t-token-9876" {
		t.Fatal("Public changed the stored stream")
	}
}

func TestGeneratedSigningSecretIsRevealedOnce(t *testing.T) {
	var req CreateRequest
	DecodeStrict([]byte(`{"name":"x","destination_type":"http","destination_config":{"endpoint":"https://h.example.com","generate_signing_secret":true}}`), &req)
	s, err := Validator{}.New("p", req, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	secret := s.Revealed["signing_secret"]
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("revealed %v", s.Revealed)
	}
	first, _ := json.Marshal(s.Public())
	if !strings.Contains(string(first), secret) {
		t.Fatalf("the creating response does not show the generated secret: %s", first)
	}
	s.Revealed = nil // as read back from storage
	later, _ := json.Marshal(s.Public())
	if strings.Contains(string(later), secret) {
		t.Fatalf("the secret is shown again: %s", later)
	}
	// An update that omits it keeps it.
	next, err := Validator{}.Update(s, CreateRequest{Name: "y", DestinationType: "http",
		DestinationConfig: json.RawMessage(`{"endpoint":"https://h.example.com"}`)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := next.Destination()
	if c.(*destination.HTTPConfig).SigningSecret != secret || next.Revealed != nil {
		t.Fatalf("update lost the signing secret or revealed it again")
	}
}

func TestIDs(t *testing.T) {
	if id := NewID(); !ValidStreamID(id) {
		t.Fatalf("NewID() = %q is not valid", id)
	}
	for id, want := range map[string]bool{"proj_demo": true, "project-live-1f2e": true, "": false, "a/b": false, "-x": false, strings.Repeat("p", 129): false} {
		if ValidProjectID(id) != want {
			t.Errorf("ValidProjectID(%q) != %v", id, want)
		}
	}
}

// The store tells a create that may still be running from a leaked place by
// the time in the stream's id.
func TestIDTime(t *testing.T) {
	before := time.Now().Truncate(time.Millisecond)
	id := NewID()
	after := time.Now()
	for _, tc := range []struct {
		name, id string
		ok       bool
	}{
		{"made by NewID", id, true},
		{"UUIDv4", "str_0f1e2d3c4b5a49788796a5b4c3d2e1f0", false},
		{"not a stream id", "str_missing", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := IDTime(tc.id)
			if ok != tc.ok || (ok && (got.Before(before) || got.After(after))) {
				t.Fatalf("IDTime(%q) = %v, %v; want %v within [%v, %v]", tc.id, got, ok, tc.ok, before, after)
			}
		})
	}
}

func FuzzDecodeCreate(f *testing.F) {
	f.Add([]byte(`{"name":"SIEM","destination_type":"http","destination_config":{"endpoint":"https://h.example.com"}}`))
	f.Add([]byte(`{"name":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req CreateRequest
		if err := DecodeStrict(body, &req); err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		s, err := Validator{}.New("p", req, time.Now())
		if err != nil {
			return
		}
		c, err := s.Destination()
		if err != nil {
			t.Fatalf("accepted stream has an unreadable config: %v", err)
		}
		if h, ok := c.(*destination.HTTPConfig); ok {
			if _, err := (netguard.Policy{}).CheckURL(h.Endpoint); err != nil {
				t.Fatalf("accepted endpoint %q fails its own check: %v", h.Endpoint, err)
			}
		}
	})
}

// A malformed glob is said to be one, not taken for a rule too long.
func TestFilterGlobErrors(t *testing.T) {
	for body, want := range map[string]string{
		`{"include":[{"field":"type","match":"[a-"}]}`:                              "is not a glob",
		`{"include":[{"field":"type","match":"` + strings.Repeat("a", 257) + `"}]}`: "at most 256 characters",
	} {
		var f Filters
		if err := json.Unmarshal([]byte(body), &f); err != nil {
			t.Fatal(err)
		}
		var ve *ValidationError
		if err := f.Validate(); !errors.As(err, &ve) || ve.Field != "filters.include[0].match" || !strings.Contains(ve.Msg, want) {
			t.Errorf("%.60s: %v, want %q at filters.include[0].match", body, err, want)
		}
	}
}
