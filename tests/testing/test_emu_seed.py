"""Seed data: the default seed covers every status; bad seeds and settings get errors naming the problem."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_feishu_corehr.client.models import OFFBOARDING_STATUSES
from airflow_provider_feishu_corehr.testing import EmulatorError, FeishuEmulator, SeedError

if TYPE_CHECKING:
    from pathlib import Path

RECORD = {"offboarding_id": "7000000000000000001", "employment_id": "6000000000000000001", "status": "Approved"}


def test_default_seed_covers_every_status_with_realistic_ids() -> None:
    emu = FeishuEmulator()
    items = emu.offboardings()
    assert {i["status"] for i in items} == set(OFFBOARDING_STATUSES)
    for item in items:
        for value in (item["offboarding_id"], item["offboarding_info"]["employment_id"]):
            assert len(value) == 19 and value.isdigit()


def test_seed_from_dict_and_file(tmp_path: Path) -> None:
    seed = {"records": [RECORD], "employments": ["6000000000000000009"], "description": "one record"}
    assert [i["offboarding_id"] for i in FeishuEmulator(seed=seed).offboardings()] == [RECORD["offboarding_id"]]
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    assert len(FeishuEmulator(seed=path).offboardings()) == 1
    assert len(FeishuEmulator(seed=str(path)).offboardings()) == 1


def test_seed_schema_adds_fields(tmp_path: Path) -> None:
    schema = {"badge_colour__c": {"type": "enum", "options": ["red", "blue"], "label": "Badge colour"}}
    emu = FeishuEmulator(seed={"records": [{**RECORD, "badge_colour__c": "red"}], "schema": schema})
    custom = emu.get_offboarding(RECORD["offboarding_id"])["offboarding_info"]["custom_fields"]
    assert custom == [
        {
            "custom_api_name": "badge_colour__c",
            "name": {"zh_cn": "Badge colour", "en_us": "Badge colour"},
            "type": 4,
            "value": '"red"',
        }
    ]


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        ([], "must be a JSON object"),
        ({}, "'records' must be a list"),
        ({"records": [], "people": []}, "unknown top-level key(s) 'people'"),
        ({"records": [], "employments": [5]}, "'employments'"),
        ({"records": ["x"]}, "seed record #0: a record must be an object"),
        ({"records": [{"status": "Approved"}]}, "employment_id is required"),
        ({"records": [{**RECORD, "status": "Done"}]}, "status 'Done'"),
        ({"records": [{**RECORD, "colour": "blue"}]}, "unknown key(s) 'colour'"),
        ({"records": [RECORD, RECORD]}, "'7000000000000000001' is used twice"),
        ({"records": [{**RECORD, "offboarding_date": "31.12.2026"}]}, "field 'offboarding_date' (date)"),
        ({"records": [{**RECORD, "retain_account": "maybe"}]}, "field 'retain_account' (bool)"),
        ({"records": [{**RECORD, "handover_note__c": 5}]}, "field 'handover_note__c'"),
        ({"records": [{**RECORD, "onboarding_date": "2024"}]}, "onboarding_date must be YYYY-MM-DD"),
        ({"records": [{**RECORD, "pending_approval": "yes"}]}, "pending_approval 'yes'"),
        ({"records": [{**RECORD, "contract_issue": "expired"}]}, "contract_issue 'expired'"),
        ({"records": [{**RECORD, "department_disabled": "true"}]}, "department_disabled must be true or false"),
        ({"records": [{**RECORD, "hrbp_ids": "6000"}]}, "hrbp_ids"),
        ({"records": [], "schema": {"x__c": {"type": "colour"}}}, "schema field 'x__c': type 'colour'"),
        ({"records": [], "schema": {"x__c": {"type": "enum"}}}, "needs 'options'"),
        ({"records": [], "schema": {"x__c": {"type": "text", "options": ["a"]}}}, "'options' only applies"),
        ({"records": [], "schema": {"status": {"type": "text"}}}, "not-editable system field"),
        ({"records": [], "schema": ["x"]}, "'schema' must be an object"),
    ],
)
def test_bad_seed_names_the_problem(seed: Any, message: str) -> None:
    with pytest.raises(SeedError) as raised:
        FeishuEmulator(seed=seed)
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_bad_seed_files(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="cannot be read"):
        FeishuEmulator(seed=tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"records": [')
    with pytest.raises(SeedError, match=r"broken.json' is not valid JSON: .*line 1"):
        FeishuEmulator(seed=broken)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"apps": {}}, "apps"),
        ({"apps": {"cli_x": ""}}, "apps"),
        ({"token_ttl": 0}, "token_ttl"),
        ({"token_ttl": 60, "token_refresh_window": 60}, "token_refresh_window"),
        ({"token_invalid_http_status": 401}, "200 or 400"),
        ({"port": 70000}, "port"),
    ],
)
def test_bad_settings_name_the_problem(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(EmulatorError, match=message):
        FeishuEmulator(**kwargs)


def test_port_in_use_is_a_clear_error() -> None:
    with FeishuEmulator() as first:
        second = FeishuEmulator(port=first.port)
        with pytest.raises(EmulatorError, match="cannot listen"):
            second.start()
