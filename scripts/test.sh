#!/usr/bin/env bash
# The test command: set up both lanes from their locks, run ruff and mypy --strict once (3.3 lane), then the whole
# pytest suite on each lane, each with its own throw-away AIRFLOW_HOME:
#   lane 3.3   .venv       apache-airflow 3.3.x  (requirements-lock.txt)
#   lane 2.11  .venv-2.11  apache-airflow 2.11.x (requirements-lock-2.11.txt)
# LANES="2.11" bash scripts/test.sh runs one lane only (lint too when 3.3 is in LANES); extra arguments go to pytest.
# The lanes share nothing (own venv, own AIRFLOW_HOME, emulators on free ports), so the second lane runs beside the
# first (2 cores: about 3.5 min instead of 6) and its output is printed when it ends; LANES_SERIAL=1 runs them one
# after the other.
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a lanes <<< "${LANES:-3.3 2.11}"
bash scripts/bootstrap.sh "${lanes[@]}"

homes_file="$(mktemp -t feishu-lane-homes-XXXXXX)"
logs=()
cleanup() {
  while read -r home; do rm -rf "$home"; done <"$homes_file"
  rm -f "$homes_file" "${logs[@]}"
}
trap cleanup EXIT

venv_of() { case "$1" in 3.3) echo .venv ;; 2.11) echo .venv-2.11 ;; esac; }

run_lane() {
  local lane="$1" venv home
  shift
  venv="$(venv_of "$lane")"
  home="$(mktemp -d -t "feishu-airflow-home-${lane}-XXXXXX")"
  echo "$home" >>"$homes_file"
  echo "== pytest, Airflow $("$venv/bin/python" -c 'from importlib.metadata import version; print(version("apache-airflow"))') (lane $lane)"
  AIRFLOW_HOME="$home" FEISHU_TEST_AIRFLOW_HOME="$home" "$venv/bin/pytest" "$@"
}

status=0
for lane in "${lanes[@]}"; do
  if [ "$lane" = 3.3 ]; then  # a lint failure fails the run too, after the tests ran
    echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check . || status=1
    echo "== mypy --strict"; .venv/bin/mypy || status=1
  fi
done

if [ "${LANES_SERIAL:-0}" = 1 ] || [ "${#lanes[@]}" = 1 ]; then
  for lane in "${lanes[@]}"; do
    run_lane "$lane" "$@" || status=$?
  done
  exit "$status"
fi
pids=()
for lane in "${lanes[@]:1}"; do
  log="$(mktemp -t "feishu-lane-${lane}-XXXXXX")"
  logs+=("$log")
  run_lane "$lane" "$@" >"$log" 2>&1 &
  pids+=("$!")
done
run_lane "${lanes[0]}" "$@" || status=$?
for i in "${!pids[@]}"; do
  lane_status=0
  wait "${pids[$i]}" || lane_status=$?
  cat "${logs[$i]}"
  [ "$lane_status" = 0 ] || status=$lane_status
done
exit "$status"
