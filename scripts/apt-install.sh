#!/usr/bin/env bash
# apt-install.sh PKG...: installs Debian packages with apt-get (as root, else through sudo) for
# the tools the project's scripts need when they are missing (test/bed/lua.sh,
# scripts/shellcheck.sh). Runs `apt-get update` first; apt's output is shown only on failure.
set -euo pipefail

log() { printf '[apt-install] %s\n' "$*" >&2; }
[ $# -gt 0 ] || { echo "usage: $0 PKG..." >&2; exit 2; }

if ! command -v apt-get >/dev/null 2>&1; then
  log "ERROR: $* missing and there is no apt-get: install $* yourself"
  exit 1
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { log "ERROR: installing $* needs root or sudo"; exit 1; }
  sudo=(sudo)
fi

log "installing $* (apt-get)"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
# Wait for a concurrent apt/dpkg run rather than fail on its lock.
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -q)
if ! { "${apt[@]}" update && "${apt[@]}" install --no-install-recommends "$@"; } >"$out" 2>&1; then
  tail -n 30 "$out" >&2
  log "ERROR: apt-get could not install $*"
  exit 1
fi
