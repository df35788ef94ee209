#!/usr/bin/env bash
# End-to-end tests of the pages people look at (the passport page and the regulator dashboard)
# in headless Chromium, driven by playwright-core (pinned in package.json / package-lock.json).
#
# Builds the debug binary, loads `reetrace demo` into a fresh SQLite database, serves it on a
# free port, then runs pages.test.mjs against it: no console errors, figures equal to the API,
# filters change the charts, CSV/JSON downloads, no horizontal scroll at 360 px. Screenshots go
# to tests/pages/screenshots/ and are listed at the end. Exits non-zero on any failure; the
# servers and the temporary database are removed in every case.
#
# Two servers answer on the same database: one as shipped (disclosure control with k = 3, where
# the demo's sparse cells withhold most figures: the pages must say "suppressed"), and one with
# REETRACE_DISCLOSURE_K=1 (nothing withheld), so that the filters have figures to change.
#
# Needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium), Node 20 with npm
# (and the npm registry for the pinned playwright-core on the first run), and cargo.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CHROMIUM=/usr/bin/chromium
PRODUCTS="${PAGES_DEMO_PRODUCTS:-600}"

fail() { echo "tests/pages: $*" >&2; exit 1; }
[ -x "$CHROMIUM" ] || fail "$CHROMIUM is missing: install Debian's chromium (apt-get install -y chromium)"
command -v node >/dev/null || fail "node is missing (Node 20 or later)"
command -v npm >/dev/null || fail "npm is missing"
command -v cargo >/dev/null || fail "cargo is missing"

echo "==> cargo build -p reetrace"
(cd "$ROOT" && cargo build -p reetrace)
TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
BIN="$TARGET_DIR/debug/reetrace"
[ -x "$BIN" ] || fail "$BIN was not built"

echo "==> npm ci (playwright-core, pinned)"
(cd "$HERE" && npm ci --no-audit --no-fund --silent)

WORK="$(mktemp -d)"
SERVER_PIDS=()
cleanup() {
  for pid in "${SERVER_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
export REETRACE_DATABASE_URL="sqlite://$WORK/pages.db"
export REETRACE_MASTER_KEY_FILE="$WORK/master.key"
export REETRACE_LISTEN="127.0.0.1:$PORT"
export REETRACE_PUBLIC_BASE_URL="$BASE"
export REETRACE_LOG="${REETRACE_LOG:-warn}"

echo "==> reetrace demo --products $PRODUCTS (temporary SQLite database)"
"$BIN" demo --products "$PRODUCTS" >"$WORK/demo.json" 2>"$WORK/demo.log" \
  || { cat "$WORK/demo.log" >&2; fail "reetrace demo failed"; }

# serve NAME PORT [VAR=VALUE...]: starts a server in the background and waits until it is ready.
serve() {
  local name="$1" port="$2"
  shift 2
  echo "==> reetrace serve on http://127.0.0.1:$port ($name)"
  env REETRACE_LISTEN="127.0.0.1:$port" "$@" "$BIN" serve >"$WORK/$name.log" 2>&1 &
  local pid=$!
  SERVER_PIDS+=("$pid")
  for _ in $(seq 1 150); do
    if node -e "fetch('http://127.0.0.1:$port/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name.log" >&2; fail "the $name server stopped"; }
    sleep 0.2
  done
  cat "$WORK/$name.log" >&2
  fail "the $name server did not get ready"
}
serve shipped "$PORT"
OPEN_PORT="$(free_port)"
serve open "$OPEN_PORT" REETRACE_DISCLOSURE_K=1
OPEN_BASE="http://127.0.0.1:$OPEN_PORT"

echo "==> headless Chromium"
rm -rf "$HERE/screenshots"
mkdir -p "$HERE/screenshots"
status=0
BASE_URL="$BASE" OPEN_BASE_URL="$OPEN_BASE" DEMO_JSON="$WORK/demo.json" CHROMIUM="$CHROMIUM" SCREENSHOTS="$HERE/screenshots" \
  USER_DATA_DIR="$WORK/chromium-profile" node "$HERE/pages.test.mjs" || status=$?
if [ "$status" -ne 0 ]; then
  for name in shipped open; do
    echo "--- $name server log (last 20 lines) ---" >&2
    tail -n 20 "$WORK/$name.log" >&2 || true
  done
fi
echo "==> screenshots"
find "$HERE/screenshots" -name '*.png' -printf '%P\n' 2>/dev/null | sort | sed "s|^|tests/pages/screenshots/|"
exit "$status"
