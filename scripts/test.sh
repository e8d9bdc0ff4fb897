#!/usr/bin/env bash
# The test command: set up .venv from the lock, then ruff, mypy --strict and the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
AIRFLOW_HOME="$(mktemp -d -t feishu-airflow-home-XXXXXX)"
export AIRFLOW_HOME
trap 'rm -rf "$AIRFLOW_HOME"' EXIT
export FEISHU_TEST_AIRFLOW_HOME="$AIRFLOW_HOME"
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy --strict"; .venv/bin/mypy
echo "== pytest"; .venv/bin/pytest "$@"
