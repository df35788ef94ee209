#!/usr/bin/env bash
# Crash test of the custody write path: kills `reetrace serve` with SIGKILL (several times)
# while workers record custody steps as fast as it answers, restarts it each time, and then
# checks that every acknowledged event is stored exactly once, on the leaf it was acknowledged
# with, that nothing unacknowledged was stored, and that `reetrace verify-log` passes on the
# database and through the API. Then the same for asynchronous capture (the EPCIS 2.0 REST
# binding, tests/epcis/binding.py kill): SIGKILL while accepted capture jobs run; after the
# restart every accepted job completes, each exactly once.
#
#   tests/faults/kill_capture.sh            # PostgreSQL (a database it creates and drops)
#   BACKEND=sqlite tests/faults/kill_capture.sh
#
# Environment: REETRACE_BIN (default: build and use target/debug/reetrace),
# REETRACE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres),
# DURATION (seconds of load, default 30), KILLS (default 3), WORKERS (default 8).
# Needs bash, python3 (standard library) and, for PostgreSQL, psql. Exit 0 when all holds.
set -euo pipefail
cd "$(dirname "$0")/../.."

BACKEND="${BACKEND:-postgres}"
DURATION="${DURATION:-30}"
KILLS="${KILLS:-3}"
WORKERS="${WORKERS:-8}"
PG_ADMIN_URL="${REETRACE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
LOAD="tests/faults/custody_load.py"

say() { printf '==> %s\n' "$*"; }

if [[ -z "${REETRACE_BIN:-}" ]]; then
  say "cargo build -p reetrace"
  cargo build --quiet -p reetrace
  REETRACE_BIN="target/debug/reetrace"
fi
BIN="$(cd "$(dirname "$REETRACE_BIN")" && pwd)/$(basename "$REETRACE_BIN")"

WORK="$(mktemp -d)"
DB_NAME="reetrace_fault_$$_${RANDOM}"
JOBS_DB="${DB_NAME}_jobs"
SERVER_PID=""
LOAD_PID=""
cleanup() {
  set +e
  [[ -n "$LOAD_PID" ]] && kill "$LOAD_PID" 2>/dev/null
  [[ -n "$SERVER_PID" ]] && kill -9 "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  if [[ "$BACKEND" == postgres ]]; then
    psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null
    psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $JOBS_DB WITH (FORCE)" >/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

case "$BACKEND" in
  postgres)
    psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $DB_NAME" >/dev/null
    DB_URL="${PG_ADMIN_URL%/*}/$DB_NAME"
    ;;
  sqlite) DB_URL="sqlite://$WORK/reetrace.db" ;;
  *) echo "BACKEND must be postgres or sqlite" >&2; exit 2 ;;
esac

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
export REETRACE_DATABASE_URL="$DB_URL"
export REETRACE_PUBLIC_BASE_URL="$BASE"
export REETRACE_MASTER_KEY="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
export REETRACE_RATE_LIMIT_PER_SECOND=100000 REETRACE_RATE_LIMIT_BURST=100000 REETRACE_ADDRESS_RATE_LIMIT_PER_SECOND=0
export REETRACE_LOG="${REETRACE_LOG:-warn}"

json_field() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }

say "$BACKEND database, organisations"
"$BIN" migrate
MAKER_KEY="$("$BIN" admin org create --name "Fault Motors" --role manufacturer --gs1-prefix 4012345 | json_field api_key)"
A_JSON="$("$BIN" admin org create --name "Collector" --role recycler)"
B_JSON="$("$BIN" admin org create --name "Recycler" --role recycler)"
A_ID="$(json_field org_id <<<"$A_JSON")"; A_KEY="$(json_field api_key <<<"$A_JSON")"
B_ID="$(json_field org_id <<<"$B_JSON")"; B_KEY="$(json_field api_key <<<"$B_JSON")"

start_server() {
  "$BIN" serve --listen "127.0.0.1:$PORT" >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if curl -fsS "$BASE/healthz" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "the server did not come up:" >&2
  tail -20 "$WORK/server.log" >&2
  exit 1
}

say "serve on $BASE"
start_server
python3 "$LOAD" load --base "$BASE" --maker "$MAKER_KEY" \
  --recycler "$A_ID:$A_KEY" --recycler "$B_ID:$B_KEY" \
  --products $((WORKERS * 4)) --workers "$WORKERS" --duration "$DURATION" \
  --acks "$WORK/acks.jsonl" --ready "$WORK/ready" >"$WORK/load.json" &
LOAD_PID=$!
while [[ ! -f "$WORK/ready" ]]; do
  kill -0 "$LOAD_PID" 2>/dev/null || { echo "the load generator stopped early" >&2; exit 1; }
  sleep 0.1
done

# Kills spread over the load, each at an odd moment: mid-request, mid-commit, whatever it is.
INTERVAL="$(python3 -c "print($DURATION / ($KILLS + 1))")"
for k in $(seq 1 "$KILLS"); do
  sleep "$INTERVAL"
  before="$(wc -l <"$WORK/acks.jsonl")"
  kill -9 "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  say "kill -9 #$k after $before acknowledged steps; restart"
  start_server
done

load_status=0
wait "$LOAD_PID" || load_status=$?
LOAD_PID=""
say "load: $(cat "$WORK/load.json")"
if [[ "$load_status" != 0 ]]; then
  echo "the load generator failed (exit $load_status); server log:" >&2
  tail -20 "$WORK/server.log" >&2
  exit 1
fi

say "check: every acknowledged event stored exactly once, nothing else"
python3 "$LOAD" check --base "$BASE" --key "$A_KEY" --acks "$WORK/acks.jsonl"

say "reetrace verify-log --database-url"
"$BIN" verify-log --database-url "$DB_URL" >"$WORK/verify-db.json" \
  || { cat "$WORK/verify-db.json"; exit 1; }
python3 -c "import json; r = json.load(open('$WORK/verify-db.json')); print({k: r[k] for k in ('events', 'subjects', 'checkpoint_size', 'ok')})"

say "reetrace verify-log --url"
"$BIN" verify-log --url "$BASE" --api-key "$B_KEY" >"$WORK/verify-api.json" \
  || { cat "$WORK/verify-api.json"; exit 1; }
python3 -c "import json; r = json.load(open('$WORK/verify-api.json')); print({k: r[k] for k in ('events', 'subjects', 'checkpoint_size', 'ok')})"

kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""

say "asynchronous capture: SIGKILL while capture jobs run; every accepted job completes once"
if [[ "$BACKEND" == postgres ]]; then
  psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $JOBS_DB" >/dev/null
  python3 tests/epcis/binding.py kill "$BIN" --database-url "${PG_ADMIN_URL%/*}/$JOBS_DB"
else
  python3 tests/epcis/binding.py kill "$BIN"
fi
say "ok"
