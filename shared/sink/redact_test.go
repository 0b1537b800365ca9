package sink_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	dest "github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

func TestRedact(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name    string
		secrets []string
		text    string
		want    string
	}{
		{"as it is", []string{"tok-123456"}, "bad token tok-123456.", "bad token [REDACTED]."},
		{"the credentials of a scheme", []string{"Bearer tok-123456"}, "token tok-123456 expired", "token [REDACTED] expired"},
		{"the whole header", []string{"Bearer tok-123456"}, "Authorization: Bearer tok-123456", "Authorization: [REDACTED]"},
		{"basic decoded", []string{"Basic " + b64("acct:pa55word")}, "user acct:pa55word, password pa55word", "user [REDACTED], password [REDACTED]"},
		{"base64 with its padding", []string{"tok-12345"}, "got " + b64("tok-12345") + ";", "got [REDACTED];"},
		{"base64 without padding", []string{"tok-12345"}, "got " + base64.RawURLEncoding.EncodeToString([]byte("tok-12345")) + ";", "got [REDACTED];"},
		{"base64 of user:password", []string{"Basic " + b64("acct:pa55word")}, `"auth":"` + b64("acct:pa55word") + `"`, `"auth":"[REDACTED]"`},
		{"json quote and backslash", []string{`a"b\c-1234`}, `{"h":"a\"b\\c-1234"}`, `{"h":"[REDACTED]"}`},
		{"json slash", []string{"a/b/c-1234"}, `{"h":"a\/b\/c-1234"}`, `{"h":"[REDACTED]"}`},
		{"json non-ascii", []string{"pässwörd"}, `{"p":"p\u00e4ssw\u00F6rd"}`, `{"p":"[REDACTED]"}`},
		{"json non-ascii last", []string{"pässwö"}, `{"p":"p\u00e4ssw\u00f6"}`, `{"p":"[REDACTED]"}`},
		{"json surrogate pair", []string{"key😀1234"}, `"key\ud83d\ude001234"`, `"[REDACTED]"`},
		{"go escapes", []string{"kéy\x7f1234"}, `"k\xc3\xa9y\x7f1234"`, `"[REDACTED]"`},
		{"url query", []string{"a b+c/d=1"}, "q=" + url.QueryEscape("a b+c/d=1") + "&x", "q=[REDACTED]&x"},
		{"url path", []string{"a b+c/d=1"}, "/p/" + url.PathEscape("a b+c/d=1"), "/p/[REDACTED]"},
		{"url lower-case hex", []string{"a/b=c"}, "q=a%2fb%3dc", "q=[REDACTED]"},
		{"html entities", []string{`a"b'<c>&1`}, "a&quot;b&#39;&lt;c&gt;&amp;1 and a&#x22;b&apos;&#60;c&#62;&#38;1", "[REDACTED] and [REDACTED]"},
		{"escapes mixed", []string{`a"b\c-1234`}, `a%22b\\c-1234`, "[REDACTED]"},
		{"overlapping", []string{"abab"}, "xabababy", "x[REDACTED]y"},
		{"several", []string{"first-secret", "second-secret"}, "first-secret then second-secret", "[REDACTED] then [REDACTED]"},
		{"too short to redact", []string{"abc"}, "abc abcd", "abc abcd"},
		{"empty", []string{""}, "nothing to hide", "nothing to hide"},
		{"nothing to redact", []string{"tok-123456"}, `plain "text" with \ and % and &`, `plain "text" with \ and % and &`},
		{"no secrets", nil, "tok-123456", "tok-123456"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sink.NewSecrets(tc.secrets...).Redact(tc.text); got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

// Each destination type's secrets are known as its sender writes them on
// the wire: a header value shown back whole, or its credentials alone, is
// redacted.
func TestSecretsOf(t *testing.T) {
	basic := func(user, pass string) string {
		r, _ := http.NewRequest(http.MethodPost, "https://logs.example.com", nil)
		r.SetBasicAuth(user, pass) // as the Loki sender does
		return r.Header.Get("Authorization")
	}
	tests := []struct {
		name   string
		config dest.Config
		wire   []string // what the sender puts in its request
	}{
		{"datadog", &dest.DatadogConfig{Site: "datadoghq.eu", APIKey: "5f2c9a7e1b3d4c6f8a0e2d4b6c8f1a3e"},
			[]string{"5f2c9a7e1b3d4c6f8a0e2d4b6c8f1a3e"}},
		{"grafana_loki", &dest.GrafanaLokiConfig{Hostname: "logs.example.com", Username: "acct-1", Password: `glc_p"w\ö`},
			[]string{basic("acct-1", `glc_p"w\ö`), "acct-1:" + `glc_p"w\ö`, `glc_p"w\ö`}},
		{"splunk_hec", &dest.SplunkHECConfig{Host: "hec.example.com", Token: "8a1f9c2e-4b7d-4e3a-9c5f-2d8e6b1a7f40"},
			[]string{"Splunk 8a1f9c2e-4b7d-4e3a-9c5f-2d8e6b1a7f40", "8a1f9c2e-4b7d-4e3a-9c5f-2d8e6b1a7f40"}},
		{"http", &dest.HTTPConfig{Endpoint: "https://h.example.com", Authorization: "Bearer t0k-é", SigningSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
			[]string{"Bearer t0k-é", "t0k-é", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sink.SecretsOf(tc.config)
			for _, w := range tc.wire {
				for _, e := range sinktest.Encodings {
					if got := s.Redact("<" + e.Encode(w) + ">"); got != "<[REDACTED]>" {
						t.Errorf("%s of %q: Redact = %q", e.Name, w, got)
					}
				}
			}
		})
	}
	for _, c := range []dest.Config{&dest.EventBridgeConfig{}, &dest.S3Config{}, nil} {
		if got := sink.SecretsOf(c).Redact("nothing of theirs travels"); got != "nothing of theirs travels" {
			t.Errorf("SecretsOf(%T) redacted %q", c, got)
		}
	}
}

func TestWrapAndWithholdKeepTheError(t *testing.T) {
	err := fmt.Errorf("api error: token tok-123456 is invalid: %w", context.DeadlineExceeded)
	tests := []struct {
		name string
		got  error
		want string
	}{
		{"wrap", sink.NewSecrets("tok-123456").Wrap(err), "api error: token [REDACTED] is invalid: context deadline exceeded"},
		{"withhold", sink.Withhold(err), sink.Withheld},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got.Error() != tc.want || !errors.Is(tc.got, context.DeadlineExceeded) {
				t.Fatalf("got %q (is deadline: %v), want %q", tc.got, errors.Is(tc.got, context.DeadlineExceeded), tc.want)
			}
		})
	}
	if sink.NewSecrets("x").Wrap(nil) != nil || sink.Withhold(nil) != nil {
		t.Fatal("a nil error came back as an error")
	}
}

// An answer that echoes a secret in any known encoding, between any text
// that is not itself an escape, shows no form of it once redacted.
func FuzzRedact(f *testing.F) {
	f.Add(`t0k"en\é+9Fq2/Lx7`, "401: got ", " back", uint8(0))
	f.Add("Basic YWNjdDpwYTU1d29yZA==", `{"headers":{"Authorization":"`, `"}}`, uint8(3))
	f.Add("key😀1234", "<p>", "</p>", uint8(4))
	f.Add("a b+c/d=1", "q=", "&r=1", uint8(5))
	f.Add("abab", "ab", "ba", uint8(7))
	f.Fuzz(func(t *testing.T, secret, before, after string, enc uint8) {
		// Text around an echo is not itself the start of an escape: a
		// destination that wants to hide what it echoes can (see Redact).
		clean := func(s string) string {
			return strings.Map(func(r rune) rune {
				if strings.ContainsRune(`\%&+`, r) {
					return -1
				}
				return r
			}, s)
		}
		before, after = clean(before), clean(after)
		if len(secret) < 4 || !utf8.ValidString(secret) || strings.Contains(secret, "REDACTED") || strings.ContainsFunc(secret, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return
		}
		e := sinktest.Encodings[int(enc)%len(sinktest.Encodings)]
		got := sink.NewSecrets(secret).Redact(before + e.Encode(secret) + after)
		if leaks := sinktest.Leaks(got, 0, secret); len(leaks) > 0 {
			b, _ := json.Marshal(got)
			t.Fatalf("%s echo: Redact left %s: %s", e.Name, strings.Join(leaks, ", "), b)
		}
	})
}
