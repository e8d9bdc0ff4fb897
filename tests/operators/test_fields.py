"""Pure tests of ``client/fields.py``: value conversion and the update_data rules (no server needed)."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pendulum
import pytest

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.fields import (
    MAX_TEXT_LENGTH,
    MAX_UPDATE_ENTRIES,
    NON_EDITABLE_FIELDS,
    normalize_update_data,
    to_wire_value,
)
from airflow_provider_feishu_corehr.client.models import FieldValue

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("Sandy", "Sandy"),
        ("", ""),
        ("  padded  ", "  padded  "),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (123, "123"),
        (-7, "-7"),
        (12345678901234567890, "12345678901234567890"),
        (123.23, "123.23"),
        (0.1, "0.1"),
        (1e20, "100000000000000000000"),
        (1e-7, "0.0000001"),
        (-2.5, "-2.5"),
        (Decimal("123.2300"), "123.2300"),
        (Decimal("1E+3"), "1000"),
        (dt.date(2024, 6, 30), "2024-06-30"),
        (dt.date(99, 1, 2), "0099-01-02"),
        (pendulum.date(2026, 12, 31), "2026-12-31"),
        (dt.datetime(2006, 1, 2, 15, 4, 5), "2006-01-02 15:04:05"),
        (dt.datetime(2006, 1, 2, 15, 4, 5, 999999), "2006-01-02 15:04:05"),
        (pendulum.naive(2026, 3, 4, 5, 6, 7), "2026-03-04 05:06:07"),
        (["option_1", "option_2"], '["option_1","option_2"]'),
        (("option_1",), '["option_1"]'),
        ([], "[]"),
        (["选项"], '["选项"]'),
    ],
)
def test_to_wire_value(value: Any, wire: str) -> None:
    assert to_wire_value(value) == wire


def test_aware_datetime_is_converted_to_the_given_timezone() -> None:
    utc_value = pendulum.datetime(2026, 1, 1, 16, 30, 0)  # pendulum defaults to UTC
    assert to_wire_value(utc_value, timezone=SHANGHAI) == "2026-01-02 00:30:00"
    shanghai_value = pendulum.datetime(2026, 1, 2, 0, 30, tz="Asia/Shanghai")
    assert to_wire_value(shanghai_value, timezone=SHANGHAI) == "2026-01-02 00:30:00"
    std = dt.datetime(2026, 1, 1, 16, 30, tzinfo=dt.UTC)
    assert to_wire_value(std, timezone=pendulum.timezone("Asia/Shanghai")) == "2026-01-02 00:30:00"


def test_naive_datetime_ignores_timezone() -> None:
    assert to_wire_value(dt.datetime(2026, 1, 1, 16, 30), timezone=SHANGHAI) == "2026-01-01 16:30:00"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (None, "value is None"),
        (float("nan"), "only finite numbers"),
        (float("inf"), "only finite numbers"),
        (float("-inf"), "only finite numbers"),
        (Decimal("NaN"), "only finite numbers"),
        (Decimal("Infinity"), "only finite numbers"),
        ({"a": 1}, "value of type dict is not supported"),
        ({"a", "b"}, "type set is not supported"),
        (b"bytes", "type bytes is not supported"),
        (Fraction(1, 3), "type Fraction is not supported"),
        (dt.time(10, 0), "type time is not supported"),
        (object(), "type object is not supported"),
        (["a", 1], "option [1] is int"),
        (["a", None], "option [1] is NoneType"),
        (["a", " "], "option [1] is empty"),
        (pendulum.datetime(2026, 1, 1), "timezone-aware"),
        (dt.datetime(2026, 1, 1, tzinfo=SHANGHAI), "timezone-aware"),
    ],
)
def test_to_wire_value_refuses(value: Any, rule: str) -> None:
    with pytest.raises(FeishuInvalidInputError) as info:
        to_wire_value(value, field_name="custom_field_1__c", record="offboarding 42")
    text = str(info.value)
    assert text.startswith("offboarding 42: field 'custom_field_1__c': ")
    assert rule in text


def test_three_input_forms_give_the_same_wire_form() -> None:
    mapping = {"offboarding_date": dt.date(2026, 12, 31), "add_block_list": False, "score__c": 3}
    expected = [
        FieldValue("offboarding_date", "2026-12-31"),
        FieldValue("add_block_list", "false"),
        FieldValue("score__c", "3"),
    ]
    as_list = [{"field_name": k, "value": v} for k, v in mapping.items()]
    as_json_mapping = json.dumps({"offboarding_date": "2026-12-31", "add_block_list": False, "score__c": 3})
    as_json_list = json.dumps([{"field_name": "offboarding_date", "value": "2026-12-31"}, *as_list[1:]])
    for form in (mapping, as_list, tuple(as_list), as_json_mapping, as_json_list, expected):
        assert normalize_update_data(form, record="r") == expected


def test_field_names_are_stripped() -> None:
    assert normalize_update_data({" note__c ": "x"}, record="r") == [FieldValue("note__c", "x")]


def test_text_at_the_limit_is_accepted() -> None:
    text = "字" * MAX_TEXT_LENGTH
    assert normalize_update_data({"reason_explanation": text}, record="r")[0].value == text


def test_maximum_number_of_entries_is_accepted() -> None:
    data = {f"f{i}__c": i for i in range(MAX_UPDATE_ENTRIES)}
    assert len(normalize_update_data(data, record="r")) == MAX_UPDATE_ENTRIES


@pytest.mark.parametrize(
    ("update_data", "rule"),
    [
        ({}, "update_data must not be empty"),
        ([], "update_data must not be empty"),
        ("{}", "update_data must not be empty"),
        ("[]", "update_data must not be empty"),
        (None, "update_data is required"),
        (42, "update_data must be a mapping"),
        ("not json", "update_data is text but not valid JSON"),
        ('"a string"', "update_data JSON must be an object or an array"),
        ({f"f{i}__c": "v" for i in range(MAX_UPDATE_ENTRIES + 1)}, "at most 10000"),
        ({"": "v"}, "field name must not be empty"),
        ({"   ": "v"}, "field name must not be empty"),
        ({1: "v"}, "field name must be a string, got int"),
        ({"note__c": "a", " note__c": "b"}, "field 'note__c': given more than once"),
        ([{"field_name": "a__c", "value": "1"}, {"field_name": "a__c", "value": "2"}], "given more than once"),
        ({"status": "Approved"}, "field 'status': not editable"),
        ({"Sign_Type": "x"}, "field 'Sign_Type': not editable"),
        ({"note__c": "x" * (MAX_TEXT_LENGTH + 1)}, "text is 6001 characters; the API accepts at most 6000"),
        ({"reason_explanation": "x" * 6001}, "reason explanations are limited to 6000 (Feishu error 1160604)"),
        ({"employee_reason_explanation": "x" * 7000}, "reason explanations are limited"),
        ({"block_reason_explanation": "x" * 6001}, "reason explanations are limited"),
        ({"options__c": ["o"] * 1500}, "the API accepts at most 6000"),
        ({"note__c": None}, "field 'note__c': value is None"),
        ({"amount__c": float("nan")}, "field 'amount__c': number is nan"),
        ([{"field_name": "a__c"}], "missing value"),
        ([{"value": "1"}], "missing field_name"),
        ([{"field_name": "a__c", "value": "1", "type": 1}], "unknown key(s) 'type'"),
        (["a"], "update_data[0] must be a mapping"),
    ],
)
def test_normalize_update_data_refuses(update_data: Any, rule: str) -> None:
    with pytest.raises(FeishuInvalidInputError) as info:
        normalize_update_data(update_data, record="offboarding 42")
    assert str(info.value).startswith("offboarding 42: ")
    assert rule in str(info.value)


# The edit page's list of non-editable api_names (docs/api-facts.md, "Edit"), written out here so that the test does
# not take its expected values from the code under test.
DOCUMENTED_NON_EDITABLE = [
    "wk_id",
    "wk_tenant_id",
    "employment",
    "process_id",
    "flow_id",
    "node_id",
    "initiator_id",
    "status",
    "checklist_status",
    "checklist_process_id",
    "type",
    "hrbp_ids",
    "hrbp_list",
    "probation_id",
    "wk_created_at",
    "wk_created_by",
    "wk_updated_at",
    "wk_updated_by",
    "wk_deleted_at",
    "wk_is_deleted",
    "noncompete_agreement_id",
    "social_insurance_end_date",
    "provident_fund_end_date",
    "sign_type",
]


def test_every_documented_non_editable_field_is_refused() -> None:
    assert len(DOCUMENTED_NON_EDITABLE) == 24
    assert set(DOCUMENTED_NON_EDITABLE) == NON_EDITABLE_FIELDS
    for name in DOCUMENTED_NON_EDITABLE:
        with pytest.raises(FeishuInvalidInputError, match=f"field '{name}': not editable"):
            normalize_update_data({name: "x"}, record="r")


def test_all_problems_are_listed_once_without_values() -> None:
    secret_text = "personal-" + "x" * MAX_TEXT_LENGTH
    with pytest.raises(FeishuInvalidInputError) as info:
        normalize_update_data(
            {
                "status": "a",
                "reason_explanation": secret_text,
                "ok__c": "fine",
                "when__c": pendulum.datetime(2026, 1, 1),
            },
            record="offboarding 42",
        )
    text = str(info.value)
    assert text.startswith("offboarding 42: update_data has 3 problems:")
    assert "field 'status'" in text
    assert "field 'reason_explanation'" in text
    assert "field 'when__c'" in text
    assert "'ok__c'" not in text
    assert "personal-" not in text


def test_many_problems_are_capped_in_the_message() -> None:
    with pytest.raises(FeishuInvalidInputError) as info:
        normalize_update_data({f"f{i}__c": None for i in range(80)}, record="r")
    assert "update_data has 80 problems" in str(info.value)
    assert "... and 30 more" in str(info.value)


def test_list_form_keeps_the_callers_order() -> None:
    data = [{"field_name": n, "value": str(i)} for i, n in enumerate(["z__c", "a__c", "m__c"])]
    assert [f.field_name for f in normalize_update_data(data, record="r")] == ["z__c", "a__c", "m__c"]
