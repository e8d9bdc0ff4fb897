#!/usr/bin/env bash
# What an HR approver sees: the plan example waiting for approval in Airflow 3.3's UI, in a real browser.
#
#   1. a temporary AIRFLOW_HOME (SQLite, LocalExecutor, the simple auth manager with every user an admin, so the
#      browser needs no login), a DAGs folder holding only example_feishu_plan_approve_apply.py and its data;
#   2. the Feishu emulator (default seed) in the background; AIRFLOW_CONN_FEISHU_DEFAULT points at it;
#   3. `airflow api-server`, `airflow scheduler`, `airflow dag-processor` and `airflow triggerer`;
#   4. the DAG unpaused and triggered; the script waits until approve_plan waits for input (read from the
#      metadata database);
#   5. headless Chromium screenshots of Browse -> Required Actions and of the approval form of that task:
#      docs/images/required_actions.png and docs/images/required_action_plan.png (OUT_DIR to change).
#
# Needs the repository's .venv (Airflow 3.3, scripts/bootstrap.sh 3.3) and Chromium (Debian: apt-get install -y
# chromium). Everything started is stopped on every exit path; the temporary home is kept when a step fails, or
# always with KEEP_HOME=1. Nothing here answers the approval: the run is left waiting and stopped with the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PY="$REPO/.venv/bin/python"
AIRFLOW="$REPO/.venv/bin/airflow"
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
OUT_DIR=${OUT_DIR:-$REPO/docs/images}
DAG_ID=example_feishu_plan_approve_apply
[ -n "$CHROMIUM" ] || { echo "Chromium not found (Debian: apt-get install -y chromium)" >&2; exit 1; }

WORK=$(mktemp -d -t feishu-screenshot-XXXXXX)
pids=()
set -m  # every background process in its own group: cleanup stops each group with what it started

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  if [ "${KEEP_HOME:-0}" = 1 ] || [ "$status" -ne 0 ]; then
    echo "files kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAILED: $1" >&2
  for log in "$WORK"/*.log; do
    echo "---- last 20 lines of $log" >&2
    tail -n 20 "$log" >&2
  done
  exit 1
}

# wait_for SECONDS DESCRIPTION COMMAND...: run COMMAND every second until it succeeds.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq 1 "$seconds"); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 1
  done
  fail "$what did not happen within $seconds s"
}

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export AIRFLOW_HOME="$WORK/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$WORK/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__PARALLELISM=2
export AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$PORT/execution/"
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT=$PORT
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$PORT"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5
export AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC=2
mkdir -p "$AIRFLOW_HOME" "$AIRFLOW__CORE__DAGS_FOLDER/data" "$OUT_DIR"
cp "$REPO/example_dags/$DAG_ID.py" "$AIRFLOW__CORE__DAGS_FOLDER/"
cp "$REPO/example_dags/data/offboarding_corrections_plan.csv" "$AIRFLOW__CORE__DAGS_FOLDER/data/"

echo "== airflow db migrate ($AIRFLOW_HOME)"
"$AIRFLOW" db migrate >"$WORK/migrate.log" 2>&1 || fail "airflow db migrate"

echo "== the Feishu emulator"
"$PY" -m airflow_provider_feishu_corehr.testing --print-json-line --port 0 >"$WORK/emulator.log" 2>&1 &
pids+=($!)
wait_for 15 "the emulator's start" grep -q '^{' "$WORK/emulator.log"
AIRFLOW_CONN_FEISHU_DEFAULT=$("$PY" -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["conn_json"])' \
  "$WORK/emulator.log")
export AIRFLOW_CONN_FEISHU_DEFAULT

echo "== api-server on port $PORT, scheduler, dag-processor, triggerer"
"$AIRFLOW" api-server --port "$PORT" --host 127.0.0.1 --workers 1 >"$WORK/api-server.log" 2>&1 &
pids+=($!)
"$AIRFLOW" scheduler >"$WORK/scheduler.log" 2>&1 &
pids+=($!)
"$AIRFLOW" dag-processor >"$WORK/dag-processor.log" 2>&1 &
pids+=($!)
"$AIRFLOW" triggerer >"$WORK/triggerer.log" 2>&1 &
pids+=($!)
wait_for 120 "the api-server's start" "$PY" -c \
  "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "http://127.0.0.1:$PORT/api/v2/monitor/health"

db() {  # db SQL: one value from the metadata database (SQLite), empty when none
  "$PY" -c 'import sqlite3, sys; r = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' \
    "$AIRFLOW_HOME/airflow.db" "$1"
}
dag_parsed() { [ -n "$(db "select dag_id from dag where dag_id = '$DAG_ID'")" ]; }
wait_for 120 "parsing $DAG_ID" dag_parsed

echo "== trigger $DAG_ID and wait for the approval step"
"$AIRFLOW" dags unpause "$DAG_ID" >"$WORK/cli.log" 2>&1 || fail "unpause"
"$AIRFLOW" dags trigger "$DAG_ID" >>"$WORK/cli.log" 2>&1 || fail "trigger"
waiting() {
  local state
  state=$(db "select state from task_instance where dag_id = '$DAG_ID' and task_id = 'approve_plan'")
  case "$state" in
    awaiting_input | deferred) return 0 ;;
    failed | upstream_failed | skipped) fail "approve_plan is $state" ;;
    *) return 1 ;;
  esac
}
wait_for 300 "approve_plan waiting for input" waiting
RUN_ID=$(db "select run_id from task_instance where dag_id = '$DAG_ID' and task_id = 'approve_plan'")
echo "   run $RUN_ID waits for approval"

shoot() {  # shoot FILE URL: a headless Chromium screenshot of URL once its scripts have run
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
    --disable-component-update --disable-sync --hide-scrollbars --window-size=1440,1600 \
    --virtual-time-budget=20000 --screenshot="$1" "$2" >>"$WORK/chromium.log" 2>&1 || fail "chromium $2"
  echo "   $1"
}
run_path=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$RUN_ID")
echo "== screenshots"
shoot "$OUT_DIR/required_actions.png" "http://127.0.0.1:$PORT/required_actions"
shoot "$OUT_DIR/required_action_plan.png" \
  "http://127.0.0.1:$PORT/dags/$DAG_ID/runs/$run_path/tasks/approve_plan/required_actions"
