package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's \"Try it\" block from session.tmpl")

const readmePath = "../../../README.md"

// The README says make dev prints its "Try it" session; this holds it to
// that. The banner is rendered as make dev renders it, with marked values in
// place of the key and the password, those are swapped for the README's
// placeholders, and the README's block must then appear in it whole.
func TestREADMETryItIsWhatMakeDevPrints(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	start, end, err := tryItBlock(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		var b bytes.Buffer
		if err := writeSession(&b, readmeVars); err != nil {
			t.Fatal(err)
		}
		out := string(readme[:start]) + b.String() + string(readme[end:])
		if err := os.WriteFile(readmePath, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}

	const key, password = "dev_ADMINKEY0123456789abcdef0123456789", "BRIDGEPASSWORD0123"
	v := readmeVars
	v.AdminKey, v.BridgePassword = key, password
	var printed bytes.Buffer
	if err := (banner{session: v, receiver: true, archive: "b", table: "t"}).write(&printed); err != nil {
		t.Fatal(err)
	}
	got := strings.NewReplacer(key, readmeVars.AdminKey, password, readmeVars.BridgePassword).Replace(printed.String())
	block := string(readme[start:end])
	if !strings.Contains(got, "\n"+block) {
		t.Errorf("README.md's \"Try it\" block is not what make dev prints (%s).\n%s\n"+
			"Change session.tmpl, then: go test ./localstack/cmd/localrun -run TestREADME -update",
			"localstack/cmd/localrun/session.tmpl", firstDifference(block, got))
	}
}

// tryItBlock finds the README's "Try it" session: the first ```sh block
// under the "## Try it" heading. It returns the block's content.
func tryItBlock(readme string) (start, end int, err error) {
	h := strings.Index(readme, "\n## Try it\n")
	if h < 0 {
		return 0, 0, fmt.Errorf("%s has no \"## Try it\" section", readmePath)
	}
	next := strings.Index(readme[h+1:], "\n## ")
	if next < 0 {
		next = len(readme) - h - 1
	}
	section := readme[h : h+1+next]
	open := strings.Index(section, "\n```sh\n")
	if open < 0 {
		return 0, 0, fmt.Errorf("the \"Try it\" section of %s has no ```sh block", readmePath)
	}
	start = h + open + len("\n```sh\n")
	closing := strings.Index(readme[start:], "\n```\n")
	if closing < 0 || start+closing > h+len(section) {
		return 0, 0, fmt.Errorf("the \"Try it\" block of %s does not end in its section", readmePath)
	}
	return start, start + closing + 1, nil
}

// firstDifference names the first line of block that the printed banner
// does not have at the same place.
func firstDifference(block, printed string) string {
	want := strings.Split(strings.TrimSuffix(block, "\n"), "\n")
	got := strings.Split(printed, "\n")
	at := 0 // the printed line the block's first line matches
	for at < len(got) && got[at] != want[0] {
		at++
	}
	if at == len(got) {
		return fmt.Sprintf("make dev prints no line %q", want[0])
	}
	for i, w := range want {
		if at+i >= len(got) || got[at+i] != w {
			g := ""
			if at+i < len(got) {
				g = got[at+i]
			}
			return fmt.Sprintf("line %d of the block:\n  README:   %q\n  make dev: %q", i+1, w, g)
		}
	}
	return ""
}

func TestBanner(t *testing.T) {
	base := sessionVars{API: "http://127.0.0.1:18080", Receiver: "127.0.0.1:19000", AdminKey: "dev_0123456789abcdef0123456789abcdef",
		BridgeUser: "logstream", BridgePassword: "0123456789abcdef"}
	tests := []struct {
		name     string
		b        banner
		want     []string
		wantNone []string
	}{
		{name: "the session with this run's values",
			b: banner{session: base, receiver: true, archive: "logstream-archive", table: "logstream-streams",
				dynamodb: "http://127.0.0.1:4569", sqs: "http://127.0.0.1:4576", state: "localstack/.state"},
			want: []string{"HTTP API    http://127.0.0.1:18080", "console     http://127.0.0.1:18080/console   (sign in with the admin key: dev_0123456789abcdef0123456789abcdef)",
				"receiver    http://127.0.0.1:19000/hook",
				"s3://logstream-archive", "table logstream-streams", "localstack/.state keeps", "make dev-reset",
				"export KEY=dev_0123456789abcdef0123456789abcdef\n", "export LOKI_PASSWORD=0123456789abcdef\n",
				"API=http://127.0.0.1:18080\n", `"endpoint":"http://127.0.0.1:19000/hook"`, "-u logstream:$LOKI_PASSWORD", "Ctrl-C stops everything."}},
		{name: "a key that needs quoting pastes as one word",
			b:    banner{session: sessionVars{API: base.API, Receiver: base.Receiver, AdminKey: "it's a key with spaces $HOME 0123456789", BridgeUser: "u", BridgePassword: "p w"}, receiver: true},
			want: []string{`export KEY='it'\''s a key with spaces $HOME 0123456789'` + "\n", "export LOKI_PASSWORD='p w'\n"}},
		{name: "no receiver, no session",
			b:        banner{session: base, archive: "a", table: "t"},
			want:     []string{"HTTP API", "Loki push", "Ctrl-C stops everything."},
			wantNone: []string{"receiver ", "export KEY", "state "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.b.write(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			rest := out
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("banner lacks %q (in order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			for _, w := range tc.wantNone {
				if strings.Contains(out, w) {
					t.Errorf("banner has %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestShellWord(t *testing.T) {
	tests := []struct{ in, want string }{
		{"dev_0123abc", "dev_0123abc"},
		{"a/b+c=d:e,f.g-h@i%j", "a/b+c=d:e,f.g-h@i%j"},
		{"with space", "'with space'"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
		{"", "''"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := shellWord(tc.in); got != tc.want {
				t.Errorf("shellWord(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
