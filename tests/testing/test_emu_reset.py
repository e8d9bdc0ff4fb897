"""Shared-server hygiene: ``POST /_emulator/reset`` back to the seed, the shared fixture, one app id per fixture."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import requests
from emu_client import Api, assert_error, run_user_tests

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

APPROVED = "7095671727698478604"


def control(emu: FeishuEmulator, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{emu.base_url}/_emulator/{path}", json=body, timeout=10)


@pytest.mark.feishu_emulator(rate_limits={"revoke": (1, 3600)})
def test_reset_brings_back_records_clock_faults_counters_windows_and_tokens(api: Api) -> None:
    emu = api.emu
    seed_items = emu.offboardings()
    start = control(emu, "GET", "clock").json()["tenant_time"]
    old_token = api.token()
    assert api.revoke(APPROVED).json()["code"] == 0  # uses the one revoke of the window
    assert api.edit("7095671727698478609", {"handover_note__c": "changed"}).json()["code"] == 0
    control(emu, "POST", "offboardings", {"employment_id": "6900000000000000001"})
    control(emu, "POST", "faults", {"endpoint": "search", "kind": "http_503", "count": 5})
    control(emu, "POST", "clock", {"advance": 200 * 86400, "speed": 0, "approval_delay": 60})

    response = control(emu, "POST", "reset")

    assert response.status_code == 200 and response.json()["reset"] is True
    assert emu.offboardings() == seed_items
    clock = control(emu, "GET", "clock").json()
    assert clock["tenant_time"][:13] == start[:13] and clock["speed"] == 1 and clock["approval_delay"] is None
    state = control(emu, "GET", "state").json()
    assert (state["faults"], state["requests"], state["tokens_issued"], state["transitions"]) == ([], {}, 0, [])
    assert_error(api.search(token=old_token), "search", 99991663)  # every token issued before is gone
    api._token = None
    assert api.revoke(APPROVED).json()["code"] == 0  # a new rate-limit window, the record Approved again


def test_reset_can_keep_tokens_for_sdks_that_cache_them(api: Api) -> None:
    token = api.token()
    assert control(api.emu, "POST", "reset", {"keep_tokens": True}).status_code == 200
    assert api.search(token=token).json()["code"] == 0


def test_reset_without_a_body_and_with_bad_ones(feishu_emulator: FeishuEmulator) -> None:
    assert requests.post(f"{feishu_emulator.base_url}/_emulator/reset", timeout=10).status_code == 200
    bad = control(feishu_emulator, "POST", "reset", {"keep_records": True})
    assert bad.status_code == 400 and "keep_tokens" in bad.json()["error"]
    assert control(feishu_emulator, "POST", "reset", {"keep_tokens": "yes"}).status_code == 400


def test_each_fixture_instance_has_its_own_app_id_and_the_shared_one_is_reset(tmp_path: Path) -> None:
    """Run a user's test file: two tests with ``feishu_emulator`` and two with ``feishu_emulator_shared``."""
    run_user_tests(
        tmp_path,
        """
        import json, pathlib, requests

        OUT = pathlib.Path("out.jsonl")
        REVOKE = "/open-apis/corehr/v2/offboardings/revoke"

        def note(**values):
            with OUT.open("a") as out:
                out.write(json.dumps(values) + "\\n")

        def revoke(emu):
            token = requests.post(
                emu.base_url + "/open-apis/auth/v3/tenant_access_token/internal",
                json={"app_id": emu.app_id, "app_secret": emu.app_secret}, timeout=10,
            ).json()["tenant_access_token"]
            return requests.post(
                emu.base_url + REVOKE, json={"offboarding_id": "7095671727698478604"},
                headers={"Authorization": "Bearer " + token}, timeout=10,
            ).json()["code"]

        def test_fresh_1(feishu_emulator):
            note(kind="fresh", app_id=feishu_emulator.app_id)

        def test_fresh_2(feishu_emulator):
            note(kind="fresh", app_id=feishu_emulator.app_id)

        def test_shared_1(feishu_emulator_shared):
            note(kind="shared", url=feishu_emulator_shared.base_url, code=revoke(feishu_emulator_shared))

        def test_shared_2(feishu_emulator_shared):
            note(kind="shared", url=feishu_emulator_shared.base_url, code=revoke(feishu_emulator_shared))
        """,
    )
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    fresh = [line["app_id"] for line in lines if line["kind"] == "fresh"]
    assert len(set(fresh)) == 2 and all(app.startswith("cli_emulator_") for app in fresh)
    shared = [line for line in lines if line["kind"] == "shared"]
    assert len({line["url"] for line in shared}) == 1  # one server for the session
    assert [line["code"] for line in shared] == [0, 0]  # the second test found the record Approved again


@pytest.mark.feishu_emulator(apps={"cli_emulator": "emulator-secret"})
def test_the_marker_pins_an_app_id(feishu_emulator: FeishuEmulator) -> None:
    assert feishu_emulator.app_id == "cli_emulator"
