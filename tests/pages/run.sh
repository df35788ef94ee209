#!/usr/bin/env bash
# End-to-end tests of the pages people look at (the passport page, the regulator dashboard and
# the recyclers' field page) in headless Chromium, driven by playwright-core (pinned in
# package.json / package-lock.json).
#
# Builds the debug binary, loads `reetrace demo` (its default size, 2,000 products; about 15 s in
# a debug build) into a fresh SQLite database, serves it as shipped on a free port, then runs
# pages.test.mjs against it: no console errors, figures equal to the API, filters change the
# charts, CSV/JSON downloads, no horizontal scroll at 360 px. Screenshots go to
# tests/pages/screenshots/ and are listed at the end. Exits non-zero on any failure; the server
# and the temporary database are removed in every case.
#
# The server runs with the shipped disclosure control (k = 3): the demo publishes every year's
# placed-on-market figure, most years' custody flows and the modelled stock, and withholds some
# cells (the newest years' custody flows, some categories): the pages must show the published
# figures as the API answers them and the withheld ones as "suppressed", never as zero.
# PAGES_DEMO_PRODUCTS=N loads a demo of another size; PAGES_SUITES="scan" runs only the field
# page's tests (scan.test.mjs: from a photo, collect to recycling, the offline queue, a refusal);
# PAGES_SUITES="deposits" only the dashboard's secondary resources (deposits.test.mjs: deposits
# recorded through the API on the map over the embedded boundaries, the chart per element).
#
# Needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium), Node 20 with npm
# (and the npm registry for the pinned playwright-core on the first run), and cargo.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CHROMIUM=/usr/bin/chromium
PRODUCTS="${PAGES_DEMO_PRODUCTS:-}"
# pages: the passport page and the dashboard; deposits: the dashboard's map and secondary
# resources (it records deposits); scan: the field page (it records custody steps, so it runs
# after the figures were compared).
SUITES="${PAGES_SUITES:-pages deposits scan}"

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
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
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

DEMO_ARGS=()
[ -n "$PRODUCTS" ] && DEMO_ARGS=(--products "$PRODUCTS")
echo "==> reetrace demo ${DEMO_ARGS[*]:-(default size)} (temporary SQLite database)"
"$BIN" demo "${DEMO_ARGS[@]}" >"$WORK/demo.json" 2>"$WORK/demo.log" \
  || { cat "$WORK/demo.log" >&2; fail "reetrace demo failed"; }

# As shipped: whatever REETRACE_DISCLOSURE_K the caller's shell holds is not passed on.
echo "==> reetrace serve on $BASE (as shipped)"
env -u REETRACE_DISCLOSURE_K "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  if node -e "fetch('$BASE/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; fail "the server stopped"; }
  sleep 0.2
done
node -e "fetch('$BASE/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" \
  || { cat "$WORK/server.log" >&2; fail "the server did not get ready"; }

echo "==> headless Chromium"
rm -rf "$HERE/screenshots"
mkdir -p "$HERE/screenshots"
status=0
for suite in $SUITES; do
  echo "==> $suite.test.mjs"
  BASE_URL="$BASE" DEMO_JSON="$WORK/demo.json" CHROMIUM="$CHROMIUM" SCREENSHOTS="$HERE/screenshots" \
    USER_DATA_DIR="$WORK/chromium-profile" node "$HERE/$suite.test.mjs" || status=$?
done
if [ "$status" -ne 0 ]; then
  echo "--- server log (last 20 lines) ---" >&2
  tail -n 20 "$WORK/server.log" >&2 || true
fi
echo "==> screenshots"
find "$HERE/screenshots" -name '*.png' -printf '%P\n' 2>/dev/null | sort | sed "s|^|tests/pages/screenshots/|"
exit "$status"
