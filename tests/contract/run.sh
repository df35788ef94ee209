#!/usr/bin/env bash
# Property-based contract test: schemathesis (pinned in requirements.txt) runs every operation
# of the committed openapi/reetrace.json against a running server, once with a key of each role,
# with every check (see schemathesis.toml): no 5xx, no answer the document does not describe
# (status, content type, headers, body schema), invalid requests refused, valid ones accepted.
#
#   REETRACE_URL=http://127.0.0.1:8080 REETRACE_ADMIN_KEY=rtk_... tests/contract/run.sh
#
# REETRACE_CONTRACT_EXAMPLES (default 20) bounds the cases per operation and phase;
# REETRACE_CONTRACT_SEED (default fixed) makes a run repeatable. Reports (JUnit and JSON, one
# per role) go to tests/contract/reports/. Prints the operations and cases exercised; exits
# non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
: "${REETRACE_URL:?set REETRACE_URL to the base URL of the server}"
: "${REETRACE_ADMIN_KEY:?set REETRACE_ADMIN_KEY to an admin API key}"
examples="${REETRACE_CONTRACT_EXAMPLES:-20}"
seed="${REETRACE_CONTRACT_SEED:-20261126}"

venv="$here/.venv"
stamp="$venv/requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "contract: installing the pinned schemathesis into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "$want" > "$stamp"
fi

# A fresh organisation (and key) of each role, created by the admin over the API.
new_key() {
  python3 - "$1" <<'PY'
import json, os, sys, urllib.request
role = sys.argv[1]
request = urllib.request.Request(
    os.environ["REETRACE_URL"].rstrip("/") + "/api/v1/orgs",
    data=json.dumps({"name": f"Contract {role}", "role": role}).encode(),
    headers={"Authorization": "Bearer " + os.environ["REETRACE_ADMIN_KEY"],
             "Content-Type": "application/json"},
    method="POST",
)
with urllib.request.urlopen(request, timeout=30) as answer:
    print(json.load(answer)["api_key"])
PY
}

# Public operations (`security: []`) ignore the key: they run in the admin pass only.
public_ids="$(python3 - "$root/openapi/reetrace.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
print(",".join(sorted(
    op["operationId"]
    for item in doc["paths"].values()
    for method, op in item.items()
    if isinstance(op, dict) and op.get("security") == []
)))
PY
)"

reports="$here/reports"
rm -rf "$reports"
mkdir -p "$reports"
status=0
for role in admin manufacturer recycler regulator service surveyor; do
  only_secured=()
  if [[ "$role" == admin ]]; then
    key="$REETRACE_ADMIN_KEY"
  else
    key="$(new_key "$role")"
    IFS=, read -r -a public <<< "$public_ids"
    for id in "${public[@]}"; do only_secured+=(--exclude-operation-id "$id"); done
  fi
  echo "contract: schemathesis $("$venv/bin/schemathesis" --version | sed 's/.*version //') as $role ($examples examples per operation and phase, seed $seed)"
  REETRACE_CONTRACT_KEY="$key" "$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" --no-color \
    run "$root/openapi/reetrace.json" \
    --url "$REETRACE_URL" \
    --checks all \
    --max-examples "$examples" \
    --seed "$seed" \
    "${only_secured[@]}" \
    --report junit,json \
    --report-junit-path "$reports/$role.xml" \
    --report-json-path "$reports/$role.json" \
    > "$reports/$role.log" 2>&1 || status=1
  # The summary, and every failure in full when there is one.
  if grep -qE "= (FAILURES|ERRORS) =" "$reports/$role.log"; then
    sed -n '/= \(FAILURES\|ERRORS\) =/,$p' "$reports/$role.log"
  else
    sed -n '/= SUMMARY =/,$p' "$reports/$role.log" | grep -E 'Tested|generated|passed|failed|warnings? in' || tail -5 "$reports/$role.log"
  fi
done

python3 - "$reports" <<'PY'
import json, pathlib, sys
reports = sorted(pathlib.Path(sys.argv[1]).glob("*.json"))
operations = set()
cases = failures = 0
for path in reports:
    report = json.loads(path.read_text())
    total = report["operations"]["total"]
    tested = report["operations"]["tested"]
    operations.add((total, tested))
    cases += report["test_cases"]["generated"]
    failures += report["test_cases"]["with_failures"] + report["test_cases"]["errored"]
    print(f"contract: {path.stem:12} {tested}/{total} operations, "
          f"{report['test_cases']['generated']} cases, "
          f"{report['test_cases']['with_failures']} failed, exit {report['exit_code']}")
total = max(t for t, _ in operations)
tested = json.loads((pathlib.Path(sys.argv[1]) / "admin.json").read_text())["operations"]["tested"]
print(f"contract: {tested} of {total} operations exercised (the secured ones with each of "
      f"{len(reports)} role keys); {cases} schemathesis cases in all")
print(f"contract: {cases - failures} passed, {failures} failed")
PY
exit "$status"
