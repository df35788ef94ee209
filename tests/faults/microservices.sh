#!/usr/bin/env bash
# The microservice fault test (see microservices.py): two instances of each service on
# PostgreSQL behind nginx, a mixed workload with instances killed and restarted, then every
# acknowledged write checked. Needs PostgreSQL at REETRACE_TEST_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/postgres) and nginx (installed from Debian when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."

admin_url="${REETRACE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    echo "installing nginx (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light >/dev/null 2>&1 \
        || DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null
fi
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

cargo build -q -p reetrace
db="reetrace_faults_$(date +%s)_$$"
psql -q "$admin_url" -c "CREATE DATABASE $db" >/dev/null
run="$(mktemp -d)"
cleanup() {
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$run"
}
trap cleanup EXIT

base="${admin_url%/*}"
REETRACE_BIN="$PWD/target/debug/reetrace" \
DATABASE_URL="$base/$db" \
RUN_DIR="$run" \
NGINX="$nginx_bin" \
REETRACE_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" \
REETRACE_SERVICE_KEY="$(target/debug/reetrace admin key generate)" \
python3 tests/faults/microservices.py || { tail -n 30 "$run"/*.log; exit 1; }
