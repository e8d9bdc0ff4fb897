"""A real task process interrupted mid-batch: ``airflow dags test`` in a subprocess gets SIGTERM or SIGINT.

The harness (``benchmarks/_interruption_harness.py``, also behind ``benchmarks/interruption.py``) compares the
emulator's data with the XCom report the task pushed: no applied write is missing from the report (each is
``edited`` or ``unknown``), nothing reported ``edited`` is missing on the server, no request reached the
emulator after the signal, and the report was stored before the supervisor's SIGKILL would come (5 s). The
report, read from the metadata database, follows ``docs/xcom.schema.json``.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
from pathlib import Path

import pytest
from airflow import __version__ as airflow_version
from packaging.version import Version

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from _interruption_harness import DAG_FILE_NAME, DAG_ID, prepare_home, run_once
from xcom_schema import check_xcom


def _stored_reports(home: Path) -> list[object]:
    """Every ``return_value`` XCom of the harness's DAG in the metadata database, decoded as the harness does."""
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute("SELECT value FROM xcom WHERE dag_id = ? AND key = 'return_value'", (DAG_ID,)).fetchall()
    values = [json.loads(row[0]) for row in rows]
    return [json.loads(v) if isinstance(v, str) else v for v in values]


@pytest.mark.skipif(Version(airflow_version) < Version("3"), reason="reads the Airflow 3 metadata schema")
@pytest.mark.parametrize(("sig", "seed"), [(signal.SIGTERM, 7), (signal.SIGINT, 8)])
def test_interrupted_task_process_reports_every_write(airflow_db: Path, sig: signal.Signals, seed: int) -> None:
    env = prepare_home(airflow_db, migrate=False)
    try:
        figures = run_once(airflow_db, env, sig=sig, seed=seed, records=120, long_delay=4.0)
    finally:
        (airflow_db / "dags" / DAG_FILE_NAME).unlink(missing_ok=True)
    assert figures.xcom_found, figures
    reports = _stored_reports(airflow_db)
    assert reports
    for report in reports:  # the report the task process pushed when it was stopped
        check_xcom(report)
        assert isinstance(report, dict) and report["operation"] == "edit" and report["mode"] == "direct"
    assert figures.unrecorded == 0, figures
    assert figures.edited_not_applied == 0, figures
    assert figures.late_requests == 0, figures
    assert figures.not_sent > 0, figures  # stopped mid-batch: the rest was never sent
    assert figures.edited + figures.unknown + figures.not_sent + figures.failed == figures.records, figures
    assert figures.edited <= figures.applied <= figures.edited + figures.unknown, figures
    assert figures.exit_code != 0, figures  # an interrupted task fails (Airflow may retry it)
    assert figures.seconds_to_report is not None and figures.seconds_to_report < 5, figures
