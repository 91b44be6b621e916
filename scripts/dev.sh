#!/usr/bin/env bash
# The main job on a local machine: start the test bed (a real control plane, a real node with
# containerd, MLflow, moto's ECR; built on first use), install the CRD, deploy the demo model
# service (examples/health-predict) on the real node with a ModelDeployment that follows the
# seeded model `health-predict` by its alias `champion`, and run the operator in the foreground.
# The operator builds the demo image with Kaniko, rolls the API to it, runs its pytest API tests
# and reports every phase in the ModelDeployment's status. Ctrl-C stops the operator;
# `npm run bed:down` stops the bed. Runs as root (the real node needs it).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

bash test/bed/up.sh
# shellcheck source=/dev/null
. .bed/env
npm run --silent build
K() { "$BED_KUBECTL" --kubeconfig "$KUBECONFIG" "$@"; }
ns=ml-serving
K apply --server-side --force-conflicts -f crds/ >/dev/null
K wait --for=condition=Established --timeout=60s crd/modeldeployments.mlops.healthpredict.io >/dev/null
# The namespace's Pods go to the bed's real node (its node selector and toleration).
K apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $ns
  annotations:
    scheduler.alpha.kubernetes.io/node-selector: type=real
    scheduler.alpha.kubernetes.io/defaultTolerations: '[{"key":"$BED_REAL_NODE_TAINT","operator":"Exists","effect":"NoSchedule"}]'
EOF
# The demo manifests' ${...} values on this bed (test/helpers/demo.ts fills in the same names).
export MODEL_NAME=health-predict MLFLOW_URI="$BED_POD_MLFLOW_URI" ECR_HOST="$BED_ECR_HOST" \
  BUILD_CONTEXT="$BED_DEMO_CONTEXT" KANIKO_IMAGE="$BED_KANIKO_IMAGE" PYTHON_IMAGE="$BED_PYTHON_IMAGE" \
  TESTS_IMAGE="$BED_TESTS_IMAGE" PROGRESS_DEADLINE_SECONDS=120
for f in serving.yaml modeldeployment.yaml; do
  envsubst <"examples/health-predict/deploy/$f" | K -n "$ns" apply -f - >/dev/null
done
api="$(K -n "$ns" get service health-predict-api -o jsonpath='{.spec.clusterIP}')"

cat <<TXT

The operator runs below: it builds the demo image (Kaniko on the real node), rolls
health-predict-api to it and runs its API tests. In another shell:
  export KUBECONFIG=$KUBECONFIG
  alias kubectl=$BED_KUBECTL
  kubectl -n $ns get modeldeployments -w
  kubectl -n $ns describe modeldeployment health-predict
  kubectl -n $ns get jobs,pods -o wide
Once it is Succeeded, the live API (its Service, routed from this host):
  curl http://$api/health
  curl -H 'content-type: application/json' http://$api/predict \\
    -d '{"age": 54, "bmi": 31.5, "systolic_bp": 142, "sex": "M", "smoker": "yes", "activity": "low"}'
Promote another version and watch it rebuild, roll out and test (version 3 is one the app
cannot serve: its run fails with the test output):
  curl -X POST $MLFLOW_TRACKING_URI/api/2.0/mlflow/registered-models/alias \\
    -H 'content-type: application/json' -d '{"name": "health-predict", "alias": "champion", "version": "2"}'
MLflow UI and API: $MLFLOW_TRACKING_URI   Stop the bed: npm run bed:down

TXT
# On the bed moto plays ECR (fake keys, never checked; the bed's registry mirrors every push into
# it) and the build context's S3.
export AWS_ENDPOINT_URL="$MOTO_URL" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
  AWS_EC2_METADATA_DISABLED=true LEADER_ELECT=false
exec node dist/main.js
