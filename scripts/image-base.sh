#!/usr/bin/env bash
# Makes a base image for the Containerfile where no registry of base images can be reached:
# Debian bookworm (minbase, from Debian's packages, by mmdebstrap) with the project's pinned
# Node.js 24 (scripts/node.sh: the official binary, as the npm registry ships it) and npm from
# the npm registry, committed by buildah as localhost/kachiku-base:node24-bookworm.
# Prints the --build-arg for `buildah bud`. Needs root, buildah and mmdebstrap (apt). Not run
# by CI: the image is built by hand (README).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node.sh
image=localhost/kachiku-base:node24-bookworm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "debootstrapping Debian bookworm (minbase)" >&2
mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm "$work/rootfs.tar"
mkdir "$work/root"
tar -xf "$work/rootfs.tar" -C "$work/root"
node_dir=$(kachiku_node_dir)
install -D -m 0755 "$node_dir/bin/node" "$work/root/usr/local/bin/node"
npm_version=$(npm --version)
echo "adding Node.js $(node --version) and npm $npm_version" >&2
(cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
mkdir -p "$work/root/usr/local/lib/node_modules/npm"
tar -xzf "$work"/npm-*.tgz -C "$work/root/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$work/root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$work/root/usr/local/bin/npx"
ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null; rm -rf "$work"' EXIT
buildah add --quiet "$ctr" "$work/root" / >/dev/null
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --cmd '["node"]' "$ctr"
buildah commit --quiet "$ctr" "$image" >/dev/null
echo "--build-arg BASE=$image"
