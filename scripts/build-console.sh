#!/usr/bin/env bash
# Builds the web console bundle that `mlvault server` serves: index.html, app.js, app.css.
# npm packages come from console/package-lock.json (npm ci, no install scripts); the TypeScript
# is type-checked (tsc --noEmit) and bundled by esbuild. No network at run time, no CDN.
#   scripts/build-console.sh [out-dir]      default: build/console/dist
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${1:-build/console/dist}")
command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "build-console: node and npm are missing; run scripts/install-deps.sh" >&2; exit 1; }
cd console
# npm ci wipes node_modules: only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
node_modules/.bin/tsc --noEmit -p .
node build.mjs "$OUT"
