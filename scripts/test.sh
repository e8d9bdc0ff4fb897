#!/usr/bin/env bash
# The test command: set up both lanes from their locks, run ruff and mypy --strict once (3.3 lane), then the whole
# pytest suite on each lane, each with its own throw-away AIRFLOW_HOME:
#   lane 3.3   .venv       apache-airflow 3.3.x  (requirements-lock.txt)
#   lane 2.11  .venv-2.11  apache-airflow 2.11.x (requirements-lock-2.11.txt)
# LANES="2.11" bash scripts/test.sh runs one lane only (lint too when 3.3 is in LANES); extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a lanes <<< "${LANES:-3.3 2.11}"
bash scripts/bootstrap.sh "${lanes[@]}"

homes=()
cleanup() { for home in "${homes[@]}"; do rm -rf "$home"; done; }
trap cleanup EXIT

venv_of() { case "$1" in 3.3) echo .venv ;; 2.11) echo .venv-2.11 ;; esac; }

for lane in "${lanes[@]}"; do
  if [ "$lane" = 3.3 ]; then
    echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
    echo "== mypy --strict"; .venv/bin/mypy
  fi
done
for lane in "${lanes[@]}"; do
  venv="$(venv_of "$lane")"
  home="$(mktemp -d -t "feishu-airflow-home-${lane}-XXXXXX")"
  homes+=("$home")
  echo "== pytest, Airflow $("$venv/bin/python" -c 'from importlib.metadata import version; print(version("apache-airflow"))') (lane $lane)"
  AIRFLOW_HOME="$home" FEISHU_TEST_AIRFLOW_HOME="$home" "$venv/bin/pytest" "$@"
done
