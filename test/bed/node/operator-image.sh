#!/usr/bin/env bash
# Builds the operator's own image from the project's Dockerfile on this machine, with neither
# Docker nor an online image registry, so the bed's real node can run the operator through the
# Helm chart. Runs as root.
#
#   operator-image.sh [build]         builds what is missing; prints the image's OCI layout last
#   operator-image.sh push REGISTRY   pushes it over plain HTTP as REGISTRY/mlflow-model-operator:<hash>
#                                     and prints BED_OPERATOR_IMAGE=<that reference>
#   operator-image.sh check           unpacks the image and starts the operator in a read-only
#                                     chroot as the image's user, with no cluster
#
# 1. The base named by the Dockerfile's ARG NODE_IMAGE (node:<version>-<suite>-slim) is made
#    here, laid out like the official image: Debian <suite> from mmdebstrap (minbase, like
#    debian:<suite>-slim) plus ca-certificates, without man pages, docs or locales. Node goes in
#    /usr/local/bin/node, taken from the npm package node-linux-<arch>@<version>. That package is
#    what package.json's node devDependency installs, and its version must match. npm goes in
#    /usr/local/lib/node_modules/npm, at the version that Node release bundles (its changelog
#    names it), with npm and npx links. The base is cached as an OCI layout keyed by version
#    and imported into buildah's storage under the name the Dockerfile's FROM resolves to.
# 2. buildah builds the Dockerfile (vfs storage, chroot isolation, never pulling). The context
#    holds only the tracked files the Dockerfile and its COPY lines need, with their working-tree
#    content. The image's tag is a hash of that context and of the base's version, so a warm run
#    with nothing changed does nothing.
#    The build's `npm ci` reaches the registry with the host's npm settings: the user config
#    (NPM_CONFIG_USERCONFIG or ~/.npmrc), the global config and the CA file that config names
#    are bind-mounted read-only into the RUN steps (`buildah bud -v`). They are never copied
#    into the context, a layer or the image config. NPM_CONFIG_* environment variables are not
#    passed through.
# State lives in $BED_CACHE/images/: node-base-*/ (the base), operator/<hash>/ (the newest three
# builds) and buildah/ (buildah's own storage).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
# shellcheck source=../versions.sh
. "$here/../versions.sh"

log() { printf '[operator-image] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}
usage() {
  echo "usage: $0 [build] | push REGISTRY | check" >&2
  exit 2
}

cmd="${1:-build}"
case "$cmd" in
  build | check) [ $# -le 1 ] || usage ;;
  push) [ $# -eq 2 ] || usage ;;
  *) usage ;;
esac
[ "$(id -u)" = 0 ] || die "run as root: mmdebstrap, buildah and chroot need it"

# Part of every cache key: bump it when this script changes what it puts into an image.
recipe=1
name=mlflow-model-operator
images="$BED_CACHE/images"
store="$images/buildah"
ba=(buildah --storage-driver vfs --root "$store/root" --runroot "$store/run")
mkdir -p "$images/operator" "$store"
exec 9>"$images/.operator-image.lock"
flock 9

# Temporary things of this run, removed on exit whether it succeeded or not.
tmp="$(mktemp -d "$images/.operator-image.XXXXXX")"
base_ctr=""
run_pid=""
cleanup() {
  [ -z "$run_pid" ] || kill -KILL "$run_pid" 2>/dev/null || true
  [ -z "$base_ctr" ] || "${ba[@]}" rm "$base_ctr" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- the base: what the Dockerfile asks for ------------------------------------------------

node_image="$(sed -n 's/^ARG NODE_IMAGE=//p' "$repo/Dockerfile")"
[[ "$node_image" =~ ^node:([0-9]+\.[0-9]+\.[0-9]+)-([a-z]+)-slim$ ]] ||
  die "Dockerfile: ARG NODE_IMAGE=$node_image is not node:<version>-<debian suite>-slim"
node_version="${BASH_REMATCH[1]}"
suite="${BASH_REMATCH[2]}"
dev_node="$(cd "$repo" && node -p 'require("./package.json").devDependencies.node')"
[ "$dev_node" = "$node_version" ] ||
  die "Dockerfile's base has Node $node_version but package.json's node devDependency is $dev_node; make them agree"
deb_arch="$(dpkg --print-architecture)"
case "$deb_arch" in
  amd64) node_arch=x64 ;;
  arm64) node_arch=arm64 ;;
  *) die "no Node build for architecture $deb_arch" ;;
esac
# FROM node:... is a short name; containers' shortnames.conf resolves it to Docker Hub's name,
# and a local image of that name is used without a pull.
base_ref="docker.io/library/$node_image"
base_tag="${node_image#node:}"
base_key="node-base-$node_version-$suite-slim-$deb_arch-r$recipe"
base_dir="$images/$base_key"

need_tools() {
  local tool missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] || bash "$repo/scripts/apt-install.sh" "${missing[@]}"
}

# npm_pack SPEC DIR: downloads the package tarball with the host's npm settings, prints its path.
npm_pack() {
  local file
  file="$(cd / && npm pack --silent --pack-destination "$2" "$1" | tail -n 1)"
  [ -f "$2/$file" ] || die "npm pack $1 gave no tarball"
  printf '%s\n' "$2/$file"
}

# bundled_npm CHANGELOG VERSION: the npm a Node release ships, i.e. the newest "upgrade npm to X"
# entry at or below that release's heading (the changelog lists releases newest first).
bundled_npm() {
  awk -v anchor="<a id=\"$2\"></a>" '
    index($0, anchor) == 1 { on = 1 }
    on && match($0, /(upgrade|update) npm to [0-9]+\.[0-9]+\.[0-9]+/) {
      s = substr($0, RSTART, RLENGTH); sub(/.* to /, "", s); print s; exit
    }' "$1"
}

make_base() {
  need_tools mmdebstrap buildah
  local sources="" f mnt node_tgz npm_tgz npm_version got started=$SECONDS
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [ -s "$f" ]; then
      sources="$f"
      break
    fi
  done
  [ -n "$sources" ] || die "no apt sources file to take the Debian mirror from"
  grep -qw "$suite" "$sources" || die "$sources has no $suite entries; the base must be Debian $suite"

  local base_work="$tmp/base"
  mkdir "$base_work"
  log "making $node_image: Node $node_version from node-linux-$node_arch"
  node_tgz="$(npm_pack "node-linux-$node_arch@$node_version" "$base_work")"
  tar -xzf "$node_tgz" -C "$base_work" package/bin/node package/CHANGELOG.md
  npm_version="$(bundled_npm "$base_work/package/CHANGELOG.md" "$node_version")"
  [ -n "$npm_version" ] || die "Node $node_version's changelog names no npm release"
  npm_tgz="$(npm_pack "npm@$npm_version" "$base_work")"

  base_ctr="$("${ba[@]}" from --quiet scratch)"
  mnt="$("${ba[@]}" mount "$base_ctr")"
  log "mmdebstrap $suite (minbase + ca-certificates) for $node_image"
  # The host's apt sources file is the mirror, so no host name is written here. The path
  # excludes stay in the image (/etc/dpkg/dpkg.cfg.d), as in Debian's slim images.
  # shellcheck disable=SC2016 # "$1" is the hook's argument (the root), expanded by mmdebstrap
  mmdebstrap --quiet --variant=minbase --include=ca-certificates \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='chroot "$1" groupadd --gid 1000 node' \
    --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
    "$suite" "$mnt" "$sources"

  install -m 0755 -o 0 -g 0 "$base_work/package/bin/node" "$mnt/usr/local/bin/node"
  mkdir -p "$mnt/usr/local/lib/node_modules/npm"
  tar -xzf "$npm_tgz" -C "$mnt/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  got="$(chroot "$mnt" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root \
    sh -c 'node --version && npm --version' | tr '\n' ' ')"
  [ "$got" = "v$node_version $npm_version " ] || die "the base runs Node/npm $got, expected v$node_version $npm_version"
  # The container runtime provides these; the ones mmdebstrap leaves describe this machine.
  find "$mnt/dev" -mindepth 1 -delete
  rm -f "$mnt/etc/resolv.conf" "$mnt/etc/hostname"

  "${ba[@]}" config --os linux --arch "$deb_arch" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$node_version" --cmd node "$base_ctr"
  "${ba[@]}" commit --quiet --rm "$base_ctr" "$base_ref" >/dev/null
  base_ctr=""
  "${ba[@]}" push --quiet "$base_ref" "oci:$base_work/oci:$base_tag"
  mv "$base_work/oci" "$base_dir"
  log "made $node_image (Node $node_version, npm $npm_version) in $((SECONDS - started)) s: $(du -sh "$base_dir" | cut -f1) compressed"
}

ensure_base() {
  need_tools buildah skopeo
  [ -f "$base_dir/index.json" ] || make_base
  if ! "${ba[@]}" inspect --type image "$base_ref" >/dev/null 2>&1; then
    # skopeo, not `buildah pull`: buildah names an image pulled from a layout after its path.
    log "importing $node_image into buildah's storage"
    skopeo copy --quiet "oci:$base_dir:$base_tag" "containers-storage:[vfs@$store/root+$store/run]$base_ref"
  fi
}

# --- the operator image --------------------------------------------------------------------

# make_context DIR: the tracked files the build reads (the Dockerfile, .dockerignore and every
# COPY source of the build context), as they are in the working tree.
make_context() {
  local line word dest srcs=() words f
  while IFS= read -r line; do
    [[ "$line" == *--from=* ]] && continue
    [[ "$line" == *'['* ]] && die "Dockerfile: the JSON form of COPY is not handled here: $line"
    read -ra words <<<"${line#COPY}"
    dest=""
    for word in "${words[@]}"; do
      [[ "$word" == --* ]] && continue
      [ -z "$dest" ] || srcs+=("$dest")
      dest="$word"
    done
  done < <(grep -E '^COPY[[:space:]]' "$repo/Dockerfile")
  grep -qE '^ADD[[:space:]]' "$repo/Dockerfile" && die "Dockerfile: ADD is not handled here; use COPY"
  local ignore=()
  (cd "$repo" && git ls-files --error-unmatch .dockerignore >/dev/null 2>&1) && ignore=(.dockerignore)
  (cd "$repo" && git ls-files -z --error-unmatch -- Dockerfile "${ignore[@]}" "${srcs[@]}") |
    while IFS= read -r -d '' f; do
      [ -e "$repo/$f" ] && printf '%s\0' "$f" # deleted in the work tree: not part of the build
    done |
    tar -C "$repo" --null -T - --owner=0 --group=0 -cf - | tar -C "$1" -xf -
}

# context_hash DIR: names, modes and contents of the context, plus the base it builds on.
context_hash() {
  {
    printf 'recipe %s\nbase %s\n' "$recipe" "$base_key"
    (cd "$1" && find . -type f -printf '%m %p\n' | LC_ALL=C sort)
    (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-16
}

# Appends to the caller's mounts the host's npm settings for the build's RUN steps, as
# read-only bind mounts (see the header).
npm_mounts() {
  local user_cfg global_cfg cafile host_path
  user_cfg="${NPM_CONFIG_USERCONFIG:-${HOME:-/root}/.npmrc}"
  [ ! -f "$user_cfg" ] || mounts+=(-v "$user_cfg:/root/.npmrc:ro")
  # Ask the host's own npm: under `npm test` or a project's PATH, node comes from the node@24
  # package, and npm would derive its global config from that node's prefix instead.
  host_path="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v '/node_modules/' | paste -sd: -)"
  global_cfg="$(cd / && PATH="$host_path" npm config get globalconfig)"
  # The image's npm has prefix /usr/local, so its global config is /usr/local/etc/npmrc.
  [ ! -f "$global_cfg" ] || mounts+=(-v "$global_cfg:/usr/local/etc/npmrc:ro")
  cafile="$(cd / && PATH="$host_path" npm config get cafile)"
  if [ "$cafile" != null ] && [ -f "$cafile" ]; then mounts+=(-v "$cafile:$cafile:ro"); fi
}

prune_builds() {
  local old
  find "$images/operator" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %f\n' | sort -rn |
    tail -n +4 | cut -d' ' -f2 | while read -r old; do rm -rf "${images:?}/operator/$old"; done
}

# Sets hash and image_dir; builds the image unless that hash is already there.
build() {
  local ctx="$tmp/context"
  mkdir "$ctx"
  make_context "$ctx"
  hash="$(context_hash "$ctx")"
  image_dir="$images/operator/$hash"
  [ -f "$image_dir/index.json" ] && return 0

  ensure_base
  local mounts=() started=$SECONDS
  npm_mounts
  log "building $name:$hash from the Dockerfile (buildah, vfs, chroot isolation)"
  "${ba[@]}" bud --isolation chroot --pull=never --layers=false --force-rm \
    "${mounts[@]}" -f "$ctx/Dockerfile" -t "localhost/$name:$hash" "$ctx" >&2
  rm -rf "$image_dir.tmp"
  "${ba[@]}" push --quiet "localhost/$name:$hash" "oci:$image_dir.tmp:$hash"
  mv "$image_dir.tmp" "$image_dir"
  # Only the cached layout is kept; buildah's storage holds just the base between builds.
  "${ba[@]}" rmi "localhost/$name:$hash" >/dev/null
  "${ba[@]}" rmi --prune >/dev/null 2>&1 || true
  prune_builds
  log "built $name:$hash in $((SECONDS - started)) s: $(du -sh "$image_dir" | cut -f1) compressed"
}

# --- push and check ------------------------------------------------------------------------

push() {
  local registry="$1"
  need_tools skopeo
  build
  log "pushing $name:$hash to $registry"
  skopeo copy --quiet --dest-tls-verify=false "oci:$image_dir:$hash" "docker://$registry/$name:$hash" >&2
  echo "BED_OPERATOR_IMAGE=$registry/$name:$hash"
}

# Prints one line per property checked; fails on the first one that does not hold.
check() {
  need_tools umoci skopeo
  build
  local rootfs="$tmp/bundle/rootfs" config user workdir entrypoint bad out code port
  umoci unpack --image "$image_dir:$hash" "$tmp/bundle" >/dev/null
  config="$(skopeo inspect --config "oci:$image_dir:$hash")"
  read -r user workdir entrypoint < <(node -e '
    const c = JSON.parse(process.argv[1]).config;
    console.log(c.User, c.WorkingDir, JSON.stringify(c.Entrypoint));' "$config")
  [ "$user" = 65532:65532 ] || die "image user is $user, expected 65532:65532"
  if [ "$workdir" != /app ] || [ "$entrypoint" != '["node","dist/main.js"]' ]; then
    die "image starts $entrypoint in $workdir, expected [\"node\",\"dist/main.js\"] in /app"
  fi
  echo "config: user $user, entrypoint $entrypoint in $workdir"

  bad="$(find "$rootfs/app" ! -type l \( ! -uid 0 -o ! -gid 0 -o -perm /022 \) | head -n 3)"
  [ -z "$bad" ] || die "files under /app not root-owned or writable by others: $bad"
  bad="$(find "$rootfs" -xdev \( -name .npmrc -o -name npmrc \) -type f -size +0 | head -n 3)"
  [ -z "$bad" ] || die "an npm config with content is in the image: $bad"
  echo "files: /app root-owned, not writable by the process; no npm config in the image"
  echo "size: $(du -sh "$image_dir" | cut -f1) compressed, $(du -sh "$rootfs" | cut -f1) unpacked"

  # Run as a Pod runs it: the image's user, a read-only root, and no cluster. First, an unknown
  # flag must stop the process at once with exit code 2 and a message that names the flag.
  set +e
  out="$(run_in_image "$rootfs" --help 2>&1)"
  code=$?
  set -e
  if [ "$code" != 2 ] || [[ "$out" != *"unknown flag --help"* ]]; then
    die "node dist/main.js --help: exit $code, expected 2 and 'unknown flag --help': $out"
  fi
  echo "run --help: exit 2, ${out%%;*}"

  # Started for real, with no apiserver to reach, it serves /healthz (200) and /readyz (503:
  # informers not synced). SIGTERM, as a Pod's termination sends it, stops it with exit code 0.
  run_in_image "$rootfs" --leader-elect=false --health-port=0 --metrics-port=0 >"$tmp/run.log" 2>&1 &
  run_pid=$!
  port=""
  for _ in $(seq 100); do
    port="$(sed -n 's/.*"healthPort":\([0-9]*\).*"Serving probes and metrics".*/\1/p' "$tmp/run.log")"
    if [ -n "$port" ] || ! kill -0 "$run_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  [ -n "$port" ] || die "the operator did not start its probes: $(tail -n 5 "$tmp/run.log")"
  out="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz") $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")"
  kill -TERM "$run_pid"
  code=0
  wait "$run_pid" || code=$?
  run_pid=""
  [ "$out" = "200 503" ] || die "/healthz and /readyz answered $out, expected 200 503"
  if [ "$code" != 0 ] || ! grep -q '"msg":"Stopped"' "$tmp/run.log"; then
    die "SIGTERM: exit $code, expected 0 after \"Stopped\": $(tail -n 3 "$tmp/run.log")"
  fi
  echo "run without a cluster: /healthz 200, /readyz 503, SIGTERM -> \"Stopped\", exit 0"
}

# run_in_image ROOTFS ARGS...: the image's entrypoint in a private mount namespace, with the root
# file system read-only, as user 65532, with a clean environment. It execs all the way down, so
# a caller's $! is the node process; call it only in a subshell ($(...) or &).
run_in_image() {
  # shellcheck disable=SC2016 # the inner script takes its values as arguments
  exec unshare --mount --propagation private bash -c '
    set -e
    rootfs="$1"
    shift
    mount --bind "$rootfs" "$rootfs"
    mount -o remount,bind,ro "$rootfs"
    mount -t proc proc "$rootfs/proc"
    mount --rbind /dev "$rootfs/dev"
    exec chroot --userspec=65532:65532 "$rootfs" /usr/bin/env -i HOME=/nonexistent \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_ENV=production \
      /bin/sh -c "cd /app && exec node dist/main.js \"\$@\"" node "$@"' run-in-image "$@"
}

case "$cmd" in
  build)
    build
    echo "$image_dir"
    ;;
  push) push "$2" ;;
  check) check ;;
esac
