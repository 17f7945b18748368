# Sourced by the lab's install scripts. Registries can fail for a moment: a network step gets
# three tries, with a growing pause between them.
retry() {
  local n
  for n in 1 2 3; do
    "$@" && return 0
    echo "failed (try $n of 3): $*" >&2
    sleep $((n * 10))
  done
  return 1
}
