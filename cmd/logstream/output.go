package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// printRaw prints an API answer as it came, ending in a newline.
func (s *session) printRaw(body []byte) error {
	if len(body) == 0 {
		return nil
	}
	if _, err := s.stdout.Write(body); err != nil {
		return err
	}
	if body[len(body)-1] != '\n' {
		_, err := io.WriteString(s.stdout, "\n")
		return err
	}
	return nil
}

// table prints rows under header, aligned with tabwriter.
func table(w io.Writer, header []string, rows ...[]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = cell(v)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// pairs prints "LABEL  value" lines, aligned.
func pairs(w io.Writer, kv ...string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(tw, "%s\t%s\n", kv[i], cell(kv[i+1]))
	}
	return tw.Flush()
}

// cell makes a value safe for one table cell: control characters (a tab or
// newline in a stream's name would break the columns, an escape sequence
// would drive the terminal) become spaces; empty is "-".
func cell(v string) string {
	v = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, v)
	if v == "" {
		return "-"
	}
	return v
}

// when shows an API timestamp to the second, in UTC.
func when(v string) string {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return v
	}
	return t.UTC().Format(time.RFC3339)
}

func whenPtr(v *string) string {
	if v == nil {
		return ""
	}
	return when(*v)
}

// indentJSON returns raw indented by two spaces under prefix, or raw as it is.
func indentJSON(raw json.RawMessage, prefix string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, prefix, "  "); err != nil {
		return string(raw)
	}
	return prefix + b.String()
}
