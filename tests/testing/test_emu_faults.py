"""Fault injection: every kind, count and ratio scoping, ``*`` endpoint, after-processing, bad arguments."""

from __future__ import annotations

import json

import pytest
import requests
from emu_client import Api, assert_error

from airflow_provider_feishu_corehr.testing import EmulatorError, FeishuEmulator

HAPPY = "7095671727698478604"


@pytest.mark.parametrize(("kind", "status"), [("http_500", 500), ("http_503", 503)])
def test_5xx_faults_answer_json(api: Api, kind: str, status: int) -> None:
    api.emu.inject_fault("revoke", kind, count=2)
    for _ in range(2):
        response = api.revoke(HAPPY)
        assert response.status_code == status
        assert response.json()["error"]["log_id"] == response.headers["X-Tt-Logid"]
    assert api.emu.get_offboarding(HAPPY)["status"] == "Approved"  # not processed
    assert api.revoke(HAPPY).json()["code"] == 0
    assert [r.fault for r in api.emu.requests if r.endpoint == "revoke"] == [kind, kind, None]


def test_html_502_is_not_json(api: Api) -> None:
    api.emu.inject_fault("search", "html_502")
    response = api.search()
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in response.text
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert api.emu.request_count("search", http_status=502, code=None) == 1


def test_delay_longer_than_client_timeout(api: Api) -> None:
    api.token()
    api.emu.inject_fault("search", "delay", seconds=30)
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.search(timeout=0.3)
    api.emu.inject_fault("search", "delay", seconds=0.01)
    assert api.search().json()["code"] == 0  # a short delay still answers normally


def test_reset_drops_the_connection(api: Api) -> None:
    api.token()
    api.emu.inject_fault("edit", "reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        api.edit(HAPPY, {"handover_note__c": "x"})
    assert api.edit(HAPPY, {"handover_note__c": "y"}).json()["code"] == 0
    records = [r for r in api.emu.requests if r.endpoint == "edit"]
    assert (records[0].http_status, records[0].fault) == (None, "reset")


def test_bad_json_is_a_truncated_json_body(api: Api) -> None:
    api.emu.inject_fault("search", "bad_json")
    response = api.search()
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()


@pytest.mark.parametrize(("kind", "status"), [("rate_limit_429", 429), ("rate_limit_400", 400)])
def test_injected_rate_limits(api: Api, kind: str, status: int) -> None:
    api.emu.inject_fault("edit", kind, reset=3)
    response = api.edit(HAPPY, {"handover_note__c": "x"})
    assert response.status_code == status
    assert response.json()["code"] == 99991400
    assert response.headers["x-ogw-ratelimit-reset"] == "3"
    assert response.headers["x-ogw-ratelimit-limit"] == "20"


@pytest.mark.parametrize(
    ("endpoint", "params", "code"),
    [
        ("revoke", {}, 1160101),
        ("revoke", {"code": 1160103}, 1160103),
        ("edit", {}, 1161000),
        ("edit", {"code": 1160103}, 1160103),
        ("search", {}, 1160999),
    ],
)
def test_system_errors(api: Api, endpoint: str, params: dict[str, int], code: int) -> None:
    api.emu.inject_fault(endpoint, "system_error", **params)
    body = {"offboarding_id": HAPPY, "update_data": [{"field_name": "handover_note__c", "value": "x"}]}
    response = api.call(endpoint, body, params={"page_size": 10})
    assert_error(response, endpoint, code)


def test_system_error_on_token_endpoint_and_chosen_http_status(api: Api) -> None:
    api.emu.inject_fault("token", "system_error", http_status=500)
    response = api.get_token()
    assert (response.status_code, response.json()["code"]) == (500, 10013)


def test_star_applies_to_every_endpoint_including_token(api: Api) -> None:
    api.emu.inject_fault("*", "http_503", count=2)
    assert api.get_token().status_code == 503
    assert api.session.post(api.url("search"), timeout=10).status_code == 503
    assert api.get_token().status_code == 200
    assert api.emu.faults() == []


def test_ratio_faults(feishu_emulator: FeishuEmulator) -> None:
    api = Api(feishu_emulator)
    feishu_emulator.inject_fault("search", "http_500", ratio=1.0, count=3)
    assert [api.search().status_code for _ in range(4)] == [500, 500, 500, 200]
    feishu_emulator.inject_fault("search", "http_500", ratio=0.0)
    assert {api.search().status_code for _ in range(10)} == {200}
    feishu_emulator.clear_faults()
    feishu_emulator.inject_fault("search", "http_503", ratio=0.5)
    statuses = [api.search(page_size=1).status_code for _ in range(60)]
    assert 0 < statuses.count(503) < 60
    assert set(statuses) == {200, 503}
    assert feishu_emulator.faults() == [{"endpoint": "search", "kind": "http_503", "remaining": None, "ratio": 0.5}]


def test_ratio_faults_repeat_with_a_random_seed() -> None:
    def run() -> list[int]:
        with FeishuEmulator(random_seed=7, rate_limits="off") as emu:
            emu.inject_fault("search", "http_500", ratio=0.3)
            client = Api(emu)
            return [client.search(page_size=1).status_code for _ in range(20)]

    assert run() == run()


def test_after_processing_loses_the_response_but_keeps_the_effect(api: Api) -> None:
    api.token()
    api.emu.inject_fault("revoke", "reset", after_processing=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        api.revoke(HAPPY)
    assert api.emu.get_offboarding(HAPPY)["status"] == "Withdrawn"
    assert_error(api.revoke(HAPPY), "revoke", 1160202)


def test_invalidate_tokens_mid_run(api: Api) -> None:
    token = api.token()
    assert api.search().status_code == 200
    api.emu.invalidate_tokens()
    assert_error(api.search(token=token), "search", 99991663)


@pytest.mark.parametrize(
    ("args", "params", "message"),
    [
        (("delete", "http_500"), {}, "endpoint"),
        (("revoke", "explode"), {}, "kind"),
        (("revoke", "delay"), {"seconds": -1}, "seconds"),
        (("revoke", "delay"), {"sceonds": 1}, "unknown parameter"),
        (("revoke", "http_500"), {"count": 0}, "count"),
        (("revoke", "http_500"), {"ratio": 1.5}, "ratio"),
        (("revoke", "system_error"), {"code": "1160101"}, "code"),
        (("revoke", "reset"), {"after_processing": "yes"}, "after_processing"),
    ],
)
def test_bad_fault_arguments_are_refused(
    feishu_emulator: FeishuEmulator, args: tuple[str, str], params: dict[str, object], message: str
) -> None:
    with pytest.raises(EmulatorError, match=message):
        feishu_emulator.inject_fault(*args, **params)  # type: ignore[arg-type]
    assert feishu_emulator.faults() == []
