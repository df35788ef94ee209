#!/usr/bin/env bash
# Generates the TypeScript types from the committed openapi/reetrace.json with the pinned
# openapi-typescript, type-checks the scenario against them (tsc --noEmit), compiles it and runs
# it with Node (20 or newer) and openapi-fetch against a running server.
#
#   REETRACE_URL=http://127.0.0.1:8080 REETRACE_ADMIN_KEY=rtk_... tests/clients/typescript/run.sh
#
# node_modules/ (installed from package-lock.json with npm ci), generated/ and dist/ are
# git-ignored and made again on every run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
: "${REETRACE_URL:?set REETRACE_URL to the base URL of the server}"
: "${REETRACE_ADMIN_KEY:?set REETRACE_ADMIN_KEY to an admin API key}"

major="$(node --version | sed -E 's/^v([0-9]+).*/\1/')"
if (( major < 20 )); then
  echo "typescript: Node 20 or newer is needed, found $(node --version)" >&2
  exit 1
fi

echo "typescript: installing the pinned packages (npm ci)"
npm ci --no-audit --no-fund --loglevel=error
rm -rf generated dist
echo "typescript: generating the types with openapi-typescript $(npx --no-install openapi-typescript --version)"
npx --no-install openapi-typescript ../../../openapi/reetrace.json --output generated/reetrace.d.ts --silent
echo "typescript: type-checking with tsc $(npx --no-install tsc --version | sed 's/Version //') (--noEmit)"
npx --no-install tsc --noEmit
npx --no-install tsc
node dist/scenario.js
