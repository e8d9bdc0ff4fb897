"""The sensor inside DAGs run by ``dag.test()`` on SQLite against the emulator.

Reschedule mode only exists with a task instance in the database, so all its cases run here; ``dag.test()`` runs
a deferred task's trigger inline, so deferrable mode is shown end to end here too (its timeout is shown in
``test_offboarding_sensor_emulator.py``: ``dag.test()`` does not apply deferral timeouts). Ids and statuses come
from ``run_conf`` through templated fields (native rendering: digit ids arrive as ints and are accepted).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from airflow_lanes import AIRFLOW_V3, reschedule_count, xcom_entries
from status_fixtures import NEW_EMPLOYMENT, after_searches

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

DAG_FILE = Path(__file__).resolve().parent.parent / "dags" / "sensor_offboarding_status.py"
SENSOR, NEXT = "wait_for_offboarding", "received"


def _states(dag_run: Any) -> dict[str, str]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances(session=session)}


def _xcom(dag_run: Any, task_id: str) -> Any:
    rows = xcom_entries(dag_run, task_ids=task_id)
    assert len(rows) == 1, f"expected one return_value of {task_id}, got {len(rows)}"
    return rows[0][3]


def _reschedules(dag_run: Any) -> int:
    """How many times the sensor's task instance was rescheduled (rows Airflow wrote for it)."""
    from airflow.utils.session import create_session

    with create_session() as session:
        (ti,) = [ti for ti in dag_run.get_task_instances(session=session) if ti.task_id == SENSOR]
        return reschedule_count(ti, session)


def _run(run_dag: Any, mode: str, variant: str, **conf: Any) -> Any:
    return run_dag(DAG_FILE, f"feishu_sensor_{mode}_{variant}", run_conf=conf)


def _expected(emu: FeishuEmulator, offboarding_id: str) -> dict[str, Any]:
    item = emu.get_offboarding(offboarding_id)
    info = item["offboarding_info"]
    return {
        "offboarding_id": offboarding_id,
        "employment_id": info["employment_id"],
        "status": item["status"],
        "offboarding_date": info.get("offboarding_date") or None,
        "expected_offboarding_date": info.get("expected_offboarding_date") or None,
        "checklist_status": (item.get("offboarding_checklist") or {}).get("checklist_status"),
    }


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_target_status_reached_through_the_control_api(
    mode: str, feishu: FeishuEmulator, run_dag: Any, logs: Any
) -> None:
    offboarding_id = feishu.add_offboarding(
        employment_id=NEW_EMPLOYMENT, status="Approving", expected_offboarding_date="2026-12-31"
    )
    with after_searches(feishu, 2, lambda: feishu.set_status(offboarding_id, "Approved")) as changed:
        dag_run = _run(run_dag, mode, "wait", employment_id=NEW_EMPLOYMENT, offboarding_id=offboarding_id)
    assert changed.is_set()
    assert _states(dag_run) == {SENSOR: "success", NEXT: "success"}
    assert _xcom(dag_run, SENSOR) == _expected(feishu, offboarding_id)
    assert _xcom(dag_run, NEXT) == _xcom(dag_run, SENSOR)
    assert feishu.request_count("search") >= 3
    assert feishu.request_count("revoke") == feishu.request_count("edit") == 0
    out = logs()
    if mode == "reschedule":
        assert _reschedules(dag_run) >= 2  # each look before the change ended the run and was rescheduled
    else:
        assert _reschedules(dag_run) == 0
    if mode == "deferrable":
        assert "Deferring: waiting for" in out
        if AIRFLOW_V3:  # Airflow 2's dag.test runs the trigger without a log line
            assert "running trigger in line" in out  # dag.test ran the trigger; the sensor itself never poked
    assert "Target status Approved reached" in out


@pytest.mark.parametrize(
    ("mode", "variant", "state"),
    [("reschedule", "wait", "failed"), ("reschedule", "soft", "skipped"), ("deferrable", "soft", "skipped")],
)
def test_failure_status(mode: str, variant: str, state: str, feishu: FeishuEmulator, run_dag: Any, logs: Any) -> None:
    offboarding_id = feishu.add_offboarding(employment_id=NEW_EMPLOYMENT, status="Approving")
    with after_searches(feishu, 2, lambda: feishu.set_status(offboarding_id, "Withdrawn")):
        dag_run = _run(run_dag, mode, variant, employment_id=NEW_EMPLOYMENT, targets=["Offboarded", "Approved"])
    assert _states(dag_run)[SENSOR] == state
    assert _states(dag_run)[NEXT] == ("upstream_failed" if state == "failed" else "skipped")
    if state == "failed":  # a soft-fail skip logs only Airflow's "Skipping due to soft_fail"
        assert "Failure status Withdrawn reached" in logs()


@pytest.mark.parametrize(("variant", "state"), [("short", "failed"), ("soft_short", "skipped")])
def test_reschedule_timeout(variant: str, state: str, feishu: FeishuEmulator, run_dag: Any, logs: Any) -> None:
    dag_run = _run(run_dag, "reschedule", variant, employment_id="6982509313466189342")  # stays Approving
    assert _states(dag_run)[SENSOR] == state
    assert feishu.request_count("search") >= 2  # looked more than once: rescheduled, then timed out
    assert _reschedules(dag_run) >= 1
    assert "Sensor has timed out" in logs()


@pytest.mark.parametrize("mode", ["reschedule", "deferrable"])
def test_record_appearing_later_with_transient_faults_in_between(
    mode: str, feishu: FeishuEmulator, one_attempt_conn: str, run_dag: Any
) -> None:
    added: list[str] = []
    feishu.inject_fault("search", "http_503", count=2)

    def add() -> None:
        added.append(feishu.add_offboarding(employment_id=NEW_EMPLOYMENT, status="NoNeedApproval"))

    with after_searches(feishu, 3, add):
        dag_run = _run(
            run_dag, mode, "wait", employment_id=NEW_EMPLOYMENT, targets="NoNeedApproval", conn_id=one_attempt_conn
        )
    assert _states(dag_run) == {SENSOR: "success", NEXT: "success"}
    assert _xcom(dag_run, SENSOR) == _expected(feishu, added[0])
    assert feishu.request_count("search", http_status=503) == 2
    assert feishu.request_count("search") >= 4  # 2 faults, >= 1 "not found yet", 1 found


def test_invalid_rendered_status_fails_before_any_request(feishu: FeishuEmulator, run_dag: Any, logs: Any) -> None:
    dag_run = _run(run_dag, "reschedule", "wait", employment_id=NEW_EMPLOYMENT, targets=["Approved", "Done"])
    assert _states(dag_run)[SENSOR] == "failed"
    assert feishu.request_count() == 0
    assert "target_statuses has unknown status 'Done'" in logs()


def test_mapped_sensor_bad_value_fails_without_retry(feishu: FeishuEmulator, run_dag: Any) -> None:
    """``.partial().expand()``: each employment waited for in its own task; a bad id fails its task only, once."""
    from airflow.utils.session import create_session

    good = ["6982509313466189341", "6982509313466189343", "6982509313466189346"]  # Approved, Offboarded, NoNeedApproval
    dag_run = run_dag(DAG_FILE, "feishu_sensor_mapped", run_conf={"employment_ids": [*good, "  "]})
    with create_session() as session:
        tis = {ti.map_index: ti for ti in dag_run.get_task_instances(session=session) if ti.task_id == "wait_each"}
        states = {index: (str(ti.state), ti.try_number) for index, ti in tis.items()}
    assert states == {0: ("success", 1), 1: ("success", 1), 2: ("success", 1), 3: ("failed", 1)}
    assert feishu.request_count("search") == 3
