#!/usr/bin/env bash
# Hosted CI only: a throwaway kind cluster, the CloudNativePG operator, a
# one-instance PostgreSQL, the chart with the dev values (real helm binary),
# then a smoke test through port-forwards. Needs docker, kind, helm, kubectl,
# curl and jq, and the image `userhub:kind` built by `cargo xtask image`.
set -euo pipefail
cd "$(dirname "$0")/../.."

CLUSTER=${CLUSTER:-userhub-smoke}
NS=userhub-dev
CNPG_CHART_VERSION=0.29.1   # keep in step with deploy/argocd/apps/platform/cloudnative-pg.yaml
KIND_NODE_IMAGE=${KIND_NODE_IMAGE:-kindest/node:v1.34.0}

log() { echo "==> $*"; }
cleanup() {
  if [[ "${KEEP_CLUSTER:-}" != 1 ]]; then kind delete cluster --name "$CLUSTER" || true; fi
}
dump() {
  kubectl -n "$NS" get all,events --sort-by=.lastTimestamp || true
  kubectl -n "$NS" logs -l app.kubernetes.io/instance=userhub --all-containers --tail=100 || true
}
trap 'dump; cleanup' EXIT

log "cluster"
kind create cluster --name "$CLUSTER" --image "$KIND_NODE_IMAGE" --wait 120s
kind load docker-image userhub:kind --name "$CLUSTER"

log "CloudNativePG operator (chart $CNPG_CHART_VERSION)"
helm upgrade --install cnpg cloudnative-pg --repo https://cloudnative-pg.github.io/charts \
  --version "$CNPG_CHART_VERSION" --namespace cnpg-system --create-namespace --wait --timeout 5m

log "namespace (Pod Security restricted) and a one-instance database"
kubectl apply -f deploy/platform/manifests/namespaces.yaml
kubectl apply -f deploy/ci/manifests/kind-database.yaml
kubectl -n "$NS" wait cluster/userhub-db --for=condition=Ready --timeout=10m

log "application secret (generated, never in git)"
superuser_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
kubectl -n "$NS" create secret generic userhub-secrets \
  --from-literal=SECRET_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
  --from-literal=USERHUB_COOKIE_KEY="$(head -c 48 /dev/urandom | base64 | tr -d '\n')" \
  --from-literal=FIRST_SUPERUSER=admin@example.com \
  --from-literal=FIRST_SUPERUSER_PASSWORD="$superuser_password"

log "chart: install (pre-install migrate hook), then upgrade (pre-upgrade hook)"
for action in install upgrade; do
  helm upgrade --install userhub deploy/helm/userhub --namespace "$NS" \
    -f deploy/environments/dev/values.yaml -f deploy/ci/kind-values.yaml \
    --wait --timeout 10m
  kubectl -n "$NS" rollout status deployment/userhub-api --timeout=5m
  kubectl -n "$NS" rollout status deployment/userhub-web --timeout=5m
  log "$action done"
done

log "smoke test through port-forwards"
kubectl -n "$NS" port-forward svc/userhub-api 18000:8000 >/dev/null 2>&1 &
kubectl -n "$NS" port-forward svc/userhub-web 18080:8080 >/dev/null 2>&1 &
for _ in $(seq 30); do curl -fsS http://127.0.0.1:18000/readyz >/dev/null 2>&1 && break; sleep 2; done
curl -fsS http://127.0.0.1:18000/readyz
curl -fsS http://127.0.0.1:18000/api/v1/utils/health-check/ | grep -qx true
token=$(curl -fsS -X POST http://127.0.0.1:18000/api/v1/login/access-token \
  --data-urlencode username=admin@example.com --data-urlencode "password=$superuser_password" | jq -r .access_token)
curl -fsS -H "Authorization: Bearer $token" http://127.0.0.1:18000/api/v1/users/me | jq -e '.is_superuser == true'
curl -fsS -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"title":"from kind"}' http://127.0.0.1:18000/api/v1/items/ | jq -e '.title == "from kind"'
test "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18000/api/v1/users/me)" = 401
curl -fsS -o /dev/null http://127.0.0.1:18080/login

log "pods run as uid 65532 with a read-only root filesystem"
kubectl -n "$NS" get pods -l app.kubernetes.io/component=api \
  -o jsonpath='{.items[0].spec.containers[0].securityContext.runAsUser} {.items[0].spec.containers[0].securityContext.readOnlyRootFilesystem}' \
  | grep -qx '65532 true'
log "smoke test passed"
