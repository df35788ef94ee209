#!/usr/bin/env bash
# The OpenAPI contract, end to end: starts one `reetrace serve` (a temporary SQLite database, a
# free port, REETRACE_PUBLIC_BASE_URL set to it), bootstraps an admin with
# `reetrace admin org create`, then runs
#   1. the Python scenario   (tests/clients/python: openapi-python-client),
#   2. the TypeScript scenario (tests/clients/typescript: openapi-typescript + openapi-fetch),
#   3. schemathesis          (tests/contract: every operation, a key of each role),
# each generating what it needs from the committed openapi/reetrace.json. Stops the server and
# exits non-zero if any part failed. Needs cargo, python3 (3.11+) with venv, Node 20+ and npm.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

echo "clients: building reetrace"
cargo build --quiet --bin reetrace
target_dir="$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/debug/reetrace"

work="$(mktemp -d)"
server_pid=""
stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export REETRACE_DATABASE_URL="sqlite://$work/reetrace.db"
export REETRACE_MASTER_KEY_FILE="$work/master.key"
export REETRACE_LISTEN="127.0.0.1:$port"
export REETRACE_PUBLIC_BASE_URL="http://127.0.0.1:$port"
# The contract run is not about throttling: a throttled fuzzer would only test less.
export REETRACE_RATE_LIMIT_PER_SECOND=0 REETRACE_ADDRESS_RATE_LIMIT_PER_SECOND=0 REETRACE_FAILED_AUTH_RATE_LIMIT_PER_SECOND=0
export REETRACE_LOG="${REETRACE_LOG:-warn}"

admin_key="$("$bin" admin org create --name "Contract admin" --role admin \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')"

"$bin" serve > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request; urllib.request.urlopen('$REETRACE_PUBLIC_BASE_URL/healthz', timeout=1)" 2>/dev/null; then
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; echo "clients: the server did not start"; exit 1; }
  sleep 0.2
done
echo "clients: reetrace serve on $REETRACE_PUBLIC_BASE_URL (database $REETRACE_DATABASE_URL)"

export REETRACE_URL="$REETRACE_PUBLIC_BASE_URL"
export REETRACE_ADMIN_KEY="$admin_key"
# The Python scenario also checks the deposits' credentials with `reetrace verify --online`.
export REETRACE_BIN="$bin"
failed=()
run_part() {
  local name="$1"
  shift
  echo
  echo "==> clients: $name"
  local started=$SECONDS
  if "$@"; then
    echo "clients: $name passed ($((SECONDS - started)) s)"
  else
    echo "clients: $name FAILED ($((SECONDS - started)) s)"
    failed+=("$name")
  fi
}
run_part "python scenario" "$root/tests/clients/python/run.sh"
run_part "typescript scenario" "$root/tests/clients/typescript/run.sh"
run_part "schemathesis" "$root/tests/contract/run.sh"

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "clients: the server died during the run"
  failed+=("server")
fi
stop_server
if grep -qiE 'panicked|ERROR' "$work/server.log"; then
  echo "clients: the server logged errors:"
  grep -iE 'panicked|ERROR' "$work/server.log" | head -20
  failed+=("server log")
fi

echo
if ((${#failed[@]})); then
  echo "clients: FAILED: ${failed[*]}"
  tail -30 "$work/server.log"
  exit 1
fi
echo "clients: python scenario, typescript scenario and schemathesis passed"
