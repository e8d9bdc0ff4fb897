#!/usr/bin/env bash
# The benchmark command (make bench): set up .venv, then run every script in benchmarks/ in turn (not the _helpers), or only
# the scripts given as arguments. Each script prints its figures as ratios against a baseline measured in
# the same run. Exit status is non-zero if any script failed; the others still run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh 3.3
if [ -z "${AIRFLOW_HOME:-}" ]; then
  AIRFLOW_HOME="$(mktemp -d -t feishu-bench-home-XXXXXX)"
  trap 'rm -rf "$AIRFLOW_HOME"' EXIT
fi
export AIRFLOW_HOME
export AIRFLOW__CORE__LOAD_EXAMPLES=False
if [ $# -gt 0 ]; then scripts=("$@"); else scripts=(benchmarks/[!_]*.py); fi
failed=()
for script in "${scripts[@]}"; do
  echo "== ${script}"
  if ! .venv/bin/python "$script"; then
    failed+=("$script")
  fi
  echo
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
