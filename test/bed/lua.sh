#!/usr/bin/env bash
# lua.sh: makes sure `lua5.4` with the cjson module is installed; the Argo CD health check tests
# (test/integration/argocdHealth.test.ts) run health/argocd/*.lua with it. Installs Debian's
# lua5.4 and lua-cjson with apt-get only when one is missing. Called by up.sh; safe to run by hand.
set -euo pipefail

log() { printf '[bed] %s\n' "$*" >&2; }
have_lua() { command -v lua5.4 >/dev/null 2>&1 && lua5.4 -e 'require "cjson"' >/dev/null 2>&1; }

have_lua && exit 0

"$(cd "$(dirname "$0")/../.." && pwd)/scripts/apt-install.sh" lua5.4 lua-cjson
have_lua || { log "ERROR: lua5.4 still cannot load cjson after installing lua-cjson"; exit 1; }
log "lua5.4 + cjson ready"
