#!/usr/bin/env bash
# dev.sh — `make dev`: the whole of logstream on this machine, without Docker.
# Starts the stand-ins (dynalite, fauxqs), then the local runner hosting every
# function behind the HTTP API gateway and the SQS event source mappings, plus a
# receiver that prints what it is sent. Ctrl-C stops everything.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
addr="${LOCALRUN_ADDR:-127.0.0.1:8080}"
receiver="${LOCALRUN_RECEIVER:-127.0.0.1:9000}"
# The bootstrap admin key: yours if LOGSTREAM_ADMIN_KEY is set, else a new one
# for this run (48 hex characters from the kernel's random source).
key="${LOGSTREAM_ADMIN_KEY:-dev_$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')}"
# The Loki bridge's basic-auth password, the same way.
bridge_password="${LOGSTREAM_BRIDGE_PASSWORD:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}"

"$here/standins.sh" start
trap '"$here/standins.sh" stop' EXIT
eval "$("$here/standins.sh" env)"

cd "$repo"
go build -o "$here/.run/localrun" ./localstack/cmd/localrun

cat <<MSG

logstream is starting locally.
  HTTP API      http://$addr          (API Gateway HTTP API, payload 2.0)
  receiver      http://$receiver/hook  (prints each delivered event below)
  DynamoDB      $AWS_ENDPOINT_URL_DYNAMODB   SQS + S3  $AWS_ENDPOINT_URL_SQS

  admin key     $key
  Loki push     http://$addr/loki/api/v1/push   (basic auth logstream:$bridge_password → S3 stand-in)

Try it, in another terminal:

  export KEY=$key
  curl -sS -X POST http://$addr/v1/projects/demo/streams -H "authorization: Bearer \$KEY" \\
    -H 'content-type: application/json' \\
    -d '{"name":"local receiver","destination_type":"http","destination_config":{"endpoint":"http://$receiver/hook"}}'
  curl -sS -X POST http://$addr/v1/projects/demo/events -H "authorization: Bearer \$KEY" \\
    -H 'content-type: application/json' --data-binary @events/auth/okta.json
  curl -sS http://$addr/v1/projects/demo/streams -H "authorization: Bearer \$KEY"

Push to the Loki-compatible S3 bridge as any Loki client would:

  curl -sS -u logstream:$bridge_password -H 'content-type: application/json' \\
    http://$addr/loki/api/v1/push -d "{\"streams\":[{\"stream\":{\"job\":\"demo\"},\"values\":[[\"\$(date +%s%N)\",\"hello\"]]}]}"

Delivered events appear here as "receiver: {…}" lines. Ctrl-C stops everything.

MSG
# Not exec: the trap must run after the runner stops to stop the stand-ins.
"$here/.run/localrun" -addr "$addr" -receiver "$receiver" -admin-key "$key" -bridge-password "$bridge_password" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; "$here/standins.sh" stop' EXIT
trap 'exit 130' INT TERM
wait $pid
