#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (through the wrapper
# module in lab/kube-build) and kwok, into a cache outside the repo keyed by version and go.sum hash.
# Idempotent: a finished build is reused. Prints the directory holding the binaries.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${KACHIKU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kachiku}
kube_version=$(awk '/^require k8s.io\/kubernetes/ {print $3}' "$here/kube-build/go.mod")
kwok_version=v0.8.0
key=$(cat "$here/kube-build/go.mod" "$here/kube-build/go.sum" | sha256sum | cut -c1-12)
out="$cache/bin/kube-$kube_version-$key"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

source "$(dirname "$0")/retry.sh"

pkg=k8s.io/component-base/version
cgo=k8s.io/client-go/pkg/version
minor=$(echo "$kube_version" | cut -d. -f2)
ldflags="-s -w"
for p in $pkg $cgo; do
  ldflags="$ldflags -X $p.gitVersion=$kube_version -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
done
if [ ! -f "$out/.done" ]; then
  mkdir -p "$out.tmp"
  echo "building Kubernetes $kube_version into $out (about 5 min cold on 2 cores)" >&2
  (cd "$here/kube-build" && retry go mod download)
  (cd "$here/kube-build" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl)
  touch "$out.tmp/.done"
  rm -rf "$out" && mv "$out.tmp" "$out"
fi
# kubectl came later than the rest: a cached dir from before has none, so build it alone then
# (the same module, version and flags), rather than rebuilding everything under a new key.
if [ ! -x "$out/kubectl" ]; then
  echo "building kubectl $kube_version" >&2
  (cd "$here/kube-build" && retry go mod download)
  (cd "$here/kube-build" && go build -trimpath -ldflags "$ldflags" -o "$out/kubectl.tmp" \
    k8s.io/kubernetes/cmd/kubectl)
  mv "$out/kubectl.tmp" "$out/kubectl"
fi
if [ ! -x "$out/kwok" ]; then
  echo "building kwok $kwok_version" >&2
  retry env GOBIN="$out/kwok.tmp" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$kwok_version"
  mv "$out/kwok.tmp/kwok" "$out/kwok" && rmdir "$out/kwok.tmp"
fi
if [ ! -f "$out/kwok-stages.yaml" ]; then
  # kwok needs Stage objects to act as the kubelet: take the "fast" set shipped in its module
  # (nodes Ready with heartbeat leases, pods Running and Ready at once).
  src="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$kwok_version/kustomize/stage"
  [ -d "$src" ] || retry go mod download "sigs.k8s.io/kwok@$kwok_version"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    echo "---"; cat "$src/$f"
  done > "$out/kwok-stages.yaml.tmp"
  mv "$out/kwok-stages.yaml.tmp" "$out/kwok-stages.yaml"
fi
echo "$out"
