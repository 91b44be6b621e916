#!/usr/bin/env bash
# What the real node may change on the host, as text, so a bed's start and stop can be checked to
# leave nothing behind: processes of the node, mounts, network namespaces, links, routes,
# iptables rules and chains, the sysctls the kubelet and the bed set, the kubelet's cgroups.
#   host-state.sh snapshot FILE   write the current state to FILE
#   host-state.sh compare FILE    exit 1 and print the difference if the host differs from FILE
# with-bed.sh takes a snapshot before it starts a bed and compares after down.sh.
set -euo pipefail

state() {
  echo "## processes"
  local p
  for p in containerd containerd-shim kubelet kube-proxy coredns registry socat pause; do
    echo "$p $(pgrep -xc "$p" || true)"
  done
  echo "## mounts"
  awk '{print $2, $3}' /proc/mounts | grep -E 'kubelet|containerd|netns|/run/mlflow-bed' | sort || true
  echo "## netns"
  find /var/run/netns -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort || true
  echo "## links"
  ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
  echo "## routes"
  ip route show | sort
  echo "## iptables"
  local ipt t
  for ipt in iptables ip6tables; do
    command -v "$ipt-save" >/dev/null || continue
    for t in filter nat mangle; do
      # Rules and chains only: counters change by themselves, and a table that was first used
      # shows its empty built-in chains from then on.
      "$ipt-save" -t "$t" 2>/dev/null | grep -E '^(-A|:)' | sed -E 's/ \[[0-9]+:[0-9]+\]$//' |
        grep -vxE ':(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) ACCEPT' | sed "s/^/$ipt $t /" || true
    done
  done
  echo "## sysctls"
  sysctl -e net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables vm.overcommit_memory vm.panic_on_oom \
    kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes 2>/dev/null || true
  echo "## cgroups"
  find /sys/fs/cgroup -maxdepth 2 -name kubepods -type d 2>/dev/null | sort || true
}

case "${1:-}" in
  snapshot) state >"${2:?usage: $0 snapshot FILE}" ;;
  compare)
    if ! diff -u "${2:?usage: $0 compare FILE}" <(state) >&2; then
      echo "host-state: the bed left the changes above behind (- before, + now)" >&2
      exit 1
    fi
    ;;
  *) echo "usage: $0 snapshot FILE | compare FILE" >&2; exit 2 ;;
esac
