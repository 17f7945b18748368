#!/usr/bin/env bash
# Builds the CNCF Distribution registry v3 (the project Debian's docker-registry 2.8 comes from)
# from the Go module proxy into the cache, keyed by version, like kwok in build-kube.sh. The lab
# runs it as its token-auth registry because 2.8 ignores `n` and `last` on tags/list: only v3
# pages tags (with a Link header), as Docker Hub, GHCR and Harbor do. Idempotent; prints the
# binary's path. About 2 min of CPU cold (most of it downloads), nothing when built.
set -euo pipefail
cache=${KACHIKU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kachiku}
version=v3.1.2
out="$cache/bin/registry-$version"
source "$(dirname "$0")/retry.sh"
if [ ! -x "$out/registry" ]; then
  echo "building distribution registry $version into $out" >&2
  rm -rf "$out.tmp"
  retry env GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$out.tmp" \
    go install -trimpath -ldflags "-s -w" \
    "github.com/distribution/distribution/v3/cmd/registry@$version"
  rm -rf "$out" && mv "$out.tmp" "$out"
fi
echo "$out/registry"
