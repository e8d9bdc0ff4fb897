#!/usr/bin/env bash
# The demo (make demo): from a fresh clone, run every example DAG against the Feishu emulator and print what
# happened. Needs only python3 (3.11) on PATH; scripts/bootstrap.sh installs uv and the pinned environment.
#
#   1. bash scripts/bootstrap.sh 3.3               (.venv from requirements-lock.txt, package editable)
#   2. a temporary AIRFLOW_HOME with SQLite, `airflow db migrate`
#   3. the emulator CLI in the background with the seed shipped in the package; AIRFLOW_CONN_FEISHU_DEFAULT
#      points at it (the DAGs use their default connection id, feishu_default)
#   4. `airflow dags test <dag_id>` for each example DAG (DAGs folder = example_dags/); Airflow's output goes
#      to .build/demo/airflow.log (its tail is printed when something fails), the emulator's to emulator.log
#      The waiting DAG really waits: its record is NoNeedApproval; the emulator's calendar is stopped a minute
#      before the end of the record's offboarding date (scripts/demo_wait.py prepare); once the deferred
#      sensor has searched, the calendar runs 6x real time (demo_wait.py run) and the emulator itself moves the
#      record to Offboarded at midnight tenant time; the sensor's next poll (every 5 s here) sees it.
#   5. a summary: records edited and revoked, statuses before and after (from GET /_emulator/state; statuses
#      the clock moved are marked), the wait, and the XCom results of every run (from the SQLite metadata DB)
#
# The emulator and Airflow are stopped on every exit path, Ctrl-C included. The temporary AIRFLOW_HOME
# (database, task logs) is kept when a step fails, or always with KEEP_DEMO_HOME=1.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

DAG_IDS=(
  example_feishu_offboarding_lifecycle
  example_feishu_batch_corrections
  example_feishu_batch_corrections_mapped
  example_feishu_wait_until_offboarded
)
# The offboarding the waiting DAG waits for (its default employment's record in the emulator's default seed:
# NoNeedApproval, offboarding date 2026-10-31; the seed's calendar starts at 2026-06-01).
WAIT_OFFBOARDING_ID=7095671727698478609

echo "== setting up the environment (scripts/bootstrap.sh)"
bash scripts/bootstrap.sh 3.3
PY="$REPO/.venv/bin/python"
AIRFLOW="$REPO/.venv/bin/airflow"

WORK=$(mktemp -d -t feishu-demo-XXXXXX)
LOG_DIR="$REPO/.build/demo"
mkdir -p "$LOG_DIR"
LOG="$LOG_DIR/airflow.log"
EMULATOR_OUT="$LOG_DIR/emulator.log"
: >"$LOG"
emulator_pid=""
job_pid=""

# Every long-running step runs as a background job in its own process group (set -m) and the script waits
# for it: a Ctrl-C then interrupts the wait at once (airflow dags test does not stop on SIGINT by itself),
# and cleanup stops each group with everything it started.
set -m

stop_group() {
  local pid=$1
  kill -TERM -- "-$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 -- "-$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [ -n "$job_pid" ] && stop_group "$job_pid"
  [ -n "$emulator_pid" ] && stop_group "$emulator_pid"
  if [ "${KEEP_DEMO_HOME:-0}" = 1 ] || { [ "$status" -ne 0 ] && [ "$status" -ne 130 ]; }; then
    echo "demo files kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'echo; echo "interrupted"; exit 130' INT TERM

# run_logged CMD...: run CMD with its output appended to the Airflow log; return its exit status.
run_logged() {
  "$@" >>"$LOG" 2>&1 &
  job_pid=$!
  local status=0
  wait "$job_pid" || status=$?
  job_pid=""
  return "$status"
}

fail() {
  echo "FAILED: $1" >&2
  if [ -s "$LOG" ]; then
    echo "---- last 60 lines of $LOG" >&2
    tail -n 60 "$LOG" >&2
  fi
  exit 1
}

export AIRFLOW_HOME="$WORK/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/example_dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__UNIT_TEST_MODE=False
export AIRFLOW__LOGGING__LOGGING_LEVEL=INFO
mkdir -p "$AIRFLOW_HOME"
echo "Airflow output goes to $LOG"

echo "== airflow db migrate (SQLite in $AIRFLOW_HOME)"
run_logged "$AIRFLOW" db migrate || fail "airflow db migrate"

echo "== starting the Feishu emulator (seed: airflow_provider_feishu_corehr/testing/default_seed.json)"
"$PY" -m airflow_provider_feishu_corehr.testing --print-json-line --port 0 \
  --seed airflow_provider_feishu_corehr/testing/default_seed.json >"$EMULATOR_OUT" 2>&1 &
emulator_pid=$!
info=""
for _ in $(seq 1 150); do
  info=$(grep -m 1 '^{' "$EMULATOR_OUT" || true)
  [[ $info == "{"* ]] && break
  kill -0 "$emulator_pid" 2>/dev/null || { cat "$EMULATOR_OUT" >&2; fail "the emulator exited"; }
  sleep 0.1
done
[[ $info == "{"* ]] || { cat "$EMULATOR_OUT" >&2; fail "the emulator did not start within 15 s"; }
BASE_URL=$("$PY" -c 'import json, sys; print(json.loads(sys.argv[1])["base_url"])' "$info")
AIRFLOW_CONN_FEISHU_DEFAULT=$("$PY" -c 'import json, sys; print(json.loads(sys.argv[1])["conn_json"])' "$info")
export AIRFLOW_CONN_FEISHU_DEFAULT
echo "   emulator at $BASE_URL (pid $emulator_pid); AIRFLOW_CONN_FEISHU_DEFAULT points at it"

"$PY" scripts/demo_summary.py snapshot "$BASE_URL" "$WORK/state-before.json"

# run_waiting_dag DAG_ID: the DAG in the background while the emulator's clock brings its record to Offboarded.
run_waiting_dag() {
  local dag_id=$1 status=0
  "$PY" scripts/demo_wait.py prepare "$BASE_URL" "$WAIT_OFFBOARDING_ID" "$WORK/wait.json" || fail "clock set-up"
  FEISHU_EXAMPLE_POKE_INTERVAL=5 "$AIRFLOW" dags test "$dag_id" >>"$LOG" 2>&1 &
  job_pid=$!
  "$PY" scripts/demo_wait.py run "$BASE_URL" "$WORK/wait.json" --speed 6 --timeout 600 || fail "waiting for the clock"
  wait "$job_pid" || status=$?
  job_pid=""
  return "$status"
}

for dag_id in "${DAG_IDS[@]}"; do
  echo "== airflow dags test $dag_id"
  echo "==== airflow dags test $dag_id" >>"$LOG"
  if [ "$dag_id" = example_feishu_wait_until_offboarded ]; then
    run_waiting_dag "$dag_id" || fail "airflow dags test $dag_id"
  else
    run_logged "$AIRFLOW" dags test "$dag_id" || fail "airflow dags test $dag_id"
  fi
done

"$PY" scripts/demo_summary.py snapshot "$BASE_URL" "$WORK/state-after.json"
echo
"$PY" scripts/demo_summary.py report \
  --before "$WORK/state-before.json" --after "$WORK/state-after.json" \
  --db "$AIRFLOW_HOME/airflow.db" --wait "$WORK/wait.json" \
  "${DAG_IDS[@]}" || fail "summary"
echo
echo "Airflow log: $LOG"

echo
echo "== event-driven: example_feishu_on_offboarded with a real triggerer and scheduler (scripts/demo_events.sh)"
bash scripts/demo_events.sh || fail "the event-driven example (scripts/demo_events.sh)"
echo "demo finished: every example DAG ran against the emulator"
