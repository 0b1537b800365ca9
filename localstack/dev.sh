#!/usr/bin/env bash
# dev.sh — `make dev`: the whole of logstream on this machine, without Docker.
# Builds the local runner (cmd/localrun), starts the stand-ins (dynalite,
# fauxqs), then runs the runner: every function behind the HTTP API gateway
# and the SQS event source mappings, plus a receiver that prints what it is
# sent. The runner prints the README's "Try it" session once the API answers.
# Ctrl-C (or TERM) stops everything and exits 0.
#
#   localstack/dev.sh          run (make dev)
#   localstack/dev.sh check    say in one line if an address it needs is taken (make dev runs it first)
#   localstack/dev.sh reset    wipe the state kept between runs (make dev-reset)
#
# Kept between runs in localstack/.state/: DynamoDB's tables (dynalite --path),
# so streams, API keys and health survive a restart, and the admin key, the
# bridge password and the key that seals destination secrets (localrun -state).
# fauxqs keeps nothing: queued events and the bridge's archive start empty.
#
# Overrides: LOCALRUN_ADDR (HTTP API, 127.0.0.1:8080), LOCALRUN_RECEIVER
# (127.0.0.1:9000), LOGSTREAM_ADMIN_KEY and LOGSTREAM_BRIDGE_PASSWORD (read by
# localrun; they win over the kept ones and are not kept), DYNAMODB_PORT and
# FAUXQS_PORT (read by standins.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
addr="${LOCALRUN_ADDR:-127.0.0.1:8080}"
receiver="${LOCALRUN_RECEIVER:-127.0.0.1:9000}"
# Relative to $repo, where the runner runs, so the banner shows it short.
state="localstack/.state"

say() { echo "make dev: $*" >&2; }
die() {
	say "$*"
	exit 1
}

# taken HOST:PORT: something accepts connections there.
taken() {
	local host="${1%:*}" port="${1##*:}"
	host="${host#[}" host="${host%]}"
	(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

check() {
	if taken "$addr"; then
		die "$addr (the HTTP API) is taken: stop what listens there, or choose another address with LOCALRUN_ADDR=127.0.0.1:<port>"
	fi
	if taken "$receiver"; then
		die "$receiver (the receiver) is taken: stop what listens there, or choose another address with LOCALRUN_RECEIVER=127.0.0.1:<port>"
	fi
}

reset() {
	# dynalite holds its files open while it runs. (Read the status whole:
	# grep -q would close the pipe early, and pipefail make that a failure.)
	local status
	status="$("$here/standins.sh" status 2>/dev/null || true)"
	if grep -qv ': stopped$' <<<"$status"; then
		echo "make dev-reset: make dev's stand-ins are running; stop make dev first" >&2
		exit 1
	fi
	rm -rf "${repo:?}/$state"
	echo "make dev-reset: wiped $state (DynamoDB's tables, the admin key, the bridge password); the next make dev starts empty"
}

case "${1:-}" in
check)
	check
	exit 0
	;;
reset)
	reset
	exit 0
	;;
"") ;;
*)
	echo "usage: $0 [check|reset]" >&2
	exit 2
	;;
esac

standins=0 # the stand-ins were started by this run
runner=""  # the runner's PID while it runs
stopping=0 # a signal asked us to stop
cleanup() {
	if [[ -n "$runner" ]]; then
		kill -TERM "$runner" 2>/dev/null || true
		wait "$runner" 2>/dev/null || true
	fi
	if ((standins)); then
		"$here/standins.sh" stop || true
		say "stopped (the local state stays in $state)"
	fi
}
trap cleanup EXIT
# Before the runner runs there is nothing to wait for: stop at once. After,
# ask it to stop and let the wait below see it finish.
on_signal() {
	stopping=1
	if [[ -z "$runner" ]]; then
		exit 0
	fi
	kill -TERM "$runner" 2>/dev/null || true
}
trap on_signal INT TERM

check

cd "$repo"
say "building the local stack (go build; the first run compiles everything, about 1–2 minutes)…"
go build -o "$here/.run/localrun" ./localstack/cmd/localrun

say "starting the stand-ins (state kept in $state; make dev-reset wipes it)…"
# Only this user may read the kept secrets and tables.
(umask 077 && mkdir -p "$repo/$state")
standins=1
DYNAMODB_PATH="$repo/$state/dynamodb" "$here/standins.sh" start
eval "$("$here/standins.sh" env)"

say "provisioning the table and queues, then starting the HTTP API…"
"$here/.run/localrun" -addr "$addr" -receiver "$receiver" -state "$state" &
runner=$!
rc=0
while :; do
	wait "$runner" && rc=0 || rc=$?
	# A trapped signal ends wait early (128+n) while the runner still stops.
	if kill -0 "$runner" 2>/dev/null; then
		continue
	fi
	break
done
runner=""
# Stopped on request: a clean stop, whatever signal ended the runner.
if ((stopping)) && ((rc == 0 || rc > 128)); then
	rc=0
fi
exit "$rc"
