"""Plans (``plan_only=True``) and their apply step (``plan=``) against the emulator: nothing written by a plan,
exactly the plan written by apply, moved records caught, retries safe, dropped writes found by ``verify``."""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator, RevokeOffboardingOperator

if TYPE_CHECKING:
    from plan_helpers import Batch

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

CORRECTION = {"offboarding_date": "2027-07-31", "handover_note__c": "Handover to the data team"}


def _plan(records: Any, context: dict[str, Any]) -> dict[str, Any]:
    value = EditOffboardingOperator(task_id="plan", offboardings=records, plan_only=True).execute(context)
    return json.loads(json.dumps(value))  # what XCom hands to the next task


def _apply(plan: Any, context: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return EditOffboardingOperator(task_id="apply", plan=plan, **kwargs).execute(context)  # type: ignore[no-any-return]


def test_a_plan_writes_nothing_and_says_what_apply_will_write(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    records = batch.records(CORRECTION, count=3) + batch.records({"severance_months__c": 2})[3:]
    plan = _plan(records, context)
    assert feishu.request_count("edit") == 0
    assert feishu.request_count("search") == 1
    assert plan["plan"] == "edit" and plan["version"] == 1 and plan["total"] == 5
    assert plan["counts"] == {"edit": 3, "none": 2, "refused": 0}
    assert plan["fields"] == {"changed": 6, "unchanged": 2, "unknown": 0}
    first = plan["records"][0]
    assert first["status"] == "Approved" and first["employment_id"] == batch.employments[0]
    assert first["changes"] == [
        {
            "field_name": "offboarding_date",
            "before": "2027-06-30",
            "after": "2027-07-31",
            "change": "changed",
            "reason": None,
        },
        {
            "field_name": "handover_note__c",
            "before": "Handover to the platform team",
            "after": "Handover to the data team",
            "change": "changed",
            "reason": None,
        },
    ]

    applied = _apply(plan, context)
    assert feishu.request_count("edit") == 3
    assert [r["outcome"] for r in applied["records"]] == ["edited"] * 3 + ["unchanged"] * 2
    for oid in batch.ids[:3]:
        assert batch.value(oid, "offboarding_date") == "2027-07-31"
        assert batch.value(oid, "handover_note__c") == "Handover to the data team"


def test_a_field_changed_between_plan_and_apply_is_caught(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    plan = _plan(batch.records(CORRECTION), context)
    feishu.update_offboarding(batch.ids[1], handover_note__c="Changed by someone in the console")
    feishu.update_offboarding(batch.ids[2], offboarding_date="2027-07-31")  # someone made the same correction
    feishu.reset_counters()

    with pytest.raises(AirflowFailException, match=r"record 1: offboarding \d+: 'handover_note__c' changed since"):
        _apply(plan, context)
    value = context["ti"].pushed["return_value"]
    outcomes = [r["outcome"] for r in value["records"]]
    assert outcomes == ["edited", "conflict", "edited", "edited", "edited"]
    conflict = value["records"][1]
    assert conflict["conflict"] == [
        {
            "field_name": "handover_note__c",
            "planned": "Handover to the platform team",
            "current": "Changed by someone in the console",
        }
    ]
    assert conflict["error"]["kind"] == "invalid_input"
    assert batch.value(batch.ids[1], "handover_note__c") == "Changed by someone in the console"  # not overwritten
    assert batch.value(batch.ids[1], "offboarding_date") == "2027-06-30"  # nothing of that record was written
    # the record that already held one planned value gets only the other field
    assert value["records"][2]["field_names"] == ["handover_note__c"]
    assert feishu.request_count("edit") == 4


def test_a_retried_apply_writes_nothing_again(feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]) -> None:
    plan = _plan(batch.records(CORRECTION), context)
    _apply(plan, context)
    feishu.reset_counters()
    again = _apply(plan, context)  # Airflow retried the task, or someone cleared it
    assert [r["outcome"] for r in again["records"]] == ["unchanged"] * 5
    assert feishu.request_count("edit") == 0


def test_a_status_change_is_a_conflict(feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]) -> None:
    plan = _plan(batch.records(CORRECTION, count=2), context)
    feishu.set_status(batch.ids[0], "Offboarded")
    with pytest.raises(AirflowFailException):
        _apply(plan, context)
    record = context["ti"].pushed["return_value"]["records"][0]
    assert record["outcome"] == "conflict"
    assert record["conflict"] == [{"field_name": "status", "planned": "Approved", "current": "Offboarded"}]


def test_verify_detects_a_write_the_emulator_dropped(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    plan = _plan(batch.records(CORRECTION, count=3), context)
    feishu.inject_fault("edit", "drop_write")  # the next edit is acknowledged, then lost
    with pytest.raises(AirflowException, match=r"1 record\(s\) read back with other values than written"):
        _apply(plan, context, verify=True)
    value = context["ti"].pushed["return_value"]
    assert [r["outcome"] for r in value["records"]] == ["edited", "edited", "edited"]  # Feishu said success
    assert value["verification"] == {"verified": 2, "mismatch": 1, "unknown": 0}
    dropped = next(r for r in value["records"] if r["verification"] == "mismatch")
    assert {(v["field_name"], v["verify"]) for v in dropped["verify"]} == {
        ("offboarding_date", "mismatch"),
        ("handover_note__c", "mismatch"),
    }
    assert (
        dropped["verify"][0]["read_back"] == batch.value(dropped["offboarding_id"], "offboarding_date") == "2027-06-30"
    )
    # a re-run of the same apply writes just the lost record
    feishu.reset_counters()
    again = _apply(plan, context, verify=True)
    assert feishu.request_count("edit") == 1
    assert again["verification"] == {"verified": 1, "mismatch": 0, "unknown": 0}


def test_a_refused_record_fails_the_plan_after_pushing_it(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    records = batch.records(CORRECTION, count=2)
    operator = EditOffboardingOperator(task_id="plan", offboardings="{{ ti.xcom_pull('parse') }}", plan_only=True)
    records[1]["update_data"] = {"status": "Withdrawn"}  # not editable
    operator.offboardings = records  # as rendered from the upstream XCom
    with pytest.raises(AirflowFailException, match="not editable"):
        operator.execute(context)
    plan = context["ti"].pushed["return_value"]
    assert plan["counts"] == {"edit": 1, "none": 0, "refused": 1}
    assert plan["records"][1]["error"]["kind"] == "invalid_input"
    assert feishu.request_count("edit") == 0


@pytest.mark.parametrize(
    ("plan", "rule"),
    [
        ({"plan": "revoke", "version": 1, "records": []}, "is a revoke plan; this operator applies edit plans"),
        ({"records": []}, "plan_only=True"),
        ({"plan": "edit", "version": 2, "records": []}, "version 2 is not supported"),
        ({"plan": "edit", "version": 1, "records": [{"index": 3}]}, "indexes 0, 1, 2"),
        ("[1, 2", "not JSON"),
    ],
)
def test_a_bad_plan_is_refused_before_any_request(feishu: FeishuEmulator, plan: Any, rule: str) -> None:
    from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError

    with pytest.raises(FeishuInvalidInputError, match=rule):
        EditOffboardingOperator(task_id="apply", plan=plan)
    assert feishu.requests == []


def test_plan_and_records_are_exclusive() -> None:
    from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError

    with pytest.raises(FeishuInvalidInputError, match="either plan or the records"):
        EditOffboardingOperator(task_id="a", plan={"kind": "edit", "records": []}, offboardings=[])
    # a template may render to a hashed plan (privacy mode), which takes its records again: checked at execute
    EditOffboardingOperator(task_id="b", plan="{{ ti.xcom_pull('plan') }}", offboardings=[])
    with pytest.raises(FeishuInvalidInputError, match="plan_only makes a plan"):
        RevokeOffboardingOperator(task_id="a", plan="{{ ti.xcom_pull('plan') }}", plan_only=True)


def _kill_once_running(operator: EditOffboardingOperator) -> None:
    """``on_kill`` as soon as the task built its hook (the read is about to start); bounded wait."""
    for _ in range(1000):
        if "hook" in operator.__dict__:
            break
        time.sleep(0.01)
    operator.on_kill()


def test_an_interrupted_read_writes_nothing(feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]) -> None:
    feishu.inject_fault("token", "delay", seconds=1.0)  # the read is still waiting for its token when killed
    operator = EditOffboardingOperator(task_id="sync", offboardings=batch.records(CORRECTION), only_changed=True)
    killer = threading.Thread(target=_kill_once_running, args=(operator,))
    killer.start()
    try:
        with pytest.raises(AirflowException, match=r"interrupted \(on_kill\), nothing was written"):
            operator.execute(context)
    finally:
        killer.join(15)
    assert feishu.request_count("search") == 0
    assert feishu.request_count("edit") == 0
    assert batch.value(batch.ids[0], "handover_note__c") != CORRECTION["handover_note__c"]
