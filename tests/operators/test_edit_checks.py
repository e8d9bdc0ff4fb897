"""``EditOffboardingOperator`` against the emulator: field checks before any request, Feishu's field refusals named,
and records that cannot be read first (no ``employment_id``) refused unless ``write_unread=True``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from recording_ti import RecordingTI

from airflow_provider_feishu_corehr._arguments import InvalidOperatorArgumentError
from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator

if TYPE_CHECKING:
    from plan_helpers import Batch

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

NOTE = {"handover_note__c": "Handover to the data team"}


class RetriedTI(RecordingTI):
    """The task instance of a retried try."""

    try_number = 2


def _rendered(**arguments: Any) -> EditOffboardingOperator:
    """An operator whose records arrive at execute (as a template or an XComArg renders them)."""
    operator = EditOffboardingOperator(task_id="edit", offboardings="{{ ti.xcom_pull('records') }}")
    for name, value in arguments.items():
        setattr(operator, name, value)
    return operator


def _pushed(context: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = context["ti"].pushed["return_value"]
    return value


# -- field checks ----------------------------------------------------------------------------------------------------


def test_a_misspelt_field_is_a_dag_error(feishu: FeishuEmulator, batch: Batch) -> None:
    with pytest.raises(InvalidOperatorArgumentError) as info:
        EditOffboardingOperator(task_id="edit", offboarding_id=batch.ids[0], update_data={"offboarding_dat": "x"})
    assert str(info.value).endswith(
        f"offboarding {batch.ids[0]}: field 'offboarding_dat': not a documented offboarding field nor a custom field "
        "(custom field api names end in __c); did you mean 'offboarding_date'?"
    )
    assert feishu.requests == []


def test_rendered_records_with_bad_fields_fail_alone_before_any_request(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    records = batch.records(NOTE, count=4)
    records[1]["update_data"] = {"offboarding_dat": "2026-07-31"}
    records[2]["update_data"] = {"offboarding_date": "2026/07/31", "retain_account": "yes"}
    records[3]["update_data"] = {"signature_file": "file-token"}
    with pytest.raises(AirflowFailException):
        _rendered(offboardings=records).execute(context)
    value = _pushed(context)
    assert [r["outcome"] for r in value["records"]] == ["edited", "failed", "failed", "failed"]
    assert feishu.request_count("edit") == 1  # the good record only
    errors = [r["error"] for r in value["records"][1:]]
    assert {e["kind"] for e in errors} == {"invalid_input"}
    assert errors[0]["message"].startswith(f"record 1 (offboarding {batch.ids[1]}): field 'offboarding_dat': ")
    assert "did you mean 'offboarding_date'?" in errors[0]["message"]
    assert errors[1]["message"].startswith(f"record 2 (offboarding {batch.ids[2]}): update_data has 2 problems:")
    assert "field 'offboarding_date': not a valid date value" in errors[1]["message"]
    assert "field 'retain_account': not a valid boolean value" in errors[1]["message"]
    assert "2026/07/31" not in errors[1]["message"]
    assert "field 'signature_file': not editable" in errors[2]["message"]
    assert batch.value(batch.ids[2], "offboarding_date") == "2027-06-30"


def test_a_plan_refuses_the_bad_records_and_writes_nothing(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    records = batch.records({"offboarding_date": "2027-07-31"}, count=3)
    records[1]["update_data"] = {"offboarding_dat": "2027-07-31"}
    records[2]["update_data"] = {"offboarding_date": "2027/07/31"}
    with pytest.raises(AirflowFailException, match="2 record"):
        _rendered(offboardings=records, plan_only=True).execute(context)
    plan = _pushed(context)
    assert plan["counts"] == {"edit": 1, "none": 0, "refused": 2}
    assert feishu.request_count("edit") == 0


def test_a_refusal_feishu_still_makes_names_the_fields_sent(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    records = batch.records({"reason": "reason_family", "laptop_returned__c": True}, count=1)  # no such custom field
    with pytest.raises(AirflowFailException):
        _rendered(offboardings=records).execute(context)
    [record] = _pushed(context)["records"]
    assert (record["outcome"], record["error"]["kind"], record["error"]["code"]) == ("failed", "business", 1160102)
    assert record["error"]["message"] == (
        f"parameter is illegal (offboarding {batch.ids[0]}; the request carried the field(s) reason, "
        "laptop_returned__c)"
    )


# -- records that cannot be read first -------------------------------------------------------------------------------


def _without_employment(batch: Batch, *, count: int = 3, missing: tuple[int, ...] = (1,)) -> list[dict[str, Any]]:
    records = batch.records(NOTE, count=count)
    for index in missing:
        del records[index]["employment_id"]
    return records


@pytest.mark.parametrize("mode", [{"only_changed": True}, {"plan_only": True}])
def test_read_first_refuses_records_without_employment_id_before_any_request(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any], mode: dict[str, bool]
) -> None:
    records = _without_employment(batch, missing=(0, 2))
    with pytest.raises(AirflowFailException) as info:
        _rendered(offboardings=records, **mode).execute(context)
    text = str(info.value)
    asked_by = next(iter(mode))
    assert f"{asked_by} reads each record's current values first, but 2 record(s) have no employment_id" in text
    assert f"record 0 (offboarding {batch.ids[0]}), record 2 (offboarding {batch.ids[2]})" in text
    assert "write_unread=True" in text and "nothing was written" in text
    assert feishu.requests == []  # not even the search


def test_the_refusal_lists_five_records_and_counts_the_rest(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    records = [{"offboarding_id": f"70000000000000000{i:02d}", "update_data": NOTE} for i in range(12)]
    with pytest.raises(AirflowFailException, match=r"record 4 \(offboarding 7000000000000000004\) and 7 more"):
        _rendered(offboardings=records, only_changed=True).execute(context)
    assert feishu.requests == []


def test_write_unread_writes_them_and_says_so(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    records = _without_employment(batch)
    value = _rendered(offboardings=records, only_changed=True, write_unread=True).execute(context)
    assert [r["outcome"] for r in value["records"]] == ["edited", "edited", "edited"]
    assert value["records"][1]["changes"][0]["reason"] == "no_employment_id"
    assert value["records"][0]["changes"][0]["reason"] is None  # read, and it differed
    assert feishu.request_count("search") == 1 and feishu.request_count("edit") == 3
    lines = [r.getMessage() for r in caplog.records if "no employment_id" in r.getMessage()]
    assert lines == [
        "Edit: 1 record(s) have no employment_id and cannot be read first (write_unread=True): every field of theirs "
        "is written; their changes say no_employment_id"
    ]


def test_a_plan_with_unread_records_is_applied_only_with_write_unread(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    records = _without_employment(batch)
    plan = _rendered(offboardings=records, plan_only=True, write_unread=True).execute(context)
    assert plan["counts"] == {"edit": 3, "none": 0, "refused": 0}
    assert feishu.request_count("edit") == 0
    feishu.reset_counters()

    with pytest.raises(AirflowFailException, match="plan reads each record's current values first, but 1 record"):
        EditOffboardingOperator(task_id="apply", plan=plan).execute(context)
    assert feishu.requests == []

    applied = EditOffboardingOperator(task_id="apply", plan=plan, write_unread=True).execute(context)
    assert [r["outcome"] for r in applied["records"]] == ["edited", "edited", "edited"]
    assert batch.value(batch.ids[1], "handover_note__c") == NOTE["handover_note__c"]


def test_a_retried_direct_edit_still_writes_them(feishu: FeishuEmulator, batch: Batch) -> None:
    records = _without_employment(batch)
    value = _rendered(offboardings=records).execute({"ti": RetriedTI()})  # the retry reads first on its own
    assert value["mode"] == "only_changed"
    assert [r["outcome"] for r in value["records"]] == ["edited", "edited", "edited"]


def test_write_unread_must_be_a_bool() -> None:
    with pytest.raises(InvalidOperatorArgumentError, match="write_unread must be True or False"):
        EditOffboardingOperator(task_id="edit", offboardings="{{ x }}", only_changed=True, write_unread="yes")
