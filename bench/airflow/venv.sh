#!/usr/bin/env bash
# Creates the Airflow benchmark's Python venv (bench/airflow/run.py) in the bed's cache, beside the
# bed's own venv (test/bed/venv.sh), keyed by the Airflow and Python versions. A complete venv with
# the same pins is reused as it is. Prints the venv directory on its last line.
#
# Airflow's constraints files live on GitHub, which this machine cannot reach, so the versions
# below were resolved once (pip, PyPI, Python 3.11) and pinned here: Airflow itself (the meta
# package pins core and the task SDK), the providers core needs (it asks for ">=" only), and the
# libraries whose next major/minor release could change how the scheduler, the API server or the
# task runner behave. Everything else floats within Airflow's own bounds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../../test/bed/versions.sh
. "$here/../../test/bed/versions.sh" # BED_CACHE

AIRFLOW_VERSION="${AIRFLOW_VERSION:-3.3.2}"
PINS=(
  "apache-airflow==$AIRFLOW_VERSION" # = apache-airflow-core 3.3.2 + apache-airflow-task-sdk 1.3.2
  apache-airflow-providers-standard==1.21.0 # @task, BashOperator
  apache-airflow-providers-common-compat==1.23.0
  apache-airflow-providers-common-io==1.11.0
  apache-airflow-providers-common-sql==2.4.0
  apache-airflow-providers-smtp==3.2.0
  SQLAlchemy==2.1.9
  alembic==1.20.1
  fastapi==0.136.3
  starlette==1.10.0
  uvicorn==0.54.0
  pydantic==2.14.4
  cadwyn==7.0.0
  structlog==26.1.0
  httpx==0.28.1
  msgspec==0.23.0
  pendulum==3.3.0
)

# Airflow 3.3 supports Python 3.10-3.14; the pins were resolved on 3.11, the bed's Python.
PYTHON="${AIRFLOW_PYTHON:-$(command -v python3.11 || command -v python3)}"
py_version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
AIRFLOW_VENV="${AIRFLOW_VENV:-$BED_CACHE/venv-airflow$AIRFLOW_VERSION-py$py_version}"
# The marker holds the pins: change one and the next run rebuilds the venv.
want="$(printf '%s\n' "${PINS[@]}")"

if [ ! -f "$AIRFLOW_VENV/.complete" ] || [ "$(cat "$AIRFLOW_VENV/.complete")" != "$want" ]; then
  printf '[airflow-venv] creating %s (Python %s)\n' "$AIRFLOW_VENV" "$py_version" >&2
  rm -rf "$AIRFLOW_VENV"
  "$PYTHON" -m venv "$AIRFLOW_VENV"
  "$AIRFLOW_VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}" >&2
  printf '%s\n' "$want" >"$AIRFLOW_VENV/.complete"
fi
echo "$AIRFLOW_VENV"
