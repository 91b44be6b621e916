#!/usr/bin/env bash
# lua.sh: makes sure `lua5.4` with the cjson module is installed; the Argo CD health check tests
# (test/integration/argocdHealth.test.ts) run health/argocd/*.lua with it. Installs Debian's
# lua5.4 and lua-cjson with apt-get only when one is missing. Called by up.sh; safe to run by hand.
set -euo pipefail

log() { printf '[bed] %s\n' "$*" >&2; }
have_lua() { command -v lua5.4 >/dev/null 2>&1 && lua5.4 -e 'require "cjson"' >/dev/null 2>&1; }

have_lua && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  log "ERROR: lua5.4 with lua-cjson is missing and there is no apt-get: install Lua 5.4 and lua-cjson"
  exit 1
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { log "ERROR: installing lua5.4 + lua-cjson needs root or sudo"; exit 1; }
  sudo=(sudo)
fi

log "installing lua5.4 and lua-cjson (apt-get)"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
# Wait for a concurrent apt/dpkg run rather than fail on its lock.
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -q)
if ! { "${apt[@]}" update && "${apt[@]}" install --no-install-recommends lua5.4 lua-cjson; } >"$out" 2>&1; then
  tail -n 30 "$out" >&2
  log "ERROR: apt-get could not install lua5.4 and lua-cjson"
  exit 1
fi
have_lua || { log "ERROR: lua5.4 still cannot load cjson after installing lua-cjson"; exit 1; }
log "lua5.4 + cjson ready"
