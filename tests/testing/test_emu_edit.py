"""Edit: every documented error code that record data or values can cause, and successful edits."""

from __future__ import annotations

import pytest
from emu_client import Api, assert_error

from airflow_provider_feishu_corehr.client.codes import EDIT, Treatment

HAPPY = "7095671727698478604"
DATES = "7095671727698478622"
NOTE = "handover_note__c"

# (offboarding id, update_data as a dict, code): one row per data- or value-caused edit error.
EDIT_ERRORS = [
    ("7095671727698400000", {NOTE: "x"}, 1160625),
    ("7095671727698478605", {NOTE: "x"}, 1160623),  # Approving: approval not passed
    ("7095671727698478607", {NOTE: "x"}, 1160623),  # Rejected
    ("7095671727698478608", {NOTE: "x"}, 1160623),  # Withdrawn
    (HAPPY, {"status": "Withdrawn"}, 1160623),  # documented not-editable field
    (HAPPY, {"social_insurance_end_date": "2026-12"}, 1160623),
    (HAPPY, {"nickname": "Sandy"}, 1160102),  # unknown field: update_data is illegal
    (HAPPY, {"name": "Sandy"}, 1160102),  # the edit page's own example (a placeholder name)
    (HAPPY, {"sign_type": "sign_type_paper"}, 1160623),  # read-only, though search shows it
    (HAPPY, {"noncompete_agreement_id": "x"}, 1160623),
    (HAPPY, {"checklist_process_id": "7"}, 1160623),
    (HAPPY, {"checklist_start_time": "2026-06-01 10:00:00"}, 1160102),  # a checklist key, not a field
    (HAPPY, {"signature_file": "file-token"}, 1160637),  # an attachment
    ("7095671727698478610", {NOTE: "x"}, 1160300),  # department disabled
    ("7095671727698478612", {NOTE: "x"}, 1161001),  # modification approval
    ("7095671727698478613", {NOTE: "x"}, 1161002),  # withdrawal approval
    ("7095671727698478615", {NOTE: "x"}, 1160200),  # job change in approval
    ("7095671727698478616", {NOTE: "x"}, 1160203),  # no current contract
    ("7095671727698478617", {NOTE: "x"}, 1160204),  # future contract
    ("7095671727698478618", {NOTE: "x"}, 1160205),  # contract has actual end date
    ("7095671727698478619", {NOTE: "x"}, 1160304),  # company missing
    ("7095671727698478620", {NOTE: "x"}, 1160610),  # no data permission
    ("7095671727698478621", {NOTE: "x"}, 1160631),  # employee missing
    (DATES, {"offboarding_date": "2024-02-01"}, 1160601),
    (DATES, {"offboarding_date": "2024-03-15"}, 1160602),
    (DATES, {"offboarding_date": "2024-06-01"}, 1160607),
    (DATES, {"offboarding_date": "2025-05-01"}, 1160603),
    (DATES, {"offboarding_date": "2027-06-30"}, 1160608),
    (HAPPY, {NOTE: "x" * 256}, 1160618),
    (HAPPY, {"exit_interview_summary__c": "x" * 6001}, 1160618),
    (HAPPY, {"reason_explanation": "x" * 6001}, 1160604),
    (HAPPY, {"employee_reason_explanation": "x" * 6001}, 1160604),
    (HAPPY, {"asset_return_form__c": "intranet/forms/42"}, 1160617),
    (HAPPY, {"reason": "reason_bored"}, 1160619),
    (HAPPY, {"exit_tags__c": '["tag_unknown"]'}, 1160619),
    (HAPPY, {"exit_tags__c": "tag_alumni"}, 1160619),  # not a JSON array
    (HAPPY, {"severance_months__c": "two"}, 1160630),
    (HAPPY, {"offboarding_date": "2026/12/31"}, 1160638),
    (HAPPY, {"offboarding_date": "2026-02-30"}, 1160638),
    (HAPPY, {"exit_interview_time__c": "2026-12-31T10:00:00"}, 1160638),
    (HAPPY, {"retain_account": "yes"}, 1160639),
    (HAPPY, {"resignation_letter__c": "boxcnOther"}, 1160637),
    (HAPPY, {"handover_contact__c": "6982509313466100000"}, 1160636),
    (HAPPY, {"add_block_list": "true"}, 1160710),  # block list without a reason
    (HAPPY, {"block_reason": "block_reason_fraud"}, 1160710),  # reason without block list
    (HAPPY, {"enforce_noncompete_agreement": "true"}, 1160700),  # no period
    (HAPPY, {"noncompete_agreement_start_date": "2027-01-01", "noncompete_agreement_end_date": "2026-01-01"}, 1160700),
]
REQUEST_CODES = {1160102, 1160624}  # request shape and operator: tested below


@pytest.mark.parametrize(("offboarding_id", "updates", "code"), EDIT_ERRORS)
def test_edit_error_caused_by_data(api: Api, offboarding_id: str, updates: dict[str, str], code: int) -> None:
    before = api.emu.offboardings()
    assert_error(api.edit(offboarding_id, updates), "edit", code)
    assert api.emu.offboardings() == before


def test_tables_cover_every_documented_non_system_edit_code() -> None:
    documented = {code for code, info in EDIT.items() if info.treatment is not Treatment.RETRY}
    assert {code for _, _, code in EDIT_ERRORS} | REQUEST_CODES == documented


def test_successful_edit_changes_the_record_and_echoes_the_fields(api: Api) -> None:
    updates = {
        "offboarding_date": "2026-08-31",
        "reason": "reason_family",
        "retain_account": "true",
        "severance_months__c": "3.5",
        "exit_tags__c": '["tag_alumni","tag_rehire_ok"]',
        "exit_interview_time__c": "2026-08-20 15:00:00",
        "asset_return_form__c": "https://forms.example.com/assets/42",
        "handover_contact__c": "6893014062142064136",
        "reason_explanation": "x" * 6000,
    }
    response = api.edit(HAPPY, updates, operator_id="6893014062142064135")
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 0 and body["msg"] == "success"
    assert body["data"]["data"] == [{"field_name": k, "value": v} for k, v in updates.items()]
    info = api.emu.get_offboarding(HAPPY)["offboarding_info"]
    assert info["offboarding_date"] == "2026-08-31"
    assert info["reason"]["enum_name"] == "reason_family"
    assert info["retain_account"] is True
    custom = {c["custom_api_name"]: c["value"] for c in info["custom_fields"]}
    assert custom["severance_months__c"] == "3.5"
    assert custom["exit_tags__c"] == '["tag_alumni","tag_rehire_ok"]'
    assert custom["exit_interview_time__c"] == '"2026-08-20 15:00:00"'


def test_edit_with_consistent_group_values_is_accepted(api: Api) -> None:
    assert api.edit(HAPPY, {"add_block_list": "true", "block_reason": "block_reason_other"}).json()["code"] == 0
    noncompete = {
        "enforce_noncompete_agreement": "true",
        "noncompete_agreement_start_date": "2026-07-01",
        "noncompete_agreement_end_date": "2027-06-30",
    }
    assert api.edit(HAPPY, noncompete).json()["code"] == 0
    assert api.edit(DATES, {"offboarding_date": "2026-12-31"}).json()["code"] == 0
    assert api.edit("7095671727698478609", {NOTE: "done"}).json()["code"] == 0  # NoNeedApproval too


def test_edit_of_an_offboarded_record_is_refused_1160631(api: Api) -> None:
    """The edit page's 1160631 "employee is not exist or has offboarded": an offboarding that took effect."""
    offboarded = "7095671727698478606"
    before = api.emu.record(offboarded)
    assert before["status"] == "Offboarded"
    assert_error(api.edit(offboarded, {NOTE: "done"}), "edit", 1160631)
    assert api.emu.record(offboarded) == before


def test_empty_value_clears_an_optional_field(api: Api) -> None:
    assert api.edit(HAPPY, {NOTE: ""}).json()["code"] == 0
    custom = [c["custom_api_name"] for c in api.emu.get_offboarding(HAPPY)["offboarding_info"]["custom_fields"]]
    assert NOTE not in custom
    assert_error(api.edit(HAPPY, {"offboarding_date": ""}), "edit", 1160638)


def test_unknown_operator_is_1160624(api: Api) -> None:
    assert_error(api.edit(HAPPY, {NOTE: "x"}, operator_id="6982509313466100000"), "edit", 1160624)
    operator = api.emu.employment_id_as("6893014062142064135", "union_id")
    body = {"offboarding_id": HAPPY, "operator_id": operator, "update_data": [{"field_name": NOTE, "value": "y"}]}
    assert api.call("edit", body, params={"user_id_type": "union_id"}).json()["code"] == 0
    assert_error(api.call("edit", body, params={"user_id_type": "people_corehr_id"}), "edit", 1160624)


@pytest.mark.parametrize(
    "body",
    [
        {"offboarding_id": HAPPY, "update_data": []},
        {"offboarding_id": HAPPY},
        {"offboarding_id": HAPPY, "update_data": {"field_name": NOTE, "value": "x"}},
        {"offboarding_id": HAPPY, "update_data": [{"field_name": NOTE, "value": 3}]},
        {"offboarding_id": HAPPY, "update_data": [{"field_name": "", "value": "x"}]},
        {
            "offboarding_id": HAPPY,
            "update_data": [{"field_name": NOTE, "value": "a"}, {"field_name": NOTE, "value": "b"}],
        },
        {"offboarding_id": HAPPY, "update_data": [{"field_name": f"f{i}__c", "value": "x"} for i in range(10_001)]},
        {"offboarding_id": "", "update_data": [{"field_name": NOTE, "value": "x"}]},
        {"offboarding_id": HAPPY, "operator_id": 5, "update_data": [{"field_name": NOTE, "value": "x"}]},
        ["not", "an", "object"],
    ],
)
def test_bad_request_is_1160102(api: Api, body: object) -> None:
    assert_error(api.call("edit", body), "edit", 1160102)
