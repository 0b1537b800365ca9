// Command logstream is the command-line client of logstream's HTTP management
// and ingestion API: a project's streams and dead letters, the API keys, and
// sending events.
//
// Everything but the process boundary lives in run, so tests drive the whole
// program with arguments, stdin and two buffers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Exit codes.
const (
	exitOK    = 0 // the command did what it was asked
	exitAPI   = 1 // the API (or the network) refused or failed
	exitUsage = 2 // the command line was wrong; nothing was sent
)

// defaultURL is the API of the local stack `make dev` runs, so the CLI works
// against it with only a key set.
const defaultURL = "http://127.0.0.1:8080"

// Environment variables; the matching flags win over them.
const (
	envURL     = "LOGSTREAM_URL"
	envKey     = "LOGSTREAM_KEY"
	envProject = "LOGSTREAM_PROJECT"
)

// defaultTimeout bounds each HTTP request. The API's own functions time out
// in 10 s (management) and 15 s (ingestion); API Gateway gives up at 30 s.
const defaultTimeout = 30 * time.Second

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the program: it parses args, talks to the API and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return c.main(args)
}

// cli is one invocation's I/O and environment.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// transport replaces http.DefaultTransport when set (tests).
	transport http.RoundTripper
	// secret is the API key in use, scrubbed from every error printed.
	secret string
	// sleep and terminal replace the wait between a job's polls and the
	// check that stderr is a terminal (tests).
	sleep    func(context.Context, time.Duration) error
	terminal func(io.Writer) bool
}

// globals are the flags every command accepts, before or after its name.
type globals struct {
	url, key, project, output string
	timeout                   time.Duration
}

func (g *globals) register(fs *flag.FlagSet, project bool) {
	fs.Var(stringFlag{&g.url}, "url", "")
	// The key's flag never shows its value (secretFlag.String), so help
	// output cannot leak it.
	fs.Var(secretFlag{&g.key}, "key", "")
	if project {
		fs.Var(stringFlag{&g.project}, "project", "")
	}
	fs.Var(stringFlag{&g.output}, "output", "")
	fs.Var(stringFlag{&g.output}, "o", "") // kubectl's and aws's spelling
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "")
}

func (c *cli) main(args []string) int {
	g := &globals{timeout: defaultTimeout}
	top := flag.NewFlagSet("logstream", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	g.register(top, true)
	err := top.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.overview(c.stdout)
		return exitOK
	case err != nil:
		fmt.Fprintf(c.stderr, "error: %s\nrun 'logstream help' for usage\n", c.redact(err.Error()))
		return exitUsage
	}
	rest := top.Args()
	if len(rest) == 0 {
		c.overview(c.stderr)
		return exitUsage
	}
	if rest[0] == "help" {
		return c.help(rest[1:])
	}
	group := rest[0]
	if !isGroup(group) {
		fmt.Fprintf(c.stderr, "error: unknown command %q\nrun 'logstream help' for usage\n", group)
		return exitUsage
	}
	if len(rest) < 2 || isHelpFlag(rest[1]) {
		if len(rest) >= 2 {
			c.groupHelp(c.stdout, group)
			return exitOK
		}
		c.groupHelp(c.stderr, group)
		return exitUsage
	}
	cmd := lookup(group + " " + rest[1])
	if cmd == nil {
		fmt.Fprintf(c.stderr, "error: unknown command %q\n\n", group+" "+rest[1])
		c.groupHelp(c.stderr, group)
		return exitUsage
	}
	return c.runCommand(cmd, g, rest[2:])
}

func isHelpFlag(s string) bool { return s == "-h" || s == "--help" || s == "-help" }

// runCommand parses a command's flags and arguments, resolves the
// configuration and runs it.
func (c *cli) runCommand(cmd *command, g *globals, args []string) int {
	own := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	act := cmd.setup(own)
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	own.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	g.register(fs, cmd.project)
	pos, err := parseInterspersed(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.commandHelp(c.stdout, cmd, own)
		return exitOK
	case err != nil:
		return c.usageError(cmd, err)
	case len(pos) > len(cmd.args) || len(pos) < len(cmd.args)-cmd.optional:
		return c.usageError(cmd, fmt.Errorf("%s takes %s, got %d arguments", cmd.name, argList(cmd.args, cmd.optional), len(pos)))
	}
	s, err := c.session(g, cmd.project)
	if err != nil {
		return c.usageError(cmd, err)
	}
	if err := act(context.Background(), s, pos); err != nil {
		var ue *usageErr
		if errors.As(err, &ue) {
			return c.usageError(cmd, err)
		}
		c.printError(err, s.base)
		return exitAPI
	}
	return exitOK
}

// argList names a command's arguments, the optional last ones in brackets.
func argList(args []string, optional int) string {
	if len(args) == 0 {
		return "no arguments"
	}
	names := make([]string, len(args))
	for i, a := range args {
		if i >= len(args)-optional {
			a = "[" + a + "]"
		}
		names[i] = a
	}
	return strings.Join(names, " ")
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("streams get ID --output json"); "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageErr is a mistake in the command line: exit 2, nothing sent.
type usageErr struct{ msg string }

func (e *usageErr) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageErr{fmt.Sprintf(format, args...)} }

func (c *cli) usageError(cmd *command, err error) int {
	fmt.Fprintf(c.stderr, "error: %s\nusage: %s\nrun 'logstream %s -h' for help\n", c.redact(err.Error()), cmd.synopsis(), cmd.name)
	return exitUsage
}

// redact removes the API key from text bound for the terminal. Nothing is
// meant to carry it; this is the backstop.
func (c *cli) redact(s string) string {
	if c.secret == "" {
		return s
	}
	return strings.ReplaceAll(s, c.secret, "[redacted]")
}

// stringFlag and secretFlag set a string without a default of their own, so
// registering the globals twice (before and after the command name) keeps
// the first value.
type stringFlag struct{ p *string }

func (f stringFlag) String() string {
	if f.p == nil {
		return ""
	}
	return *f.p
}
func (f stringFlag) Set(v string) error { *f.p = v; return nil }

type secretFlag struct{ p *string }

func (secretFlag) String() string       { return "" }
func (f secretFlag) Set(v string) error { *f.p = v; return nil }

// listFlag collects a repeatable flag; commas separate values too.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}
