"""One sensor over many employments (``employment_ids``, ``match``) in poke, reschedule and deferrable modes, and
the argument checks of issue 9 (statuses of the wrong type, lists) against the emulator or without network."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from airflow_lanes import AIRFLOW_V3, xcom_entries
from sensor_helpers import run_in_mode, sensor_in_mode
from status_fixtures import after_searches

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

EMP = "6982509313466189341"
DAG_FILE = Path(__file__).resolve().parent.parent / "dags" / "sensor_offboarding_status.py"


def _employments(emu: FeishuEmulator, count: int, status: str = "Approving", start: int = 0) -> list[str]:
    ids = [f"73200000000{start + i:08d}" for i in range(count)]
    for eid in ids:
        emu.add_offboarding(employment_id=eid, status=status)
    return ids


def _set_all(emu: FeishuEmulator, ids: list[str], status: str) -> None:
    wanted = set(ids)
    for item in emu.offboardings():
        if item["offboarding_info"]["employment_id"] in wanted:
            emu.set_status(item["offboarding_id"], status)


def _sensor(mode: str, **kwargs: Any) -> OffboardingStatusSensor:
    return sensor_in_mode(mode, **{"task_id": "wait_for_many", "timeout": 30, **kwargs})


_run = run_in_mode


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_a_list_costs_one_search_per_hundred_per_look_and_lists_every_record(mode: str, feishu: FeishuEmulator) -> None:
    ids = _employments(feishu, 250)
    with after_searches(feishu, 3, lambda: _set_all(feishu, ids, "Approved")):
        xcom = _run(mode, _sensor(mode, employment_ids=ids))
    assert [r["employment_id"] for r in xcom] == ids
    assert {r["status"] for r in xcom} == {"Approved"}
    assert feishu.request_count("search") % 3 == 0  # ceil(250 / 100) per look, never a search per employment
    assert feishu.request_count("search") >= 6


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_all_fails_as_soon_as_one_record_has_a_failure_status(mode: str, feishu: FeishuEmulator) -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException

    ids = _employments(feishu, 3, status="Approved")
    rejected = _employments(feishu, 1, status="Rejected", start=10)
    with pytest.raises(AirflowFailException, match=f"Failure status Rejected reached: .*employment {rejected[0]}"):
        _run(mode, _sensor(mode, employment_ids=[*ids, *rejected]))
    assert feishu.request_count("search") == 1


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_any_succeeds_on_one_and_fails_only_when_every_record_failed(mode: str, feishu: FeishuEmulator) -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException

    rejected = _employments(feishu, 2, status="Rejected")
    approved = _employments(feishu, 1, status="Approved", start=10)
    missing = ["7320000000099999999"]
    xcom = _run(mode, _sensor(mode, employment_ids=[*rejected, *approved, *missing], match="any"))
    assert [r["status"] for r in xcom] == ["Rejected", "Rejected", "Approved", None]
    assert xcom[3] == {
        "employment_id": missing[0],
        "offboarding_id": None,
        "status": None,
        "offboarding_date": None,
        "expected_offboarding_date": None,
        "checklist_status": None,
    }
    with pytest.raises(AirflowFailException, match="2 of 2 employments have a failure status"):
        _run(mode, _sensor(mode, employment_ids=rejected, match="any"))


@pytest.mark.parametrize("mode", ["deferrable", "reschedule"])
def test_sensor_over_fifty_employments_in_dag_test(
    mode: str, feishu: FeishuEmulator, run_dag: Any, logs: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """``dag.test()``: deferrable (the trigger runs inline) or rescheduled, every look is one search for all 50."""
    ids = _employments(feishu, 50)
    with after_searches(feishu, 3, lambda: _set_all(feishu, ids, "Approved")):
        dag_run = run_dag(DAG_FILE, f"feishu_sensor_many_{mode}", run_conf={"employment_ids": ids})
    from airflow.utils.session import create_session

    with create_session() as session:
        (ti,) = dag_run.get_task_instances(session=session)
        assert str(ti.state) == "success"
        task_id = ti.task_id
    ((_, _, _, xcom),) = xcom_entries(dag_run, task_ids=task_id)
    out = logs()
    # One "still waiting" per look but the last. Counted once each: as log records where stdlib logging carries
    # them (Airflow 2.11; its console handlers may print each line again, once per handler an earlier test left),
    # else as the console lines structlog writes (Airflow 3.3, no stdlib record).
    waiting = "Still waiting for the most recent offboardings of 50 employments"
    records = [r for r in caplog.records if waiting in r.getMessage()]
    looks = (len(records) if records else len(re.findall(waiting, out))) + 1
    if mode == "deferrable" and AIRFLOW_V3:  # Airflow 2's dag.test runs the trigger without a log line
        assert "running trigger in line" in out
    assert feishu.request_count("search") == looks  # at most one search per look
    assert looks >= 4
    assert [r["employment_id"] for r in xcom] == ids
    assert {r["status"] for r in xcom} == {"Approved"}


# --- arguments (no network) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"target_statuses": None}, "target_statuses", "must be a status name or a list of status names; got NoneType"),
        ({"target_statuses": 5}, "target_statuses", "got int 5"),
        ({"target_statuses": {"Approved": 1}}, "target_statuses", "got dict"),
        ({"target_statuses": ["Approved", 5]}, "target_statuses", "got list"),
        ({"failure_statuses": 5}, "failure_statuses", "must be a status name or a list of status names; got int 5"),
        ({"failure_statuses": 1.5}, "failure_statuses", "got float"),
        ({"employment_id": None, "employment_ids": "123"}, "employment_ids", "must be a list of employment ids"),
        ({"employment_id": None, "employment_ids": []}, "employment_ids", "at least one employment"),
        ({"employment_id": None, "employment_ids": ["1", " "]}, "employment_ids[1]", "must not be empty"),
        ({"employment_id": None, "employment_ids": ["1", "2", "1"]}, "employment_ids[2]", "repeats '1'"),
        ({"employment_ids": ["1"]}, "employment_ids", "only one of employment_id and employment_ids"),
        ({"employment_id": None, "employment_ids": ["1"], "offboarding_id": "7"}, "offboarding_id", "only be given"),
        ({"match": "some"}, "match", "must be one of 'all', 'any'"),
        ({"match": None}, "match", "must be one of"),
    ],
)
def test_bad_arguments_are_typed_errors_naming_the_field(kwargs: dict[str, Any], field: str, rule: str) -> None:
    args: dict[str, Any] = {"task_id": "wait", "employment_id": EMP, "target_statuses": ["Approved"], **kwargs}
    with pytest.raises(FeishuInvalidInputError) as err:
        OffboardingStatusSensor(**args)
    assert field in str(err.value)
    assert rule in str(err.value)


def test_templated_list_is_checked_when_rendered() -> None:
    from datetime import datetime

    from airflow.providers.common.compat.sdk import DAG, AirflowFailException

    with DAG("many_render", schedule=None, start_date=datetime(2026, 1, 1), render_template_as_native_obj=True):
        sensor = OffboardingStatusSensor(
            task_id="wait", employment_ids="{{ params.ids }}", target_statuses="{{ params.targets }}"
        )
    env = sensor.get_template_env()
    sensor.render_template_fields({"params": {"ids": [1, 2], "targets": "Approved"}}, env)  # type: ignore[arg-type]
    assert sensor._watch().employment_ids == ("1", "2")  # native rendering's ints taken as their text
    sensor.employment_ids, sensor.target_statuses = "{{ params.ids }}", "{{ params.targets }}"
    with pytest.raises(AirflowFailException, match="wait: target_statuses must be a status name or a list"):
        sensor.render_template_fields({"params": {"ids": [1], "targets": None}}, env)  # type: ignore[arg-type]
