#!/usr/bin/env bash
# Self-test of a running bed (run via with-bed.sh, or after `. .bed/env`): Job completes, Job
# labelled to fail fails, run-duration delays completion, Deployment rollout and image update,
# seeded MLflow model reachable by alias and stage, moto answering. Exits non-zero on failure.
set -euo pipefail
: "${BED_KUBECTL:?source .bed/env first}" "${MLFLOW_TRACKING_URI:?}" "${MOTO_URL:?}"

ns="bed-smoke-$$"
K() { "$BED_KUBECTL" -n "$ns" "$@"; }
step() { printf '[smoke] %s\n' "$*"; }
# Namespace deletion takes 5-16 s in the namespace controller; don't wait for it.
trap '"$BED_KUBECTL" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT

job() { # job NAME LABELS ANNOTATIONS
  K apply -f - >/dev/null <<EOF
apiVersion: batch/v1
kind: Job
metadata: {name: $1}
spec:
  backoffLimit: 0
  template:
    metadata: {labels: {$2}, annotations: {$3}}
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 0
      containers: [{name: main, image: fake}]
EOF
}

"$BED_KUBECTL" create namespace "$ns" >/dev/null

step "Job completes"
job ok "" ""
K wait --for=condition=Complete job/ok --timeout=60s >/dev/null

step "Job with label testbed.example.com/outcome=fail fails with exit code 1"
job broken "testbed.example.com/outcome: fail" ""
K wait --for=condition=Failed job/broken --timeout=60s >/dev/null
code="$(K get pods -l job-name=broken -o jsonpath='{.items[0].status.containerStatuses[0].state.terminated.exitCode}')"
[ "$code" = 1 ] || { echo "expected exit code 1, got '$code'" >&2; exit 1; }

step "Job with annotation testbed.example.com/run-duration=3s completes after >= 3 s"
start=$(date +%s)
job slow "" "testbed.example.com/run-duration: 3s"
K wait --for=condition=Complete job/slow --timeout=60s >/dev/null
[ $(($(date +%s) - start)) -ge 3 ] || { echo "slow Job finished too early" >&2; exit 1; }

step "Deployment rolls out, then rolls out a new image"
K create deployment web --image=fake --replicas=3 >/dev/null
K rollout status deployment/web --timeout=60s >/dev/null
K set image deployment/web '*=fake:v2' >/dev/null
K rollout status deployment/web --timeout=60s >/dev/null

model="${BED_MODEL_NAME:-iris-clf}"
step "MLflow: $model@champion and the Production version"
api="$MLFLOW_TRACKING_URI/api/2.0/mlflow/registered-models"
curl -fsS "$api/alias?name=$model&alias=champion" | grep -q '"version": *"2"'
curl -fsS "$api/get-latest-versions?name=$model&stages=Production" | grep -q '"current_stage": *"Production"'

step "moto answers"
curl -fsS -o /dev/null "$MOTO_URL/moto-api/"

step "all good"
