#!/usr/bin/env bash
# Installs and builds everything kachiku and its lab need, idempotently: Debian packages and
# moto (lab/scripts/install-system.sh), Kubernetes and kwok from the Go module proxy
# (lab/scripts/build-kube.sh, cached outside the repo), npm packages (npm ci when the lockfile
# changed), and the TypeScript build, all on the pinned Node.js 24 (scripts/node.sh). Quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node.sh
bash lab/scripts/install-system.sh
bash lab/scripts/build-kube.sh >/dev/null
bash lab/scripts/build-registry.sh >/dev/null  # the lab's v3 registry, from the Go module proxy
bash lab/scripts/build-helm.sh >/dev/null  # helm v3 for the chart tests (test/lab/chart.test.ts)
lock=$(sha256sum package-lock.json | cut -c1-16)
if [ "$(cat node_modules/.kachiku-lock 2>/dev/null)" != "$lock" ]; then
  npm ci --no-fund --no-audit --loglevel=error || { sleep 10; npm ci --no-fund --no-audit --loglevel=error; }
  echo "$lock" > node_modules/.kachiku-lock
fi
npm run --silent build
