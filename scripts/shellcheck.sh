#!/usr/bin/env bash
# Lint step: runs shellcheck over every shell script git tracks (*.sh, and any file whose
# first line is a sh/bash shebang, such as .ci/run), so a new script is covered without a list
# to keep. Part of `npm run lint`. Installs Debian's shellcheck when it is missing. Settings:
# .shellcheckrc at the repo root.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

if ! command -v shellcheck >/dev/null 2>&1; then
  bash scripts/apt-install.sh shellcheck
  command -v shellcheck >/dev/null 2>&1 || { echo "shellcheck: still missing after apt-get" >&2; exit 1; }
fi

shebang='^#!.*[/[:space:]](ba|da|k)?sh([[:space:]]|$)'
scripts=()
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue # deleted in the work tree, not yet in the index
  case "$f" in
    *.sh | *.bash) scripts+=("$f") ;;
    *) if [[ "$(head -c 200 "$f" | head -n 1 | tr -d '\0')" =~ $shebang ]]; then scripts+=("$f"); fi ;;
  esac
done < <(git ls-files -z)
[ ${#scripts[@]} -gt 0 ] || { echo "shellcheck: git ls-files found no shell scripts" >&2; exit 1; }

shellcheck "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
