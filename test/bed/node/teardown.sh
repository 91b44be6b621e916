#!/usr/bin/env bash
# Takes the bed's real node down (down.sh runs it first, while the apiserver still answers) and
# leaves nothing behind on the host: no process, Pod sandbox, mount, network namespace,
# iptables rule, bridge, route, cgroup or changed sysctl. Safe to run when nothing is up, and
# after a start that failed half-way. Images stay in containerd's content store (a cache).
set -uo pipefail
# shellcheck source=../lib.sh
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
# shellcheck source=node.sh
. "$bed_here/node/node.sh"

K() { "$BED_BIN/kubectl" --kubeconfig="$BED_RUN/kubeconfig" "$@"; }

pid_of() { [ -f "$bed_pid_file" ] && awk -v n="$1" '$1 == n {print $2}' "$bed_pid_file" | tail -1; }

# stop_component NAME: SIGTERM its process group, SIGKILL after 10 s; drop it from the pid file.
stop_component() {
  local pid i
  pid="$(pid_of "$1")"
  if [ -n "$pid" ] && bed_group_running "$pid"; then
    kill -TERM -- "-$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do bed_group_running "$pid" || break; sleep 0.2; done
    bed_group_running "$pid" && { bed_log "$1 did not stop on SIGTERM; SIGKILL"; kill -KILL -- "-$pid" 2>/dev/null; }
  fi
  if [ -f "$bed_pid_file" ]; then
    grep -v "^$1 " "$bed_pid_file" >"$bed_pid_file.tmp" || true
    mv "$bed_pid_file.tmp" "$bed_pid_file"
  fi
}

# The kubelet tears its Pods down itself (CNI DEL: IPs, veths and netns go) when they are deleted
# through the API. Controllers may make new ones; the kubelet stops before they start.
delete_pods() {
  bed_pid_running "$(pid_of kubelet)" && bed_api_ready || return 0
  K delete pods -A --field-selector "spec.nodeName=$node_name_real" --grace-period=3 \
    --wait=true --timeout=60s >/dev/null 2>&1 || bed_log "some Pods on $node_name_real did not go in time"
}

# What is left after the kubelet is gone: containers through containerd (their shims outlive
# it), then the sandboxes' network namespaces, noted first.
remove_containers() {
  ctr -a "$node_sock" version >/dev/null 2>&1 || return 0
  local c t
  for c in $(ctr_k8s containers ls -q 2>/dev/null); do
    ctr_k8s containers info "$c" 2>/dev/null | python3 -c 'import json, sys
for n in json.load(sys.stdin).get("Spec", {}).get("linux", {}).get("namespaces", []):
    if n.get("type") == "network" and n.get("path"): print(n["path"])' >>"$node_dir/netns.left" 2>/dev/null
  done
  for t in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks kill -s KILL "$t" >/dev/null 2>&1; done
  sleep 0.5
  for c in $(ctr_k8s containers ls -q 2>/dev/null); do
    ctr_k8s tasks delete -f "$c" >/dev/null 2>&1
    ctr_k8s containers delete "$c" >/dev/null 2>&1
  done
}

# Mounts below DIR, deepest first.
unmount_below() {
  awk -v d="$1" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null; done
}

clean_network() {
  local ns ipt t
  if [ -f "$node_dir/netns.left" ]; then
    sort -u "$node_dir/netns.left" | while read -r ns; do
      [ -e "$ns" ] || continue
      umount "$ns" 2>/dev/null
      rm -f "$ns"
    done
    rm -f "$node_dir/netns.left"
  fi
  [ -x "$BED_NODE_BIN/kube-proxy" ] && "$BED_NODE_BIN/kube-proxy" --cleanup >/dev/null 2>&1
  # The kubelet's own chains (kube-proxy --cleanup leaves them).
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    $ipt -D INPUT -j KUBE-FIREWALL 2>/dev/null
    $ipt -D OUTPUT -j KUBE-FIREWALL 2>/dev/null
    $ipt -F KUBE-FIREWALL 2>/dev/null && $ipt -X KUBE-FIREWALL 2>/dev/null
    for t in mangle nat filter; do $ipt -t "$t" -X KUBE-KUBELET-CANARY 2>/dev/null; done
    $ipt -t mangle -X KUBE-IPTABLES-HINT 2>/dev/null
  done
  while iptables -D FORWARD -i "$node_bridge" ! -o "$node_bridge" -m comment --comment "$node_fw_comment" -j REJECT 2>/dev/null; do :; done
  ip route del "$node_service_cidr" dev "$node_bridge" 2>/dev/null
  ip link del "$node_bridge" 2>/dev/null
  rm -rf "$node_dir/cni/ipam"
}

# The kubelet makes a kubepods tree in every cgroup v1 hierarchy (v2: one tree).
remove_cgroups() {
  local d
  for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [ -d "$d" ] || continue
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
}

restore_sysctls() {
  [ -f "$node_dir/sysctl.orig" ] || return 0
  sed 's/ //g' "$node_dir/sysctl.orig" | xargs -r sysctl -qw 2>/dev/null
  rm -f "$node_dir/sysctl.orig"
  if [ -f "$node_dir/br_netfilter.loaded" ]; then
    modprobe -r br_netfilter 2>/dev/null || bed_log "br_netfilter stays loaded (in use)"
    rm -f "$node_dir/br_netfilter.loaded"
  fi
}

main() {
  [ -d "$node_dir" ] || ip link show "$node_bridge" >/dev/null 2>&1 || return 0
  delete_pods
  stop_component kubelet
  stop_component kube-proxy
  remove_containers
  stop_component containerd
  local c
  for c in coredns registry ecr-mirror fwd-mlflow fwd-moto fwd-apiserver; do stop_component "$c"; done
  unmount_below "$node_dir/kubelet"
  unmount_below "$node_run"
  unmount_below "$node_containerd_root"
  clean_network
  remove_cgroups
  restore_sysctls
  rm -rf "$node_run"
  bed_log "real node down"
}

main "$@"
