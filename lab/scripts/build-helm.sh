#!/usr/bin/env bash
# Builds helm v3 from the Go module proxy into the cache, keyed by version, like the registry in
# build-registry.sh. The chart tests (test/lab/chart.test.ts) lint, render and install
# deploy/chart with it. Idempotent; prints the directory holding the binary. About 3 min of CPU
# cold on 2 cores (most of it compiling Kubernetes' client libraries), nothing when built.
set -euo pipefail
cache=${KACHIKU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kachiku}
version=v3.22.0
out="$cache/bin/helm-$version"
source "$(dirname "$0")/retry.sh"
if [ ! -x "$out/helm" ]; then
  echo "building helm $version into $out" >&2
  rm -rf "$out.tmp"
  # helm reads its version from ldflags (internal/version); without them `helm version` says v3.x-dev.
  retry env GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$out.tmp" \
    go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" \
    "helm.sh/helm/v3/cmd/helm@$version"
  rm -rf "$out" && mv "$out.tmp" "$out"
fi
echo "$out"
