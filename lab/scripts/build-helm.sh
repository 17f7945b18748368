#!/usr/bin/env bash
# Builds helm v3 from the Go module proxy into the cache, keyed by version, like the registry in
# build-registry.sh. The chart tests (test/lab/chart.test.ts) lint, render and install
# deploy/chart with it. Idempotent; prints the directory holding the binary. About 3 min of CPU
# cold on 2 cores (most of it compiling Kubernetes' client libraries), nothing when built.
set -euo pipefail
cache=${KACHIKU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kachiku}
version=v3.22.0
# What helm's Makefile sets: its version, and the Kubernetes version its client libraries speak
# (client-go v0.37 → 1.37), the default of `helm template` and `helm lint` without a cluster
# (left out, they say 1.20, and a chart's kubeVersion constraint fails).
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version"
for p in pkg/lint/rules pkg/chartutil; do
  ldflags="$ldflags -X helm.sh/helm/v3/$p.k8sVersionMajor=1 -X helm.sh/helm/v3/$p.k8sVersionMinor=37"
done
out="$cache/bin/helm-$version-$(echo "$ldflags" | sha256sum | cut -c1-8)"
source "$(dirname "$0")/retry.sh"
if [ ! -x "$out/helm" ]; then
  echo "building helm $version into $out" >&2
  rm -rf "$out.tmp"
  retry env GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$out.tmp" \
    go install -trimpath -ldflags "$ldflags" \
    "helm.sh/helm/v3/cmd/helm@$version"
  rm -rf "$out" && mv "$out.tmp" "$out"
fi
echo "$out"
