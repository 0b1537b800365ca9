#!/usr/bin/env bash
# Builds real Grafana Loki (and Promtail, with `promtail`) from the Go module
# proxy and caches the binaries, so end-to-end tests push into the real thing.
#
#   localstack/loki.sh path            build if needed, print the loki binary's path
#   localstack/loki.sh path promtail   the same for promtail
#
# `go install github.com/grafana/loki/v3/cmd/loki@…` refuses because Loki's
# go.mod has replace directives. So: download the module, copy it somewhere
# writable, drop the matching pkg/push module into it and build in place
# (see ../shared/notes/ENVIRONMENT.md). About 7 minutes cold on 2 cores.
set -euo pipefail

LOKI_VERSION="${LOKI_VERSION:-v3.5.3}"
PUSH_VERSION="${LOKI_PUSH_VERSION:-v0.0.0-20240924133635-758364c7775f}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${LOKI_CACHE_DIR:-$root/.cache/loki/$LOKI_VERSION}"

build() {
	local bin="$1" pkg="$2"
	[ -x "$cache/$bin" ] && return 0
	mkdir -p "$cache"
	local src="$cache/src"
	if [ ! -f "$src/go.mod" ]; then
		local loki_dir push_dir
		loki_dir=$(go mod download -json "github.com/grafana/loki/v3@$LOKI_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		push_dir=$(go mod download -json "github.com/grafana/loki/pkg/push@$PUSH_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		[ -n "$loki_dir" ] && [ -n "$push_dir" ] || { echo "loki.sh: could not download Loki $LOKI_VERSION" >&2; exit 1; }
		rm -rf "$src.tmp" && mkdir -p "$src.tmp"
		cp -r "$loki_dir/." "$src.tmp/"
		chmod -R u+w "$src.tmp"
		rm -rf "$src.tmp/pkg/push" && mkdir -p "$src.tmp/pkg/push"
		cp -r "$push_dir/." "$src.tmp/pkg/push/"
		chmod -R u+w "$src.tmp/pkg/push"
		mv "$src.tmp" "$src"
	fi
	echo "loki.sh: building $bin $LOKI_VERSION (several minutes the first time)" >&2
	(cd "$src" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$cache/$bin.tmp" "$pkg")
	mv "$cache/$bin.tmp" "$cache/$bin"
}

case "${1:-path}" in
path)
	case "${2:-loki}" in
	loki) build loki ./cmd/loki; echo "$cache/loki" ;;
	promtail) build promtail ./clients/cmd/promtail; echo "$cache/promtail" ;;
	*) echo "usage: $0 path [loki|promtail]" >&2; exit 2 ;;
	esac ;;
*) echo "usage: $0 path [loki|promtail]" >&2; exit 2 ;;
esac
