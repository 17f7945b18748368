#!/usr/bin/env bash
# Builds the client-go informer of bench/informer.bench.ts (main.go here) into the cache outside
# the repo, keyed by a hash of go.mod, go.sum and main.go, as lab/scripts/build-kube.sh does for
# the lab's binaries. Idempotent: a finished build is reused. Prints the binary's path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${KACHIKU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kachiku}
version=$(awk '$1 == "k8s.io/client-go" {print $2}' "$here/go.mod")
key=$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-12)
out="$cache/bin/bench-client-go-$version-$key"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

source "$here/../../lab/scripts/retry.sh"

if [ ! -f "$out/.done" ]; then
  mkdir -p "$out.tmp"
  echo "building the client-go $version informer benchmark into $out" >&2
  (cd "$here" && retry go mod download)
  (cd "$here" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/informer" .)
  touch "$out.tmp/.done"
  rm -rf "$out" && mv "$out.tmp" "$out"
fi
echo "$out/informer"
