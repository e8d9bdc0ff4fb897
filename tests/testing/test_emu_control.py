"""The control API over HTTP and in Python, and clear errors for bad control calls."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from emu_client import Api, assert_error

from airflow_provider_feishu_corehr.testing import EmulatorError, FeishuEmulator, SeedError, UnknownOffboardingError

HAPPY = "7095671727698478604"


def control(emu: FeishuEmulator, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{emu.base_url}/_emulator/{path}", json=body, timeout=10)


def test_state_reports_records_counters_and_settings(api: Api) -> None:
    api.revoke(HAPPY)
    state = control(api.emu, "GET", "state").json()
    assert state["base_url"] == api.emu.base_url
    assert state["apps"] == [api.emu.app_id]
    assert state["requests"] == {"token": 1, "revoke": 1}
    assert state["tokens_issued"] == 1
    assert {o["offboarding_id"]: o["status"] for o in state["offboardings"]}[HAPPY] == "Withdrawn"
    assert state["token_ttl"] == 7200 and state["token_refresh_window"] == 1800
    requests_seen = control(api.emu, "GET", "requests").json()["requests"]
    assert [(r["endpoint"], r["code"], r["offboarding_id"]) for r in requests_seen] == [
        ("token", 0, None),
        ("revoke", 0, HAPPY),
    ]


def test_control_calls_are_not_counted_and_carry_a_log_id(feishu_emulator: FeishuEmulator) -> None:
    response = control(feishu_emulator, "GET", "state")
    assert response.headers["X-Tt-Logid"]
    assert feishu_emulator.request_count() == 0


def test_add_offboarding_and_change_status_over_http(api: Api) -> None:
    created = control(
        api.emu,
        "POST",
        "offboardings",
        {"employment_id": "6982509313466189400", "status": "Approving", "offboarding_date": "2027-03-31"},
    )
    assert created.status_code == 200
    new_id = created.json()["offboarding_id"]
    item = control(api.emu, "GET", f"offboardings/{new_id}").json()
    assert (item["status"], item["offboarding_info"]["offboarding_date"]) == ("Approving", "2027-03-31")
    changed = control(api.emu, "POST", f"offboardings/{new_id}/status", {"status": "Approved"})
    assert changed.json()["status"] == "Approved"
    found = api.search({"employment_ids": ["6982509313466189400"]}).json()["data"]["items"]
    assert [(i["offboarding_id"], i["status"]) for i in found] == [(new_id, "Approved")]


def test_update_offboarding_over_http_sets_scenario_flags(api: Api) -> None:
    response = control(api.emu, "POST", f"offboardings/{HAPPY}", {"department_disabled": True})
    assert response.status_code == 200
    assert_error(api.revoke(HAPPY), "revoke", 1160203)
    assert api.emu.record(HAPPY)["department_disabled"] is True


def test_faults_tokens_counters_and_clock_over_http(api: Api) -> None:
    token = api.token()
    injected = control(api.emu, "POST", "faults", {"endpoint": "search", "kind": "http_503", "count": 2})
    assert injected.json()["faults"] == [{"endpoint": "search", "kind": "http_503", "remaining": 2, "ratio": None}]
    assert api.search().status_code == 503
    assert control(api.emu, "DELETE", "faults").json() == {"faults": []}
    assert api.search().status_code == 200
    assert control(api.emu, "POST", "tokens/invalidate").status_code == 200
    assert_error(api.search(token=token), "search", 99991663)
    assert control(api.emu, "POST", "reset-counters").status_code == 200
    assert (api.emu.request_count(), api.emu.tokens_issued) == (0, 0)
    fresh = api.get_token().json()["tenant_access_token"]
    assert control(api.emu, "POST", "clock/advance", {"seconds": 7200}).status_code == 200
    assert_error(api.search(token=fresh), "search", 99991663)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("POST", "offboardings", {"status": "Approved"}, 400, "employment_id"),
        ("POST", "offboardings", {"employment_id": "1", "status": "Done"}, 400, "status 'Done'"),
        ("POST", "offboardings", {"employment_id": "1", "reason": "reason_bored"}, 400, "'reason'"),
        ("POST", "offboardings", {"employment_id": "1", "colour": "blue"}, 400, "'colour'"),
        ("POST", "offboardings", {"employment_id": "1", "offboarding_id": HAPPY}, 400, "used twice"),
        ("POST", "offboardings/7095671727698400000/status", {"status": "Approved"}, 404, "7095671727698400000"),
        ("POST", f"offboardings/{HAPPY}/status", {"status": "Done"}, 400, "status 'Done'"),
        ("POST", f"offboardings/{HAPPY}/status", {}, 400, "status"),
        ("POST", f"offboardings/{HAPPY}", {"concurrent_revokes": -1}, 400, "concurrent_revokes"),
        ("POST", "faults", {"endpoint": "search", "kind": "explode"}, 400, "kind 'explode'"),
        ("POST", "faults", {"kind": "http_500"}, 400, "endpoint"),
        ("POST", "clock/advance", {"seconds": "soon"}, 400, "seconds"),
        ("POST", "clock/advance", {"seconds": -5}, 400, "seconds"),
        ("GET", "nothing-here", None, 404, "no control route"),
    ],
)
def test_bad_control_calls_name_the_problem(
    feishu_emulator: FeishuEmulator, method: str, path: str, body: Any, status: int, message: str
) -> None:
    response = control(feishu_emulator, method, path, body)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_non_json_control_body_is_400(feishu_emulator: FeishuEmulator) -> None:
    response = requests.post(f"{feishu_emulator.base_url}/_emulator/faults", data=b"{", timeout=10)
    assert response.status_code == 400
    assert "JSON object" in response.json()["error"]


def test_python_control_errors_are_value_errors(feishu_emulator: FeishuEmulator) -> None:
    with pytest.raises(UnknownOffboardingError, match="7095671727698400000"):
        feishu_emulator.set_status("7095671727698400000", "Approved")
    with pytest.raises(ValueError, match="status 'Gone'"):
        feishu_emulator.set_status(HAPPY, "Gone")
    with pytest.raises(SeedError, match="unknown key"):
        feishu_emulator.add_offboarding(employment_id="1", favourite_colour="blue")
    with pytest.raises(EmulatorError, match="offboarding_id cannot be changed"):
        feishu_emulator.update_offboarding(HAPPY, offboarding_id="1")
    with pytest.raises(EmulatorError, match="already running"):
        feishu_emulator.start()
    with pytest.raises(EmulatorError, match="user_id_type"):
        feishu_emulator.employment_id_as("1", "email")


def test_add_offboarding_with_python_values(feishu_emulator: FeishuEmulator) -> None:
    new_id = feishu_emulator.add_offboarding(
        employment_id="6982509313466189401",
        offboarding_date="2026-12-31",
        retain_account=True,
        severance_months__c=2.5,
        exit_tags__c=["tag_alumni"],
        onboarding_date="2025-01-01",
    )
    info = feishu_emulator.get_offboarding(new_id)["offboarding_info"]
    assert info["retain_account"] is True
    custom = {c["custom_api_name"]: c["value"] for c in info["custom_fields"]}
    assert custom == {"severance_months__c": "2.5", "exit_tags__c": '["tag_alumni"]'}
    assert feishu_emulator.record(new_id)["onboarding_date"] == "2025-01-01"


def test_stop_closes_the_port_and_is_idempotent() -> None:
    emu = FeishuEmulator().start()
    url = emu.base_url
    session = requests.Session()
    assert session.get(f"{url}/_emulator/state", timeout=5).status_code == 200  # keep-alive connection open
    emu.stop()
    emu.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(f"{url}/_emulator/state", timeout=5)
    with pytest.raises(EmulatorError, match="not running"):
        _ = emu.base_url


def test_keep_alive_reuses_one_connection(api: Api) -> None:
    for _ in range(20):
        assert api.search(page_size=1).status_code == 200
    assert api.emu.connections_opened == 1
    requests.get(f"{api.emu.base_url}/_emulator/state", timeout=5)  # no session: a connection of its own
    assert api.emu.state()["connections_opened"] == 2
    api.emu.reset_counters()
    assert api.emu.connections_opened == 0
