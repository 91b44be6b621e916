#!/usr/bin/env bash
# with-bed.sh [--helm] CMD [ARGS...]: runs CMD with the test bed's environment (.bed/env) loaded.
# A bed that is already up is reused and left running; otherwise one is started with up.sh and
# stopped with down.sh when CMD ends. Exits with CMD's status; a bed that cannot start is an
# error (CI must fail, not skip). --helm: CMD needs $BED_BIN/helm and $BED_BIN/prometheus too (the
# integration tests), so build.sh builds them if missing, also into a bed that is already up (e.g.
# from `npm run dev`).
set -euo pipefail
# shellcheck source=lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

if [ "${1:-}" = --helm ]; then
  export BED_HELM=1 # up.sh -> build.sh
  shift
fi
[ $# -gt 0 ] || { echo "usage: $0 [--helm] CMD [ARGS...]" >&2; exit 2; }

if bed_is_up; then
  bed_log "using the test bed already running from $BED_RUN (left running)"
  if [ "${BED_HELM:-0}" = 1 ]; then
    # Into the running bed's bin directory, which its env file names.
    # shellcheck source=/dev/null
    (. "$bed_env_file" && "$bed_here/build.sh" --helm >/dev/null)
  fi
else
  # The host as it was, to prove down.sh leaves nothing of the real node behind (a leftover
  # fails the run, as a failed test would).
  host_before="$(mktemp)"
  "$bed_here/node/host-state.sh" snapshot "$host_before"
  # shellcheck disable=SC2317 # run by the EXIT trap
  stop_bed() {
    local rc=$?
    "$bed_here/down.sh" >&2 || true
    "$bed_here/node/host-state.sh" compare "$host_before" || { [ "$rc" != 0 ] || rc=1; }
    rm -f "$host_before"
    exit "$rc"
  }
  # Set before up.sh so an interrupted start is cleaned up as well.
  trap stop_bed EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # up.sh's report goes to stderr so CMD's stdout stays clean.
  if ! "$bed_here/up.sh" >&2; then
    echo "with-bed: ERROR: the test bed failed to start; see the output above and $BED_RUN/last-logs" >&2
    exit 1
  fi
fi

# shellcheck source=/dev/null
. "$bed_env_file"
set +e
"$@"
rc=$?
set -e
exit "$rc"
