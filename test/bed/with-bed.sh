#!/usr/bin/env bash
# with-bed.sh CMD [ARGS...]: runs CMD with the test bed's environment (.bed/env) loaded.
# A bed that is already up is reused and left running; otherwise one is started with up.sh and
# stopped with down.sh when CMD ends. Exits with CMD's status; a bed that cannot start is an
# error (CI must fail, not skip).
set -euo pipefail
# shellcheck source=lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

[ $# -gt 0 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }

if bed_is_up; then
  bed_log "using the test bed already running from $BED_RUN (left running)"
else
  # Set before up.sh so an interrupted start is cleaned up as well.
  trap '"$bed_here/down.sh" >&2 || true' EXIT
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
