"""Rate limits per app and endpoint: 429 + 99991400 + x-ogw-ratelimit-* headers at the configured rate."""

from __future__ import annotations

import pytest
from emu_client import Api, assert_error

from airflow_provider_feishu_corehr.testing import EmulatorError, FeishuEmulator


@pytest.mark.feishu_emulator(rate_limits={"revoke": (3, 60)})
def test_over_the_limit_is_429_with_both_headers(api: Api) -> None:
    codes = [api.revoke("7095671727698478608").json()["code"] for _ in range(3)]
    assert codes == [1160202] * 3
    response = api.revoke("7095671727698478604")
    assert_error(response, "revoke", 99991400)
    assert response.status_code == 429
    assert response.headers["x-ogw-ratelimit-limit"] == "3"
    assert 1 <= int(response.headers["x-ogw-ratelimit-reset"]) <= 60
    assert api.emu.get_offboarding("7095671727698478604")["status"] == "Approved"  # not processed
    assert api.edit("7095671727698478604", {"handover_note__c": "x"}).json()["code"] == 0  # other endpoint
    api.emu.advance_time(60)
    assert api.revoke("7095671727698478604").json()["code"] == 0
    assert api.emu.request_count("revoke", http_status=429) == 1


@pytest.mark.feishu_emulator(apps={"cli_a": "a", "cli_b": "b"}, rate_limits={"search": (2, 60)})
def test_limits_are_per_app(api: Api) -> None:
    token_a = api.get_token("cli_a", "a").json()["tenant_access_token"]
    token_b = api.get_token("cli_b", "b").json()["tenant_access_token"]
    assert [api.search(token=token_a).status_code for _ in range(3)] == [200, 200, 429]
    assert [api.search(token=token_b).status_code for _ in range(2)] == [200, 200]


def test_documented_default_for_search_is_100_per_minute(api: Api) -> None:
    statuses = [api.search(page_size=1).status_code for _ in range(101)]
    assert statuses == [200] * 100 + [429]
    assert api.emu.state()["rate_limits"] == {
        "token": None,
        "revoke": [20, 1.0],
        "edit": [20, 1.0],
        "search": [100, 60.0],
    }


@pytest.mark.feishu_emulator(rate_limits="off")
def test_rate_limits_can_be_switched_off(api: Api) -> None:
    assert {api.search(page_size=1).status_code for _ in range(120)} == {200}


@pytest.mark.feishu_emulator(rate_limits={"search": None, "token": (2, 60)})
def test_single_endpoint_off_and_token_endpoint_limit(api: Api) -> None:
    assert {api.search(page_size=1).status_code for _ in range(110)} == {200}
    assert api.get_token().status_code == 200  # the second token request (search fetched the first)
    assert_error(api.get_token(), "token", 99991400)


@pytest.mark.parametrize(
    "rate_limits",
    ["on", {"revoke": (0, 1)}, {"revoke": (5,)}, {"revoke": (5, -1)}, {"delete": (5, 1)}, {"edit": ("5", 1)}],
)
def test_bad_rate_limit_config_is_refused(rate_limits: object) -> None:
    with pytest.raises(EmulatorError, match="rate_limits"):
        FeishuEmulator(rate_limits=rate_limits)  # type: ignore[arg-type]
