#!/usr/bin/env bash
# Self-test of a running bed (via with-bed.sh, or after up.sh: it reads .bed/env itself): Job
# completes, Job labelled to fail fails, run-duration delays completion, the stand-in's image
# builds (push to moto's ECR, digest as termination message, simulated failure, missing
# repository, killed build) and model tests, Deployment rollout and image update, seeded MLflow
# model reachable by alias and stage, moto answering. Exits non-zero on failure.
set -euo pipefail
if [ -z "${BED_KUBECTL:-}" ]; then # not sourced: use the bed's env file if there is one
  # shellcheck source=lib.sh
  . "$(cd "$(dirname "$0")" && pwd)/lib.sh"
  # shellcheck source=/dev/null
  if [ -f "$bed_env_file" ]; then . "$bed_env_file"; fi
fi
: "${BED_KUBECTL:?source .bed/env first}" "${MLFLOW_TRACKING_URI:?}" "${MOTO_URL:?}"

ns="bed-smoke-$$"
K() { "$BED_KUBECTL" -n "$ns" "$@"; }
step() { printf '[smoke] %s\n' "$*"; }
repo="$ns/model"   # ECR repository in moto for the image-build checks
registry="123456789012.dkr.ecr.us-east-1.amazonaws.com"
# ecr PYTHON-CODE ARG...: run code with `ecr` = a boto3 ECR client on moto, sys.argv = ARGs.
ecr() {
  "$BED_VENV/bin/python" -c "import boto3, hashlib, sys
ecr = boto3.client('ecr', region_name='us-east-1', endpoint_url='$MOTO_URL')
$1" "${@:2}"
}
cleanup() {
  # Namespace deletion takes 5-16 s in the namespace controller; don't wait for it.
  "$BED_KUBECTL" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  ecr "ecr.delete_repository(repositoryName='$repo', force=True)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# job NAME LABELS ANNOTATIONS [CONTAINER]: a Job with one fake container unless one is given.
job() {
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
      containers: [${4:-"{name: main, image: fake}"}]
EOF
}

# build NAME KANIKO-ARG...: an image-build Job shaped like the operator's (kaniko container).
build() {
  local name=$1 a args=""
  shift
  for a in "$@"; do args="$args, \"$a\""; done
  job "$name" "app.kubernetes.io/component: image-build" "" \
    "{name: kaniko, image: gcr.io/kaniko-project/executor, args: [${args#, }]}"
}

model_test() { # model_test NAME ENV (a YAML list of {name, value})
  job "$1" "app.kubernetes.io/component: model-test" "" "{name: test, image: fake, env: $2}"
}

# terminated JOB: "<exit code> <termination message>" of the Job's pod.
terminated() {
  K get pods -l "job-name=$1" -o jsonpath='{.items[0].status.containerStatuses[0].state.terminated.exitCode} {.items[0].status.containerStatuses[0].state.terminated.message}'
}

expect() { # expect WHAT ACTUAL PATTERN (a shell glob)
  # shellcheck disable=SC2053
  [[ $2 == $3 ]] || { echo "$1: expected '$3', got '$2'" >&2; exit 1; }
}

"$BED_KUBECTL" create namespace "$ns" >/dev/null

step "Job completes"
job ok "" ""
K wait --for=condition=Complete job/ok --timeout=60s >/dev/null

step "Job with label testbed.example.com/outcome=fail fails with exit code 1"
job broken "testbed.example.com/outcome: fail" ""
K wait --for=condition=Failed job/broken --timeout=60s >/dev/null
expect "broken" "$(terminated broken)" "1 *"

step "Job with annotation testbed.example.com/run-duration=3s completes after >= 3 s"
start=$(date +%s)
job slow "" "testbed.example.com/run-duration: 3s"
K wait --for=condition=Complete job/slow --timeout=60s >/dev/null
[ $(($(date +%s) - start)) -ge 3 ] || { echo "slow Job finished too early" >&2; exit 1; }

step "stand-in: start image builds and model tests"
ecr "ecr.create_repository(repositoryName='$repo')" >/dev/null
# All at once: they run concurrently, as the operator's would.
start=$(date +%s)
build img-ok --context=dir:///workspace --dockerfile=Dockerfile --build-arg=MODEL_URI=models:/m/1 \
  "--destination=$registry/$repo:v1" "--destination=$registry/$repo:latest" --digest-file=/dev/termination-log
build img-fail "--destination=$registry/$repo:bad" --digest-file=/dev/termination-log --build-arg=TESTBED_OUTCOME=fail
build img-norepo "--destination=$registry/$ns/missing:v1" --digest-file=/dev/termination-log
build img-killed "--destination=$registry/$repo:killed" --build-arg=TESTBED_BUILD_SECONDS=4
model_test test-ok "[{name: TESTBED_RUN_SECONDS, value: '2'}]"
model_test test-fail "[{name: TESTBED_OUTCOME, value: fail}]"

step "build killed during TESTBED_BUILD_SECONDS=4 stays Running until killed"
# Running, held for the stand-in (kwok's generic Job stage would finish it at once): kill it.
K wait --for=jsonpath='{.status.phase}'=Running pod -l job-name=img-killed --timeout=60s >/dev/null
K delete job img-killed --cascade=foreground --timeout=30s >/dev/null
killed_ms=$(date +%s%3N)

step "build pushes to moto's ECR; termination message = the pushed digest"
K wait --for=condition=Complete job/img-ok --timeout=60s >/dev/null
out="$(terminated img-ok)"
expect "img-ok exit code + message" "$out" "0 sha256:????????????????????????????????????????????????????????????????"
digest="${out#0 }"
# DescribeImages shows both tags with that digest, and the stored manifest really hashes to it.
ecr "
imgs = ecr.describe_images(repositoryName='$repo', imageIds=[{'imageTag': 'v1'}, {'imageTag': 'latest'}])['imageDetails']
assert {i['imageDigest'] for i in imgs} == {sys.argv[1]}, imgs
assert sorted(t for i in imgs for t in i['imageTags']) == ['latest', 'v1'], imgs
m = ecr.batch_get_image(repositoryName='$repo', imageIds=[{'imageTag': 'v1'}])['images'][0]['imageManifest']
assert 'sha256:' + hashlib.sha256(m.encode()).hexdigest() == sys.argv[1], m" "$digest"

step "build with TESTBED_OUTCOME=fail fails; build to a missing repository fails"
K wait --for=condition=Failed job/img-fail --timeout=60s >/dev/null
expect "img-fail" "$(terminated img-fail)" "1 simulated build failure"
K wait --for=condition=Failed job/img-norepo --timeout=60s >/dev/null
expect "img-norepo" "$(terminated img-norepo)" "1 repository $registry/$ns/missing does not exist"

step "model test with TESTBED_OUTCOME=fail fails; one with TESTBED_RUN_SECONDS=2 succeeds after >= 2 s"
K wait --for=condition=Failed job/test-fail --timeout=60s >/dev/null
expect "test-fail" "$(terminated test-fail)" "1 simulated test failure"
K wait --for=condition=Complete job/test-ok --timeout=60s >/dev/null
expect "test-ok" "$(terminated test-ok)" "0 "
[ $(($(date +%s) - start)) -ge 2 ] || { echo "test-ok finished too early" >&2; exit 1; }

step "killed build pushed nothing, also after its TESTBED_BUILD_SECONDS"
wait_ms=$((killed_ms + 4500 - $(date +%s%3N)))
[ "$wait_ms" -le 0 ] || sleep "$((wait_ms / 1000)).$(printf '%03d' $((wait_ms % 1000)))"
ecr "
tags = [t for i in ecr.describe_images(repositoryName='$repo')['imageDetails'] for t in i.get('imageTags', [])]
assert sorted(tags) == ['latest', 'v1'], tags"

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
