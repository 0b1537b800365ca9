package sink

import (
	"context"
	"encoding/base64"
	"html"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/logstream/logstream/shared/destination"
)

// Redaction: a destination's answer can quote the request that caused it
// (a proxy or a receiver that echoes its headers), and its text ends up
// where people with less access than the stream's editors read it: health's
// last_error, the test route, logs, the DLQ's logstream_reason. Each secret a
// sender puts on the wire is known here in every form it can come back in,
// and an answer is redacted (then cut) at the one place it becomes an error
// text: Answer.ErrAs for the HTTP senders, Text and Wrap for the AWS ones.

// Redacted replaces each secret in a text.
const Redacted = "[REDACTED]"

// maxAnswerText is how much of a destination's answer an error text
// carries: enough for every destination's JSON error, short enough for a
// health record and a DLQ attribute.
const maxAnswerText = 512

// minForm is the shortest form redacted: a shorter one would blank out
// ordinary text, and is no secret worth the name.
const minForm = 4

// maxEscape bounds the bytes that encode one character of a secret in an
// answer: "&CounterClockwiseContourIntegral;", 33 bytes, is the longest HTML
// character reference, longer than any backslash or percent escape Redact
// decodes. A trailing escape cut short is at most another maxEscape+2 bytes.
const maxEscape = 33

// Secrets are the forms in which the secrets a sender put on the wire may
// come back in an answer. The zero value redacts nothing.
type Secrets struct {
	forms   []string // decoded: as they read once escapes are undone
	longest int
}

// NewSecrets derives the forms of values, each as a sender puts it on the
// wire: the value; for an "<scheme> <credentials>" header value, its
// credentials part and, for Basic (RFC 7617), the "user:password" it
// decodes to and the password; and the base64 of each (standard and URL
// alphabets). JSON, URL, Go and HTML escapes of any of them are matched by
// Redact itself. Empty values and forms shorter than minForm are left out.
func NewSecrets(values ...string) Secrets {
	var s Secrets
	add := func(v string) {
		if len(v) < minForm {
			return
		}
		for _, f := range []string{v,
			base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)),
			base64.URLEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v))} {
			if !slices.Contains(s.forms, f) {
				s.forms = append(s.forms, f)
				s.longest = max(s.longest, len(f))
			}
		}
	}
	for _, v := range values {
		add(v)
		scheme, creds, ok := strings.Cut(v, " ")
		if !ok {
			continue
		}
		creds = strings.TrimSpace(creds)
		add(creds)
		if !strings.EqualFold(scheme, "Basic") {
			continue
		}
		if b, err := base64.StdEncoding.DecodeString(creds); err == nil && utf8.Valid(b) {
			add(string(b))
			if _, pass, ok := strings.Cut(string(b), ":"); ok {
				add(pass)
			}
		}
	}
	return s
}

// SecretsOf returns the secrets a sender of c puts on the wire, as header
// values exactly as it sends them, and every other secret field of c (a
// signing secret never travels, but is redacted all the same).
func SecretsOf(c destination.Config) Secrets {
	if c == nil {
		return Secrets{}
	}
	var values []string
	switch c := c.(type) {
	case *destination.GrafanaLokiConfig:
		// Authorization: Basic base64("user:password") (RFC 7617), as
		// http.Request.SetBasicAuth writes it.
		if c.Username != "" || c.Password != "" {
			values = append(values, "Basic "+base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password)))
		}
	case *destination.SplunkHECConfig:
		// Authorization: Splunk <token> (HEC's scheme).
		if c.Token != "" {
			values = append(values, "Splunk "+c.Token)
		}
	}
	// The rest travel as they are: Datadog's DD-API-KEY, an http
	// authorization.
	for _, p := range c.Secrets() {
		if p != nil {
			values = append(values, *p)
		}
	}
	sort.Strings(values) // the same forms in the same order, whatever the map's order
	return NewSecrets(values...)
}

// CredentialSecrets returns the secrets an AWS client signed with, from its
// credentials provider (a cache, so this is no new request): the access key
// id in Authorization, the session token in X-Amz-Security-Token, and the
// secret key, which never travels. A nil provider has none.
func CredentialSecrets(ctx context.Context, p aws.CredentialsProvider) (Secrets, error) {
	if p == nil {
		return Secrets{}, nil
	}
	c, err := p.Retrieve(ctx)
	if err != nil {
		return Secrets{}, err
	}
	return NewSecrets(c.AccessKeyID, c.SecretAccessKey, c.SessionToken), nil
}

// Join returns the forms of both.
func (s Secrets) Join(o Secrets) Secrets {
	out := Secrets{forms: slices.Clone(s.forms), longest: max(s.longest, o.longest)}
	for _, f := range o.forms {
		if !slices.Contains(out.forms, f) {
			out.forms = append(out.forms, f)
		}
	}
	return out
}

// Redact replaces every occurrence of the secrets in text with Redacted,
// whether written as they are or escaped in any mix of JSON (\" \\ \/
// \uXXXX), Go (\xXX \UXXXXXXXX), URL (%XX, + for a space) and HTML (&quot;
// &#34; &#x22;) escapes. It guards against destinations that echo what they
// received (a proxy, a debug answer); one that means to show a credential it
// was sent can always encode it some way no list foresees.
func (s Secrets) Redact(text string) string {
	return s.redact(text, len(text))
}

// Text is an answer as an error text shows it: redacted, trimmed, and cut to
// maxAnswerText bytes on a rune boundary.
func (s Secrets) Text(answer string) string {
	return s.text(answer, false)
}

// text is Text for an answer that may have been read only in part: then a
// secret may begin in its last bytes and be cut, so they are dropped; a
// tail that is no secret costs only text nobody would have read.
func (s Secrets) text(answer string, truncated bool) string {
	keep := len(answer)
	if truncated && len(s.forms) > 0 {
		keep = max(0, len(answer)-(s.longest*maxEscape+maxEscape+2))
		for keep > 0 && !utf8.RuneStart(answer[keep]) {
			keep--
		}
	}
	t := strings.TrimSpace(s.redact(answer, keep))
	if len(t) <= maxAnswerText {
		if truncated {
			t += "…"
		}
		return t
	}
	cut := maxAnswerText
	for cut > 0 && !utf8.RuneStart(t[cut]) {
		cut--
	}
	t = t[:cut]
	for k := len(Redacted) - 1; k > 0; k-- {
		if strings.HasSuffix(t, Redacted[:k]) {
			t = t[:len(t)-k]
			break
		}
	}
	return t + "…"
}

// Wrap returns err with its text as Text shows it, still unwrapping to err:
// for an SDK error whose text quotes the destination's answer.
func (s Secrets) Wrap(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{text: s.Text(err.Error()), err: err}
}

// Withheld stands for an answer that cannot be redacted because the
// credentials it might echo could not be read: better no text than theirs.
const Withheld = "(answer withheld: the credentials to redact it from could not be read)"

// Withhold returns err with the text Withheld, still unwrapping to err.
func Withhold(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{text: Withheld, err: err}
}

type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// redact is Redact of text[:keep], where a secret that begins before keep
// and ends after it is redacted whole.
func (s Secrets) redact(text string, keep int) string {
	if len(s.forms) == 0 {
		return text[:keep]
	}
	spans := s.find(text, nil, nil)
	if strings.ContainsAny(text, `\%&`) {
		hay, from := decode(text, false)
		spans = s.find(hay, from, spans)
	}
	if strings.Contains(text, "+") {
		hay, from := decode(text, true)
		spans = s.find(hay, from, spans)
	}
	if mojibake(text) {
		// A receiver that read the header's UTF-8 bytes as Latin-1 or
		// Windows-1252 (Python's http.server, Node) echoes é as "Ã©".
		hay, from := bytewise(text)
		spans = s.find(hay, from, spans)
		if strings.ContainsAny(text, `\%&`) {
			esc, efrom := decode(hay, false)
			for i, f := range efrom {
				efrom[i] = from[f]
			}
			spans = s.find(esc, efrom, spans)
		}
	}
	if len(spans) == 0 {
		return text[:keep]
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		if sp[0] >= keep {
			break
		}
		if sp[0] >= last {
			b.WriteString(text[last:sp[0]])
			b.WriteString(Redacted)
		}
		last = max(last, sp[1])
	}
	if last < keep {
		b.WriteString(text[last:keep])
	}
	return b.String()
}

// find adds to spans the [start, end) in the original text of each
// occurrence of a form in hay; from maps each byte of hay to the offset of
// what it was decoded from (nil: hay is the text).
func (s Secrets) find(hay string, from []int32, spans [][2]int) [][2]int {
	for _, f := range s.forms {
		for off := 0; ; {
			k := strings.Index(hay[off:], f)
			if k < 0 {
				break
			}
			a, z := off+k, off+k+len(f)
			if from == nil {
				spans = append(spans, [2]int{a, z})
			} else {
				// The match's last byte may be one of several that one
				// escape decoded to (a rune from \u00e9): it ends after it.
				for z < len(from)-1 && from[z] == from[z-1] {
					z++
				}
				spans = append(spans, [2]int{int(from[a]), int(from[z])})
			}
			off = a + 1
		}
	}
	return spans
}

// decode undoes the escapes Redact knows in text, and returns the result
// with, for each of its bytes, the offset in text of what it was decoded
// from; from has one more entry, len(text), so a match's end maps too. With
// plus, "+" reads as a space (form encoding).
func decode(text string, plus bool) (string, []int32) {
	b := make([]byte, 0, len(text))
	from := make([]int32, 0, len(text)+1)
	for i := 0; i < len(text); {
		var (
			out []byte
			n   int
		)
		switch text[i] {
		case '\\':
			out, n = backslash(text[i:])
		case '%':
			if v, ok := hex(text[i+1:], 2); ok {
				out, n = []byte{byte(v)}, 3
			}
		case '&':
			out, n = entity(text[i:])
		case '+':
			if plus {
				out, n = []byte{' '}, 1
			}
		}
		if n == 0 {
			b, from = append(b, text[i]), append(from, int32(i))
			i++
			continue
		}
		b = append(b, out...)
		for range out {
			from = append(from, int32(i))
		}
		i += n
	}
	from = append(from, int32(len(text)))
	return string(b), from
}

// mojibake reports whether text has a character that a UTF-8 byte read as
// Latin-1 or Windows-1252 becomes: one of U+0080–U+00FF, or of the
// Windows-1252 characters at 0x80–0x9F.
func mojibake(text string) bool {
	for _, r := range text {
		if r >= 0x80 && r <= 0xff || cp1252[r] != 0 {
			return true
		}
	}
	return false
}

// bytewise reads each character of text that stands for one byte in Latin-1
// or Windows-1252 as that byte, undoing a UTF-8 text decoded as either, and
// returns the result with, for each of its bytes, the offset in text it came
// from (and len(text) after the last, as decode).
func bytewise(text string) (string, []int32) {
	b := make([]byte, 0, len(text))
	from := make([]int32, 0, len(text)+1)
	for i, r := range text {
		switch c := cp1252[r]; {
		case c != 0:
			b, from = append(b, c), append(from, int32(i))
		case r >= 0x80 && r <= 0xff:
			b, from = append(b, byte(r)), append(from, int32(i))
		default:
			n := utf8.RuneLen(r)
			if r == utf8.RuneError {
				n = 1
			}
			for k := range n {
				b, from = append(b, text[i+k]), append(from, int32(i))
			}
		}
	}
	from = append(from, int32(len(text)))
	return string(b), from
}

// cp1252 maps the characters Windows-1252 puts at 0x80–0x9F to those bytes.
var cp1252 = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88,
	'‰': 0x89, 'Š': 0x8a, '‹': 0x8b, 'Œ': 0x8c, 'Ž': 0x8e, '‘': 0x91, '’': 0x92, '“': 0x93,
	'”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9a, '›': 0x9b,
	'œ': 0x9c, 'ž': 0x9e, 'Ÿ': 0x9f,
}

// oneLetter are the one-letter JSON and Go escapes: the letter after the
// backslash, and the byte it stands for.
var oneLetter = map[byte]byte{'"': '"', '\\': '\\', '/': '/', '\'': '\'',
	'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'a': '\a', 'v': '\v'}

// backslash decodes the JSON or Go escape at the start of s: its bytes and
// length, or 0 when s does not start with one.
func backslash(s string) ([]byte, int) {
	if len(s) < 2 {
		return nil, 0
	}
	if c, ok := oneLetter[s[1]]; ok {
		return []byte{c}, 2
	}
	switch s[1] {
	case 'x':
		if v, ok := hex(s[2:], 2); ok {
			return []byte{byte(v)}, 4
		}
	case 'u':
		r, ok := hex(s[2:], 4)
		if !ok {
			return nil, 0
		}
		if utf16.IsSurrogate(rune(r)) && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if lo, ok := hex(s[8:], 4); ok {
				if pair := utf16.DecodeRune(rune(r), rune(lo)); pair != utf8.RuneError {
					return utf8.AppendRune(nil, pair), 12
				}
			}
		}
		return utf8.AppendRune(nil, rune(r)), 6
	case 'U':
		if r, ok := hex(s[2:], 8); ok && r <= utf8.MaxRune {
			return utf8.AppendRune(nil, rune(r)), 10
		}
	}
	return nil, 0
}

// entity decodes the HTML character reference at the start of s, by any of
// HTML's names (&quot; from html.EscapeString, &eacute; from PHP's
// htmlentities) or by number (&#DDD; &#xHHH;): its bytes and length, or 0.
func entity(s string) ([]byte, int) {
	end := strings.IndexByte(s[:min(len(s), maxEscape)], ';')
	if end < 0 {
		return nil, 0
	}
	name := s[1:end]
	if !strings.HasPrefix(name, "#") {
		if u := html.UnescapeString(s[:end+1]); u != s[:end+1] {
			return []byte(u), end + 1
		}
		return nil, 0
	}
	num, ok := strings.CutPrefix(name, "#")
	if !ok || num == "" {
		return nil, 0
	}
	var v uint64
	var err error
	if h, ok := strings.CutPrefix(strings.ToLower(num), "x"); ok {
		v, err = strconv.ParseUint(h, 16, 32)
	} else {
		v, err = strconv.ParseUint(num, 10, 32)
	}
	if err != nil || v > utf8.MaxRune {
		return nil, 0
	}
	return utf8.AppendRune(nil, rune(v)), end + 1
}

// hex reads n hex digits at the start of s.
func hex(s string, n int) (uint64, bool) {
	if len(s) < n {
		return 0, false
	}
	v, err := strconv.ParseUint(s[:n], 16, 32)
	return v, err == nil
}
