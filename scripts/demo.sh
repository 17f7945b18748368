#!/usr/bin/env bash
# Runs kachiku on its embedded default, the local lab, until Ctrl-C (then tears it all down).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/node.sh
exec node dist/src/cli/main.js demo "$@"
