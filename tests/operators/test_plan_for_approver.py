"""A plan an approver can trust (issue 19, part 1), against the emulator: what is known to fail is refused per
record with the reason before any write, the apply step writes only the records the plan lists as ``edit``, and
the rendered plan speaks to an HR approver (refused first, labels and display names, plain words, unchanged
fields listed, privacy said in words)."""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from xcom_schema import check_xcom

from airflow_provider_feishu_corehr.client.current import Reading, current_offboarding, display_name
from airflow_provider_feishu_corehr.client.models import FieldValue
from airflow_provider_feishu_corehr.operators.changes import change_row, displays
from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator, RevokeOffboardingOperator
from airflow_provider_feishu_corehr.operators.plan_render import render_plan

if TYPE_CHECKING:
    from plan_helpers import Batch

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

MISSING_ID = "7095671727698400000"


def _broken_batch(batch: Batch) -> list[dict[str, Any]]:
    """Five records: one good correction, four that cannot work, one with nothing to change (issue 19's CSV)."""
    good = {
        "offboarding_date": "2027-07-31",
        "reason": "reason_family",
        "last_attendance_date": "2027-07-30",  # not set in the emulator: the search leaves it out (empty)
        "handover_note__c": "Handover to the data team",
        "retain_account": "false",  # already false: unchanged, listed
    }
    records = batch.records(good, count=1)
    records.append(  # an id the search does not find when its employment was read
        {"offboarding_id": MISSING_ID, "employment_id": batch.employments[1], "update_data": {"reason": "x"}}
    )
    records += [
        {"offboarding_id": batch.ids[2], "employment_id": batch.employments[2], "update_data": update}
        for update in ({"offboarding_dat": "2027-07-31"},)  # a misspelt field name
    ]
    records.append(  # a date in the wrong form, and a field Feishu documents as not editable
        {
            "offboarding_id": batch.ids[3],
            "employment_id": batch.employments[3],
            "update_data": {"offboarding_date": "2026/07/31", "sign_type": "sign_type_paper"},
        }
    )
    records += batch.records({"offboarding_date": "2027-06-30"})[4:]  # nothing to change
    return records


def _plan(records: list[dict[str, Any]], context: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """``plan_only`` on records rendered from a template (as in the example DAG): a refused record fails the task
    after the plan was pushed; the plan as XCom hands it on."""
    operator = EditOffboardingOperator(task_id="plan", offboardings="{{ corrections() }}", plan_only=True, **kwargs)
    operator.offboardings = records
    try:
        value = operator.execute(context)
    except AirflowFailException as err:
        context["failure"] = str(err)
        value = context["ti"].pushed["return_value"]
    return json.loads(json.dumps(value))  # type: ignore[no-any-return]


def _apply(plan: dict[str, Any]) -> EditOffboardingOperator:
    """The apply step with its plan from the plan task's XCom (a static plan with refused records is a DAG error)."""
    operator = EditOffboardingOperator(task_id="apply", plan="{{ ti.xcom_pull('plan') }}")
    operator.plan = plan
    return operator


def test_a_plan_refuses_per_record_what_would_fail_before_any_write(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    plan = _plan(_broken_batch(batch), context)
    check_xcom(plan)
    assert feishu.request_count("edit") == 0
    assert feishu.request_count("search") == 1
    assert "3 record(s) refused" in context["failure"]  # the task fails: nobody is asked to approve bad input
    assert plan["counts"] == {"edit": 1, "none": 1, "refused": 3}
    assert [r["action"] for r in plan["records"]] == ["edit", "refused", "refused", "refused", "none"]
    missing, misspelt, malformed = (plan["records"][i] for i in (1, 2, 3))

    assert (missing["offboarding_id"], missing["employment_id"], missing["status"]) == (
        MISSING_ID,
        batch.employments[1],
        None,
    )
    assert missing["changes"] is None  # nothing was compared: no "(unknown: not_found)" rows
    assert missing["error"]["kind"] == "invalid_input"
    assert f"employment {batch.employments[1]} has no offboarding {MISSING_ID}" in missing["error"]["message"]
    assert "check both ids" in missing["error"]["advice"]
    assert "field 'offboarding_dat'" in misspelt["error"]["message"]
    assert "did you mean 'offboarding_date'" in misspelt["error"]["message"]
    assert "field 'offboarding_date': not a valid date value" in malformed["error"]["message"]
    assert "field 'sign_type': not editable" in malformed["error"]["message"]
    assert "2026/07/31" not in json.dumps(plan)  # the reasons name fields and rules, never the values refused


def test_a_revoke_plan_refuses_an_id_its_employment_does_not_have(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    records = [
        {"offboarding_id": batch.ids[0], "employment_id": batch.employments[0]},
        {"offboarding_id": MISSING_ID, "employment_id": batch.employments[1]},
        {"offboarding_id": batch.ids[2]},  # no employment id: not read, the revoke call will tell
    ]
    operator = RevokeOffboardingOperator(task_id="plan", offboardings="{{ ids() }}", plan_only=True)
    operator.offboardings = records
    with pytest.raises(AirflowFailException, match="1 record"):
        operator.execute(context)
    plan = context["ti"].pushed["return_value"]
    check_xcom(plan)
    assert [r["action"] for r in plan["records"]] == ["revoke", "refused", "revoke"]
    assert "has no offboarding" in plan["records"][1]["error"]["message"]
    assert feishu.request_count("revoke") == 0


def test_apply_writes_only_the_records_the_plan_lists_as_edit(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    plan = _plan(_broken_batch(batch), context)
    before = {oid: feishu.record(oid) for oid in batch.ids}
    feishu.reset_counters()

    applied = _apply(plan)
    with pytest.raises(AirflowFailException, match="refused when planned"):  # refused records fail the apply too
        applied.execute(context)
    value = context["ti"].pushed["return_value"]
    check_xcom(value)
    assert [r["outcome"] for r in value["records"]] == ["edited", "failed", "failed", "failed", "unchanged"]
    assert feishu.request_count("edit") == 1  # one record listed as edit: one write
    assert value["records"][0]["field_names"] == [
        "offboarding_date",
        "reason",
        "last_attendance_date",
        "handover_note__c",
    ]  # retain_account already held false: not written
    for oid in batch.ids[1:]:
        assert feishu.record(oid) == before[oid]


def test_a_record_not_listed_as_edit_is_never_written(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    """A plan edited by hand (or by a bug) cannot smuggle a write past the approver: a record whose action is not
    ``edit``, and a row whose change is ``unchanged``, are not written, whatever their values say."""
    records = batch.records({"offboarding_date": "2027-08-31", "handover_note__c": "Hand-over to X"}, count=2)
    plan = _plan(records, context)
    assert plan["counts"] == {"edit": 2, "none": 0, "refused": 0}
    forged = copy.deepcopy(plan)
    forged["records"][0]["action"] = "none"
    forged["records"][1]["changes"][1]["change"] = "unchanged"  # handover_note__c: still a changed value
    feishu.reset_counters()

    value = EditOffboardingOperator(task_id="apply", plan=forged).execute(context)
    assert [r["outcome"] for r in value["records"]] == ["unchanged", "edited"]
    assert value["records"][1]["field_names"] == ["offboarding_date"]
    assert feishu.request_count("edit") == 1
    assert batch.value(batch.ids[0], "offboarding_date") == "2027-06-30"
    assert batch.value(batch.ids[1], "handover_note__c") == "Handover to the platform team"


def test_the_rendered_plan_speaks_to_the_approver(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    plan = _plan(_broken_batch(batch), context)
    assert plan["labels"] == {"handover_note__c": "Handover note"}  # the custom field's name from the search
    text = EditOffboardingOperator.render_plan(plan)
    assert text.startswith("**Edit plan for 5 offboardings**: 1 to edit, 1 already up to date, 3 refused.")
    refused, to_write, held = (text.index(h) for h in ("### Refused", "### To write", "### Already holding"))
    assert refused < to_write < held  # refused records first
    assert (
        f"- **{MISSING_ID} (employment {batch.employments[1]})**: not found: employment {batch.employments[1]} "
        f"has no offboarding {MISSING_ID}"
    ) in text
    assert "Check both ids: the offboarding id may be wrong, or belong to another employment." in text
    assert f"- **{batch.ids[3]}**: 2 problems with the corrections:" in text
    assert "  - field 'sign_type': not editable" in text
    first = f"{batch.ids[0]} (employment {batch.employments[0]})"
    assert f"| {first} | Approved | Offboarding date (offboarding_date) | 2027-06-30 | 2027-07-31 |" in text
    assert "|  |  | Last attendance date (last_attendance_date) | empty | 2027-07-30 |" in text
    assert "|  |  | Handover note (handover_note__c) | Handover to the platform team | Handover to the data" in text
    assert f"| {first} | Retain account (retain_account) | false |" in text  # unchanged: listed, not counted only
    four = f"{batch.ids[4]} (employment {batch.employments[4]})"
    assert f"| {four} | Offboarding date (offboarding_date) | 2027-06-30 |" in text
    for engineer in ("| # |", "(unknown:", "not_returned", "| 0 |"):
        assert engineer not in text


def test_under_privacy_the_plan_says_values_are_hidden(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    plan = _plan(batch.records({"offboarding_date": "2027-07-31"}, count=2), context, privacy=True)
    text = render_plan(plan)
    assert "**Values are hidden (privacy mode).**" in text
    assert "2027-07-31" not in text and "2027-06-30" not in text and "hmac-sha256" not in text
    rows = [line for line in text.splitlines() if "(offboarding_date) |" in line]
    codes = [line.split(" | ")[-2:] for line in rows]
    assert all(before.startswith("hidden ") and after.startswith("hidden ") for before, after in codes)
    assert codes[0] == codes[1]  # the same values: the same codes


def test_display_names_of_options_are_kept_and_shown() -> None:
    """Feishu's search gives options as ``{enum_name, display: [{lang, value}]}`` and custom fields with their
    names (the search page); the emulator's options show their api names, so this reads the page's shapes."""
    display = [{"lang": "zh-CN", "value": "职业发展"}, {"lang": "en-US", "value": "Career development"}]
    item = {
        "offboarding_id": "1",
        "status": "Approved",
        "offboarding_info": {
            "employment_id": "2",
            "reason": {"enum_name": "reason_career_development", "display": display},
            "custom_fields": [
                {
                    "custom_api_name": "exit_channel__c",
                    "name": {"zh_cn": "离职渠道", "en_us": "Exit channel"},
                    "type": 4,
                    "value": json.dumps({"enum_name": "channel_hr", "display": [{"lang": "zh-CN", "value": "HR"}]}),
                }
            ],
        },
    }
    current = current_offboarding(item)
    reading = current.read("reason")
    assert reading == Reading("reason_career_development", "enum")  # the display is for people, never compared
    assert reading.display == "Career development"  # English first, else Chinese, else the first given
    assert current.read("exit_channel__c").display == "HR"
    assert current.labels == {"exit_channel__c": "Exit channel"}
    assert display_name([{"lang": "ja-JP", "value": "キャリア"}]) == "キャリア"
    assert display_name("not a list") is None

    other = current_offboarding(
        {
            **item,
            "offboarding_id": "3",
            "offboarding_info": {
                "reason": {"enum_name": "reason_relocation", "display": [{"lang": "en-US", "value": "Relocation"}]}
            },
        }
    )
    options = displays({"1": current, "3": other})  # what one record holds names that option for every record
    assert options[("reason", "reason_relocation")] == "Relocation"
    row = change_row(FieldValue("reason", "reason_relocation"), reading, options.get(("reason", "reason_relocation")))
    assert row["before_display"] == "Career development" and row["after_display"] == "Relocation"
    plain = change_row(FieldValue("reason", "reason_x"), Reading("reason_x", "enum", display="reason_x"))
    assert "before_display" not in plain  # a display that is the api name tells nothing more
    record = {"index": 0, "offboarding_id": "1", "employment_id": "2", "status": "Approved", "action": "edit"}
    plan = {
        "plan": "edit",
        "total": 1,
        "counts": {"edit": 1, "none": 0, "refused": 0},
        "fields": {"changed": 1, "unchanged": 0, "unknown": 0},
        "labels": {},
        "records": [{**record, "changes": [row]}],
    }
    text = render_plan(plan)
    assert (
        "| 1 (employment 2) | Approved | Offboarding reason (reason) | Career development (reason_career_development) "
        "| Relocation (reason_relocation) |"
    ) in text


def test_display_names_reach_the_plan_from_the_search(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    """The display of the option a record holds now names the same option planned for another record."""
    plan = _plan(
        [
            *batch.records({"reason": "reason_personal"}, count=1),  # holds it: its display is read
            *batch.records({"reason": "reason_family"})[1:2],
        ],
        context,
    )
    check_xcom(plan)
    rows = [r["changes"][0] for r in plan["records"]]
    # the emulator's display of an option is its api name: no display row keys, the api name alone is shown
    assert all("before_display" not in row and "after_display" not in row for row in rows)
    assert "| Offboarding reason (reason) | reason_personal | reason_family |" in render_plan(plan)


def test_only_changed_refuses_an_id_its_employment_does_not_have(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    """``only_changed`` asked to compare: a record it cannot find is refused, not written whole."""
    records = batch.records({"offboarding_date": "2027-07-31"}, count=1)
    records.append({"offboarding_id": batch.ids[1], "employment_id": batch.employments[2], "update_data": {}})
    records[1]["update_data"] = {"offboarding_date": "2027-07-31"}  # right id, wrong employment
    operator = EditOffboardingOperator(task_id="edit", offboardings="{{ corrections() }}", only_changed=True)
    operator.offboardings = records
    with pytest.raises(AirflowFailException):
        operator.execute(context)
    value = context["ti"].pushed["return_value"]
    assert [r["outcome"] for r in value["records"]] == ["edited", "failed"]
    assert (
        f"employment {batch.employments[2]} has no offboarding {batch.ids[1]}"
        in value["records"][1]["error"]["message"]
    )
    assert feishu.request_count("edit") == 1
    assert batch.value(batch.ids[1], "offboarding_date") == "2027-06-30"


def test_a_planned_record_no_longer_found_is_a_conflict(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    plan = _plan(batch.records({"offboarding_date": "2027-07-31"}, count=2), context)
    feishu.update_offboarding(batch.ids[1], employment_id="6100000000000009999")  # moved to another employment
    feishu.reset_counters()
    with pytest.raises(AirflowFailException, match="'status', 'offboarding_date' changed since the plan was made"):
        _apply(plan).execute(context)
    value = context["ti"].pushed["return_value"]
    assert [r["outcome"] for r in value["records"]] == ["edited", "conflict"]
    assert value["records"][1]["conflict"] == [
        {"field_name": "status", "planned": "Approved", "current": None},
        {"field_name": "offboarding_date", "planned": "2027-06-30", "current": None},
    ]
    assert feishu.request_count("edit") == 1
