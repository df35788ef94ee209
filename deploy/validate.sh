#!/usr/bin/env bash
# Validates the deployment files: the compose file parses (docker compose / docker-compose
# config) and every Kubernetes manifest validates against the Kubernetes API schemas
# (kubernetes-validate, offline, strict).
set -euo pipefail
cd "$(dirname "$0")"

compose() {
    if docker compose version >/dev/null 2>&1; then
        docker compose "$@"
    elif command -v docker-compose >/dev/null 2>&1; then
        docker-compose "$@"
    else
        echo "neither 'docker compose' nor 'docker-compose' is installed (apt-get install docker-compose)" >&2
        return 1
    fi
}
REETRACE_MASTER_KEY=check REETRACE_SERVICE_KEY=check compose -f compose.yaml -p reetrace config --quiet
echo "compose.yaml: valid"

venv="${XDG_CACHE_HOME:-$HOME/.cache}/reetrace/kubernetes-validate"
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet kubernetes-validate==1.37.0
fi
"$venv/bin/kubernetes-validate" --strict --kubernetes-version 1.30.0 k8s/namespace.yaml k8s/config.yaml \
    k8s/migrate-job.yaml k8s/passport.yaml k8s/custody.yaml k8s/stock.yaml k8s/ingress.yaml
echo "k8s manifests: valid"
