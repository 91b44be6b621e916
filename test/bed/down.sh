#!/usr/bin/env bash
# Stops everything up.sh started for $BED_RUN (each recorded pid is a process group, so
# children such as mlflow's uvicorn workers go too), then deletes the bed's state so the next
# up.sh starts clean. The last logs are kept in $BED_RUN/last-logs. Safe when nothing runs.
set -euo pipefail
# shellcheck source=lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

case "$BED_RUN" in / | "") bed_log "refusing to clean BED_RUN='$BED_RUN'"; exit 1 ;; esac

# Processes up.sh started carry BED_PROC_TAG=$BED_RUN in their environment. Checking it before
# signalling a recorded group means a stale pid file (reused pids) can never hit a stranger.
tagged() { grep -qzxF "BED_PROC_TAG=$BED_RUN" "/proc/$1/environ" 2>/dev/null; }

# groups etcd|other: recorded process groups ("-pgid") that are still ours. etcd is stopped
# last so the apiserver can shut down cleanly.
groups() {
  local name pid
  [ -f "$bed_pid_file" ] || return 0
  while read -r name pid; do
    [ "$name" = etcd ] && [ "$1" != etcd ] && continue
    [ "$name" != etcd ] && [ "$1" = etcd ] && continue
    if tagged "$pid"; then echo "-$pid"; fi
  done <"$bed_pid_file"
}

# Tagged processes also catch strays that left their group or a pid file lost mid-start.
tagged_pids() {
  grep -lzxF "BED_PROC_TAG=$BED_RUN" /proc/[0-9]*/environ 2>/dev/null |
    sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p' | grep -vx "$$" || true
}

# Each argument is a pid, or "-pgid" for a whole process group.
signal() {
  local sig=$1 t
  shift
  for t in "$@"; do kill "-$sig" -- "$t" 2>/dev/null || true; done
}

any_alive() {
  local t
  for t in "$@"; do
    case "$t" in
      -*) bed_group_running "${t#-}" && return 0 ;;
      *) bed_pid_running "$t" && return 0 ;;
    esac
  done
  return 1
}

# stop SECONDS TARGETS...: SIGTERM, wait up to SECONDS, then SIGKILL what is left.
stop() {
  local secs=$1 i
  shift
  [ $# -gt 0 ] || return 0
  signal TERM "$@"
  for ((i = 0; i < secs * 5; i++)); do
    any_alive "$@" || return 0
    sleep 0.2
  done
  bed_log "still running after ${secs}s, sending SIGKILL to: $*"
  signal KILL "$@"
  for ((i = 0; i < 25; i++)); do
    any_alive "$@" || return 0
    sleep 0.2
  done
  return 1
}

clean_state() {
  local e
  [ -d "$BED_RUN" ] || return 0
  if [ -d "$BED_RUN/logs" ]; then
    rm -rf "$BED_RUN/last-logs"
    mv "$BED_RUN/logs" "$BED_RUN/last-logs"
  fi
  for e in $bed_run_entries; do rm -rf "${BED_RUN:?}/$e"; done
}

main() {
  local rest etcd status=0
  # The real node first, while the apiserver still answers (its Pods are deleted through it).
  "$bed_here/node/teardown.sh" || status=1
  rest="$(groups other)"
  etcd="$(groups etcd)"
  if [ -z "$rest$etcd" ] && [ -z "$(tagged_pids)" ]; then
    bed_log "no test bed processes running for $BED_RUN"
  else
    # shellcheck disable=SC2086
    stop 15 $rest || status=1
    # shellcheck disable=SC2086
    stop 10 $etcd || status=1
    # shellcheck disable=SC2046
    stop 5 $(tagged_pids) || status=1
    [ "$status" = 0 ] && bed_log "test bed stopped"
  fi
  [ "$status" = 0 ] || bed_log "ERROR: some test bed processes survived SIGKILL: $(tagged_pids | tr '\n' ' ')"
  clean_state
  return "$status"
}

main "$@"
