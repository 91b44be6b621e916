#!/usr/bin/env bash
# The main job on a local machine: start the test bed (a real control plane + MLflow, built on
# first use), install the CRD, apply a sample ModelDeployment that follows the seeded model, and
# run the operator in the foreground. Ctrl-C stops the operator; `npm run bed:down` stops the bed.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

bash test/bed/up.sh
# shellcheck source=/dev/null
. .bed/env
npm run --silent build
K() { "$BED_KUBECTL" --kubeconfig "$KUBECONFIG" "$@"; }
K apply --server-side --force-conflicts -f crds/
K wait --for=condition=Established --timeout=60s crd/modeldeployments.mlops.healthpredict.io >/dev/null
K create namespace ml-serving --dry-run=client -o yaml | K apply -f - >/dev/null
K apply -n ml-serving -f manifests/samples/serving-deployment.yaml
sed -e "s|http://mlflow.mlops.svc:5000|$MLFLOW_TRACKING_URI|" -e "s|HealthPredictModel|$BED_MODEL_NAME|" \
  manifests/samples/modeldeployment.yaml | K apply -n ml-serving -f -

cat <<TXT

The operator runs below. In another shell:
  export KUBECONFIG=$KUBECONFIG
  alias kubectl=$BED_KUBECTL
  kubectl -n ml-serving get modeldeployments -o wide
  kubectl -n ml-serving describe modeldeployment health-predict
  kubectl -n ml-serving get jobs,deployments
MLflow UI and API: $MLFLOW_TRACKING_URI   Stop the bed: npm run bed:down

TXT
# On the bed, moto plays ECR and CodeBuild (fake keys, never checked) and the bed's stand-in
# plays Kaniko and the test runner.
export AWS_ENDPOINT_URL="$MOTO_URL" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
  AWS_EC2_METADATA_DISABLED=true LEADER_ELECT=false
exec node dist/main.js
