#!/usr/bin/env bash
# with-standins.sh CMD… — run CMD with the stand-ins up and the SDK pointed at
# them, then stop them, whatever CMD's outcome. A stand-in that fails to start
# fails the run (exit non-zero) before CMD runs: nothing is skipped silently.
# Honours DYNAMODB_PORT, FAUXQS_PORT and STANDINS_RUN_DIR (see standins.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -gt 0 ]] || { echo "usage: $0 CMD [ARGS…]" >&2; exit 2; }
"$here/standins.sh" start
trap '"$here/standins.sh" stop' EXIT
eval "$("$here/standins.sh" env)"
"$@"
