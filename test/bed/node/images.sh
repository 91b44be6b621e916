#!/usr/bin/env bash
# Builds the container images of the bed's real node, without Docker and without pulling from
# any image registry, into one OCI layout under $BED_CACHE/images/pod-images/:
#   pause   the Pod sandbox image: a tiny static Go program (images/pause/), user 65535
#   python  Debian bookworm (mmdebstrap: python3, ca-certificates, libstdc++6) + the pip packages of
#           examples/health-predict/requirements.txt and .../tests/requirements.txt
#   tests   python plus examples/health-predict/tests/ at /tests: the demo's API tests
#   kaniko  the Debian layer of python plus the upstream executor ($BED_NODE_BIN/executor, made
#           by test/bed/build.sh) and kaniko-entrypoint.sh as its entrypoint
# Each image is tagged <name>-<hash>. The hash covers what goes into the image: the recipe (the
# build function's own text), versions, requirement files, the tests, the executor, the values
# baked in. So a warm run builds nothing. $BED_CACHE/images/refs.env maps each name to its tag.
#
# Usage (as root; installs mmdebstrap, umoci and skopeo with apt when missing):
#   images.sh [build]              build what is missing
#   images.sh push REGISTRY        build, copy each image to REGISTRY/bed/<name>:<hash> over
#                                  plain HTTP, print BED_<NAME>_IMAGE=REGISTRY/bed/<name>:<hash>
#   images.sh pause-archive        build pause, print the path of a docker-archive of it, tagged
#                                  localhost/bed-pause:<hash>, for `ctr -n k8s.io images import`
#   images.sh gc                   drop every image but the current ones from the layout (a
#                                  checkout with other requirements builds its images again)
# The kaniko image bakes BED_REGISTRY (default $BED_HOST_IP:5000) and BED_POD_MOTO_URL (default
# http://$BED_HOST_IP:5051), BED_HOST_IP defaulting to 198.18.0.1. BED_DEMO_DIR replaces
# examples/health-predict.
set -euo pipefail
# Also inside command substitutions (each image is built in one), so a failed step stops the build.
shopt -s inherit_errexit
case "${1:-}" in -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
# shellcheck source=../versions.sh
. "$here/../versions.sh"
: "${BED_NODE_BIN:?test/bed/versions.sh sets BED_NODE_BIN}" "${KANIKO_VERSION:?test/bed/versions.sh sets KANIKO_VERSION}"

BED_HOST_IP="${BED_HOST_IP:-198.18.0.1}"
BED_REGISTRY="${BED_REGISTRY:-$BED_HOST_IP:5000}"
BED_POD_MOTO_URL="${BED_POD_MOTO_URL:-http://$BED_HOST_IP:5051}"
demo="${BED_DEMO_DIR:-$repo/examples/health-predict}"

# $BED_CACHE/images/ is shared with the operator's image (operator-image.sh): everything of this
# script is in pod-images/ there, except refs.env.
refs="$BED_CACHE/images/refs.env"
images="$BED_CACHE/images/pod-images"
layout="$images/oci"
suite=bookworm
# Debian bookworm's python3 is 3.11. pip installs for it from the host, so the host's pip must
# run on 3.11 as well (markers and the Requires-Python check use the running interpreter).
py_version=3.11
site_packages=/usr/local/lib/python$py_version/dist-packages
# Bookworm has glibc 2.36, so every manylinux tag up to 2_36 runs. pip expands
# manylinux2014 to 2010 and 1 but not to the newer glibc tags, and numpy 2.x ships only
# manylinux_2_27/2_28 wheels: list the tags.
pip_platforms=(manylinux2014_x86_64)
for minor in $(seq 17 36); do pip_platforms+=("manylinux_2_${minor}_x86_64"); done
path_env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf '[bed-images] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
hash12() { sha256sum | cut -c1-12; }
# A tag counts once its build finished: a failed build can leave a tag behind in the layout.
have_tag() { [ -e "$images/done/$1" ] && grep -qF "\"$1\"" "$layout/index.json"; }

ensure_tools() {
  local missing=() t
  for t in mmdebstrap umoci skopeo; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  [ ${#missing[@]} -eq 0 ] || bash "$repo/scripts/apt-install.sh" "${missing[@]}"
  command -v go >/dev/null 2>&1 || die "go is missing (the pause image is built with it)"
  [ -f "$layout/index.json" ] || umoci init --layout "$layout"
}

# The host's apt sources are the mirror argument, so no mirror host appears in this script.
apt_sources() {
  local f
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    [ -s "$f" ] && { echo "$f"; return; }
  done
  die "no apt sources file for mmdebstrap"
}

# Pip's requirements: the demo's serving and test requirements.
requirements() {
  cat "$demo/requirements.txt"
  echo
  cat "$demo/tests/requirements.txt"
}

# Every file of the demo's tests, by path and content (caches excluded).
tests_digest() {
  [ -d "$demo/tests" ] || die "$demo/tests is missing"
  (cd "$demo/tests" && find . -type f ! -path '*/__pycache__/*' ! -path '*/.pytest_cache/*' -print0 |
    LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

# --- the hashes, each over the image's inputs and its recipe (the build function's text) -------
hash_pause() { { declare -f build_pause; cat "$here/images/pause/main.go" "$here/images/pause/go.mod"; go env GOVERSION; } | hash12; }
hash_debian() { { declare -f build_debian; echo "$suite"; cat "$(apt_sources)"; } | hash12; }
hash_python() { { declare -f build_python; echo "$1" "$py_version" "${pip_platforms[*]}"; requirements; } | hash12; }
hash_tests() { { declare -f build_tests; echo "$1"; tests_digest; } | hash12; }
hash_kaniko() {
  [ -x "$BED_NODE_BIN/executor" ] || die "$BED_NODE_BIN/executor is missing: run test/bed/build.sh"
  { declare -f build_kaniko; echo "$1" "$KANIKO_VERSION" "$BED_REGISTRY" "$BED_POD_MOTO_URL"
    sha256sum <"$BED_NODE_BIN/executor"; cat "$here/kaniko-entrypoint.sh"; } | hash12
}

# --- the builds: each writes tag $1 into the layout, working in $2 ------------------------------
build_pause() {
  local tag=$1 work=$2
  mkdir -p "$work/rootfs"
  (cd "$here/images/pause" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS='' \
    go build -trimpath -ldflags '-s -w' -o "$work/rootfs/pause" .)
  umoci new --image "$layout:$tag"
  umoci insert --image "$layout:$tag" --history.created_by 'bed: pause (test/bed/node/images/pause)' \
    "$work/rootfs/pause" /pause
  umoci config --image "$layout:$tag" --history.created_by 'bed: pause config' \
    --config.entrypoint /pause --config.user 65535:65535
}

# Debian bookworm, only the essential packages plus python3, ca-certificates and libstdc++6: the
# manylinux policy lets wheels link the system's libstdc++ (numpy's and scikit-learn's do), and
# the essential set has no C++ runtime. The CA bundle is also kept beside the layout for the
# kaniko image ($images/<tag>.ca-certificates.crt).
build_debian() {
  local tag=$1 work=$2
  umoci new --image "$layout:$tag"
  umoci unpack --image "$layout:$tag" "$work/bundle" >/dev/null
  mmdebstrap --quiet --variant=essential --include=python3,ca-certificates,libstdc++6 \
    --aptopt='Acquire::Languages "none"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "$suite" "$work/bundle/rootfs" "$(apt_sources)"
  # The runtime mounts /dev; device nodes have no place in a layer.
  find "$work/bundle/rootfs/dev" -mindepth 1 -delete
  cp "$work/bundle/rootfs/etc/ssl/certs/ca-certificates.crt" "$images/$tag.ca-certificates.crt.tmp"
  umoci repack --image "$layout:$tag" --history.created_by "bed: mmdebstrap $suite essential + python3 ca-certificates libstdc++6" \
    "$work/bundle"
  mv "$images/$tag.ca-certificates.crt.tmp" "$images/$tag.ca-certificates.crt"
}

# Debian's python3 sees /usr/local/lib/python3.11/dist-packages, so pip installs there from the
# host (Debian's python3 has no pip): binary wheels for CPython 3.11 on x86_64 only. The
# console scripts go to /usr/local/bin with Debian's interpreter, and the byte code is compiled
# with the paths it has in the image (so tracebacks name image paths).
build_python() {
  local tag=$1 work=$2 base=$3 local_dir platforms=() p f
  [ "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" = "$py_version" ] ||
    die "the host's python3 is not $py_version: pip needs it to install for Debian's python3"
  local_dir="$work/usr-local"
  mkdir -p "$local_dir/bin"
  requirements >"$work/requirements.txt"
  for p in "${pip_platforms[@]}"; do platforms+=(--platform "$p"); done
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --no-warn-conflicts \
    --root-user-action=ignore --no-compile \
    --target "$local_dir/lib/python$py_version/dist-packages" --only-binary=:all: \
    --python-version "$py_version" --implementation cp "${platforms[@]}" -r "$work/requirements.txt"
  # The pins name the direct requirements only; what pip resolved besides is kept for reference.
  python3 -m pip list --disable-pip-version-check --format=freeze \
    --path "$local_dir/lib/python$py_version/dist-packages" >"$images/$tag.packages.txt"
  if [ -d "$local_dir/lib/python$py_version/dist-packages/bin" ]; then
    mv "$local_dir/lib/python$py_version/dist-packages/bin/"* "$local_dir/bin/"
    rmdir "$local_dir/lib/python$py_version/dist-packages/bin"
  fi
  for f in "$local_dir/bin/"*; do
    [ -f "$f" ] || continue
    if head -n 1 "$f" | grep -q '^#!.*python'; then
      sed -i '1s|^#!.*$|#!/usr/bin/python3|' "$f"
    elif head -n 1 "$f" | grep -q '^#!/bin/sh'; then
      die "pip wrote $f with a /bin/sh launcher; rewrite it as well"
    fi
  done
  # Byte code of a few files for other Python versions (vendored tests) fails to compile; the
  # interpreter never imports those, and pip ignores the same failures.
  python3 -m compileall -q -j 0 -s "$local_dir/lib/python$py_version/dist-packages" -p "$site_packages" \
    "$local_dir/lib/python$py_version/dist-packages" >"$work/compileall.log" 2>&1 ||
    log "compileall: $(grep -c '^\*\*\*' "$work/compileall.log" || true) files did not compile (ignored)"
  umoci insert --image "$layout:$base" --tag "$tag" \
    --history.created_by "bed: pip install --target $site_packages (requirements of the demo)" \
    "$local_dir" /usr/local
  umoci config --image "$layout:$tag" --history.created_by 'bed: python config' \
    --config.env "$path_env" --config.env LANG=C.UTF-8 --config.workingdir / --config.cmd python3
}

# The demo's API tests, run as the operator's test Job: pytest without its cache, which would
# write into /tests.
build_tests() {
  local tag=$1 work=$2 base=$3
  mkdir -p "$work/tests"
  (cd "$demo/tests" && tar --exclude=__pycache__ --exclude=.pytest_cache -cf - .) | tar -C "$work/tests" -xf -
  chmod -R u=rwX,go=rX "$work/tests"
  umoci insert --image "$layout:$base" --tag "$tag" --history.created_by 'bed: examples/health-predict/tests' \
    "$work/tests" /tests
  umoci config --image "$layout:$tag" --history.created_by 'bed: tests config' \
    --config.env PYTHONDONTWRITEBYTECODE=1 --config.workingdir /tests \
    --config.cmd python3 --config.cmd=-m --config.cmd pytest --config.cmd=-p --config.cmd no:cacheprovider \
    --config.cmd=-v --config.cmd=-rA --config.cmd api
}

# Like upstream's image: everything of Kaniko's under /kaniko (Kaniko leaves it out of the
# images it builds), its own CA bundle there, since the build replaces the root file system with
# the FROM image's, and the same HOME, DOCKER_CONFIG and WORKDIR.
build_kaniko() {
  local tag=$1 work=$2 base=$3
  mkdir -p "$work/kaniko/ssl/certs" "$work/kaniko/.docker"
  cp "$BED_NODE_BIN/executor" "$work/kaniko/executor"
  install -m 0755 "$here/kaniko-entrypoint.sh" "$work/kaniko/bed-entrypoint"
  cp "$images/$base.ca-certificates.crt" "$work/kaniko/ssl/certs/ca-certificates.crt"
  chmod 0755 "$work/kaniko/executor"
  umoci insert --image "$layout:$base" --tag "$tag" \
    --history.created_by "bed: kaniko executor v$KANIKO_VERSION + bed-entrypoint" "$work/kaniko" /kaniko
  umoci config --image "$layout:$tag" --history.created_by 'bed: kaniko config' \
    --clear=config.cmd --config.entrypoint /kaniko/bed-entrypoint --config.workingdir /workspace \
    --config.env PATH=/usr/local/bin:/kaniko:/usr/sbin:/usr/bin:/sbin:/bin --config.env HOME=/root \
    --config.env USER=root --config.env SSL_CERT_DIR=/kaniko/ssl/certs \
    --config.env DOCKER_CONFIG=/kaniko/.docker/ --config.env "BED_REGISTRY=$BED_REGISTRY" \
    --config.env "BED_POD_MOTO_URL=$BED_POD_MOTO_URL"
}

# ensure NAME HASH [BASE_TAG]: builds tag NAME-HASH unless the layout has it; prints the tag.
ensure() {
  local name=$1 hash=$2 base=${3:-} tag start
  tag="$name-$hash"
  if ! have_tag "$tag"; then
    log "building $tag"
    start=$(date +%s)
    rm -f "$images/done/$tag"
    if grep -qF "\"$tag\"" "$layout/index.json"; then umoci rm --image "$layout:$tag"; fi
    # Global, not local: the EXIT trap runs after the function has returned.
    ensure_work="$(mktemp -d "$images/work-$name.XXXXXX")"
    trap 'rm -rf "$ensure_work"' EXIT
    "build_$name" "$tag" "$ensure_work" "$base" >&2
    rm -rf "$ensure_work"
    trap - EXIT
    touch "$images/done/$tag"
    log "built $tag in $(($(date +%s) - start))s"
  fi
  echo "$tag"
}

# Sets the tags of every image (built if missing) and writes refs.env. Each hash is taken on
# its own line: `set -e` does not see a failure inside a command substitution used as an argument.
build_all() {
  local h
  ensure_tools
  h="$(hash_pause)"
  pause_tag="$(ensure pause "$h")"
  h="$(hash_debian)"
  debian_tag="$(ensure debian "$h")"
  h="$(hash_python "$debian_tag")"
  python_tag="$(ensure python "$h" "$debian_tag")"
  h="$(hash_tests "$python_tag")"
  tests_tag="$(ensure tests "$h" "$python_tag")"
  h="$(hash_kaniko "$debian_tag")"
  kaniko_tag="$(ensure kaniko "$h" "$debian_tag")"
  printf '%s\n' "pause=$pause_tag" "python=$python_tag" "tests=$tests_tag" "kaniko=$kaniko_tag" >"$refs.tmp"
  if cmp -s "$refs.tmp" "$refs"; then rm "$refs.tmp"; else mv "$refs.tmp" "$refs"; fi
}

push() {
  local registry=$1 line name tag
  build_all
  while IFS= read -r line; do
    name=${line%%=*}
    tag=${line#*=}
    skopeo copy --quiet --dest-tls-verify=false "oci:$layout:$tag" "docker://$registry/bed/$name:${tag#"$name"-}" >&2
    printf 'BED_%s_IMAGE=%s/bed/%s:%s\n' "${name^^}" "$registry" "$name" "${tag#"$name"-}"
  done <"$refs"
}

pause_archive() {
  local tag archive h
  ensure_tools
  h="$(hash_pause)"
  tag="$(ensure pause "$h")"
  archive="$images/$tag.docker-archive.tar"
  if [ ! -s "$archive" ]; then
    rm -f "$archive.tmp"
    skopeo copy --quiet "oci:$layout:$tag" "docker-archive:$archive.tmp:localhost/bed-pause:${tag#pause-}" >&2
    mv "$archive.tmp" "$archive"
  fi
  echo "$archive"
}

# Keeps only the tags in refs.env (and the Debian base they share), then drops unused blobs.
gc() {
  local keep t
  build_all
  keep=" $(cut -d= -f2 "$refs" | tr '\n' ' ')$debian_tag "
  for t in $(umoci ls --layout "$layout"); do
    case "$keep" in *" $t "*) ;; *) log "removing $t"; umoci rm --image "$layout:$t"; rm -f "$images/done/$t" ;; esac
  done
  umoci gc --layout "$layout"
  for t in "$images"/*.ca-certificates.crt "$images"/*.docker-archive.tar "$images"/*.packages.txt; do
    [ -e "$t" ] || continue
    case "$keep" in *" $(basename "$t" | cut -d. -f1) "*) ;; *) rm -f "$t" ;; esac
  done
}

[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap and umoci keep file owners)"
mkdir -p "$images/done"
# One run at a time: the layout's index.json is rewritten by every umoci command.
exec 9>"$images/.lock"
flock 9
case "${1:-build}" in
  build) build_all ;;
  push) [ $# -eq 2 ] || die "usage: $0 push REGISTRY"; push "$2" ;;
  pause-archive) pause_archive ;;
  gc) gc ;;
  *) echo "usage: $0 [build | push REGISTRY | pause-archive | gc]" >&2; exit 2 ;;
esac
