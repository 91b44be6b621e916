#!/usr/bin/env bash
# Creates the bed's Python venv (mlflow server, moto server, scikit-learn for the seed model)
# in the cache outside the repo, keyed by versions. A complete venv is reused as it is.
# Prints the venv directory on its last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
. "$here/versions.sh"

if [ ! -f "$BED_VENV/.complete" ]; then
  printf '[bed-venv] creating %s\n' "$BED_VENV" >&2
  rm -rf "$BED_VENV"
  python3 -m venv "$BED_VENV"
  "$BED_VENV/bin/pip" install --quiet --disable-pip-version-check \
    "mlflow[auth]==$MLFLOW_VERSION" "moto[server]==$MOTO_VERSION" "scikit-learn==$SKLEARN_VERSION" >&2
  touch "$BED_VENV/.complete"
fi
echo "$BED_VENV"
