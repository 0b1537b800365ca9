#!/usr/bin/env bash
# standins.sh — start, stop and describe the docker-less AWS stand-ins used by
# `make dev`, `make test` and CI: dynalite (DynamoDB) and fauxqs (SQS + S3).
#
#   localstack/standins.sh start    start both (reuses ones already running), wait until they answer
#   localstack/standins.sh stop     stop both (TERM, then KILL after a grace period)
#   localstack/standins.sh status   say what is running where
#   localstack/standins.sh env      print export lines: eval "$(localstack/standins.sh env)"
#
# Ports: DYNAMODB_PORT (default 4569) and FAUXQS_PORT (default 4576). 4566 is
# avoided on purpose: it is LocalStack's edge port, and users with Docker run
# real LocalStack from this folder.
#
# DYNAMODB_PATH=DIR keeps DynamoDB's tables in DIR between runs (make dev);
# unset, they live in memory and every start is a clean slate (tests, CI).
# fauxqs (SQS, S3) has no such option: it always starts empty.
#
# PIDs and logs live in localstack/.run/ (gitignored), or in STANDINS_RUN_DIR. The npm packages are pinned
# in package-lock.json; install them with `npm ci --prefix localstack`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# STANDINS_RUN_DIR separates sets of stand-ins (make test runs its own beside make dev's).
run="${STANDINS_RUN_DIR:-$here/.run}"
bin="$here/node_modules/.bin"

host=127.0.0.1
dynamodb_port="${DYNAMODB_PORT:-4569}"
fauxqs_port="${FAUXQS_PORT:-4576}"
# How long start waits for each stand-in to answer.
wait_seconds="${STANDINS_WAIT_SECONDS:-30}"

die() { echo "standins: $*" >&2; exit 1; }

require_node_modules() {
	command -v node >/dev/null 2>&1 || die "node is not on PATH (Node 20 is required)"
	# package.json's engines.node, checked here because npm only warns.
	(($(node -p 'process.versions.node.split(".")[0]') >= 20)) || die "Node $(node --version) is too old: the stand-ins need Node 20 or newer"
	if [[ ! -x "$bin/dynalite" || ! -d "$here/node_modules/fauxqs" ]]; then
		die "stand-ins are not installed: run \`npm ci --prefix localstack\` first"
	fi
}

# probe NAME: prints the HTTP status the stand-in answers a minimal request with,
# or 000 when nothing answers. Any status proves the server is up: dynalite
# answers an unsigned request with 400 MissingAuthenticationToken, which is fine.
probe() {
	local url target
	case "$1" in
	dynalite) url="http://$host:$dynamodb_port/" target="DynamoDB_20120810.ListTables" ;;
	fauxqs) url="http://$host:$fauxqs_port/" target="AmazonSQS.ListQueues" ;;
	esac
	if command -v curl >/dev/null 2>&1; then
		curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X POST \
			-H "Content-Type: application/x-amz-json-1.0" -H "X-Amz-Target: $target" \
			--data '{}' "$url" 2>/dev/null || true
	else
		node -e '
			fetch(process.argv[1], {method: "POST", body: "{}", signal: AbortSignal.timeout(2000),
				headers: {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": process.argv[2]}})
			.then(r => console.log(r.status), () => console.log("000"))' "$url" "$target"
	fi
}

# pid_of NAME: prints the PID recorded for NAME if that process is still alive
# and still one of ours (guards against a recycled PID), else nothing.
pid_of() {
	local f="$run/$1.pid" pid
	[[ -f "$f" ]] || return 0
	pid="$(<"$f")"
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && ps -p "$pid" -o args= 2>/dev/null | grep -q "$1"; then
		echo "$pid"
	fi
}

port_of() {
	case "$1" in
	dynalite) echo "$dynamodb_port" ;;
	fauxqs) echo "$fauxqs_port" ;;
	esac
}

launch() {
	local name="$1" log="$run/$1.log"
	: >"$log"
	case "$name" in
	dynalite)
		# In memory unless DYNAMODB_PATH is set: every start is a clean slate,
		# like a fresh CI job. With it, LevelDB files in that folder.
		local path=()
		if [[ -n "${DYNAMODB_PATH:-}" ]]; then
			mkdir -p "$DYNAMODB_PATH"
			path=(--path "$DYNAMODB_PATH")
		fi
		"$bin/dynalite" --host "$host" --port "$dynamodb_port" ${path[@]+"${path[@]}"} >>"$log" 2>&1 </dev/null &
		;;
	fauxqs)
		# fauxqs always binds 0.0.0.0 (no bind-address option in 1.x), so it is
		# reachable from the network while it runs; we only ever talk to it on
		# 127.0.0.1. FAUXQS_HOST is not a bind address: it only names the host in
		# the queue URLs it hands out (sqs.<region>.<host>:<port>); the SDK sends
		# every SQS call to AWS_ENDPOINT_URL_SQS regardless. Started through its
		# library entry point because the CLI forces request logging on, which
		# grows the log by two lines per long poll.
		(cd "$here" && FAUXQS_PORT="$fauxqs_port" FAUXQS_HOST=localhost exec node --input-type=module -e '
			import { startFauxqs } from "fauxqs";
			await startFauxqs({ logger: process.env.FAUXQS_LOGGER === "true" });
			console.log("fauxqs listening on port " + process.env.FAUXQS_PORT);
		') >>"$log" 2>&1 </dev/null &
		;;
	esac
	echo $! >"$run/$name.pid"
}

start_one() {
	local name="$1" port pid code i
	port="$(port_of "$name")"
	pid="$(pid_of "$name")"
	if [[ -n "$pid" ]]; then
		if [[ "$(probe "$name")" != 000 ]]; then
			echo "standins: $name already running (pid $pid, port $port)"
			return 0
		fi
		die "$name (pid $pid) is running but does not answer on $host:$port; run \`$0 stop\` and retry"
	fi
	rm -f "$run/$name.pid"
	if [[ "$(probe "$name")" != 000 ]]; then
		die "port $port on $host is already taken by a process this script did not start; stop it or choose another port (DYNAMODB_PORT / FAUXQS_PORT)"
	fi
	launch "$name"
	pid="$(<"$run/$name.pid")"
	for ((i = 0; i < wait_seconds * 4; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "standins: $name exited during start-up; last lines of $run/$name.log:" >&2
			tail -n 20 "$run/$name.log" >&2 || true
			rm -f "$run/$name.pid"
			exit 1
		fi
		code="$(probe "$name")"
		if [[ "$code" != 000 ]]; then
			echo "standins: $name up (pid $pid, http://$host:$port)"
			return 0
		fi
		sleep 0.25
	done
	echo "standins: $name did not answer on $host:$port within ${wait_seconds}s; last lines of $run/$name.log:" >&2
	tail -n 20 "$run/$name.log" >&2 || true
	stop_one "$name"
	exit 1
}

stop_one() {
	local name="$1" pid i
	pid="$(pid_of "$name")"
	if [[ -z "$pid" ]]; then
		rm -f "$run/$name.pid"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 40; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "standins: $name (pid $pid) ignored TERM for 10s; sending KILL" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$run/$name.pid"
	echo "standins: $name stopped"
}

cmd_env() {
	cat <<EOF
export AWS_ENDPOINT_URL_DYNAMODB=http://$host:$dynamodb_port
export AWS_ENDPOINT_URL_SQS=http://$host:$fauxqs_port
export AWS_ENDPOINT_URL_S3=http://$host:$fauxqs_port
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
EOF
}

cmd_status() {
	local name pid rc=0
	for name in dynalite fauxqs; do
		pid="$(pid_of "$name")"
		if [[ -n "$pid" && "$(probe "$name")" != 000 ]]; then
			echo "$name: running (pid $pid, http://$host:$(port_of "$name"))"
		elif [[ -n "$pid" ]]; then
			echo "$name: pid $pid alive but not answering on $host:$(port_of "$name")"
			rc=1
		else
			echo "$name: stopped"
			rc=1
		fi
	done
	return "$rc"
}

case "${1:-}" in
start)
	require_node_modules
	mkdir -p "$run"
	start_one dynalite
	start_one fauxqs
	;;
stop)
	mkdir -p "$run"
	stop_one fauxqs
	stop_one dynalite
	;;
status) cmd_status ;;
env) cmd_env ;;
*)
	echo "usage: $0 start|stop|status|env" >&2
	exit 2
	;;
esac
