#!/usr/bin/env bash
# Runs before `npm test`, `npm run demo` and `npm run bench` (npm's pre-scripts), so that on a fresh
# machine those commands are all one needs to type: installs the Debian packages the project uses
# when any is missing (as root, or through sudo), then the npm dependencies when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
if [ ! -x node_modules/.bin/tsc ] || [ ! -x node_modules/.bin/vitest ]; then
  echo "npm dependencies: installing"
  npm install --no-audit --no-fund
fi
