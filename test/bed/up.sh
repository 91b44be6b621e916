#!/usr/bin/env bash
# Starts the test bed on 127.0.0.1 (free ports): etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok with one fake Node, `mlflow server`, `moto_server` and the stand-in for
# image-build / model-test pods on kwok's node (standin.py), and a real node next to it
# (node/node.sh: kubelet, containerd, kube-proxy, CoreDNS, an image registry mirrored into
# moto's ECR); seeds MLflow and writes $BED_RUN/env (default <repo>/.bed/env). Runs as root. Builds missing binaries / venv first (helm
# only with BED_HELM=1, which with-bed.sh --helm sets: see build.sh).
# Idempotent: if a bed from $BED_RUN is already up it says so and exits 0. Stop with down.sh.
set -euo pipefail
# shellcheck source=lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
# shellcheck source=node/node.sh
. "$bed_here/node/node.sh"

BED_MODEL_NAME="${BED_MODEL_NAME:-iris-clf}"
logs="$BED_RUN/logs"
pki="$BED_RUN/pki"
kubeconfig="$BED_RUN/kubeconfig"
node_name="kwok-node-0"
current=""   # components whose logs explain a failure of the running phase
reported=0
started=0
done_ok=0

# Loopback must never go through a proxy (curl, kubectl and python all honour *_proxy).
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
# Python services: no telemetry, no AWS metadata lookups, fake credentials for moto.
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true AWS_EC2_METADATA_DISABLED=true \
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1

now_ms() { date +%s%3N; }
secs() { printf '%d.%01ds' $(($1 / 1000)) $((($1 % 1000) / 100)); }
t_start=$(now_ms)

# timed NAME CMD...: run one phase and report how long it took.
timed() {
  local name=$1 t
  shift
  t=$(now_ms)
  "$@"
  bed_log "$(printf '%-28s %s' "$name" "$(secs $(($(now_ms) - t)))")"
}

tail_logs() {
  local c
  for c in "$@"; do
    [ -f "$logs/$c.log" ] || continue
    printf -- '---- last lines of %s\n' "$logs/$c.log" >&2
    tail -n 40 "$logs/$c.log" >&2
  done
}

# fail MESSAGE [COMPONENT...]: show the relevant logs (default: the current phase's) and exit.
fail() {
  local msg=$1
  shift
  bed_log "ERROR: $msg"
  # shellcheck disable=SC2086
  if [ $# -gt 0 ]; then tail_logs "$@"; else tail_logs $current; fi
  reported=1
  exit 1
}

# A half-started bed is worse than none: stop it (down.sh keeps the logs in last-logs/).
on_exit() {
  local rc=$?
  [ "$done_ok" = 1 ] && return 0
  # shellcheck disable=SC2086
  [ "$reported" = 1 ] || { bed_log "ERROR: phase failed (exit $rc)"; tail_logs $current; }
  if [ "$started" = 1 ]; then
    bed_log "stopping the partial bed; logs kept in $BED_RUN/last-logs"
    "$bed_here/down.sh" >&2 || true
  fi
  exit "$rc"
}

pid_of() { awk -v n="$1" '$1 == n {print $2}' "$bed_pid_file"; }

# start NAME DIR CMD...: run CMD detached in its own session, so down.sh can stop the whole
# process tree (mlflow's uvicorn workers, ...) by group id. The tag in its environment lets
# down.sh find strays; fd 9 (our lock) must not leak into long-lived children.
start() {
  local name=$1 dir=$2
  shift 2
  mkdir -p "$dir"
  (cd "$dir" && BED_PROC_TAG="$BED_RUN" exec setsid "$@" >"$logs/$name.log" 2>&1 </dev/null 9>&-) &
  echo "$name $!" >>"$bed_pid_file"
  started=1
}

# wait_for NAME SECONDS CMD...: poll CMD until it succeeds; give up early if NAME's process died.
wait_for() {
  local name=$1 limit=$2 deadline=$(($(date +%s) + $2))
  shift 2
  # Subshell: with a function as probe, a signal trap would otherwise run (and report) while
  # the redirection to /dev/null is still in force.
  until ("$@") >/dev/null 2>&1; do
    bed_pid_running "$(pid_of "$name")" || fail "$name exited during start-up" "$name"
    [ "$(date +%s)" -lt "$deadline" ] || fail "$name not ready after ${limit}s" "$name"
    sleep 0.25
  done
}

K() { "$BED_BIN/kubectl" --kubeconfig="$kubeconfig" "$@"; }
kcurl() { curl -fsS -m 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$@"; }

print_usage() {
  cat <<EOF

Test bed is up (state in $BED_RUN). Use it with:
  . $bed_env_file
or:
$(sed -n 's/^export/  export/p' "$bed_env_file")
Then for example:
  "\$BED_KUBECTL" get nodes
  curl "\$MLFLOW_TRACKING_URI/api/2.0/mlflow/registered-models/alias?name=\$BED_MODEL_NAME&alias=champion"
Stop it with:
  $bed_here/down.sh
EOF
}

build() {
  "$bed_here/build.sh" >/dev/null
  "$bed_here/venv.sh" >/dev/null
}

# Ask the kernel for distinct free loopback ports (all sockets open at once, so no duplicates).
alloc_ports() {
  read -r etcd_port peer_port api_port kcm_port sched_port mlflow_port moto_port mirror_port dns_ready_port < <(
    "$BED_VENV/bin/python" -c '
import socket
socks = [socket.socket() for _ in range(9)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
}

make_pki() {
  mkdir -p "$pki"
  (
    cd "$pki"
    # ECDSA keys: generated in milliseconds, accepted by every component.
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
    key ca.key
    openssl req -x509 -new -key ca.key -out ca.crt -days 3650 -subj "/CN=bed-ca" 2>/dev/null
    # sign NAME SUBJECT EXTENSIONS
    sign() {
      key "$1.key"
      openssl req -new -key "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
      printf '%b' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    }
    local common='keyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n'
    sign apiserver "/CN=kube-apiserver" "subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:$node_host_ip,IP:198.19.0.1\nextendedKeyUsage=serverAuth\n$common"
    # O=system:masters: the admin bypasses RBAC; everything else is still subject to it.
    sign admin "/O=system:masters/CN=bed-admin" "extendedKeyUsage=clientAuth\n$common"
    # How the apiserver authenticates to the real node's kubelet (logs, exec).
    sign kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth\n$common"
    # An operator's MLflow webhook receiver on loopback (test/integration/webhooks.test.ts).
    sign webhook "/CN=webhook-receiver" "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n$common"
    key sa.key
    openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ./*.csr ./*.ext ca.srl
  )
  cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: bed
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $pki/ca.crt
users:
- name: bed-admin
  user:
    client-certificate: $pki/admin.crt
    client-key: $pki/admin.key
contexts:
- name: bed
  context: {cluster: bed, user: bed-admin}
current-context: bed
EOF
}

# mlflow and moto start first: their Python imports overlap with the Kubernetes start-up.
# Job execution off: it spawns ~7 huey consumer processes (~1.6 GB RSS) for GenAI features
# the operator never uses.
start_services() {
  # Webhooks: MLflow delivers to private addresses (the receiver is on loopback) only when told
  # to, and re-reads its webhook list every second. It verifies https receivers against certifi's
  # bundle only (its session ignores REQUESTS_CA_BUNDLE), so the bed's receiver for MLflow's own
  # deliveries is plain http; the operator's TLS is tested with deliveries signed by the tests.
  start mlflow "$BED_RUN/mlflow" env MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false \
    MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true MLFLOW_WEBHOOK_ALLOWED_SCHEMES=http,https MLFLOW_WEBHOOK_CACHE_TTL=1 \
    "$BED_VENV/bin/mlflow" server \
    --backend-store-uri "sqlite:///$BED_RUN/mlflow/mlflow.db" \
    --artifacts-destination "$BED_RUN/mlflow/artifacts" \
    --host 127.0.0.1 --port "$mlflow_port" --workers 1 \
    --allowed-hosts "localhost,localhost:*,127.0.0.1,127.0.0.1:*,$node_host_ip:*"
  start moto "$BED_RUN/moto" "$BED_VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port"
}

start_etcd() {
  current="etcd"
  start etcd "$BED_RUN/etcd" "$BED_BIN/etcd" --name=bed --data-dir="$BED_RUN/etcd/data" \
    --listen-client-urls="http://127.0.0.1:$etcd_port" --advertise-client-urls="http://127.0.0.1:$etcd_port" \
    --listen-peer-urls="http://127.0.0.1:$peer_port" --initial-advertise-peer-urls="http://127.0.0.1:$peer_port" \
    --initial-cluster="bed=http://127.0.0.1:$peer_port" --unsafe-no-fsync=true --log-level=warn
  wait_for etcd 30 curl -fsS -m 2 "http://127.0.0.1:$etcd_port/health"
}

start_apiserver() {
  current="kube-apiserver"
  # TaintNodesByCondition off: only the node-lifecycle controller (not run) would lift its
  # not-ready taint. PodNodeSelector + PodTolerationRestriction: a namespace chooses the real
  # node (node/node.sh realNodeNamespace). The advertised address is the bridge's, where Pods
  # reach the apiserver (through the `kubernetes` Service and a forward to loopback).
  start kube-apiserver "$BED_RUN/kube" "$BED_BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$etcd_port" \
    --bind-address=127.0.0.1 --advertise-address="$node_host_ip" --secure-port="$api_port" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range="$node_service_cidr" --authorization-mode=RBAC --allow-privileged=true \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --kubelet-client-certificate="$pki/kubelet-client.crt" --kubelet-client-key="$pki/kubelet-client.key" \
    --enable-admission-plugins=PodNodeSelector,PodTolerationRestriction \
    --disable-admission-plugins=TaintNodesByCondition --profiling=false --v=1
  wait_for kube-apiserver 120 kcurl "https://127.0.0.1:$api_port/readyz"
}

start_controllers() {
  current="kube-controller-manager kube-scheduler"
  # The stand-in plays kaniko and the model-test runner for kwok's container-less pods
  # (standin.py); -u: its log must be current, up.sh waits for its "watching pods" line.
  start standin "$BED_RUN/kube" "$BED_VENV/bin/python" -u "$bed_here/standin.py" \
    "https://127.0.0.1:$api_port" "$pki" "http://127.0.0.1:$moto_port" "$node_name_real"
  start kube-controller-manager "$BED_RUN/kube" "$BED_BIN/kube-controller-manager" \
    --kubeconfig="$kubeconfig" --leader-elect=false --use-service-account-credentials=false \
    --controllers=deployment-controller,replicaset-controller,job-controller,cronjob-controller,garbage-collector-controller,namespace-controller,serviceaccount-controller,pod-garbage-collector-controller,ttl-after-finished-controller,endpointslice-controller,root-ca-certificate-publisher-controller \
    --bind-address=127.0.0.1 --secure-port="$kcm_port" --root-ca-file="$pki/ca.crt" --v=1
  start kube-scheduler "$BED_RUN/kube" "$BED_BIN/kube-scheduler" \
    --kubeconfig="$kubeconfig" --leader-elect=false \
    --bind-address=127.0.0.1 --secure-port="$sched_port" --v=1
}

# kwok fakes the kubelet: upstream node/fast + pod/fast stages plus ours (fail / slow Job pods,
# image-build / model-test pods held until the stand-in decides).
start_kwok() {
  current="kwok"
  # Only its own node: the real node's status and Pods are the kubelet's.
  start kwok "$BED_RUN/kwok" "$BED_BIN/kwok" --kubeconfig="$kubeconfig" \
    --manage-nodes-with-label-selector=type=kwok --cidr=198.18.128.0/17 --node-ip=198.18.255.254 \
    --config="$BED_BIN/kwok-stage/node/fast" --config="$BED_BIN/kwok-stage/pod/fast" \
    --config="$bed_here/stages.yaml"
  K apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $node_name
  labels: {kubernetes.io/hostname: $node_name, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok}
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
EOF
  wait_for kwok 60 K wait --for=condition=Ready "node/$node_name" --timeout=2s
}

# A Deployment rollout needs KCM, scheduler and kwok all working; a foreground delete proves the
# garbage collector too. Not in its own namespace: the namespace controller waits a fixed 5 s
# before it even looks at a deleted namespace.
canary() {
  current="kube-controller-manager kube-scheduler kwok"
  K -n default create deployment bed-canary --image=fake >/dev/null
  K -n default rollout status deployment/bed-canary --timeout=90s >/dev/null ||
    fail "canary Deployment did not roll out" kube-controller-manager kube-scheduler kwok
  K -n default delete deployment/bed-canary --cascade=foreground --timeout=60s >/dev/null ||
    fail "canary Deployment was not garbage-collected" kube-controller-manager kwok
}

wait_services() {
  current="mlflow"
  wait_for mlflow 120 curl -fsS -m 2 "http://127.0.0.1:$mlflow_port/health"
  current="moto"
  wait_for moto 60 curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$moto_port/moto-api/"
  current="standin"
  wait_for standin 30 grep -q "watching pods" "$logs/standin.log"
}

seed() {
  current="seed"
  MLFLOW_TRACKING_URI="http://127.0.0.1:$mlflow_port" BED_MODEL_NAME="$BED_MODEL_NAME" \
    "$BED_VENV/bin/python" "$bed_here/seed.py" >"$BED_RUN/seed.json" 2>"$logs/seed.log" ||
    fail "seeding MLflow failed" seed mlflow
  seed_versions="$("$BED_VENV/bin/python" -c \
    'import json,sys; print(",".join(v["version"] for v in json.load(sys.stdin)["versions"]))' \
    <"$BED_RUN/seed.json")"
}

# write_env NAME=VALUE...: the env file tests source. Written last and renamed into place, so
# its presence means "bed complete".
write_env() {
  local tmp="$bed_env_file.tmp" kv v
  {
    echo "# Written by test/bed/up.sh; source it to talk to the running test bed."
    for kv in "$@"; do
      v="${kv#*=}"
      # Single quotes (not %q) keep the file readable by dotenv-style parsers as well.
      printf "export %s='%s'\n" "${kv%%=*}" "${v//\'/\'\\\'\'}"
    done
  } >"$tmp"
  mv "$tmp" "$bed_env_file"
}

main() {
  mkdir -p "$BED_RUN"
  exec 9>"$BED_RUN/.lock"
  flock -n 9 || { bed_log "another up.sh is starting a bed in $BED_RUN"; exit 1; }
  "$bed_here/lua.sh" # lua5.4 + lua-cjson for the Argo CD health check tests
  if bed_is_up; then
    bed_log "a test bed is already running from $BED_RUN"
    print_usage
    exit 0
  fi
  local e
  for e in $bed_run_entries; do
    if [ -e "$BED_RUN/$e" ]; then
      bed_log "clearing a stale bed in $BED_RUN"
      "$bed_here/down.sh" >&2
      break
    fi
  done
  trap on_exit EXIT
  # Signals would skip the EXIT trap; turn them into exits so a cancelled start is cleaned up.
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP

  current=""
  timed "build (if missing)" build
  mkdir -p "$logs"
  : >"$bed_pid_file"
  alloc_ports
  timed "pki + kubeconfig" make_pki
  start_services
  timed "etcd" start_etcd
  timed "kube-apiserver /readyz" start_apiserver
  start_controllers
  timed "kwok + node Ready" start_kwok
  timed "canary rollout + delete" canary
  timed "mlflow + moto + standin" wait_services
  timed "seed mlflow" seed
  timed "real node + registry" start_real_node

  write_env KUBECONFIG="$kubeconfig" BED_KUBECTL="$BED_BIN/kubectl" BED_BIN="$BED_BIN" \
    BED_PROMETHEUS="$BED_BIN/prometheus-v$PROMETHEUS_VERSION" \
    BED_VENV="$BED_VENV" BED_RUN="$BED_RUN" BED_API_URL="https://127.0.0.1:$api_port" \
    MLFLOW_TRACKING_URI="http://127.0.0.1:$mlflow_port" MOTO_URL="http://127.0.0.1:$moto_port" \
    BED_MODEL_NAME="$BED_MODEL_NAME" BED_SEED_VERSIONS="$seed_versions" BED_NODE_NAME="$node_name" \
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
    AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    BED_HOST_IP="$node_host_ip" BED_REGISTRY="$node_registry" BED_ECR_HOST="$node_ecr_host" \
    BED_POD_MLFLOW_URI="http://$node_host_ip:5050" BED_POD_MOTO_URL="http://$node_host_ip:5051" \
    BED_REAL_NODE="$node_name_real" BED_REAL_NODE_TAINT="$node_taint_key" \
    BED_PYTHON_IMAGE="$BED_PYTHON_IMAGE" BED_TESTS_IMAGE="$BED_TESTS_IMAGE" BED_KANIKO_IMAGE="$BED_KANIKO_IMAGE" \
    BED_DEMO_CONTEXT="s3://bed-contexts/health-predict.tar.gz" \
    MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true NO_PROXY="$NO_PROXY" no_proxy="$no_proxy"
  done_ok=1
  bed_log "$(printf '%-28s %s' "total" "$(secs $(($(now_ms) - t_start)))")"
  print_usage
}

main "$@"
