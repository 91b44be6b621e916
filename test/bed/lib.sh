# Shared by up.sh, down.sh and with-bed.sh (sourced, not run): where the bed lives and how to
# tell whether one is running.
# shellcheck shell=bash

bed_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bed_repo="$(cd "$bed_here/../.." && pwd)"
# shellcheck source=versions.sh
. "$bed_here/versions.sh"

BED_RUN="${BED_RUN:-$bed_repo/.bed}"
case "$BED_RUN" in /*) ;; *) BED_RUN="$(pwd)/$BED_RUN" ;; esac
bed_env_file="$BED_RUN/env"
bed_pid_file="$BED_RUN/pids"
# Everything up.sh creates in $BED_RUN; down.sh removes exactly these (BED_RUN may be a
# user-chosen directory, so never rm -rf it wholesale).
# shellcheck disable=SC2034
bed_run_entries="env pids kubeconfig pki etcd mlflow moto kwok kube seed.json logs node"

bed_log() { printf '[bed] %s\n' "$*" >&2; }

# Zombies count as dead (kill -0 says alive): our processes outlive up.sh, so they are
# reparented to init, and a container's init may leave them unreaped for a long time.
bed_pid_running() {
  local stat
  stat="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$stat" ] && [ "${stat%% *}" != Z ]
}

bed_group_running() {
  local p
  for p in $(pgrep -g "$1" 2>/dev/null); do bed_pid_running "$p" && return 0; done
  return 1
}

# Pid file lines are "<component> <pid>"; each pid leads its own process group (setsid).
bed_pids_alive() {
  [ -s "$bed_pid_file" ] || return 1
  local pid
  while read -r _ pid; do
    bed_pid_running "$pid" || return 1
  done <"$bed_pid_file"
}

bed_api_ready() {
  [ -f "$BED_RUN/kubeconfig" ] && [ -f "$BED_RUN/pki/ca.crt" ] || return 1
  local server
  server="$(sed -n 's/^ *server: *//p' "$BED_RUN/kubeconfig" | head -1)"
  curl -fsS -m 5 --cacert "$BED_RUN/pki/ca.crt" --cert "$BED_RUN/pki/admin.crt" \
    --key "$BED_RUN/pki/admin.key" "$server/readyz" >/dev/null 2>&1
}

# A bed counts as up only when it is complete: env written, every process alive, apiserver ready.
bed_is_up() { [ -f "$bed_env_file" ] && bed_pids_alive && bed_api_ready; }
