#!/usr/bin/env bash
# The event-driven part of `make demo` (called at the end of scripts/demo.sh; runs alone too, after
# scripts/bootstrap.sh): example_dags/example_feishu_on_offboarded.py in a real Airflow 3 (api-server,
# dag-processor, scheduler, two triggerers) against the emulator. A status change made through the emulator's
# control API produces exactly one DAG run with the record in its asset event, also across a hand-over between
# the triggerers and a restart, and bursts of 1-500 records in one poll each handled entirely by the runs. Takes
# 4-6 minutes; every component is stopped on exit, Ctrl-C included.
# Details: docs/events.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python scripts/e2e_asset_watcher.py
