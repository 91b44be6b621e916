# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # up.sh assigns current, logs, pki, the ports; it reads what this sets
# The bed's real node, sourced by up.sh (uses its start, wait_for, fail, K, $pki, $logs): a
# kubelet with containerd, runc and a CNI bridge from Debian, kube-proxy, CoreDNS, and an image
# registry whose pushes are mirrored into moto's ECR. kwok keeps faking its own node for the
# fast tests; Pods run here only in namespaces that ask for it (see realNodeNamespace below).
#
# Addresses (the benchmarking range 198.18.0.0/15, which no real network here uses):
#   bridge bedbr0 198.18.0.1/16: the host as Pods see it (node IP, registry, DNS, forwards)
#   198.18.0.10-198.18.127.254   real Pods (host-local IPAM)
#   198.18.128.0/17              kwok's fake Pod IPs (on-link on the bridge: never routed out)
#   198.19.0.0/16                Service ClusterIPs, routed onto the bridge as well
# Pods get no way out: forwarding from the bridge to any other interface is rejected.

node_bridge=bedbr0
node_host_ip=198.18.0.1
node_pod_subnet=198.18.0.0/16
node_service_cidr=198.19.0.0/16
node_registry="$node_host_ip:5000"
node_name_real=bed-real-node
node_taint_key=bed.mlops.healthpredict.io/real-node
node_ecr_host=123456789012.dkr.ecr.us-east-1.amazonaws.com
# The rule that keeps Pods in: its comment finds it again in teardown.sh.
node_fw_comment="mlflow-operator-bed: pods stay on the bridge"

node_dir="$BED_RUN/node"
# containerd's socket path must fit in 108 bytes, so it lives under /run, keyed by the bed.
node_run="/run/mlflow-bed-$(printf '%s' "$BED_RUN" | sha256sum | cut -c1-8)"
node_sock="$node_run/containerd.sock"
# Images stay pulled across beds: containerd's content store is a cache (teardown.sh removes
# every container, never the images).
node_containerd_root="$BED_CACHE/containerd-root"

ctr_k8s() { ctr -a "$node_sock" -n k8s.io "$@"; }

node_packages() {
  local missing=() p
  for p in containerd runc containernetworking-plugins iptables conntrack socat; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  bed_log "installing ${missing[*]} (Debian packages)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$logs/apt.log" 2>&1 ||
    { apt-get update -qq >>"$logs/apt.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >>"$logs/apt.log" 2>&1; } ||
    fail "apt-get install ${missing[*]} failed" apt
}

# The kernel settings the node needs; their old values go to sysctl.orig for teardown.sh.
node_sysctls() {
  # Bridged Pod traffic must pass iptables (Services between Pods on the bridge).
  if [ ! -d /proc/sys/net/bridge ]; then
    modprobe br_netfilter || fail "cannot load the br_netfilter kernel module"
    touch "$node_dir/br_netfilter.loaded"
  fi
  [ -f "$node_dir/sysctl.orig" ] || sysctl -e net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables \
    vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops \
    kernel.keys.root_maxkeys kernel.keys.root_maxbytes >"$node_dir/sysctl.orig"
  sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
}

node_network() {
  if ip link show "$node_bridge" >/dev/null 2>&1; then
    fail "the bridge $node_bridge exists already: another bed runs, or one was killed (run its down.sh)"
  fi
  ip link add "$node_bridge" type bridge
  ip addr add "$node_host_ip/16" dev "$node_bridge"
  ip link set "$node_bridge" up
  ip route add "$node_service_cidr" dev "$node_bridge"
  iptables -I FORWARD -i "$node_bridge" ! -o "$node_bridge" -m comment --comment "$node_fw_comment" -j REJECT
  mkdir -p "$node_dir/cni/net.d"
  cat >"$node_dir/cni/net.d/10-bed.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "bed",
  "plugins": [
    {"type": "bridge", "bridge": "$node_bridge", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$node_dir/cni/ipam",
              "ranges": [[{"subnet": "$node_pod_subnet", "rangeStart": "198.18.0.10", "rangeEnd": "198.18.127.254",
                           "gateway": "$node_host_ip"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}}
  ]
}
EOF
}

node_containerd() {
  current="containerd"
  mkdir -p "$node_run" "$node_containerd_root"
  cat >"$node_dir/containerd.toml" <<EOF
version = 2
root = "$node_containerd_root"
state = "$node_run/state"
[grpc]
  address = "$node_sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$node_pause_image"
  # This VM's root lacks CAP_SYS_RESOURCE, so runc cannot give the sandbox the negative
  # oom_score_adj the CRI asks for ("can't get final child's PID from pipe"): clamp it.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$node_dir/cni/net.d"
  # The local registry speaks plain HTTP; ECR image names are pulled from it too, so what the
  # operator rolls out (<ECR repository>@sha256:...) runs unchanged.
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$node_registry"]
    endpoint = ["http://$node_registry"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$node_ecr_host"]
    endpoint = ["http://$node_registry"]
EOF
  start containerd "$node_dir" containerd --config "$node_dir/containerd.toml"
  wait_for containerd 30 ctr -a "$node_sock" version
  ctr_k8s images import "$node_pause_archive" >/dev/null || fail "importing the pause image failed"
}

# sign_client NAME SUBJECT: a client certificate from the bed's CA.
sign_client() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/$1.key" 2>/dev/null
  openssl req -new -key "$pki/$1.key" -out "$pki/$1.csr" -subj "$2" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n' >"$pki/$1.ext"
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 3650 -extfile "$pki/$1.ext" -out "$pki/$1.crt" 2>/dev/null
  rm -f "$pki/$1.csr" "$pki/$1.ext"
}

# kubeconfig_for NAME: a kubeconfig with NAME's client certificate.
kubeconfig_for() {
  sed -e "s|$pki/admin.crt|$pki/$1.crt|" -e "s|$pki/admin.key|$pki/$1.key|" -e "s|bed-admin|$1|g" \
    "$kubeconfig" >"$node_dir/$1.kubeconfig"
}

# cluster_role_binding NAME CLUSTERROLE KIND SUBJECT: one YAML document.
cluster_role_binding() {
  printf 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: "%s"}\n' "$1"
  printf 'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "%s"}\n' "$2"
  printf 'subjects: [{apiGroup: rbac.authorization.k8s.io, kind: %s, name: "%s"}]\n---\n' "$3" "$4"
}

# The bed runs RBAC only (no Node authorizer): grant the node's identities their roles.
node_identities() {
  sign_client kubelet "/O=system:nodes/CN=system:node:$node_name_real"
  sign_client kube-proxy "/CN=system:kube-proxy"
  sign_client coredns "/CN=bed:coredns"
  kubeconfig_for kubelet
  kubeconfig_for kube-proxy
  kubeconfig_for coredns
  {
    cluster_role_binding bed:nodes system:node Group system:nodes
    cluster_role_binding bed:kube-proxy system:node-proxier User system:kube-proxy
    cluster_role_binding bed:coredns bed:coredns User bed:coredns
    cat <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "bed:coredns"}
rules:
- apiGroups: [""]
  resources: [services, namespaces, pods]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
EOF
  } | K apply -f - >/dev/null
}

node_kubelet() {
  current="kubelet"
  mkdir -p "$node_dir/kubelet" "$node_dir/pod-logs"
  cat >"$node_dir/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$node_sock
# containerd 1.6 cannot tell the kubelet its cgroup driver; this VM runs cgroup v1.
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
address: $node_host_ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 0
# The apiserver reaches the kubelet (logs, exec) with its kubelet-client certificate.
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: AlwaysAllow}
clusterDNS: [$node_host_ip]
clusterDomain: cluster.local
# Pods resolve cluster names only: the host's resolv.conf is not handed on.
resolvConf: ""
registerWithTaints:
- {key: $node_taint_key, value: "true", effect: NoSchedule}
podLogsDir: $node_dir/pod-logs
maxPods: 40
serializeImagePulls: false
evictionHard: {memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%, nodefs.inodesFree: 2%}
imageGCHighThresholdPercent: 95
imageGCLowThresholdPercent: 90
EOF
  start kubelet "$node_dir" "$BED_NODE_BIN/kubelet" --config="$node_dir/kubelet.yaml" \
    --kubeconfig="$node_dir/kubelet.kubeconfig" --root-dir="$node_dir/kubelet" \
    --cert-dir="$node_dir/kubelet-pki" --hostname-override="$node_name_real" \
    --node-ip="$node_host_ip" --node-labels=type=real --v=1
}

node_kube_proxy() {
  cat >"$node_dir/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: "$node_dir/kube-proxy.kubeconfig"}
hostnameOverride: $node_name_real
clusterCIDR: 198.18.0.0/17
nodePortAddresses: [$node_host_ip/32]
healthzBindAddress: ""
metricsBindAddress: ""
# Leave the host's conntrack and route_localnet settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false}
EOF
  start kube-proxy "$node_dir" "$BED_NODE_BIN/kube-proxy" --config="$node_dir/kube-proxy.yaml" --v=1
}

node_coredns() {
  current="coredns"
  cat >"$node_dir/Corefile" <<EOF
.:53 {
    bind $node_host_ip
    errors
    ready 127.0.0.1:$dns_ready_port
    kubernetes cluster.local {
        kubeconfig $node_dir/coredns.kubeconfig bed
    }
}
EOF
  start coredns "$node_dir" "$BED_NODE_BIN/coredns" -conf "$node_dir/Corefile"
}

# Pods reach the host's loopback services through the bridge address, on fixed ports.
node_forwards() {
  start fwd-mlflow "$node_dir" socat "TCP-LISTEN:5050,bind=$node_host_ip,fork,reuseaddr" "TCP:127.0.0.1:$mlflow_port"
  start fwd-moto "$node_dir" socat "TCP-LISTEN:5051,bind=$node_host_ip,fork,reuseaddr" "TCP:127.0.0.1:$moto_port"
  # The `kubernetes` Service points at the advertised address, with the apiserver's port.
  start fwd-apiserver "$node_dir" socat "TCP-LISTEN:$api_port,bind=$node_host_ip,fork,reuseaddr" \
    "TCP:127.0.0.1:$api_port"
}

node_registry() {
  current="registry ecr-mirror"
  start ecr-mirror "$node_dir" "$BED_VENV/bin/python" -u "$bed_here/node/ecr_mirror.py" \
    127.0.0.1 "$mirror_port" "http://127.0.0.1:$moto_port"
  mkdir -p "$node_dir/registry"
  cat >"$node_dir/registry.yml" <<EOF
version: 0.1
log: {level: warn, formatter: text}
storage:
  filesystem: {rootdirectory: $node_dir/registry}
  delete: {enabled: true}
http:
  addr: $node_registry
notifications:
  events: {includereferences: true}
  endpoints:
  - name: ecr-mirror
    url: http://127.0.0.1:$mirror_port/events
    timeout: 5s
    threshold: 3
    backoff: 1s
    ignoredmediatypes: [application/octet-stream]
    ignore: {actions: [pull]}
EOF
  start registry "$node_dir" env OTEL_TRACES_EXPORTER=none "$BED_NODE_BIN/registry" serve "$node_dir/registry.yml"
  wait_for registry 30 curl -fsS -m 2 "http://$node_registry/v2/"
  wait_for ecr-mirror 30 curl -fsS -m 2 "http://127.0.0.1:$mirror_port/healthz"
}

# The node's images go to the registry (and from there into moto's ECR); their names land in
# the bed's env file.
node_images() {
  current="registry ecr-mirror"
  bash "$bed_here/node/images.sh" push "$node_registry" >"$node_dir/images.env" 2>"$logs/images.log" ||
    fail "pushing the bed's images failed" images registry
}

# The demo's Kaniko build context, where a real user keeps one: an S3 object (moto's S3 here).
node_build_context() {
  "$BED_VENV/bin/python" - "http://127.0.0.1:$moto_port" "$bed_repo/examples/health-predict" <<'EOF' ||
import io, sys, tarfile
import boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w:gz") as tar:
    tar.add(sys.argv[2], arcname=".", filter=lambda t: None if "__pycache__" in t.name else t)
s3.create_bucket(Bucket="bed-contexts")
s3.put_object(Bucket="bed-contexts", Key="health-predict.tar.gz", Body=buf.getvalue())
EOF
    fail "uploading the demo's build context to moto's S3 failed" moto
}

node_ready() {
  current="kubelet kube-proxy containerd"
  wait_for kubelet 120 K wait --for=condition=Ready "node/$node_name_real" --timeout=2s
  current="coredns"
  wait_for coredns 30 curl -fsS -m 2 "http://127.0.0.1:$dns_ready_port/ready"
}

# A Pod on the node that resolves a Service name through cluster DNS and calls the apiserver
# through the `kubernetes` Service: proves runtime, CNI, kube-proxy, CoreDNS and the forwards.
node_canary() {
  current="kubelet kube-proxy coredns containerd"
  local ns=bed-real-canary
  realNodeNamespace "$ns"
  K -n "$ns" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: canary}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  containers:
  - name: canary
    image: $BED_PYTHON_IMAGE
    command: [python3, -c, "import socket, ssl; a = socket.gethostbyname('kubernetes.default.svc'); s = socket.create_connection((a, 443), 5); print('apiserver', a)"]
EOF
  if ! K -n "$ns" wait --for=jsonpath='{.status.phase}'=Succeeded pod/canary --timeout=120s >/dev/null; then
    K -n "$ns" get pod canary -o yaml >&2 || true
    K -n "$ns" logs canary >&2 || true
    fail "the canary Pod on the real node did not succeed" kubelet containerd coredns
  fi
  K delete namespace "$ns" --wait=false >/dev/null
}

# realNodeNamespace NAME: a namespace whose Pods go to the real node (and only there).
realNodeNamespace() {
  K apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $1
  annotations:
    scheduler.alpha.kubernetes.io/node-selector: type=real
    scheduler.alpha.kubernetes.io/defaultTolerations: '[{"key":"$node_taint_key","operator":"Exists","effect":"NoSchedule"}]'
EOF
}

start_real_node() {
  mkdir -p "$node_dir"
  node_packages
  node_sysctls
  node_network
  # The sandbox image: the archive pause-<hash>.docker-archive.tar holds localhost/bed-pause:<hash>.
  node_pause_archive="$(bash "$bed_here/node/images.sh" pause-archive 2>>"$logs/images.log")" ||
    fail "building the pause image failed" images
  node_pause_image="$(basename "$node_pause_archive" .docker-archive.tar)"
  node_pause_image="localhost/bed-pause:${node_pause_image#pause-}"
  node_containerd
  node_identities
  node_forwards
  node_kubelet
  node_kube_proxy
  node_coredns
  node_registry
  node_images
  # shellcheck source=/dev/null
  . "$node_dir/images.env"
  node_build_context
  node_ready
  node_canary
}
