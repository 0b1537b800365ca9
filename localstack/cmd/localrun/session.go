package main

import (
	_ "embed"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/template"
)

// sessionText is the "Try it" session make dev prints once the stack is
// ready, and the README's "Try it" block: a test renders it with readmeVars
// and compares it with the README, so the two cannot drift apart.
//
//go:embed session.tmpl
var sessionText string

var sessionTemplate = template.Must(template.New("session").Option("missingkey=error").Parse(sessionText))

// sessionVars fill the session.
type sessionVars struct {
	API            string // the HTTP API's base URL
	Receiver       string // the receiver's host:port
	AdminKey       string
	BridgeUser     string
	BridgePassword string
}

// readmeVars are what the README shows in place of this run's values.
var readmeVars = sessionVars{
	API:            "http://127.0.0.1:8080",
	Receiver:       "127.0.0.1:9000",
	AdminKey:       "<the admin key make dev printed>",
	BridgeUser:     "logstream",
	BridgePassword: "<the bridge password make dev printed>",
}

func writeSession(w io.Writer, v sessionVars) error {
	return sessionTemplate.Execute(w, v)
}

// banner is what localrun prints once the stack answers: where each part
// listens and, with a receiver, the session to paste.
type banner struct {
	session  sessionVars
	receiver bool   // a receiver runs at session.Receiver
	archive  string // the Loki bridge's bucket
	table    string
	dynamodb string // the stand-ins' endpoints
	sqs      string
	state    string // where the state is kept; "" for none
}

func (b banner) write(w io.Writer) error {
	var s strings.Builder
	fmt.Fprintf(&s, "\nlogstream is running locally: every function, behind the HTTP API and the SQS event source mappings.\n")
	fmt.Fprintf(&s, "  HTTP API    %s   (API Gateway HTTP API, payload 2.0)\n", b.session.API)
	if b.session.AdminKey != "" {
		fmt.Fprintf(&s, "  console     %s/console   (sign in with the admin key: %s)\n", b.session.API, b.session.AdminKey)
	} else {
		fmt.Fprintf(&s, "  console     %s/console   (sign in with an API key)\n", b.session.API)
	}
	if b.receiver {
		fmt.Fprintf(&s, "  receiver    http://%s/hook   (prints each event it gets below, as a \"receiver: {…}\" line)\n", b.session.Receiver)
	}
	fmt.Fprintf(&s, "  Loki push   %s/loki/api/v1/push   (basic auth %s; archived to s3://%s)\n", b.session.API, b.session.BridgeUser, b.archive)
	fmt.Fprintf(&s, "  stand-ins   DynamoDB %s (table %s), SQS + S3 %s\n", b.dynamodb, b.table, b.sqs)
	fmt.Fprintf(&s, "  traces      each ingest request and each delivery of its messages log a \"span\" line below, with its trace_id\n")
	fmt.Fprintf(&s, "              (send traceparent and X-Request-Id to join your own trace); one request's path: the lines with its trace_id\n")
	if b.state != "" {
		fmt.Fprintf(&s, "  state       %s keeps the table, the admin key and the bridge password; make dev-reset wipes it\n", b.state)
	}
	if b.receiver {
		s.WriteString("\nTry it, in another terminal, at the repository root:\n\n")
		v := b.session
		v.AdminKey, v.BridgePassword = shellWord(v.AdminKey), shellWord(v.BridgePassword)
		if err := writeSession(&s, v); err != nil {
			return err
		}
	}
	s.WriteString("\nCtrl-C stops everything.\n\n")
	_, err := io.WriteString(w, s.String())
	return err
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellWord quotes s for a POSIX shell unless it needs no quoting, so a key
// given in LOGSTREAM_ADMIN_KEY pastes as one word whatever it holds.
func shellWord(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
