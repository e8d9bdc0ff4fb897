"""Interrupt a real task process in the middle of an edit batch and compare its report with the emulator.

One run: the emulator (in this process) holds ``records`` offboardings and slows some edits down (fault kind
``delay``: some shorter and some longer than the operator's in-flight grace); ``airflow dags test`` runs a DAG
with one ``EditOffboardingOperator`` batch over all of them in a subprocess (the task runner in that process,
the same code path as a worker's task process minus the supervisor's fork); once the emulator has seen a random
number of edits, the subprocess gets SIGTERM or SIGINT. After it exited and every delayed request has settled,
the run compares:

* applied: records whose field holds this run's value on the emulator (its data, not the client's view);
* the XCom ``return_value`` the task pushed (read from the metadata database): ``edited``, ``unknown``,
  ``not_sent``;
* unrecorded writes: applied records the report calls neither ``edited`` nor ``unknown`` (must be 0), and
  records reported ``edited`` that are not applied (must be 0);
* requests that arrived at the emulator more than 0.2 s after the signal (no request may start after it).

Used by ``benchmarks/interruption.py`` (>= 10 random points) and ``tests/operators/test_interruption_process.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.testing import FeishuEmulator

if TYPE_CHECKING:
    import signal
    from pathlib import Path

DAG_ID = "feishu_interruption_batch"
DAG_FILE_NAME = "feishu_interruption_batch.py"
DAG_FILE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False):
    EditOffboardingOperator(
        task_id="edit",
        offboarding_id="{{ dag_run.conf['ids'] | tojson }}",
        update_data={"handover_note__c": "{{ dag_run.conf['note'] }}"},
        max_workers=4,
    )
""".replace("DAG_ID", DAG_ID)


@dataclass
class Figures:
    signal: str
    after_edits: int
    records: int
    exit_code: int | None
    seconds_to_exit: float
    seconds_to_report: float | None
    applied: int
    edited: int
    unknown: int
    not_sent: int
    failed: int
    unrecorded: int
    edited_not_applied: int
    late_requests: int
    xcom_found: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def prepare_home(home: Path, *, migrate: bool) -> dict[str, str]:
    """Write the DAG into ``home/dags`` (and migrate the database when asked); return the subprocess env."""
    (home / "dags").mkdir(parents=True, exist_ok=True)
    (home / "dags" / DAG_FILE_NAME).write_text(DAG_FILE)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }
    if migrate:
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True, timeout=300
        )
    return env


def _xcom(home: Path, run_id: str) -> tuple[dict[str, Any], float] | None:
    """The pushed report and when it was stored (epoch seconds)."""
    with sqlite3.connect(home / "airflow.db") as db:
        row = db.execute(
            "SELECT value, timestamp FROM xcom "
            "WHERE dag_id = ? AND run_id = ? AND task_id = 'edit' AND key = 'return_value'",
            (DAG_ID, run_id),
        ).fetchone()
    if row is None:
        return None
    value = json.loads(row[0])
    stored = dt.datetime.fromisoformat(str(row[1])).replace(tzinfo=dt.UTC).timestamp()
    return (value if isinstance(value, dict) else json.loads(value)), stored


def run_once(
    home: Path, env: dict[str, str], *, sig: signal.Signals, seed: int, records: int = 400, long_delay: float = 6.0
) -> Figures:
    """One interrupted batch; see the module docstring.

    :param home: ``AIRFLOW_HOME`` prepared by :func:`prepare_home`.
    :param env: the environment :func:`prepare_home` returned.
    :param sig: ``SIGTERM`` or ``SIGINT``.
    :param seed: seed of the random interruption point and of the emulator's delays.
    :param records: batch size.
    :param long_delay: seconds the emulator holds 1 % of the edits (longer than the operator's 3 s grace: those
        end as ``unknown`` and are applied after the report); the run waits that long plus 1 s after the signal.
    """
    rng = random.Random(seed)
    after = rng.randint(records // 20, records - records // 10)
    note = f"interruption run {seed}"
    with FeishuEmulator(rate_limits="off", random_seed=seed) as emu:
        ids = [emu.add_offboarding(employment_id=f"69{seed % 100:02d}{i:015d}") for i in range(records)]
        emu.inject_fault("edit", "delay", ratio=0.04, seconds=0.8)
        emu.inject_fault("edit", "delay", ratio=0.01, seconds=long_delay)
        conn = json.loads(emu.airflow_conn_json())
        conn["extra"] = {"rate_limits": {"edit": 60}}
        run_env = {**env, "AIRFLOW_CONN_FEISHU_DEFAULT": json.dumps(conn)}
        logical_date = f"2026-01-01T00:{seed // 60 % 60:02d}:{seed % 60:02d}+00:00"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airflow",
                "dags",
                "test",
                DAG_ID,
                logical_date,
                "-c",
                json.dumps({"ids": ids, "note": note}),
            ],
            env=run_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # As Airflow's supervisor does for a task process: SIGINT at its default (a shell's background job
            # would otherwise pass on "ignored", and an ignored signal stays ignored).
            preexec_fn=_default_sigint,
        )
        deadline = time.monotonic() + 180
        while emu.request_count("edit") < after and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        sent_at, sent_wall = time.monotonic(), time.time()
        process.send_signal(sig)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        exited = time.monotonic() - sent_at
        time.sleep(max(0.0, long_delay + 1.0 - (time.monotonic() - sent_at)))
        applied = {i for i in ids if emu.record(i).get("handover_note__c") == note}
        late = sum(1 for r in emu.requests if r.at > sent_at + 0.2)
    run_id = _run_id(home, logical_date)
    pushed = _xcom(home, run_id) if run_id else None
    report = pushed[0] if pushed else None
    by_outcome: dict[str, set[str]] = {}
    for record in (report or {}).get("records", []):
        by_outcome.setdefault(record["outcome"], set()).add(record["offboarding_id"])
    edited, unknown = by_outcome.get("edited", set()), by_outcome.get("unknown", set())
    return Figures(
        signal=sig.name,
        after_edits=after,
        records=records,
        exit_code=process.returncode,
        seconds_to_exit=round(exited, 2),
        seconds_to_report=round(pushed[1] - sent_wall, 2) if pushed else None,
        applied=len(applied),
        edited=len(edited),
        unknown=len(unknown),
        not_sent=len(by_outcome.get("not_sent", set())),
        failed=len(by_outcome.get("failed", set())),
        unrecorded=len(applied - edited - unknown),
        edited_not_applied=len(edited - applied),
        late_requests=late,
        xcom_found=report is not None,
    )


def _default_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run_id(home: Path, logical_date: str) -> str | None:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT run_id, logical_date FROM dag_run WHERE dag_id = ? ORDER BY id DESC", (DAG_ID,)
        ).fetchall()
    wanted = logical_date.replace("T", " ").split("+")[0]
    for run_id, date in rows:
        if str(date).startswith(wanted):
            return str(run_id)
    return None
