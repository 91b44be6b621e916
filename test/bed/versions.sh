# shellcheck shell=bash
# Pinned versions of every test-bed component, and where they are cached.
# Sourced by the bed scripts; change a version here and the next build fills a new cache slot.
K8S_VERSION="${K8S_VERSION:-1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-0.8.0}"
HELM_VERSION="${HELM_VERSION:-3.21.4}"
MLFLOW_VERSION="${MLFLOW_VERSION:-3.17.2}"
MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
SKLEARN_VERSION="${SKLEARN_VERSION:-1.7.2}"

BED_CACHE="${BED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlflow-operator-bed}"
BED_BIN="${BED_BIN:-$BED_CACHE/bin-k8s$K8S_VERSION-etcd$ETCD_VERSION-kwok$KWOK_VERSION}"
# "auth" extra: Flask-WTF for `mlflow server --app-name basic-auth` (credential tests).
BED_VENV="${BED_VENV:-$BED_CACHE/venv-mlflow$MLFLOW_VERSION-auth-moto$MOTO_VERSION-sklearn$SKLEARN_VERSION}"
