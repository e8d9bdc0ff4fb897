"""``EditOffboardingOperator(only_changed=True)`` against the emulator: what is sent, the audit in XCom, logs."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator

if TYPE_CHECKING:
    import pytest
    from plan_helpers import Batch

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

CORRECTION = {
    "offboarding_date": "2027-07-31",
    "handover_note__c": "Handover to the data team",
    "reason": "reason_personal",
}


def _edit(records: list[dict[str, Any]], context: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    operator = EditOffboardingOperator(task_id="edit", offboardings=records, only_changed=True, **kwargs)
    return operator.execute(context)  # type: ignore[no-any-return]


def _sent_fields(emu: FeishuEmulator) -> int:
    return sum(1 for r in emu.requests if r.endpoint == "edit")


def test_same_corrections_twice_write_nothing_the_second_time(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    records = batch.records(CORRECTION)
    first = _edit(records, context)
    assert first["counts"]["edited"] == 5
    assert _sent_fields(feishu) == 5
    assert feishu.request_count("search") == 1  # five employments, one search
    for record in first["records"]:
        assert record["field_names"] == ["offboarding_date", "handover_note__c"]  # reason already held its value
    feishu.reset_counters()

    second = _edit(records, context)
    assert feishu.request_count("edit") == 0
    assert feishu.request_count("search") == 1
    assert second["counts"] == {"edited": 0, "failed": 0, "unknown": 0, "not_sent": 0, "unchanged": 5, "conflict": 0}
    assert {r["outcome"] for r in second["records"]} == {"unchanged"}
    assert all(r["log_id"] is None and r["field_names"] == [] for r in second["records"])
    assert {c["change"] for r in second["records"] for c in r["changes"]} == {"unchanged"}


def test_audit_matches_the_emulator_before_and_after_for_every_field(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    corrections = [
        {"offboarding_date": "2027-08-15", "severance_months__c": 3, "exit_tags__c": ["tag_alumni"]},
        {"retain_account": True, "exit_channel__c": "channel_self", "reason": "reason_family"},
        {"handover_note__c": "Handover to the platform team", "exit_interview_done__c": False},
        {"reason_explanation": "Family reasons.", "exit_interview_time__c": "2026-06-02 09:30:00"},
        {"offboarding_date": "2027-06-30", "severance_months__c": 2},  # nothing differs
    ]
    records = [{**r, "update_data": c} for r, c in zip(batch.records({}), corrections, strict=True)]
    before = {oid: feishu.record(oid) for oid in batch.ids}
    value = _edit(records, context, verify=True)
    after = {oid: feishu.record(oid) for oid in batch.ids}

    from airflow_provider_feishu_corehr.client.current import Reading, same

    checked = 0
    for record in value["records"]:
        oid = record["offboarding_id"]
        changed = [c["field_name"] for c in record["changes"] if c["change"] == "changed"]
        assert record["outcome"] == ("edited" if changed else "unchanged")
        assert record["field_names"] == changed
        for change in record["changes"]:
            name = change["field_name"]
            kind = "multi_enum" if name == "exit_tags__c" else "number" if name == "severance_months__c" else "text"
            assert same(Reading(before[oid][name], kind), change["before"]), (oid, name)  # before = emulator before
            assert same(Reading(after[oid][name], kind), change["after"]), (oid, name)  # after = emulator after
            assert change["change"] == ("unchanged" if before[oid][name] == after[oid][name] else "changed")
            checked += 1
        if changed:
            assert record["verification"] == "verified"
            assert [v["field_name"] for v in record["verify"]] == changed
    assert checked == sum(len(c) for c in corrections)
    assert value["verification"] == {"verified": 4, "mismatch": 0, "unknown": 0}


def test_unknown_fields_are_never_reported_equal_and_are_written(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    feishu.inject_fault("search", "hide_fields", fields=["reason_explanation"])
    same_values = {
        "reason_explanation": "Moving to another city.",  # equal in fact, but hidden from this app
        "handover_contact__c": "6893014062142064136",  # equal in fact, but a person field: not comparable
        "last_attendance_date": "2027-06-29",  # not set: search leaves it out
        "severance_months__c": 2,  # equal and readable
    }
    records = batch.records(same_values, count=1)
    records.append({"offboarding_id": batch.ids[1], "update_data": {"severance_months__c": 2}})  # no employment_id
    value = _edit(records, context, write_unread=True)  # the record without employment_id is written unread
    first, second = value["records"]
    rows = {c["field_name"]: c for c in first["changes"]}
    assert {n: (r["change"], r["reason"], r["before"]) for n, r in rows.items()} == {
        "reason_explanation": ("unknown", "no_permission", None),
        "handover_contact__c": ("unknown", "not_comparable", None),
        "last_attendance_date": ("unknown", "not_returned", None),
        "severance_months__c": ("unchanged", None, "2"),
    }
    assert first["outcome"] == "edited"
    assert first["field_names"] == ["reason_explanation", "handover_contact__c", "last_attendance_date"]
    assert second["changes"] == [
        {
            "field_name": "severance_months__c",
            "before": None,
            "after": "2",
            "change": "unknown",
            "reason": "no_employment_id",
        }
    ]
    assert second["outcome"] == "edited"
    assert feishu.request_count("edit") == 2
    assert batch.value(batch.ids[0], "last_attendance_date") == "2027-06-29"


def test_values_stay_out_of_task_logs(
    feishu: FeishuEmulator,
    batch: Batch,
    context: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_note = "Confidential handover note 4711"
    _edit(batch.records({"handover_note__c": secret_note}), context, verify=True)
    assert batch.value(batch.ids[0], "handover_note__c") == secret_note
    captured = capsys.readouterr()
    text = caplog.text + captured.out + captured.err  # Airflow 3 task loggers write to stdout
    assert "Edit summary: 5 record(s)" in text  # the task's log lines were captured (per-record lines are DEBUG)
    for value in (secret_note, "Handover to the platform team", "4711"):
        assert value not in text


def test_single_record_with_employment_id(feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]) -> None:
    operator = EditOffboardingOperator(
        task_id="edit",
        offboarding_id=batch.ids[0],
        employment_id=batch.employments[0],
        update_data={"severance_months__c": 2.0},
        only_changed=True,
    )
    value = operator.execute(context)
    assert (value["mode"], value["total"], value["counts"]["unchanged"]) == ("only_changed", 1, 1)
    record = value["records"][0]
    assert (record["outcome"], record["employment_id"]) == ("unchanged", batch.employments[0])
    assert record["changes"][0]["change"] == "unchanged"
    assert feishu.request_count("edit") == 0
