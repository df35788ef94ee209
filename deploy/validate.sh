#!/usr/bin/env bash
# Validates the deployment files, offline:
# - compose.yaml with `docker compose config` (the Compose v2 plugin) when it is installed, else
#   with `docker-compose config` (Debian's docker-compose 1.29.2, which checks the file against
#   the Compose Specification schema it ships and interpolates the variables): install it with
#   `apt-get install -y --no-install-recommends docker-compose`; no Docker engine is needed;
# - every Kubernetes manifest against the Kubernetes 1.30 API schemas with kubernetes-validate
#   (strict: unknown fields fail), installed from PyPI into a cached virtualenv at the versions
#   pinned in validate-requirements.txt.
# Exit 0 when everything is valid.
set -euo pipefail
cd "$(dirname "$0")"

if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    echo "the docker compose plugin is not installed; validating with $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /')"
    compose=(docker-compose)
else
    echo "FAIL: neither 'docker compose' nor 'docker-compose' is installed" \
        "(apt-get install -y --no-install-recommends docker-compose)" >&2
    exit 1
fi
REETRACE_MASTER_KEY=check REETRACE_SERVICE_KEY=check "${compose[@]}" -f compose.yaml -p reetrace config --quiet
echo "compose.yaml: valid"

venv="${XDG_CACHE_HOME:-$HOME/.cache}/reetrace/kubernetes-validate"
if ! cmp -s validate-requirements.txt "$venv/requirements.txt"; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r validate-requirements.txt
    cp validate-requirements.txt "$venv/requirements.txt"
fi
manifests=(k8s/namespace.yaml k8s/config.yaml k8s/migrate-job.yaml k8s/passport.yaml k8s/custody.yaml
    k8s/stock.yaml k8s/deposits.yaml k8s/ingress.yaml)
# Every manifest but the kustomization (not an API object) is listed above.
for file in k8s/*.yaml; do
    [[ "$file" == k8s/kustomization.yaml || " ${manifests[*]} " == *" $file "* ]] \
        || { echo "FAIL: $file is not validated: add it to deploy/validate.sh" >&2; exit 1; }
done
"$venv/bin/kubernetes-validate" --strict --kubernetes-version 1.30.0 "${manifests[@]}"
echo "k8s manifests: valid"
