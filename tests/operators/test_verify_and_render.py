"""Verification of writes whose outcome is unknown (read back, never guessed) and the approver's rendering."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_feishu_corehr.client.models import FieldValue
from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator
from airflow_provider_feishu_corehr.operators.plan_render import render_plan
from airflow_provider_feishu_corehr.operators.records import Record
from airflow_provider_feishu_corehr.operators.review import verify_edits

if TYPE_CHECKING:
    from plan_helpers import Batch

    from airflow_provider_feishu_corehr.testing import FeishuEmulator


def _hook() -> Any:
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    return FeishuHook()


def test_edits_with_outcome_unknown_are_read_back(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    note = "Handover to the data team"
    feishu.inject_fault("edit", "http_500", after_processing=True)  # record 0: applied, then the answer is lost
    feishu.inject_fault("edit", "http_503")  # record 1: not applied, no answer either
    records = batch.records({"handover_note__c": note}, count=4)
    del records[2]["employment_id"]  # record 2: edited, but it cannot be read back
    records[3]["offboarding_id"] = "7000000000000000001"  # record 3: unknown to Feishu, failed: not read back
    operator = EditOffboardingOperator(task_id="edit", offboardings=records, verify=True, max_workers=1)
    with pytest.raises(AirflowException):
        operator.execute(context)
    value = context["ti"].pushed["return_value"]
    # record 0 is settled inside the task by reading it back; record 1 stays unknown: in direct mode nothing was
    # read before the send, so a value other than the one sent cannot show that the edit did not land
    assert [r["outcome"] for r in value["records"]] == ["edited", "unknown", "edited", "failed"]
    assert [r["settled_by"] for r in value["records"]] == ["read_back", None, None, None]
    assert feishu.request_count("edit") == 4  # record 1 is not sent again
    assert feishu.request_count("search") == 2  # the settling read-back of records 0-1, then the verification
    assert [r["verification"] for r in value["records"]] == ["verified", "mismatch", "unknown", None]
    assert value["verification"] == {"verified": 1, "mismatch": 1, "unknown": 1}
    assert value["records"][1]["verify"][0]["read_back"] == "Handover to the platform team"
    assert value["records"][2]["verify"][0]["reason"] == "no_employment_id"
    assert batch.value(batch.ids[0], "handover_note__c") == note


def test_a_failed_read_back_reports_unknown(feishu: FeishuEmulator, batch: Batch) -> None:
    update = [FieldValue("handover_note__c", "x")]
    records: list[dict[str, Any]] = [{"offboarding_id": batch.ids[0], "outcome": "edited"}]
    feishu.inject_fault("search", "system_error", count=5)
    record = Record(0, batch.ids[0], update=update, employment_id=batch.employments[0])
    counts = verify_edits(_hook(), None, [record], records)
    assert records[0]["verification"] == "unknown"
    assert counts == {"verified": 0, "mismatch": 0, "unknown": 1}
    assert records[0]["verify"][0]["reason"] == "read_failed"


def _edit_record(index: int, changes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"index": index, "offboarding_id": f"70{index}", "status": "Approved", "action": "edit", "changes": changes}


def test_render_lists_what_will_be_written_and_cuts_long_values() -> None:
    long_value = "x" * 80 + "|y"
    changes = [
        {"field_name": "offboarding_date", "before": "1", "after": "2", "change": "changed", "reason": None},
        {"field_name": "b__c", "before": "1", "after": "1", "change": "unchanged", "reason": None},
        {"field_name": "c__c", "before": None, "after": long_value, "change": "unknown", "reason": "no_permission"},
    ]
    plan = {
        "plan": "edit",
        "total": 60,
        "counts": {"edit": 60, "none": 0, "refused": 0},
        "fields": {"changed": 60, "unchanged": 60, "unknown": 60},
        "records": [_edit_record(i, changes) for i in range(60)],
    }
    text = render_plan(plan)
    assert "| 700 | Approved | Offboarding date (offboarding_date) | 1 | 2 |" in text
    assert "| 700 | b__c | 1 |" in text  # unchanged fields are listed, in their own table
    assert f"|  |  | c__c | could not be read (the app may not read this field) | {'x' * 59}… |" in text
    write_table = text.split("### To write")[1].split("###")[0]
    assert write_table.count("\n| ") == 1 + 50  # header and at most 50 rows
    assert "… and 70 more: see the plan task's XCom." in text  # 120 rows to write, 50 shown
    assert "… and 10 more: see the plan task's XCom." in text  # 60 unchanged, 50 shown
    assert "| # |" not in text and "(unknown:" not in text


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
    text = render_plan(plan)
    assert "1 to revoke, 1 nothing to do, 1 refused" in text
    assert "| 1 | Approved |" in text
    assert "| 2 | Rejected | its approval was rejected: there is nothing to withdraw |" in text
    assert "- **(no usable id)**: offboarding_id must not be empty or whitespace" in text
    assert text.index("### Refused") < text.index("### To revoke") < text.index("### Not revoked")
