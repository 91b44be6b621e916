#!/usr/bin/env bash
# The Airflow half of the pipeline comparison: creates (or reuses) the bench's Airflow venv, then
# runs bench/airflow/run.py with it. Arguments go to run.py (--runs N --conf @FILE|JSON ...; --help).
# One JSON line on stdout, progress on stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$(bash "$here/venv.sh" | tail -n 1)"
exec "$venv/bin/python" "$here/run.py" "$@"
