#!/usr/bin/env bash
# Runs a benchmark against a lab of its own (started here if none runs in KACHIKU_LAB_DIR).
# Usage: bash bench/run.sh informer [objects] [idle seconds] [rounds]
#        bash bench/run.sh rest [other build's dist dir] [rounds] [seconds per phase]
#        bash bench/run.sh metadata [secrets] [rounds] [updates]
#        bash bench/run.sh mirror [mirrors] [listeners] [members] [interval]
#        bash bench/run.sh mirrorpolicy [load balancers] [poll interval] [new load balancers]
#        bash bench/run.sh octavia [load balancers] [concurrency] [rounds] [build width]
#        bash bench/run.sh router [entries] [rounds]
#        bash bench/run.sh routing [tenants] [prods] [moves]
#        bash bench/run.sh dnsrouting [tenants] [prods] [moves]
#        bash bench/run.sh sources [tags] [runs]
#        bash bench/run.sh placement [tenants] [prods] [rounds]   (pure: no lab)
#        bash bench/run.sh fleet [tenants]   (a lab with three members: started so here)
#        bash bench/run.sh rollback [prods] [tenants per Prod] [runs]   (a lab started here gets 64 router slots)
#        bash bench/run.sh release [prods] [tenants per Prod] [rollback runs] [warm-up ms] [full release 1|0]   (64 router slots)
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:?usage: bash bench/run.sh informer|rest|metadata|mirror|mirrorpolicy|dns|prods|octavia|router|routing|dnsrouting|sources|placement|fleet|rollback|release [args]}
shift
if [ "$which" = placement ]; then
  source scripts/node.sh
  npm run --silent build
  exec node --expose-gc "dist/bench/$which.bench.js" "$@"
fi
bash scripts/setup.sh
source scripts/node.sh
export KACHIKU_LAB_DIR=${KACHIKU_LAB_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/kachiku/lab-bench}
if ! node dist/src/cli/main.js lab status --dir "$KACHIKU_LAB_DIR" >/dev/null 2>&1; then
  trap 'node dist/src/cli/main.js lab down --dir "$KACHIKU_LAB_DIR"' EXIT
  slots=()
  if [ "$which" = rollback ] || [ "$which" = release ]; then slots=(--router-slots 64); fi
  node dist/src/cli/main.js lab up --dir "$KACHIKU_LAB_DIR" --members 3 "${slots[@]}" >/dev/null
fi
node --expose-gc "dist/bench/$which.bench.js" "$@"
