#!/usr/bin/env bash
# Generates the Python client from the committed openapi/reetrace.json with the pinned
# openapi-python-client, then runs the lifecycle scenario with it against a running server.
#
#   REETRACE_URL=http://127.0.0.1:8080 REETRACE_ADMIN_KEY=rtk_... tests/clients/python/run.sh
#
# The venv (.venv) and the generated client (generated/) are git-ignored; the venv is rebuilt
# when requirements.txt changes, the client on every run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
: "${REETRACE_URL:?set REETRACE_URL to the base URL of the server}"
: "${REETRACE_ADMIN_KEY:?set REETRACE_ADMIN_KEY to an admin API key}"

venv="$here/.venv"
stamp="$venv/requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "python: installing the pinned generator into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH" # the generator formats its output with the pinned ruff

echo "python: generating the client with $("$venv/bin/openapi-python-client" --version)"
rm -rf "$here/generated"
mkdir -p "$here/generated"
# Warnings name parts the generator cannot type (NDJSON bodies, PNG/SVG/metrics answers); those
# operations are still generated. An error (a document it cannot read) fails the run.
"$venv/bin/openapi-python-client" generate \
  --path "$root/openapi/reetrace.json" \
  --output-path "$here/generated/reetrace_client" \
  --meta none > "$here/generated/generate.log" 2>&1 \
  || { cat "$here/generated/generate.log"; exit 1; }
grep -E '^(WARNING|ERROR)' "$here/generated/generate.log" | sed 's/^/python: generator: /' || true

PYTHONPATH="$here/generated" "$venv/bin/python" "$here/scenario.py"
