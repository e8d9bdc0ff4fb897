"""Bad inputs are refused before any request reaches the emulator: at DAG parse time when the argument is
static, and again at execute time after rendering (the same values set as a template would render them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pendulum
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from operator_seed import APPROVED, OFFBOARDED

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator, RevokeOffboardingOperator

if TYPE_CHECKING:
    from recording_ti import RecordingTI

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

R, E = RevokeOffboardingOperator, EditOffboardingOperator
OK_UPDATE = {"handover_note__c": "to the platform team"}
TEMPLATED = {"offboarding_id", "update_data", "offboardings", "operator_id", "user_id_type"}

# (operator, arguments, words of the error). Every case names the field and the rule.
CASES: list[tuple[type[Any], dict[str, Any], str]] = [
    (R, {"offboarding_id": ""}, "offboarding_id must not be empty"),
    (R, {"offboarding_id": "   "}, "offboarding_id must not be empty"),
    (R, {"offboarding_id": None}, "offboarding_id is required"),
    (R, {"offboarding_id": 7095671727698478604}, "offboarding_id must be an id (str) or a list of ids, got int"),
    (R, {"offboarding_id": {"id": APPROVED}}, "offboarding_id must be an id (str) or a list of ids, got dict"),
    (R, {"offboarding_id": "[not json"}, "offboarding_id is text but not a JSON array"),
    (R, {"offboarding_id": "['7095671727698478604']"}, "looks like a Python list rendered as text"),
    (R, {"offboarding_id": "[1, 2]"}, "record 0: offboarding_id must be a string, got int"),
    (R, {"offboarding_id": ["", "  "]}, "record 1: offboarding_id must not be empty"),
    (R, {"offboarding_id": [None]}, "record 0: offboarding_id must be a string, got NoneType"),
    (R, {"offboarding_id": [APPROVED, APPROVED]}, f"offboarding {APPROVED} is listed 2 times"),
    (R, {"offboarding_id": APPROVED, "user_id_type": "email"}, "user_id_type must be one of"),
    (R, {"offboarding_id": APPROVED, "user_id_type": ""}, "user_id_type must be one of"),
    (R, {"offboarding_id": APPROVED, "operator_id": "   "}, "operator_id must not be empty"),
    (R, {"offboarding_id": APPROVED, "operator_id": 6982509313466189341}, "operator_id must be a string, got int"),
    (E, {"offboarding_id": OFFBOARDED, "update_data": {}}, "update_data must not be empty"),
    (E, {"offboarding_id": OFFBOARDED, "update_data": []}, "update_data must not be empty"),
    (E, {"offboarding_id": OFFBOARDED, "update_data": ""}, "update_data is text but not valid JSON"),
    (E, {"offboarding_id": OFFBOARDED, "update_data": "not json"}, "update_data is text but not valid JSON"),
    (E, {"offboarding_id": OFFBOARDED, "update_data": None}, "update_data is required"),
    (E, {"offboarding_id": OFFBOARDED, "update_data": {"status": "Approved"}}, "field 'status': not editable"),
    (E, {"offboarding_id": OFFBOARDED, "update_data": {"sign_type": "x"}}, "field 'sign_type': not editable"),
    (E, {"offboarding_id": OFFBOARDED, "update_data": {" ": "x"}}, "field name must not be empty"),
    (
        E,
        {
            "offboarding_id": OFFBOARDED,
            "update_data": [{"field_name": "a__c", "value": "1"}, {"field_name": "a__c", "value": "2"}],
        },
        "field 'a__c': given more than once",
    ),
    (
        E,
        {"offboarding_id": OFFBOARDED, "update_data": {"reason_explanation": "x" * 6001}},
        "field 'reason_explanation': text is 6001 characters; reason explanations are limited to 6000",
    ),
    (
        E,
        {"offboarding_id": OFFBOARDED, "update_data": {"exit_interview_summary__c": "y" * 6001}},
        "field 'exit_interview_summary__c': text is 6001 characters; the API accepts at most 6000",
    ),
    (
        E,
        {"offboarding_id": OFFBOARDED, "update_data": {"exit_interview_time__c": pendulum.datetime(2026, 1, 1)}},
        "field 'exit_interview_time__c': datetime is timezone-aware",
    ),
    (
        E,
        {"offboarding_id": OFFBOARDED, "update_data": {"severance_months__c": float("nan")}},
        "field 'severance_months__c': number is nan",
    ),
    (
        E,
        {"offboarding_id": OFFBOARDED, "update_data": {"add_block_list": None}},
        "field 'add_block_list': value is None",
    ),
    (
        E,
        {"offboarding_id": OFFBOARDED, "update_data": {"exit_tags__c": {"tag_alumni"}}},
        "field 'exit_tags__c': value of type set is not supported",
    ),
    (
        E,
        {"offboarding_id": OFFBOARDED, "update_data": {f"f{i}__c": "v" for i in range(10_001)}},
        "update_data has 10001 entries; the API accepts at most 10000",
    ),
    (E, {"offboarding_id": OFFBOARDED, "update_data": [{"field_name": "a"}]}, "update_data[0] must have exactly"),
    (
        E,
        {"offboarding_id": OFFBOARDED, "update_data": [{"field_name": "a", "value": "1", "type": 1}]},
        "unknown key(s) 'type'",
    ),
    (E, {"offboarding_id": "", "update_data": OK_UPDATE}, "offboarding_id must not be empty"),
    (E, {"offboarding_id": OFFBOARDED, "update_data": OK_UPDATE, "user_id_type": "email"}, "user_id_type must be"),
    (
        E,
        {"offboarding_id": OFFBOARDED, "update_data": OK_UPDATE, "offboardings": []},
        "give either offboardings, or offboarding_id with update_data",
    ),
    (E, {"offboardings": "{}"}, "offboardings JSON must be an array"),
    (E, {"offboardings": {"offboarding_id": OFFBOARDED}}, "offboardings must be a list"),
    (E, {"offboardings": [OFFBOARDED]}, "record 0: must be a mapping with offboarding_id and update_data, got str"),
    (E, {"offboardings": [{"update_data": OK_UPDATE}]}, "record 0: offboarding_id must be a string, got NoneType"),
    (
        E,
        {"offboardings": [{"offboarding_id": OFFBOARDED, "update_data": OK_UPDATE, "employee_id": "1"}]},
        "record 0: unknown key(s) 'employee_id'",
    ),
    (
        E,
        {"offboardings": [{"offboarding_id": OFFBOARDED, "update_data": {"wk_id": "1"}}]},
        f"record 0 (offboarding {OFFBOARDED}): field 'wk_id': not editable",
    ),
    (
        E,
        {"offboardings": [{"offboarding_id": OFFBOARDED, "update_data": OK_UPDATE}] * 2},
        f"offboarding {OFFBOARDED} is listed 2 times",
    ),
    (
        E,
        {"offboarding_id": [OFFBOARDED, APPROVED], "update_data": {"status": "x"}},
        "update_data (shared by every offboarding_id): field 'status': not editable",
    ),
]

# Arguments that are not templated: checked once, when the operator is built.
PARSE_ONLY: list[tuple[type[Any], dict[str, Any], str]] = [
    (R, {"offboarding_id": APPROVED, "max_workers": 0}, "max_workers must be an integer from 1 to 32"),
    (R, {"offboarding_id": APPROVED, "max_workers": 33}, "max_workers must be an integer from 1 to 32"),
    (E, {"offboarding_id": APPROVED, "update_data": OK_UPDATE, "max_workers": True}, "max_workers must be"),
    (R, {"offboarding_id": APPROVED, "fail_if_already_withdrawn": "yes"}, "fail_if_already_withdrawn must be True"),
    (E, {"offboarding_id": APPROVED, "update_data": OK_UPDATE, "timezone": "Mars/Base"}, "timezone must be an IANA"),
    (E, {"update_data": OK_UPDATE}, "offboarding_id (with update_data) or offboardings is required"),
]


def _ids(cases: list[tuple[type[Any], dict[str, Any], str]]) -> list[str]:
    return [f"{i:02d}-{cls.__name__[:6]}-{rule[:40]}" for i, (cls, _, rule) in enumerate(cases)]


def test_the_table_is_large_enough() -> None:
    assert len(CASES) + len(PARSE_ONLY) >= 30


@pytest.mark.parametrize(("cls", "kwargs", "rule"), CASES + PARSE_ONLY, ids=_ids(CASES + PARSE_ONLY))
def test_static_bad_input_is_refused_when_the_dag_is_parsed(
    fast_feishu: FeishuEmulator, cls: type[Any], kwargs: dict[str, Any], rule: str
) -> None:
    with pytest.raises(FeishuInvalidInputError) as info:
        cls(task_id="t", **kwargs)
    assert rule in str(info.value)
    assert fast_feishu.request_count() == 0


@pytest.mark.parametrize(("cls", "kwargs", "rule"), CASES, ids=_ids(CASES))
def test_rendered_bad_input_is_refused_before_any_request(
    fast_feishu: FeishuEmulator, ti: RecordingTI, cls: type[Any], kwargs: dict[str, Any], rule: str
) -> None:
    # Built with templates (nothing to check at parse time), then given the values a template renders to.
    placeholders = {k: "{{ params.%s }}" % k for k in kwargs if k in TEMPLATED}  # noqa: UP031
    try:
        operator = cls(task_id="t", **{**kwargs, **placeholders})
    except FeishuInvalidInputError as err:  # shape errors (both/neither) need no rendering to be seen
        assert rule in str(err)
        return
    for name, value in kwargs.items():
        setattr(operator, name, value)
    with pytest.raises(AirflowFailException) as info:
        operator.execute({"ti": ti})
    assert rule in str(info.value)
    assert fast_feishu.request_count() == 0, [r.endpoint for r in fast_feishu.requests]
    if "return_value" in ti.pushed:  # a batch whose every record was refused still reports each of them
        report = ti.pushed["return_value"]
        assert report["counts"]["failed"] == report["total"] > 0
        assert all(r["error"]["kind"] == "invalid_input" for r in report["records"])


def test_error_messages_never_contain_values(fast_feishu: FeishuEmulator) -> None:
    secret_note = "Personal: " + "z" * 6000
    with pytest.raises(FeishuInvalidInputError) as info:
        E(task_id="t", offboarding_id=OFFBOARDED, update_data={"exit_interview_summary__c": secret_note})
    assert "Personal" not in str(info.value)
    assert OFFBOARDED in str(info.value)
