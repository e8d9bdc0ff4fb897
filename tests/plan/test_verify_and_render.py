"""Verification of writes whose outcome is unknown (read back, never guessed) and the approver's rendering."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.models import FieldValue
from airflow_provider_feishu_corehr.operators._base import Job
from airflow_provider_feishu_corehr.operators._plandoc import render
from airflow_provider_feishu_corehr.operators.plan import verify_records

if TYPE_CHECKING:
    from plan_helpers import Batch

    from airflow_provider_feishu_corehr.testing import FeishuEmulator


def _hook() -> Any:
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    return FeishuHook()


def test_records_with_outcome_unknown_are_read_back(feishu: FeishuEmulator, batch: Batch) -> None:
    update = [FieldValue("handover_note__c", "Handover to the data team")]
    hook = _hook()
    hook.edit_offboarding(batch.ids[0], update)  # this write landed; its answer was lost (outcome unknown)
    feishu.inject_fault("edit", "drop_write")
    hook.edit_offboarding(batch.ids[1], update)  # this one did not land
    jobs = [
        Job(0, batch.ids[0], update=update, employment_id=batch.employments[0]),
        Job(1, batch.ids[1], update=update, employment_id=batch.employments[1]),
        Job(2, batch.ids[2], update=update),  # no employment id: cannot be read back
        Job(3, batch.ids[3], update=update, employment_id=batch.employments[3]),
    ]
    records: list[dict[str, Any]] = [
        {"offboarding_id": batch.ids[0], "outcome": "unknown"},
        {"offboarding_id": batch.ids[1], "outcome": "unknown"},
        {"offboarding_id": batch.ids[2], "outcome": "unknown"},
        {"offboarding_id": batch.ids[3], "outcome": "failed"},  # not written: not verified
    ]
    feishu.reset_counters()
    verify_records(hook, None, jobs, records)
    assert feishu.request_count("search") == 1
    assert [r["verification"] for r in records] == ["verified", "mismatch", "unknown", None]
    assert records[1]["verify"] == [
        {
            "field_name": "handover_note__c",
            "expected": "Handover to the data team",
            "read_back": "Handover to the platform team",
            "verify": "mismatch",
            "reason": None,
        }
    ]
    assert records[2]["verify"][0]["reason"] == "no_employment_id"
    assert records[3]["verify"] is None


def test_a_failed_read_back_reports_unknown(feishu: FeishuEmulator, batch: Batch) -> None:
    update = [FieldValue("handover_note__c", "x")]
    records: list[dict[str, Any]] = [{"offboarding_id": batch.ids[0], "outcome": "edited"}]
    feishu.inject_fault("search", "system_error", count=5)
    verify_records(_hook(), None, [Job(0, batch.ids[0], update=update, employment_id=batch.employments[0])], records)
    assert records[0]["verification"] == "unknown"
    assert records[0]["verify"][0]["reason"] == "read_failed"


def _edit_record(index: int, changes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"index": index, "offboarding_id": f"70{index}", "status": "Approved", "action": "edit", "changes": changes}


def test_render_lists_what_will_be_written_and_cuts_long_values() -> None:
    long_value = "x" * 80 + "|y"
    changes = [
        {"field_name": "a", "before": "1", "after": "2", "change": "changed", "reason": None},
        {"field_name": "b", "before": "1", "after": "1", "change": "unchanged", "reason": None},
        {"field_name": "c", "before": None, "after": long_value, "change": "unknown", "reason": "no_permission"},
    ]
    plan = {
        "plan": "edit",
        "total": 60,
        "counts": {"edit": 60, "none": 0, "refused": 0},
        "fields": {"changed": 60, "unchanged": 60, "unknown": 60},
        "records": [_edit_record(i, changes) for i in range(60)],
    }
    text = render(plan)
    assert "| 0 | 700 | Approved | a | 1 | 2 |" in text
    assert "| b |" not in text  # unchanged fields are not listed
    assert f"| 0 | 700 | Approved | c | (unknown: no_permission) | {'x' * 59}… |" in text
    assert text.count("\n| ") == 1 + 50  # header + at most 50 rows
    assert "… and 70 more row(s)" in text


def test_render_of_a_revoke_plan() -> None:
    plan = {
        "plan": "revoke",
        "total": 3,
        "counts": {"revoke": 1, "skip": 1, "refused": 1},
        "records": [
            {"index": 0, "offboarding_id": "1", "status": "Approved", "action": "revoke", "reason": None},
            {"index": 1, "offboarding_id": "2", "status": "Rejected", "action": "skip", "reason": "rejected"},
            {
                "index": 2,
                "offboarding_id": "",
                "status": None,
                "action": "refused",
                "reason": None,
                "error": {"message": "record 2: offboarding_id must not be empty or whitespace"},
            },
        ],
    }
    text = render(plan)
    assert "| 0 | 1 | Approved | revoke |" in text
    assert "| 1 | 2 | Rejected | skip (rejected) |" in text
    assert "Refused: record 2: record 2: offboarding_id must not be empty" in text
