#!/usr/bin/env bash
# Builds the test bed's Kubernetes binaries (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok) from the Go module proxy into a cache outside the repo,
# keyed by version. Only what is missing is built, so a warm run returns at once.
# Helm (~90 s cold) and Prometheus (several minutes cold) are only for the tests
# (test/integration/helm.test.ts, the canary's Prometheus analysis), so they are built only with
# --helm or BED_HELM=1 (with-bed.sh --helm sets it); `npm run dev` goes without.
# Prints the bin directory on its last line.
set -euo pipefail
case "${1:-}" in
  --helm) BED_HELM=1 ;;
  "") ;;
  *) echo "usage: $0 [--helm]" >&2; exit 2 ;;
esac
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
. "$here/versions.sh"

export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:--mod=mod}"
mkdir -p "$BED_BIN" "$BED_CACHE/src" "$BED_CACHE/scratch"
log() { printf '[bed-build] %s\n' "$*" >&2; }

# `go mod download -json` works outside a module and tells where the module's files are.
mod_field() { (cd "$BED_CACHE/scratch" && go mod download -json "$1") | grep "\"$2\"" | head -1 | cut -d'"' -f4; }

build_etcd() {
  [ -x "$BED_BIN/etcd" ] && return 0
  log "building etcd v$ETCD_VERSION"
  local d="$BED_CACHE/src/etcd-$ETCD_VERSION"
  mkdir -p "$d"
  # etcd's own go.mod has replace directives, so `go install` refuses it: build from a module of ours.
  cat >"$d/go.mod" <<EOF
module local/etcd-bed-build

go 1.25.0

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION

tool go.etcd.io/etcd/server/v3
EOF
  (cd "$d" && go mod tidy && go build -trimpath -ldflags "-s -w" -o "$BED_BIN/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$BED_BIN/etcd.tmp" "$BED_BIN/etcd"
}

# Every binary of k8s.io/kubernetes the bed runs: the control plane, kubectl, and the real
# node's kubelet and kube-proxy (test/bed/node/).
K8S_CMDS="kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy"

# k8s_module: writes the local module that builds them (once per version).
k8s_module() {
  local d=$1 upstream staging b
  upstream="$(mod_field "k8s.io/kubernetes@v$K8S_VERSION" GoMod)"
  staging="v0.${K8S_VERSION#1.}"
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with local
  # paths; a consumer must replace each with its published tag. Generate the list from
  # upstream's go.mod so it follows the version.
  {
    echo "module local/k8s-bed-build"
    echo
    grep -E '^go [0-9]' "$upstream"
    grep -E '^godebug ' "$upstream" || true
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    echo "replace ("
    awk -v ver="$staging" '
      /^require[ \t]*\(/ {inreq=1; next}
      inreq && /^\)/     {inreq=0; next}
      inreq && $1 ~ /^k8s\.io\// && $2 == "v0.0.0" {printf "\t%s => %s %s\n", $1, $1, ver}' "$upstream"
    echo ")"
    echo
    echo "tool ("
    for b in $K8S_CMDS; do printf '\tk8s.io/kubernetes/cmd/%s\n' "$b"; done
    echo ")"
  } >"$d/go.mod.new"
  # A go.mod that changed, or whose tidy was interrupted, is tidied (again).
  if ! cmp -s "$d/go.mod.new" "$d/go.mod" || [ ! -f "$d/.tidy-done" ]; then
    rm -f "$d/.tidy-done"
    mv "$d/go.mod.new" "$d/go.mod"
    (cd "$d" && go mod tidy) && touch "$d/.tidy-done"
  fi
  rm -f "$d/go.mod.new"
}

# build_k8s OUT CMD...: builds the missing CMDs of k8s.io/kubernetes into OUT.
build_k8s() {
  local out=$1 missing="" b d minor ld p tmp pkgs=()
  shift
  for b in "$@"; do [ -x "$out/$b" ] || missing="$missing $b"; done
  [ -z "$missing" ] && return 0
  log "building$missing v$K8S_VERSION"
  d="$BED_CACHE/src/k8s-$K8S_VERSION"
  mkdir -p "$d" "$out"
  k8s_module "$d"
  minor="$(echo "$K8S_VERSION" | cut -d. -f2)"
  ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  tmp="$out/.tmp-k8s"
  mkdir -p "$tmp"
  for b in $missing; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  # One `go build` for all of them so shared packages compile once.
  (cd "$d" && go build -trimpath -ldflags "$ld" -o "$tmp/" "${pkgs[@]}")
  for b in $missing; do mv "$tmp/$b" "$out/$b"; done
  rmdir "$tmp"
}

build_kwok() {
  if [ ! -x "$BED_BIN/kwok" ]; then
    log "building kwok v$KWOK_VERSION"
    GOBIN="$BED_BIN/.tmp-kwok" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
    mv "$BED_BIN/.tmp-kwok/kwok" "$BED_BIN/kwok"
    rmdir "$BED_BIN/.tmp-kwok"
  fi
  if [ ! -d "$BED_BIN/kwok-stage" ]; then
    local dir
    dir="$(mod_field "sigs.k8s.io/kwok@v$KWOK_VERSION" Dir)"
    cp -r "$dir/kustomize/stage" "$BED_BIN/kwok-stage.tmp"
    chmod -R u+w "$BED_BIN/kwok-stage.tmp"
    mv "$BED_BIN/kwok-stage.tmp" "$BED_BIN/kwok-stage"
  fi
}

# Helm renders and installs the chart in the tests; its module has no replace directives.
build_prometheus() {
  [ -x "$BED_BIN/prometheus-v$PROMETHEUS_VERSION" ] && return 0
  log "building prometheus (Go module v$PROMETHEUS_VERSION)"
  GOBIN="$BED_BIN/.tmp-prometheus" go install -trimpath -ldflags "-s -w" \
    "github.com/prometheus/prometheus/cmd/prometheus@v$PROMETHEUS_VERSION"
  mv "$BED_BIN/.tmp-prometheus/prometheus" "$BED_BIN/prometheus-v$PROMETHEUS_VERSION"
  rmdir "$BED_BIN/.tmp-prometheus"
}

build_helm() {
  [ -x "$BED_BIN/helm" ] && return 0
  log "building helm v$HELM_VERSION"
  GOBIN="$BED_BIN/.tmp-helm" go install -trimpath -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
  mv "$BED_BIN/.tmp-helm/helm" "$BED_BIN/helm"
  rmdir "$BED_BIN/.tmp-helm"
}

# The real node's other programs. `go install mod@version` would ask the proxy for the module's
# version list (deprecation check), which it refuses for some modules, so each is built from a
# local module that requires the pinned version, as etcd is.
# build_tool NAME MODULE VERSION PACKAGE [EXTRA_REQUIRES]: builds PACKAGE as $BED_NODE_BIN/NAME.
build_tool() {
  local name=$1 module=$2 version=$3 pkg=$4 extra=${5:-} d
  [ -x "$BED_NODE_BIN/$name" ] && return 0
  log "building $name ($module v$version)"
  d="$BED_CACHE/src/$name-$version"
  mkdir -p "$d" "$BED_NODE_BIN"
  printf 'module local/%s-bed-build\n\ngo 1.25.0\n\nrequire %s v%s\n%s\ntool %s\n' \
    "$name" "$module" "$version" "$extra" "$pkg" >"$d/go.mod"
  (cd "$d" && go mod tidy && go build -trimpath -ldflags "-s -w" -o "$BED_NODE_BIN/$name.tmp" "$pkg")
  mv "$BED_NODE_BIN/$name.tmp" "$BED_NODE_BIN/$name"
}

# Cluster DNS: CoreDNS with only the plugins the bed uses (a full build compiles every cloud
# DNS provider). Its client-go is pinned to the control plane's, whose packages are compiled already.
build_coredns() {
  [ -x "$BED_NODE_BIN/coredns" ] && return 0
  local d="$BED_CACHE/src/coredns-$COREDNS_VERSION" p
  mkdir -p "$d"
  {
    echo "// CoreDNS for the test bed: the kubernetes plugin and what a Corefile around it needs."
    echo "package main"
    echo
    echo "import ("
    echo '	_ "github.com/coredns/coredns/core/dnsserver"'
    echo '	"github.com/coredns/coredns/coremain"'
    for p in bind errors health kubernetes log ready; do
      printf '\t_ "github.com/coredns/coredns/plugin/%s"\n' "$p"
    done
    echo ")"
    echo
    echo "func main() {"
    echo "	coremain.Run()"
    echo "}"
  } >"$d/main.go"
  printf 'module local/coredns-bed-build\n\ngo 1.25.0\n\nrequire (\n\tgithub.com/coredns/coredns v%s\n\tk8s.io/client-go v0.%s\n)\n' \
    "$COREDNS_VERSION" "${K8S_VERSION#1.}" >"$d/go.mod"
  log "building coredns v$COREDNS_VERSION"
  (cd "$d" && go mod tidy && go build -trimpath -ldflags "-s -w" -o "$BED_NODE_BIN/coredns.tmp" .)
  mv "$BED_NODE_BIN/coredns.tmp" "$BED_NODE_BIN/coredns"
}

build_node() {
  build_k8s "$BED_NODE_BIN" kubelet kube-proxy
  build_tool registry github.com/distribution/distribution/v3 "$REGISTRY_VERSION" \
    github.com/distribution/distribution/v3/cmd/registry
  build_tool executor github.com/GoogleContainerTools/kaniko "$KANIKO_VERSION" \
    github.com/GoogleContainerTools/kaniko/cmd/executor
  build_coredns
}

start=$(date +%s)
build_etcd
build_k8s "$BED_BIN" kube-apiserver kube-controller-manager kube-scheduler kubectl
build_kwok
[ "${BED_NODE:-1}" = 0 ] || build_node
if [ "${BED_HELM:-0}" = 1 ]; then
  build_helm
  build_prometheus
elif [ ! -x "$BED_BIN/helm" ]; then
  log "helm and prometheus not built (only the tests need them: build.sh --helm)"
fi
log "binaries ready in $(($(date +%s) - start))s"
echo "$BED_BIN"
