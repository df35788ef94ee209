#!/usr/bin/env bash
# The microservice fault test (see microservices.py): two instances of each service on
# PostgreSQL behind nginx, a mixed workload with instances killed and restarted, then every
# acknowledged write checked, the log verified and the stock figures recounted in SQL.
#
#   bash tests/faults/microservices.sh
#
# Needs nginx (Debian: apt-get install -y nginx), psql, python3 (standard library) and PostgreSQL
# at REETRACE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres), where it
# creates a fresh database and drops it afterwards. Environment: REETRACE_BIN (default: build
# and use the debug binary), DURATION (seconds of workload, default 35), BASE_PORT (default
# 28100; the gateway and eight instances take BASE_PORT..BASE_PORT+8), KEEP_DB=1 (keep the
# database and the logs). Exit 0 when all holds.
set -euo pipefail
cd "$(dirname "$0")/../.."

admin_url="${REETRACE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
nginx_bin="$(command -v nginx || true)"
if [[ -z "$nginx_bin" && -x /usr/sbin/nginx ]]; then nginx_bin=/usr/sbin/nginx; fi
if [[ -z "$nginx_bin" ]]; then
    echo "FAIL: nginx is not installed; the fault test needs it as the gateway (apt-get install -y nginx)" >&2
    exit 1
fi
for tool in psql python3; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed" >&2; exit 1; }
done

if [[ -z "${REETRACE_BIN:-}" ]]; then
    # The same debug build as `cargo run` and tests/clients/run.sh: nothing new to compile in CI.
    cargo build --quiet --bin reetrace
    target_dir="$(cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
    REETRACE_BIN="$target_dir/debug/reetrace"
fi
db="reetrace_faults_$(date +%s)_$$"
run="$(mktemp -d)"
cleanup() {
    status=$?
    # The Python side stops its processes at exit; this catches any left by a hard failure.
    # (a negative id is nginx's process group).
    [[ -n "${driver:-}" ]] && kill -9 "$driver" 2>/dev/null || true
    if [[ -f "$run/pids" ]]; then
        while read -r pid; do kill -9 -- "$pid" 2>/dev/null || true; done <"$run/pids"
    fi
    if [[ -n "${KEEP_DB:-}" ]]; then
        echo "kept the database ${admin_url%/*}/$db"
    else
        psql -X -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    if [[ $status -ne 0 ]]; then
        for log in "$run"/*.log; do [[ "$log" == */nginx-access.log ]] && continue; [[ -s "$log" ]] && { echo "--- $log (last lines)"; tail -n 15 "$log"; }; done
    fi
    if [[ -n "${KEEP_DB:-}" ]]; then echo "kept the logs in $run"; else rm -rf "$run"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
psql -X -q "$admin_url" -c "CREATE DATABASE $db" >/dev/null

started=$SECONDS
REETRACE_BIN="$REETRACE_BIN" \
DATABASE_URL="${admin_url%/*}/$db" \
RUN_DIR="$run" \
NGINX="$nginx_bin" \
REETRACE_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" \
REETRACE_SERVICE_KEY="$("$REETRACE_BIN" admin key generate)" \
python3 tests/faults/microservices.py &
driver=$!
# Waiting in the background lets a TERM or INT reach the trap (and the cleanup) at once.
wait "$driver"
driver=
echo "fault test: $((SECONDS - started)) s after the build"
