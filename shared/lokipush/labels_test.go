package lokipush

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestParseLabels(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]string
		message string // for a refusal, a substring of the error
	}{
		// What Prometheus' labels.String and every Loki client write, and
		// what promql's ParseMetric also allows around it.
		{in: `{a="b"}`, want: map[string]string{"a": "b"}},
		{in: `{a="b", c="d"}`, want: map[string]string{"a": "b", "c": "d"}},
		{in: " \t{ a = \"b\" ,\n c=\"d\" , }\r\n", want: map[string]string{"a": "b", "c": "d"}},
		{in: `{_a1="x",A_b="y",__aggregated_metric__="z"}`, want: map[string]string{"_a1": "x", "A_b": "y", "__aggregated_metric__": "z"}},
		{in: `{a="line\nnext\t\"q\" \\ \x41 \101 \u00e9 \U0001F600"}`, want: map[string]string{"a": "line\nnext\t\"q\" \\ A A é 😀"}},
		{in: `{a="é 日本"}`, want: map[string]string{"a": "é 日本"}},
		{in: `{a="}{,=\" x"}`, want: map[string]string{"a": `}{,=" x`}},
		{in: `{a="b", empty=""}`, want: map[string]string{"a": "b"}},

		// Refused.
		{in: ``, message: `1:1: parse error: expected "{", got end of input`},
		{in: `a="b"`, message: `1:1: parse error: expected "{", got 'a'`},
		{in: `up{a="b"}`, message: `1:1: parse error: expected "{", got 'u'`},
		{in: `{a="b"`, message: `1:7: parse error: expected "," or "}", got end of input`},
		{in: `{a="b" c="d"}`, message: `1:8: parse error: expected "," or "}", got 'c'`},
		{in: `{a="b}`, message: `1:4: parse error: unterminated quoted string`},
		{in: "{a=\"b\nc\"}", message: `1:4: parse error: unterminated quoted string`},
		{in: `{a="b\`, message: `1:4: parse error: unterminated quoted string`},
		{in: `{1a="b"}`, message: `1:2: parse error: expected a label name or "}", got '1'`},
		{in: `{a-b="c"}`, message: `1:3: parse error: expected "=" after label name "a", got '-'`},
		{in: `{é="c"}`, message: `1:2: parse error: expected a label name or "}", got byte 0xc3`},
		{in: `{"a"="b"}`, message: `1:2: parse error: expected a label name or "}", got '"'`},
		{in: `{a='b'}`, message: `1:4: parse error: expected a double-quoted label value, got '\''`},
		{in: "{a=`b`}", message: "1:4: parse error: expected a double-quoted label value, got '`'"},
		{in: `{a=b}`, message: `1:4: parse error: expected a double-quoted label value, got 'b'`},
		{in: `{a="b",,}`, message: `1:8: parse error: expected a label name or "}", got ','`},
		{in: `{,}`, message: `1:2: parse error: expected a label name or "}", got ','`},
		{in: `{a="b"}}`, message: `1:8: parse error: unexpected text after "}", got '}'`},
		{in: `{a="b"} x`, message: `1:9: parse error: unexpected text after "}", got 'x'`},
		{in: `{a="\q"}`, message: `1:4: parse error: invalid escape in label value "\q"`},
		{in: `{a="\xZZ"}`, message: `invalid escape in label value`},
		{in: `{a="\'"}`, message: `invalid escape in label value`},
		{in: `{a="1", a="2"}`, message: `stream '{a="1", a="2"}' has duplicate label name: 'a'`},
		{in: `{}`, message: msgMissingLabels},
		{in: `{a=""}`, message: msgMissingLabels},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseLabels(tt.in)
			if tt.want != nil {
				if err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %v, want an error", got)
			}
			if !errors.Is(err, ErrBadRequest) {
				t.Errorf("%v is not a bad request", err)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q, want it to contain %q", err, tt.message)
			}
		})
	}
}

// TestLabelStringRoundTrip: what labelString writes, parseLabels reads back
// unchanged; the sender's label strings take this path through Loki.
func TestLabelStringRoundTrip(t *testing.T) {
	for _, ls := range []map[string]string{
		{"a": "b"},
		{"z": "1", "a": "2", "m_3": "x"},
		{"a": "quote \" backslash \\ newline \n tab \t nul \x00 del \x7f é 😀 \u2028"},
	} {
		got, err := parseLabels(labelString(ls))
		if err != nil {
			t.Fatalf("%s: %v", labelString(ls), err)
		}
		if !maps.Equal(got, ls) {
			t.Errorf("%s read back as %v", labelString(ls), got)
		}
	}
}
