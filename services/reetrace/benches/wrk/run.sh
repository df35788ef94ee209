#!/usr/bin/env bash
# The HTTP read figures of BENCHMARKS.md ("Passports", wrk) with wrk as the load generator, a
# separate process written in C, so that the server keeps most of the two cores:
#
#   cargo build --release && bash services/reetrace/benches/wrk/run.sh [DATABASE_URL]
#
# Starts the release binary on a fresh SQLite file (or DATABASE_URL, e.g. a fresh PostgreSQL
# database), registers 10,000 item passports through the bulk API, then runs wrk for 10 s each
# against /healthz (64 connections), the resolver /01/{gtin}/21/{serial} with
# Accept: application/json over the 10,000 serials (64 connections) and /credentials/verify with
# one signed credential (32 connections). Needs wrk (Debian: apt-get install wrk), curl, jq and
# python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
bin="${WRK_BENCH_BIN:-$root/target/release/reetrace}"
[[ -x "$bin" ]] || { echo "no release binary at $bin: cargo build --release" >&2; exit 2; }
for tool in wrk curl jq python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 2; }
done
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export REETRACE_DATABASE_URL="${1:-sqlite://$work/bench.db}"
export REETRACE_MASTER_KEY_FILE="$work/master.key"
export REETRACE_LISTEN="127.0.0.1:$port" REETRACE_PUBLIC_BASE_URL="http://127.0.0.1:$port"
export REETRACE_RATE_LIMIT_PER_SECOND=0 REETRACE_ADDRESS_RATE_LIMIT_PER_SECOND=0 REETRACE_FAILED_AUTH_RATE_LIMIT_PER_SECOND=0 REETRACE_LOG=warn
base="http://127.0.0.1:$port"

"$bin" migrate >/dev/null
maker="$("$bin" admin org create --name "wrk bench maker" --role manufacturer --gs1-prefix 4012345 | jq -r .api_key)"
"$bin" serve > "$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

python3 - "$root/schemas/examples/valid/item-ev-traction-motor.json" "$work" <<'PY'
import json, sys
example, work = sys.argv[1], sys.argv[2]
base = json.load(open(example))
with open(f"{work}/bulk.ndjson", "w") as bulk, open(f"{work}/paths.txt", "w") as paths:
    for i in range(10_000):
        item = json.loads(json.dumps(base))
        item["product"]["serial"] = f"WRK-{i:06d}"
        bulk.write(json.dumps(item) + "\n")
        paths.write(f"/01/{item['product']['gtin']}/21/WRK-{i:06d}\n")
PY
created="$(curl -sf -X POST "$base/api/v1/passports/bulk" -H "Authorization: Bearer $maker" \
  -H 'Content-Type: application/x-ndjson' --data-binary @"$work/bulk.ndjson" \
  | jq -s '[.[] | select(.status == 201)] | length')"
[[ "$created" == 10000 ]] || { echo "bulk registration created $created of 10000" >&2; exit 1; }
id="$(curl -sf "$base/api/v1/passports?limit=1" -H "Authorization: Bearer $maker" | jq -r '.items[0].id')"
curl -sf "$base/api/v1/passports/$id/credential" | jq -c '{verifiableCredential: .}' > "$work/verify.json"
verified="$(curl -s -X POST "$base/credentials/verify" -H 'Content-Type: application/json' \
  -d @"$work/verify.json" | jq .verified)"
[[ "$verified" == true ]] || { echo "the credential does not verify" >&2; exit 1; }
sleep 2 # let the feed consumers project the bulk before measuring

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
report() { grep -E 'Requests/sec| 50%| 99%|Non-2xx|Socket errors' || true; }
echo "== GET /healthz, 64 connections"
wrk -t2 -c64 -d10s --latency "$base/healthz" | report
echo "== GET /01/{gtin}/21/{serial}, Accept: application/json, 64 connections"
RESOLVE_PATHS="$work/paths.txt" wrk -t2 -c64 -d10s --latency -s "$here/resolve.lua" "$base" | report
echo "== POST /credentials/verify, 32 connections"
VERIFY_BODY="$work/verify.json" wrk -t2 -c32 -d10s --latency -s "$here/verify.lua" "$base/credentials/verify" | report
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
