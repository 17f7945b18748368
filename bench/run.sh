#!/usr/bin/env bash
# Runs the benchmarks against a lab of their own (started here if none runs in KACHIKU_LAB_DIR).
# Usage: bash bench/run.sh [objects] [idle seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export KACHIKU_LAB_DIR=${KACHIKU_LAB_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/kachiku/lab-bench}
if ! node dist/src/cli/main.js lab status --dir "$KACHIKU_LAB_DIR" >/dev/null 2>&1; then
  trap 'node dist/src/cli/main.js lab down --dir "$KACHIKU_LAB_DIR"' EXIT
  node dist/src/cli/main.js lab up --dir "$KACHIKU_LAB_DIR" >/dev/null
fi
node --expose-gc dist/bench/informer.bench.js "$@"
