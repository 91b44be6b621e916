# shellcheck shell=bash
# Pinned versions of every test-bed component, and where they are cached.
# Sourced by the bed scripts; change a version here and the next build fills a new cache slot.
K8S_VERSION="${K8S_VERSION:-1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-0.8.0}"
HELM_VERSION="${HELM_VERSION:-3.21.4}"
# Prometheus publishes its Go module as v0.<minor>.<patch> for release 3.<minor>.<patch>.
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-0.316.0}"
MLFLOW_VERSION="${MLFLOW_VERSION:-3.17.2}"
MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
SKLEARN_VERSION="${SKLEARN_VERSION:-1.7.2}"
# The real node (test/bed/node/): kubelet + kube-proxy come with K8S_VERSION; the image registry,
# the upstream Kaniko executor and cluster DNS are built from the Go module proxy as well.
REGISTRY_VERSION="${REGISTRY_VERSION:-3.1.2}"
KANIKO_VERSION="${KANIKO_VERSION:-1.24.0}"
COREDNS_VERSION="${COREDNS_VERSION:-1.13.1}"

BED_CACHE="${BED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlflow-operator-bed}"
BED_BIN="${BED_BIN:-$BED_CACHE/bin-k8s$K8S_VERSION-etcd$ETCD_VERSION-kwok$KWOK_VERSION}"
BED_NODE_BIN="${BED_NODE_BIN:-$BED_CACHE/bin-node-k8s$K8S_VERSION-registry$REGISTRY_VERSION-kaniko$KANIKO_VERSION-coredns$COREDNS_VERSION}"
# "auth" extra: Flask-WTF for `mlflow server --app-name basic-auth` (credential tests).
BED_VENV="${BED_VENV:-$BED_CACHE/venv-mlflow$MLFLOW_VERSION-auth-moto$MOTO_VERSION-sklearn$SKLEARN_VERSION}"
