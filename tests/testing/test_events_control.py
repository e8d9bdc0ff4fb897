"""The control routes of events and the long connection: validation with named errors, listing, clearing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import requests

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator


def call(emu: FeishuEmulator, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{emu.base_url}/_emulator/{path}", json=body, timeout=10)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"kind": "explode"}, "event fault kind 'explode' is unknown; use one of delay, duplicate"),
        ({"kind": "delay", "sconds": 1}, "event fault delay: unknown parameter(s) sconds; allowed: seconds"),
        ({"kind": "delay", "seconds": -1}, "event fault delay: seconds must be a number >= 0, got -1"),
        ({"kind": "duplicate", "copies": 1}, "event fault duplicate: copies must be a whole number >= 2, got 1"),
        ({"kind": "fragment", "parts": 2.5}, "event fault fragment: parts must be a whole number >= 2, got 2.5"),
        ({"kind": "drop_connection", "count": 0}, "event fault drop_connection: count must be a whole number >= 1"),
        ({"kind": "endpoint_error", "msg": 3}, "event fault endpoint_error: msg must be text"),
        ({}, 'the body must name "kind"'),
    ],
)
def test_bad_event_faults_are_refused_naming_the_rule(
    feishu_emulator: FeishuEmulator, body: dict[str, Any], error: str
) -> None:
    response = call(feishu_emulator, "POST", "events/faults", body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(error)
    assert feishu_emulator.event_faults() == []


def test_event_faults_are_listed_and_cleared(feishu_emulator: FeishuEmulator) -> None:
    response = call(feishu_emulator, "POST", "events/faults", {"kind": "duplicate", "count": 2})
    assert response.json() == {"faults": [{"kind": "duplicate", "remaining": 2, "copies": 2}]}
    assert call(feishu_emulator, "GET", "events/faults").json()["faults"][0]["kind"] == "duplicate"
    assert call(feishu_emulator, "DELETE", "events/faults").json() == {"faults": []}
    assert feishu_emulator.event_faults() == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"max_conections": 1}, "long connection: unknown key(s) max_conections"),
        ({"max_connections": -1}, "max_connections must be a whole number >= 0"),
        ({"ack_timeout": 0}, "ack_timeout must be a number of seconds > 0"),
        ({"retry_delays": [1, "x"]}, "retry_delays must be a list of seconds >= 0"),
        ({"client_config": {"PingInterval": "5"}}, "client_config: integers for ReconnectCount"),
        ({"client_config": 5}, "client_config must be an object"),
    ],
)
def test_bad_settings_are_refused(feishu_emulator: FeishuEmulator, body: dict[str, Any], error: str) -> None:
    response = call(feishu_emulator, "POST", "long-connection", body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(error)


def test_settings_are_changed_read_and_reset(feishu_emulator: FeishuEmulator) -> None:
    changed = call(
        feishu_emulator, "POST", "long-connection", {"retry_delays": [1, 2], "client_config": {"PingInterval": 5}}
    )
    assert changed.json()["retry_delays"] == [1.0, 2.0]
    assert changed.json()["client_config"]["PingInterval"] == 5
    state = call(feishu_emulator, "GET", "long-connection").json()
    assert (state["endpoint_requests"], state["connections"], state["max_connections"]) == (0, [], 50)
    call(feishu_emulator, "POST", "reset", {"keep_tokens": True})
    assert call(feishu_emulator, "GET", "long-connection").json()["retry_delays"] == [15.0, 300.0, 3600.0, 21600.0]


def test_dropping_an_unknown_connection_names_it(feishu_emulator: FeishuEmulator) -> None:
    response = call(feishu_emulator, "POST", "connections/drop", {"device_id": "nope"})
    assert (response.status_code, response.json()["error"]) == (400, "no open long connection with device_id 'nope'")
    assert call(feishu_emulator, "POST", "connections/drop", {}).json() == {"dropped": 0}
    assert call(feishu_emulator, "GET", "connections").json() == {"connections": []}
