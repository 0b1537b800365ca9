package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/logstream/logstream/shared/deadletter"
)

// action runs a command once its flags are parsed and its configuration resolved.
type action func(ctx context.Context, s *session, args []string) error

// command is one "group verb" of the CLI.
type command struct {
	name    string   // "streams create"
	args    []string // positional arguments, by name
	flags   string   // the synopsis of its own flags
	summary string
	help    string // what it does and examples
	// optional is how many of the last args may be left out.
	optional int
	// project says the command works on one project (--project).
	project bool
	// setup registers the command's own flags and returns its action.
	setup func(fs *flag.FlagSet) action
}

func (c *command) synopsis() string {
	args := ""
	if len(c.args) > 0 { // argList says "no arguments", which reads as one in a synopsis
		args = argList(c.args, c.optional)
	}
	return strings.Join(strings.Fields("logstream "+c.name+" "+c.flags+" "+args), " ")
}

var groups = []struct{ name, title string }{
	{"streams", "Streams of one project (--project or " + envProject + "):"},
	{"replays", "Replays of archived events, of one project (--project or " + envProject + "):"},
	{"dlq", "Dead letters of one project (--project or " + envProject + "):"},
	{"keys", "API keys (the admin key only):"},
	{"admin", "The platform's queues and dead letters (the admin key only):"},
	{"events", "Events:"},
	{"presets", "Ready-made stream filters (any key):"},
}

func isGroup(name string) bool {
	for _, g := range groups {
		if g.name == name {
			return true
		}
	}
	return false
}

// commands lists every command in help order.
var commands = []*command{
	{
		name: "streams list", flags: "[--limit N] [--all]", project: true,
		summary: "List the project's streams",
		help: `Lists one page of the project's streams (the API's default page is 20,
--limit up to 100), or every stream with --all, which follows next_cursor.
With --output json and --all, the pages are joined into one {"data":[…]}.

Examples:
  logstream streams list
  logstream streams list --all --output json | jq -r '.data[].id'`,
		setup: streamsList,
	},
	{
		name: "streams get", args: []string{"ID"}, project: true,
		summary: "Show one stream",
		help: `Shows a stream and its destination config. Secrets are shown only as
their last four characters (<field>_last_four).

Examples:
  logstream streams get str_0190c0ffee...
  logstream streams get str_0190c0ffee... --output json | jq .version`,
		setup: streamsGet,
	},
	{
		name: "streams create", project: true,
		flags:   "--name NAME --type TYPE --config FILE|- [--paused] [--filters FILE | --preset NAME] [--pii FILE] [--suspend-after DURATION] [--suspend-after-permanent N] [--start-from TIME]",
		summary: "Create a stream",
		help: `Creates a stream to a destination of type TYPE, one of:
  ` + destinationTypes() + `.
The destination config is a JSON object read from FILE, or from stdin with
"-", so its secrets never sit in your shell history. --filters and --pii
name JSON files holding the stream's filters and PII rules ({"fields":
[{"field":"actor.alternateId","action":"hash"}]}; actions redact, hash,
truncate_ip, xxhash); --preset NAME takes the filters of a preset
('presets list'). --suspend-after and --suspend-after-permanent give the
stream its own automatic suspension policy in place of the deployment's
(72h of failures with no success, 50 permanent failures in a row); 0 turns
a rule off. --start-from TIME also sends the new stream the project's
archived events from TIME on, as a replay (its backfill) that ends where
live delivery begins; the answer names it, and 'replays get' follows it.
A secret logstream generates (an http stream's "generate_signing_secret":
true) is shown in this answer only.

Examples:
  logstream streams create --name "SIEM webhook" --type http --config webhook.json
  op read op://ops/siem/config | logstream streams create --name siem --type http --config -
  logstream streams create --name staging --type http --config webhook.json --paused
  logstream streams create --name sign-ins --type http --config webhook.json --preset okta.sign-in
  logstream streams create --name nightly --type http --config webhook.json --suspend-after 168h
  logstream streams create --name masked --type http --config webhook.json --pii pii.json
  logstream streams create --name siem --type http --config webhook.json --start-from 2026-03-01T00:00:00Z`,
		setup: streamsCreate,
	},
	{
		name: "streams update", args: []string{"ID"}, project: true,
		flags:   "--patch FILE|- [--if-match VERSION]",
		summary: "Change a stream with a JSON merge patch",
		help: `Applies a JSON merge patch (RFC 7396) to the stream: members replace the
stream's, null removes them, objects merge. Secrets left out are kept.
With --if-match VERSION (the version 'streams get' shows), the change is
refused with precondition_failed if the stream changed since.

Examples:
  echo '{"name":"SIEM (prod)"}' | logstream streams update str_0190c0ffee... --patch -
  echo '{"pii":{"fields":[{"field":"ip","action":"truncate_ip"}]}}' | logstream streams update str_0190c0ffee... --patch -
  logstream streams update str_0190c0ffee... --patch rotate-token.json --if-match 4`,
		setup: streamsUpdate,
	},
	{
		name: "streams replace", args: []string{"ID"}, project: true,
		flags:   "--body FILE|- [--if-match VERSION]",
		summary: "Replace a stream's whole configuration",
		help: `Replaces the stream's configuration with the body, a JSON object shaped
like a create request (name, destination_type, destination_config, status,
filters, pii). The destination type cannot change.

Examples:
  logstream streams get str_0190c0ffee... --output json | jq '{name,destination_type,destination_config}' > s.json
  logstream streams replace str_0190c0ffee... --body s.json --if-match 4`,
		setup: streamsReplace,
	},
	{
		name: "streams delete", args: []string{"ID"}, project: true,
		flags:   "[--if-match VERSION]",
		summary: "Delete a stream",
		help: `Deletes the stream. Events already queued for it are dropped. With
--if-match VERSION, the stream is deleted only if it has not changed since
you read that version (precondition_failed otherwise).

Examples:
  logstream streams delete str_0190c0ffee...
  logstream streams delete str_0190c0ffee... --if-match 4`,
		setup: streamsDelete,
	},
	{
		name: "streams enable", args: []string{"ID"}, project: true,
		flags:   "[--redrive-dead-letters] [--if-match VERSION]",
		summary: "Resume delivery to a paused or suspended stream",
		help: `Sets the stream active. Events that arrived while it was paused are not
delivered later. The answer tells how many of the stream's dead letters
wait; --redrive-dead-letters also starts their redrive, as a job that
'logstream dlq jobs' follows. --if-match VERSION makes it conditional, as
for update.

Examples:
  logstream streams enable str_0190c0ffee...
  logstream streams enable str_0190c0ffee... --redrive-dead-letters
  logstream streams enable str_0190c0ffee... --if-match 5`,
		setup: streamsEnable,
	},
	{
		name: "streams disable", args: []string{"ID"}, project: true,
		flags:   "[--if-match VERSION]",
		summary: "Pause a stream, keeping its configuration",
		help: `Pauses the stream: its configuration is kept, events are not delivered
to it until it is enabled again. --if-match VERSION makes it conditional,
as for update.

Examples:
  logstream streams disable str_0190c0ffee...
  logstream streams disable str_0190c0ffee... --if-match 4`,
		setup: streamsStatus("disable"),
	},
	{
		name: "streams health", args: []string{"ID"}, project: true,
		summary: "Show a stream's delivery counters and last error",
		help: `Shows how many events the stream delivered and failed to deliver, its
dead letters waiting by reason and those that expired unredriven, when it
last succeeded, and its last error.

Example:
  logstream streams health str_0190c0ffee...`,
		setup: streamsHealth,
	},
	{
		name: "streams test", args: []string{"ID"}, project: true,
		summary: "Send one test event to the stream's destination",
		help: `Sends one synthetic event (type "logstream.test") through the stream's
destination, whatever its status, and shows the destination's answer.
Exits 1 when the destination refused it.

Example:
  logstream streams test str_0190c0ffee... && echo "the destination works"`,
		setup: streamsTest,
	},
	{
		name: "streams replay", args: []string{"ID"}, project: true,
		flags:   "--since TIME [--until TIME] [--filters FILE | --preset NAME] [--rate N] [--dry-run] [--wait] [--idempotency-key KEY]",
		summary: "Send the stream the project's archived events of a window again",
		help: `Starts a replay: the project's archived events with timestamps from
--since up to --until (default: now) are sent to the stream again, through
its own filters and PII rules, at most --rate events a second. --filters
or --preset narrow it further. The stream must be active. A window that
ends minutes ago waits until the archive holds all of it.

--dry-run sizes the window from the archive's index and starts nothing:
events, bytes and hours, exact when the window starts and ends on whole
hours and otherwise at most that, and how long it would take at the rate.
The command prints the replay as it starts; --wait follows it to its end
instead, with its progress on stderr, and exits 1 if it failed or was
cancelled (interrupting the wait leaves it going). The same
--idempotency-key returns the replay it started instead of another.

Examples:
  logstream streams replay str_0190c0ffee... --since 2026-03-01T00:00:00Z --until 2026-03-01T06:00:00Z --dry-run
  logstream streams replay str_0190c0ffee... --since 2026-03-01T00:00:00Z --preset okta.sign-in --rate 200 --wait
  logstream streams replay str_0190c0ffee... --since 2026-03-01T00:00:00Z --idempotency-key incident-42 --output json | jq -r .id`,
		setup: streamsReplay,
	},
	{
		name: "replays list", flags: "[--limit N]", project: true,
		summary: "List the project's replays, newest first",
		help: `Lists the project's replays, newest first: requested ones and the
backfills of streams created with --start-from, with their state and how
far they got (events sent and filtered, of the archive's total).

Examples:
  logstream replays list
  logstream replays list --output json | jq -r '.data[] | select(.state == "running") | .id'`,
		setup: replaysList,
	},
	{
		name: "replays get", args: []string{"JOB_ID"}, flags: "[--wait]", project: true,
		summary: "Show one replay, or follow it to its end",
		help: `Shows a replay: its stream, window, filter, rate, state and progress
(hours and events read, sent, filtered). --wait follows it to its end,
with its progress on stderr, and exits 1 if it failed or was cancelled.

Examples:
  logstream replays get rpl_0190c0ffee...
  logstream replays get rpl_0190c0ffee... --wait && echo "replayed"`,
		setup: replaysGet,
	},
	{
		name: "replays cancel", args: []string{"JOB_ID"}, project: true,
		summary: "Stop a replay",
		help: `Cancels a replay. One that has not started ends at once; a running one
stops after the batch it is sending. Events already sent stay sent.
A replay that ended otherwise cannot be cancelled (replay_ended).

Examples:
  logstream replays cancel rpl_0190c0ffee...
  logstream replays cancel rpl_0190c0ffee... && logstream replays get rpl_0190c0ffee... --wait`,
		setup: replaysCancel,
	},
	{
		name: "dlq summary", flags: "[--stream ID]", project: true,
		summary: "Count the project's dead letters by reason, age and stream",
		help: `Shows how many dead events the project has (and in how many letters, the
queue messages they were parked in), by reason, by how long ago they were
parked, and by stream; how many expire within 24 hours, and how many
expired unredriven. --stream counts one stream's only.

Examples:
  logstream dlq summary
  logstream dlq summary --stream str_0190c0ffee... --output json | jq .events`,
		setup: dlqSummary,
	},
	{
		name: "dlq peek", project: true,
		flags:   "[--stream ID] [--reason R,…] [--after TIME] [--before TIME] [--event-id ID…] [--limit N] [--all]",
		summary: "Show dead events with why they were parked",
		help: `Lists one page of dead events (the API's default page is 50, --limit up
to 500), or every matching one with --all, which follows next_cursor: each
with its event_id, stream, reason, when it was parked and expires, and the
destination's last error. The filters combine. With --output json the
events themselves are shown; with --all the pages are joined into one
{"data":[…]}.

Examples:
  logstream dlq peek --reason exhausted,gone
  logstream dlq peek --event-id evt_01jd4k2m9q --output json | jq '.data[0].error'
  logstream dlq peek --stream str_0190c0ffee... --after 2026-01-02T00:00:00Z --all --output json | jq '.data[].event'`,
		setup: dlqPeek,
	},
	{
		name: "dlq redrive", project: true,
		flags:   "[--stream ID] [--reason R,…] [--after TIME] [--before TIME] [--event-id ID…] [--dry-run] [--rate N] [--idempotency-key KEY] [--no-wait]",
		summary: "Send dead events back to their streams",
		help: `Starts a job that sends the matching dead events back to their streams'
delivery at a bounded rate (--rate events a second), then removes them
from the dead letters. Events of a stream that is not active are skipped
and stay: enable the stream first. --dry-run counts what would go.
The command follows the job to its end, with its progress on stderr, and
prints its final counts; it exits 1 if the job failed. --no-wait prints
the job as it starts instead; interrupting the wait leaves the job going.
The same --idempotency-key returns the job it started instead of another.

Examples:
  logstream dlq redrive --stream str_0190c0ffee... --dry-run
  logstream dlq redrive --stream str_0190c0ffee... --reason exhausted,suspended
  logstream dlq redrive --event-id evt_1 --event-id evt_2 --no-wait --output json | jq -r .id`,
		setup: dlqJob(deadletter.KindRedrive),
	},
	{
		name: "dlq purge", project: true,
		flags:   "[--stream ID] [--reason R,…] [--after TIME] [--before TIME] [--event-id ID…] [--dry-run] [--idempotency-key KEY] [--no-wait] --yes",
		summary: "Delete dead events for good",
		help: `Starts a job that deletes the matching dead events for good. It asks for
--yes, and refuses (exit 2) without it unless --dry-run, which only counts
them. It follows the job as redrive does, and exits 1 if the job failed.

Examples:
  logstream dlq purge --reason rejected --before 2026-01-01T00:00:00Z --dry-run
  logstream dlq purge --reason rejected --before 2026-01-01T00:00:00Z --yes`,
		setup: dlqJob(deadletter.KindPurge),
	},
	{
		name: "dlq jobs", args: []string{"JOB_ID"}, optional: 1, flags: "[--limit N]", project: true,
		summary: "List the project's redrive and purge jobs, or show one",
		help: `Lists the project's redrive and purge jobs, newest first, or with JOB_ID
shows one: its filter, state and progress (matched, done, skipped by why).

Examples:
  logstream dlq jobs
  logstream dlq jobs job_0190c0ffee... --output json | jq .progress`,
		setup: dlqJobs,
	},
	{
		name: "keys create", flags: "--name NAME --project ID [--project ID…] --access read|write",
		summary: "Create an API key",
		help: `Creates an API key for one or more projects ("*" for all), with read or
write access. The secret is printed once and cannot be shown again:
logstream keeps only its hash.

Examples:
  logstream keys create --name "ci ingest" --project demo --access write
  logstream keys create --name dashboards --project demo --project staging --access read --output json | jq -r .secret`,
		setup: keysCreate,
	},
	{
		name: "presets list", summary: "List the ready-made stream filters",
		help: `Lists the filter presets: Auth0 log stream categories by type code,
Okta eventType prefixes, Stytch action/status. Each is a plain filters
value; 'presets show' prints it, 'streams create --preset' uses it.

Example:
  logstream presets list`,
		setup: presetsList,
	},
	{
		name: "presets show", args: []string{"NAME"}, summary: "Print a preset's filters",
		help: `Prints the preset's filters as JSON, the form --filters reads, so it can
be saved, edited, and set on a stream. With --output json, the whole preset.

Examples:
  logstream presets show okta.sign-in
  logstream presets show auth0.auth.login.fail > filters.json
  logstream presets show okta.sign-in | jq '{filters: .}' | logstream streams update str_0190c0ffee... --patch -`,
		setup: presetsShow,
	},
	{
		name: "keys list", summary: "List API keys",
		help: `Lists the API keys, revoked ones included, without their secrets.

Example:
  logstream keys list`,
		setup: keysList,
	},
	{
		name: "keys revoke", args: []string{"ID"}, summary: "Revoke an API key",
		help: `Revokes the key. Functions that checked it recently may accept it for
up to 30 seconds more (their authentication cache).

Example:
  logstream keys revoke key_0123456789abcdef0123`,
		setup: keysRevoke,
	},
	{
		name: "admin queues", summary: "Show every destination type's queue and DLQ depth",
		help: `Shows, for every destination type, how many messages sit in its delivery
queue and in its dead-letter queue right now, as SQS counts them: visible,
in flight (received, or waiting for a retry) and delayed. SQS's counts are
approximate and may lag by up to a minute. The queues are shared by every
project: these are platform-wide figures.

Examples:
  logstream admin queues
  logstream admin queues --output json | jq '.queues[] | select(.dead_letter_queue.messages > 0)'`,
		setup: adminQueues,
	},
	{
		name: "admin dead-letters", summary: "Show the dead letters of every destination type and project",
		help: `Shows how many dead events wait in the dead-letter store: by destination
type (with how many messages sit in that type's SQS DLQ right now, not yet
moved into the store), and by project (with how many expire within 24
hours, how many expired unredriven, and their reasons).

Examples:
  logstream admin dead-letters
  logstream admin dead-letters --output json | jq '.projects[] | select(.events > 0) | .project_id'`,
		setup: adminDeadLetters,
	},
	{
		name: "events send", args: []string{"FILE|-"}, optional: 1, flags: "[--gzip] [--file FILE|-] [--idempotency-key KEY]", project: true,
		summary: "Send events to the project's active streams",
		help: `Sends the events in FILE, given as the argument or with --file (stdin
with "-"): a JSON array of objects, or NDJSON (one object a line). The
Content-Type follows the content; a gzip file is sent as it is. --gzip
compresses the body on the way. Prints how many events were accepted, for
how many streams, in how many queue messages.

Every send carries an Idempotency-Key (a new one, or --idempotency-key),
and a 429, a 5xx or a lost answer is tried again with it, up to 3 times:
the API queues only what an earlier attempt did not. If it still fails, the
error names the key; sending the same events with it within 24 h finishes
the send without queueing twice.

Examples:
  logstream events send events/auth/okta.json
  logstream events send --file events/auth/mixed.ndjson
  zcat audit.ndjson.gz | logstream events send - --gzip`,
		setup: eventsSend,
	},
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

const globalFlagsHelp = `Global flags (before or after the command):
  --url URL            the API's base URL (env LOGSTREAM_URL; default http://127.0.0.1:8080, where 'make dev' serves)
  --key KEY            the API key (env LOGSTREAM_KEY; prefer it: flags stay in shell history)
  --project ID         the project, for streams, replays, dlq and events (env LOGSTREAM_PROJECT)
  -o, --output FORMAT  table (the default) or json: the API's JSON as it came
  --timeout D          the limit of each request (default 30s)
`

const exitHelp = "Exit codes: 0 done; 1 the API refused or could not be reached; 2 usage error (nothing was sent).\n"

func (c *cli) overview(w io.Writer) {
	fmt.Fprint(w, "logstream manages logstream's streams, replays, dead letters and API keys, and sends events.\n\n")
	fmt.Fprint(w, "usage: logstream [global flags] <command> [flags] [arguments]\n")
	for _, g := range groups {
		fmt.Fprintf(w, "\n%s\n", g.title)
		commandTable(w, g.name)
	}
	fmt.Fprint(w, "\n"+globalFlagsHelp+"\n"+exitHelp)
	fmt.Fprint(w, `
Examples:
  export LOGSTREAM_URL=https://logstream.example.com LOGSTREAM_PROJECT=demo
  read -rs LOGSTREAM_KEY && export LOGSTREAM_KEY
  logstream streams list
  logstream help streams create
`)
}

func commandTable(w io.Writer, group string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		if strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
		}
	}
	tw.Flush()
}

func (c *cli) groupHelp(w io.Writer, group string) {
	for _, g := range groups {
		if g.name == group {
			fmt.Fprintf(w, "usage: logstream %s <command> [flags] [arguments]\n\n%s\n", group, g.title)
		}
	}
	commandTable(w, group)
	fmt.Fprintf(w, "\nrun 'logstream %s <command> -h' for a command's flags and examples\n", group)
}

func (c *cli) commandHelp(w io.Writer, cmd *command, own *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s\n\n%s.\n\n%s\n", cmd.synopsis(), cmd.summary, cmd.help)
	has := false
	own.VisitAll(func(*flag.Flag) { has = true })
	if has {
		fmt.Fprint(w, "\nFlags:\n")
		own.SetOutput(w)
		own.PrintDefaults()
	}
	fmt.Fprint(w, "\n"+globalFlagsHelp)
}

// help serves "logstream help [group [command]]".
func (c *cli) help(topic []string) int {
	switch {
	case len(topic) == 0:
		c.overview(c.stdout)
		return exitOK
	case len(topic) == 1 && isGroup(topic[0]):
		c.groupHelp(c.stdout, topic[0])
		return exitOK
	case len(topic) == 2:
		if cmd := lookup(topic[0] + " " + topic[1]); cmd != nil {
			own := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
			cmd.setup(own)
			c.commandHelp(c.stdout, cmd, own)
			return exitOK
		}
	}
	fmt.Fprintf(c.stderr, "error: no help for %q\nrun 'logstream help' for the commands\n", strings.Join(topic, " "))
	return exitUsage
}
