"""Every documented search field, read-only ones staying read-only, tenant custom fields with their types."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
import requests
from emu_client import Api, assert_error

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

HAPPY = "7095671727698478604"
OPERATOR = "6893014062142064135"  # a known person (valid lookup value)
ITEM = ["offboarding_id", "status", "initiating_type"]
APPLICATION = ["apply_initiator_id", "apply_initiating_time", "apply_finish_time", "process_id"]
INFO = [
    "employment_id",
    "hrbp_id",
    "expected_offboarding_date",
    "offboarding_date",
    "reason",
    "reason_explanation",
    "employee_reason",
    "employee_reason_explanation",
    "add_block_list",
    "block_reason",
    "block_reason_explanation",
    "custom_fields",
    "retain_account",
    "social_insurance_end_date",
    "provident_fund_end_date",
    "enforce_noncompete_agreement",
    "noncompete_agreement_id",
    "noncompete_agreement_company",
    "noncompete_agreement_start_date",
    "noncompete_agreement_end_date",
    "sign_type",
    "last_attendance_date",
    "is_transfer_with_workforce",
]
CHECKLIST = ["checklist_status", "checklist_start_time", "checklist_finish_time", "checklist_process_id"]
CUSTOM = ["custom_api_name", "name", "type", "value"]
# The 40 fields of the search page's answer (signature_file aside, below).
DOCUMENTED = [
    *ITEM,
    *(f"application_info.{name}" for name in APPLICATION),
    *(f"offboarding_info.{name}" for name in INFO),
    *(f"offboarding_info.custom_fields[].{name}" for name in CUSTOM),
    *(f"offboarding_checklist.{name}" for name in CHECKLIST),
    "page_token",
    "has_more",
]


def emitted(data: dict[str, Any]) -> set[str]:
    found = {key for key in data if key != "items"}
    for item in data["items"]:
        for key, value in item.items():
            if not isinstance(value, dict):
                found.add(key)
                continue
            for name, inner in value.items():
                found.add(f"{key}.{name}")
                if name == "custom_fields":
                    found |= {f"{key}.custom_fields[].{k}" for custom in inner for k in custom}
    return found


def test_the_default_seed_emits_all_40_documented_search_fields_and_signature_file(api: Api) -> None:
    assert len(DOCUMENTED) == 40
    found = emitted(api.search().json()["data"])
    assert sorted(set(DOCUMENTED) - found) == []
    assert "offboarding_info.signature_file" in found
    assert sorted(found - set(DOCUMENTED)) == ["offboarding_info.signature_file"]


def test_read_only_fields_have_their_documented_shapes(api: Api) -> None:
    body = {"employment_ids": ["6982509313466189365"]}
    [item] = api.search(body).json()["data"]["items"]
    info, checklist = item["offboarding_info"], item["offboarding_checklist"]
    assert info["sign_type"]["enum_name"] == "sign_type_electronic"  # enums are objects
    assert (info["social_insurance_end_date"], info["provident_fund_end_date"]) == ("2026-02", "2026-02")  # YYYY-MM
    assert info["add_block_list"] == "true" and info["enforce_noncompete_agreement"] is True
    assert info["noncompete_agreement_id"] and info["signature_file"]
    assert checklist == {
        "checklist_status": "Finished",
        "checklist_start_time": "2026-01-06 17:00:00",
        "checklist_finish_time": "2026-02-27 18:00:00",
        "checklist_process_id": "7102345678901234629",
    }


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"social_insurance_end_date": "2026-13"}, "social_insurance_end_date"),
        ({"sign_type": "sign_type_fax"}, "sign_type"),
        ({"checklist_start_time": "2026-01-06"}, "checklist_start_time must be"),
        ({"checklist_process_id": ""}, "checklist_process_id must be an id"),
    ],
)
def test_seeded_read_only_values_are_validated(
    feishu_emulator: FeishuEmulator, record: dict[str, Any], message: str
) -> None:
    url = f"{feishu_emulator.base_url}/_emulator/offboardings"
    response = requests.post(url, json={"employment_id": "6900000000000000001", **record}, timeout=10)
    assert response.status_code == 400 and message in response.json()["error"]


CUSTOM_FIELDS = {
    "badge__c": "text",
    "score__c": "number",
    "remote__c": "bool",
    "grade__c": {"type": "enum", "options": ["grade_a", "grade_b"]},
    "met_at__c": "time",
    "buddy__c": "lookup",
}


@pytest.mark.feishu_emulator(custom_fields=CUSTOM_FIELDS)
@pytest.mark.parametrize(
    ("name", "good", "bad", "code"),
    [
        ("badge__c", "B-17", "x" * 256, 1160618),
        ("score__c", "12.5", "twelve", 1160630),
        ("remote__c", "true", "yes", 1160639),
        ("grade__c", "grade_b", "grade_z", 1160619),
        ("met_at__c", "2026-06-02 15:30:00", "2026-06-02T15:30", 1160638),
        ("buddy__c", OPERATOR, "6000000000000000000", 1160636),
    ],
)
def test_declared_custom_fields_validate_their_type(api: Api, name: str, good: str, bad: str, code: int) -> None:
    assert_error(api.edit(HAPPY, {name: bad}), "edit", code)
    assert api.edit(HAPPY, {name: good}).json()["code"] == 0
    [custom] = [
        c for c in api.emu.get_offboarding(HAPPY)["offboarding_info"]["custom_fields"] if c["custom_api_name"] == name
    ]
    numbers = {"badge__c": 1, "remote__c": 2, "score__c": 3, "grade__c": 4, "buddy__c": 5, "met_at__c": 8}
    assert custom["type"] == numbers[name]
    expected = json.loads(good) if name in ("score__c", "remote__c") else good  # JSON text: numbers, bools bare
    assert json.loads(custom["value"]) == expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"badge": "text"}, "ends in '__c'"),
        ({"badge__c": "colour"}, "type 'colour' is unknown"),
        ({"grade__c": "enum"}, "needs 'options'"),
        ({"badge__c": {"type": "text", "width": 3}}, "unknown key"),
    ],
)
def test_bad_custom_field_declarations_are_refused(fields: dict[str, Any], message: str) -> None:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator, SeedError

    with pytest.raises(SeedError, match=message):
        FeishuEmulator(custom_fields=fields)


def test_unknown_field_names_answer_1160102_not_a_status_code(api: Api) -> None:
    """The edit page's own example edits ``name``: update_data is illegal (1160102); 1160623 would blame the
    offboarding's approval status."""
    assert_error(api.edit(HAPPY, {"name": "Sandy"}), "edit", 1160102)
    assert_error(api.edit("7095671727698478605", {"name": "Sandy"}), "edit", 1160623)  # status is checked first


def test_cli_declares_custom_fields_from_flags_and_a_file(tmp_path: Path) -> None:
    spec = tmp_path / "fields.json"
    spec.write_text(json.dumps({"cost_center__c": {"type": "enum", "options": ["cc_1", "cc_2"], "label": "Cost"}}))
    cli = [sys.executable, "-m", "airflow_provider_feishu_corehr.testing", "--print-json-line", "--port", "0"]
    args = ["--custom-field", "laptop__c:bool", "--custom-field", "tier__c:enum:t1,t2", "--custom-fields", str(spec)]
    process = subprocess.Popen([*cli, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        emu = _Remote(info["base_url"], info["app_id"])
        api = Api(emu)  # type: ignore[arg-type]
        assert_error(api.edit(HAPPY, {"laptop__c": "maybe"}), "edit", 1160639)
        assert_error(api.edit(HAPPY, {"tier__c": "t3"}), "edit", 1160619)
        assert_error(api.edit(HAPPY, {"cost_center__c": "cc_9"}), "edit", 1160619)
        ok = {"laptop__c": "true", "tier__c": "t2", "cost_center__c": "cc_1"}
        assert api.edit(HAPPY, ok).json()["code"] == 0
    finally:
        process.terminate()
        process.communicate(timeout=10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--custom-field", "laptop:bool"], "ends in '__c'"),
        (["--custom-field", "laptop__c"], "NAME__c:TYPE"),
        (["--custom-field", "laptop__c:colour"], "unknown"),
        (["--custom-fields", "/nonexistent/fields.json"], "cannot be read"),
    ],
)
def test_cli_bad_custom_fields_exit_2(args: list[str], message: str) -> None:
    cli = [sys.executable, "-m", "airflow_provider_feishu_corehr.testing", "--port", "0", *args]
    result = subprocess.run(cli, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and message in result.stderr


class _Remote:
    """What :class:`Api` needs of an emulator, for one started by the CLI in another process."""

    app_secret = "emulator-secret"

    def __init__(self, base_url: str, app_id: str) -> None:
        self.base_url, self.app_id = base_url, app_id
