"""Current values read from the emulator's search, in the edit endpoint's wire form, and what stays unknown."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pytest
from plan_helpers import Batch

from airflow_provider_feishu_corehr.client.current import (
    NO_PERMISSION,
    NOT_COMPARABLE,
    NOT_RETURNED,
    Reading,
    current_offboarding,
    read_current,
    same,
)
from airflow_provider_feishu_corehr.client.fields import to_wire_value

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

# What a DAG author writes for each field, equal to the batch records' current values (plan_helpers.BASE_VALUES).
SAME_AS_CURRENT: dict[str, Any] = {
    "offboarding_date": dt.date(2027, 6, 30),
    "reason": "reason_personal",
    "retain_account": False,
    "reason_explanation": "Moving to another city.",
    "handover_note__c": "Handover to the platform team",
    "severance_months__c": 2,
    "exit_tags__c": ["tag_alumni", "tag_rehire_ok"],
    "exit_channel__c": "channel_hr",
    "exit_interview_done__c": True,
    "exit_interview_time__c": dt.datetime(2026, 6, 1, 10, 0, 0),
}


def _hook() -> Any:
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    return FeishuHook()


def test_every_comparable_field_reads_back_in_the_wire_form_fields_py_produces(batch: Batch) -> None:
    current = read_current(_hook(), batch.employments[:1])
    record = current[batch.ids[0]]
    assert record.status == "Approved"
    for name, value in SAME_AS_CURRENT.items():
        reading = record.read(name)
        assert reading.reason is None, name
        assert same(reading, to_wire_value(value)) is True, name
    assert record.read("offboarding_date").value == "2027-06-30"
    assert record.read("exit_tags__c").value == '["tag_alumni","tag_rehire_ok"]'  # the compact JSON fields.py sends
    assert record.read("retain_account").value == "false"  # a JSON boolean in search
    assert record.read("reason").value == "reason_personal"  # an enum object in search
    assert record.read("apply_initiating_time").value == batch.value(batch.ids[0], "apply_initiating_time")


def test_a_different_value_is_not_equal(batch: Batch) -> None:
    record = read_current(_hook(), batch.employments[:1])[batch.ids[0]]
    assert same(record.read("severance_months__c"), "3") is False
    assert same(record.read("severance_months__c"), "2.0") is True  # numbers compare by value
    assert same(record.read("exit_tags__c"), '["tag_rehire_ok","tag_alumni"]') is False  # order is not guessed
    assert same(record.read("offboarding_date"), "2027-07-01") is False


def test_unreadable_fields_are_unknown_never_equal(feishu: FeishuEmulator, batch: Batch) -> None:
    feishu.inject_fault("search", "hide_fields", fields=["reason_explanation", "handover_note__c"])
    record = read_current(_hook(), batch.employments[:1])[batch.ids[0]]
    expected = {
        "reason_explanation": NO_PERMISSION,  # hidden: listed in no_permission_fields
        "handover_note__c": NO_PERMISSION,
        "handover_contact__c": NOT_COMPARABLE,  # a person (lookup) custom field
        "last_attendance_date": NOT_RETURNED,  # not in the item at all
    }
    for name, reason in expected.items():
        reading = record.read(name)
        assert (reading.value, reading.reason) == (None, reason), name
        assert same(reading, "anything") is None
        assert same(reading, "") is None


def test_one_search_per_hundred_employments(feishu: FeishuEmulator) -> None:
    made = Batch(feishu, 230)
    feishu.reset_counters()
    current = read_current(_hook(), made.employments + made.employments[:10])  # duplicates are read once
    assert set(current) == set(made.ids)
    assert feishu.request_count("search") == 3


@pytest.mark.parametrize(
    ("custom", "expected"),
    [
        ({"type": 1, "value": '"231"'}, Reading("231", "text")),  # the search page's example: JSON-escaped text
        ({"type": 2, "value": "false"}, Reading("false", "bool")),
        ({"type": 3, "value": "1.50"}, Reading("1.5", "number")),
        ({"type": 4, "value": '{"enum_name": "opt_1"}'}, Reading("opt_1", "enum")),
        ({"type": 4, "value": '["a", "b"]'}, Reading('["a","b"]', "multi_enum")),
        ({"type": 5, "value": '"6893014062142064136"'}, Reading(None, reason=NOT_COMPARABLE)),
        ({"type": 9, "value": '"boxcn"'}, Reading(None, reason=NOT_COMPARABLE)),
        ({"type": 1, "value": "not json"}, Reading(None, reason=NOT_COMPARABLE)),
        ({"type": 1, "value": None}, Reading(None, reason=NOT_RETURNED)),
    ],
)
def test_custom_field_shapes(custom: dict[str, Any], expected: Reading) -> None:
    item = {
        "offboarding_id": "1",
        "status": "Approved",
        "offboarding_info": {
            "custom_fields": [{"custom_api_name": "f__c", "name": {"zh_cn": "f", "en_us": "f"}, **custom}]
        },
    }
    assert current_offboarding(item).read("f__c") == expected


def test_system_field_shapes() -> None:
    info = {
        "add_block_list": "true",  # documented as a string
        "retain_account": True,
        "block_reason": {"enum_name": "block_reason_other", "display": [{"lang": "en-US", "value": "Other"}]},
        "hrbp_id": ["1"],
        "signature_file": {"id": "x"},
        "no_permission_fields": ["reason_explanation"],
        "reason_explanation": "leaked",
    }
    record = current_offboarding({"offboarding_id": "1", "status": "Approved", "offboarding_info": info})
    assert record.read("add_block_list") == Reading("true", "text")
    assert record.read("retain_account") == Reading("true", "bool")
    assert record.read("block_reason") == Reading("block_reason_other", "enum")
    assert record.read("signature_file").reason == NOT_COMPARABLE
    assert record.read("reason_explanation").reason == NO_PERMISSION  # listed wins over a value
