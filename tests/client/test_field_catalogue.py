"""The field catalogue (``client/field_catalogue.py``) and the checks ``normalize_update_data`` makes with it.

The catalogue is checked against the emulator's own field schema (built from the API pages, not from the client),
against the table of ``docs/api-facts.md``, and against the emulator over real HTTP: every form the client refuses
is one the emulator refuses with the code the message cites, and a refusal Feishu still makes names the fields the
request carried.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from client_helpers import APPROVED, MakeAsync, MakeClient

from airflow_provider_feishu_corehr.client import field_catalogue as catalogue
from airflow_provider_feishu_corehr.client.errors import (
    FeishuBusinessError,
    FeishuEditFieldsError,
    FeishuInvalidInputError,
)
from airflow_provider_feishu_corehr.client.field_catalogue import FieldType
from airflow_provider_feishu_corehr.client.fields import normalize_update_data, type_rule
from airflow_provider_feishu_corehr.client.models import FieldValue
from airflow_provider_feishu_corehr.testing import api_pages
from airflow_provider_feishu_corehr.testing.schema import DEFAULT_SCHEMA

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytestmark = pytest.mark.feishu_emulator(rate_limits="off")

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api-facts.md"
# The emulator's type names for the catalogue's (the emulator names a boolean "bool", a multi-option "multi_enum").
EMULATOR_TYPE = {"boolean": "bool", "multi_option": "multi_enum"}


def _refusal(update: dict[str, Any]) -> str:
    with pytest.raises(FeishuInvalidInputError) as info:
        normalize_update_data(update, record="record 3 (offboarding 7095671727698478604)")
    return str(info.value)


# -- the catalogue against the emulator's schema and the docs -------------------------------------------------------


def test_every_search_field_matches_the_emulators_schema() -> None:
    search_fields = {name: f for name, f in catalogue.FIELDS.items() if f.type is not None}
    assert len(search_fields) == 23  # 21 of offboarding_info (without ids and custom_fields) + 2 application times
    for name, field in search_fields.items():
        spec = DEFAULT_SCHEMA[name]
        assert field.type is not None
        assert EMULATOR_TYPE.get(field.type.value, field.type.value) == spec["type"], name
        editable = spec.get("editable", True) and spec["type"] != "attachment"
        assert field.editable == editable, name
        assert field.label == spec["label"], name
    emulator_system = {n for n in DEFAULT_SCHEMA if not n.endswith(catalogue.CUSTOM_SUFFIX)}
    assert emulator_system == set(search_fields)


def test_the_not_editable_list_is_the_pages() -> None:
    assert catalogue.NON_EDITABLE == api_pages.NOT_EDITABLE
    assert all(not catalogue.FIELDS[name].editable for name in api_pages.NOT_EDITABLE)
    assert {n for n, f in catalogue.FIELDS.items() if f.editable} == catalogue.EDITABLE
    assert not catalogue.EDITABLE & api_pages.NOT_EDITABLE


def test_the_docs_table_is_the_catalogue() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("### Offboarding fields") :]
    rows = re.findall(r"^\| `([a-z_]+)` \| ([a-z-]+) \| (yes|no)[^|]*\|", section, flags=re.MULTILINE)
    table = {name: (kind, editable == "yes") for name, kind, editable in rows}
    expected = {
        name: (field.type.value.replace("_", "-"), field.editable)
        for name, field in catalogue.FIELDS.items()
        if field.type is not None
    }
    assert table == expected


@pytest.mark.parametrize(
    ("name", "custom"),
    [("badge_id__c", True), ("x__c", True), ("__c", False), ("note_c", False), ("note__C", False), ("reason", False)],
)
def test_custom_names_end_in_double_underscore_c(name: str, custom: bool) -> None:
    assert catalogue.is_custom(name) is custom


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("offboarding_dat", "offboarding_date"),
        ("Offboarding_Date", "offboarding_date"),
        ("offboardingdate", "offboarding_date"),
        ("reason_explaination", "reason_explanation"),
        ("retain_acount", "retain_account"),
        ("handover_note_c", "handover_note__c"),
        ("handover_note__C", "handover_note__c"),
        ("name", None),
        ("zzz", None),
    ],
)
def test_suggestion(name: str, meant: str | None) -> None:
    assert catalogue.suggestion(name) == meant


# -- names ------------------------------------------------------------------------------------------------------------


def test_a_misspelt_name_is_refused_with_the_closest_documented_name() -> None:
    assert _refusal({"offboarding_dat": "2026-07-31"}) == (
        "record 3 (offboarding 7095671727698478604): field 'offboarding_dat': not a documented offboarding field nor "
        "a custom field (custom field api names end in __c); did you mean 'offboarding_date'?"
    )


@pytest.mark.parametrize("name", ["name", "offboarding_id", "employment_id", "hrbp_id", "initiating_type", "x"])
def test_names_that_are_not_offboarding_fields_are_refused(name: str) -> None:
    assert f"field {name!r}: not a documented offboarding field nor a custom field" in _refusal({name: "v"})


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("signature_file", "an attachment; the edit endpoint edits no attachments, Feishu error 1160637"),
        ("sign_type", "the edit API documents it as a non-editable field"),
        ("social_insurance_end_date", "the edit API documents it as a non-editable field"),
        ("wk_id", "the edit API documents it as a non-editable field"),
    ],
)
def test_documented_fields_that_cannot_be_edited_are_refused(name: str, rule: str) -> None:
    assert f"field {name!r}: not editable ({rule})" in _refusal({name: "x"})


# -- value forms -----------------------------------------------------------------------------------------------------

GOOD: list[tuple[str, Any, str]] = [
    ("offboarding_date", "2026-07-31", "2026-07-31"),
    ("offboarding_date", dt.date(2028, 2, 29), "2028-02-29"),
    ("last_attendance_date", "2026-12-31", "2026-12-31"),
    ("apply_initiating_time", "2026-07-31 18:00:00", "2026-07-31 18:00:00"),
    ("apply_finish_time", dt.datetime(2026, 7, 31, 23, 59, 59), "2026-07-31 23:59:59"),
    ("retain_account", True, "true"),
    ("add_block_list", "false", "false"),
    ("reason", "reason_relocation", "reason_relocation"),
    ("reason", "", ""),  # clears the option
    ("reason_explanation", "2026/07/31 or anything", "2026/07/31 or anything"),
    ("noncompete_agreement_company", "", ""),
    ("badge_return_date__c", "2026/07/31", "2026/07/31"),  # a custom field: type unknown, generic checks only
    ("score__c", Decimal("1.50"), "1.50"),
]


@pytest.mark.parametrize(("name", "value", "wire"), GOOD)
def test_right_forms_are_accepted(name: str, value: Any, wire: str) -> None:
    assert normalize_update_data({name: value}, record="r") == [FieldValue(name, wire)]


# (field, value, the rule's words, the code the emulator answers for that value)
BAD: list[tuple[str, Any, str, int]] = [
    ("offboarding_date", "2026/07/31", "a date is written YYYY-MM-DD", 1160638),
    ("offboarding_date", "2026-02-30", "must be a real date", 1160638),
    ("offboarding_date", "20260731", "a date is written YYYY-MM-DD", 1160638),
    ("offboarding_date", "2026-7-31", "a date is written YYYY-MM-DD", 1160638),
    ("offboarding_date", "", "a date is written YYYY-MM-DD", 1160638),
    ("offboarding_date", dt.datetime(2026, 7, 31, 9, 0), "a date is written YYYY-MM-DD", 1160638),
    ("expected_offboarding_date", "31.07.2026", "a date is written YYYY-MM-DD", 1160638),
    ("apply_initiating_time", "2026-07-30", "YYYY-MM-DD HH:mm:ss", 1160638),
    ("apply_initiating_time", "2026-07-31T18:00:00", "YYYY-MM-DD HH:mm:ss", 1160638),
    ("apply_finish_time", "2026-07-31 24:00:00", "must be a real time", 1160638),
    ("retain_account", "yes", 'a boolean is "true" or "false"', 1160639),
    ("retain_account", "True", 'a boolean is "true" or "false"', 1160639),
    ("add_block_list", 1, 'a boolean is "true" or "false"', 1160639),
    ("is_transfer_with_workforce", "", 'a boolean is "true" or "false"', 1160639),
    ("reason", ["reason_relocation"], "one option api name", 1160619),
    ("reason", '["reason_relocation"]', "not a list or a JSON array", 1160619),
    ("employee_reason", " reason_family", "without spaces around it", 1160619),
]


@pytest.mark.parametrize(("name", "value", "rule", "code"), BAD)
def test_wrong_forms_are_refused_naming_the_record_field_and_rule(name: str, value: Any, rule: str, code: int) -> None:
    text = _refusal({name: value})
    assert text.startswith(f"record 3 (offboarding 7095671727698478604): field {name!r}: not a valid ")
    assert rule in text
    assert f"Feishu error {code}" in text
    if isinstance(value, str) and len(value) > 4:
        assert value not in text  # a value is personal data: never in a message


@pytest.mark.parametrize(
    ("wire", "ok"),
    [('["a","b"]', True), ("[]", True), ("", True), ('"a"', False), ('["a",1]', False), ('[""]', False), ("a", False)],
)
def test_multi_option_form(wire: str, ok: bool) -> None:
    rule = type_rule(FieldType.MULTI_OPTION, wire)
    assert (rule is None) is ok
    if not ok:
        assert rule is not None and "JSON array of option api names" in rule


@pytest.mark.parametrize(("wire", "ok"), [("12", True), ("-1.5", True), ("1,5", False), ("1e3", False), (" 2", False)])
def test_number_form(wire: str, ok: bool) -> None:
    assert (type_rule(FieldType.NUMBER, wire) is None) is ok


def test_every_problem_of_a_record_is_listed_once() -> None:
    text = _refusal({"offboarding_dat": "x", "retain_account": "yes", "reason": ["a"], "note__c": "fine"})
    assert "update_data has 3 problems" in text
    assert "'note__c'" not in text


# -- against the emulator: what the client refuses, the emulator refuses too; Feishu's refusals name the fields ------


@pytest.mark.parametrize(("name", "value", "rule", "code"), [b for b in BAD if isinstance(b[1], str)])
def test_each_refused_form_is_one_the_emulator_refuses_with_the_cited_code(
    feishu_emulator: FeishuEmulator, make_client: MakeClient, name: str, value: str, rule: str, code: int
) -> None:
    with pytest.raises(FeishuEditFieldsError) as info:
        make_client().edit_offboarding(APPROVED, [FieldValue(name, value)])  # the client sends wire form as given
    assert info.value.code == code
    assert (info.value.offboarding_id, info.value.field_names) == (APPROVED, (name,))
    assert f"(offboarding {APPROVED}; the request carried the field(s) {name})" in str(info.value)
    if len(value) > 4:
        assert value not in str(info.value)


def test_a_right_value_of_every_editable_field_is_accepted_by_the_emulator(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    current = feishu_emulator.record(APPROVED)
    good = {
        "offboarding_date": current["offboarding_date"],  # the same date: the employment's date rules stay met
        "expected_offboarding_date": "2026-08-31",
        "last_attendance_date": "2026-07-30",
        "apply_initiating_time": "2026-06-01 09:00:00",
        "apply_finish_time": "2026-06-02 18:30:00",
        "reason": "reason_relocation",
        "employee_reason": "reason_family",
        "reason_explanation": "Relocation.",
        "employee_reason_explanation": "Family.",
        "add_block_list": True,
        "block_reason": "block_reason_other",
        "block_reason_explanation": "Other.",
        "retain_account": False,
        "is_transfer_with_workforce": False,
        "enforce_noncompete_agreement": True,
        "noncompete_agreement_company": "Example Co.",
        "noncompete_agreement_start_date": dt.date(2026, 8, 1),
        "noncompete_agreement_end_date": dt.date(2027, 7, 31),
    }
    assert set(good) == catalogue.EDITABLE
    update = normalize_update_data(good, record="r")
    result = make_client().edit_offboarding(APPROVED, update)
    assert {f.field_name for f in result.fields} == catalogue.EDITABLE


def test_a_field_the_tenant_does_not_have_is_named_with_the_offboarding(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    update = normalize_update_data({"reason": "reason_family", "laptop_returned__c": True}, record="r")
    with pytest.raises(FeishuEditFieldsError) as info:  # a custom name passes the client; this tenant has none such
        make_client().edit_offboarding(APPROVED, update)
    error = info.value
    assert isinstance(error, FeishuBusinessError) and error.permanent
    assert (error.code, error.endpoint) == (1160102, "edit")
    assert error.msg == (
        f"parameter is illegal (offboarding {APPROVED}; the request carried the field(s) reason, laptop_returned__c)"
    )
    assert error.advice and error.log_id and error.http_status == 400
    assert feishu_emulator.request_count("edit", code=1160102) == 1


def test_many_fields_are_listed_up_to_twenty(feishu_emulator: FeishuEmulator, make_client: MakeClient) -> None:
    update = [FieldValue(f"f{i:02d}__c", "x") for i in range(25)]
    with pytest.raises(FeishuEditFieldsError) as info:
        make_client().edit_offboarding(APPROVED, update)
    assert info.value.field_names == tuple(f.field_name for f in update)
    assert "f19__c and 5 more)" in info.value.msg and "f20__c" not in info.value.msg


def test_a_refusal_about_the_record_is_not_about_its_fields(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    with pytest.raises(FeishuBusinessError) as info:
        make_client().edit_offboarding("7000000000000000001", [FieldValue("reason", "reason_family")])
    assert info.value.code == 1160625
    assert not isinstance(info.value, FeishuEditFieldsError)
    assert info.value.msg == "offboarding does not exist"


def test_the_async_client_names_the_fields_too(feishu_emulator: FeishuEmulator, make_async_client: MakeAsync) -> None:
    async def run() -> FeishuEditFieldsError:
        async with make_async_client() as client:
            try:
                await client.edit_offboarding(APPROVED, [FieldValue("offboarding_date", "2026/07/31")])
            except FeishuEditFieldsError as error:
                return error
        raise AssertionError("no error")

    error = asyncio.run(run())
    assert (error.code, error.offboarding_id, error.field_names) == (1160638, APPROVED, ("offboarding_date",))
    assert "2026/07/31" not in str(error)
