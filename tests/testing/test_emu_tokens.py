"""Token endpoint rules and authorization of the CoreHR endpoints, over plain HTTP."""

from __future__ import annotations

import http.client
import json
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from emu_client import Api, assert_error

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"


def test_token_is_issued_with_documented_shape(api: Api) -> None:
    response = api.get_token()
    body = response.json()
    assert response.status_code == 200
    assert body["code"] == 0 and body["msg"] == "ok"
    assert body["tenant_access_token"].startswith("t-")
    assert body["expire"] == 7200
    assert api.emu.tokens_issued == 1


@pytest.mark.parametrize("content_type", [None, "application/json; charset=utf-8", "text/plain"])
def test_body_is_read_as_json_whatever_the_content_type(
    feishu_emulator: FeishuEmulator, content_type: str | None
) -> None:
    url = urlsplit(feishu_emulator.base_url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port)
    body = json.dumps({"app_id": feishu_emulator.app_id, "app_secret": feishu_emulator.app_secret})
    headers = {"Content-Type": content_type} if content_type else {}
    conn.request("POST", TOKEN_PATH, body=body, headers=headers)
    reply = conn.getresponse()
    assert json.loads(reply.read())["code"] == 0
    conn.close()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", 10003),
        (b"[1, 2]", 10003),
        (b"{}", 10003),
        (b'{"app_id": "cli_emulator"}', 10003),
        (b'{"app_id": "cli_emulator", "app_secret": 5}', 10003),
        (b'{"app_id": "cli_unknown", "app_secret": "emulator-secret"}', 10003),
        (b'{"app_id": "cli_emulator", "app_secret": "wrong"}', 10014),
    ],
)
@pytest.mark.feishu_emulator(apps={"cli_emulator": "emulator-secret"})  # the raw bodies name this app
def test_bad_token_requests_get_documented_codes(api: Api, body: bytes, code: int) -> None:
    response = api.session.post(api.url("token"), data=body, timeout=10)
    assert_error(response, "token", code)
    assert api.emu.tokens_issued == 0


def test_same_token_while_refresh_window_remains_and_expire_shrinks(api: Api) -> None:
    first = api.get_token().json()
    api.emu.advance_time(3000)
    second = api.get_token().json()
    assert second["tenant_access_token"] == first["tenant_access_token"]
    assert second["expire"] <= 7200 - 3000
    assert second["expire"] >= 1800
    assert api.emu.tokens_issued == 1


def test_new_token_below_window_and_old_one_stays_valid(api: Api) -> None:
    old = api.get_token().json()["tenant_access_token"]
    api.emu.advance_time(7200 - 1799)  # 1799 s left: below the 30 minute window
    fresh = api.get_token().json()
    assert fresh["tenant_access_token"] != old
    assert fresh["expire"] == 7200
    assert api.emu.tokens_issued == 2
    assert api.search(token=old).json()["code"] == 0
    assert api.search(token=fresh["tenant_access_token"]).json()["code"] == 0
    api.emu.advance_time(1800)  # the old token is now past its 2 h
    assert_error(api.search(token=old), "search", 99991663)
    assert api.search(token=fresh["tenant_access_token"]).json()["code"] == 0


@pytest.mark.feishu_emulator(token_ttl=1)
def test_short_ttl_token_expires_in_real_time(api: Api) -> None:
    body = api.get_token().json()
    assert body["expire"] == 1
    assert api.search(token=body["tenant_access_token"]).json()["code"] == 0
    time.sleep(1.1)
    assert_error(api.search(token=body["tenant_access_token"]), "search", 99991663)
    assert api.get_token().json()["tenant_access_token"] != body["tenant_access_token"]


@pytest.mark.feishu_emulator(token_ttl=60)
def test_refresh_window_scales_with_short_ttl(api: Api) -> None:
    assert api.emu.state()["token_refresh_window"] == 15
    first = api.get_token().json()["tenant_access_token"]
    api.emu.advance_time(44)
    assert api.get_token().json()["tenant_access_token"] == first
    api.emu.advance_time(2)
    assert api.get_token().json()["tenant_access_token"] != first


def test_missing_or_malformed_authorization_is_99991661(api: Api) -> None:
    no_header = api.session.post(api.url("search"), params={"page_size": 10}, json={}, timeout=10)
    assert_error(no_header, "search", 99991661)
    for value in ("Basic abc", "Bearer ", "Bearer"):
        response = api.session.post(api.url("revoke"), json={}, headers={"Authorization": value}, timeout=10)
        assert_error(response, "revoke", 99991661)
    assert api.emu.request_count("revoke", code=99991661) == 3


def test_unknown_token_is_99991663_with_http_400_by_default(api: Api) -> None:
    response = api.call("edit", {}, token="t-unknown")
    assert_error(response, "edit", 99991663)


@pytest.mark.feishu_emulator(token_invalid_http_status=200)
def test_invalid_token_http_status_is_configurable(api: Api) -> None:
    response = api.call("revoke", {"offboarding_id": "7095671727698478604"}, token="t-unknown")
    assert response.status_code == 200
    assert response.json()["code"] == 99991663


def test_invalidate_tokens_makes_every_issued_token_invalid(api: Api) -> None:
    old = api.token()
    assert api.search().json()["code"] == 0
    api.emu.invalidate_tokens()
    assert_error(api.search(token=old), "search", 99991663)
    fresh = api.get_token().json()["tenant_access_token"]
    assert fresh != old
    assert api.search(token=fresh).json()["code"] == 0


@pytest.mark.feishu_emulator(apps={"cli_a": "secret-a", "cli_b": "secret-b"})
def test_tokens_are_per_app(api: Api) -> None:
    a = api.get_token("cli_a", "secret-a").json()["tenant_access_token"]
    b = api.get_token("cli_b", "secret-b").json()["tenant_access_token"]
    assert a != b
    assert api.emu.app_id == "cli_a"
    assert_error(api.get_token("cli_b", "secret-a"), "token", 10014)


def test_every_response_has_exact_case_log_id_header(feishu_emulator: FeishuEmulator) -> None:
    url = urlsplit(feishu_emulator.base_url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port)
    seen = []
    for path, body in [(TOKEN_PATH, b"{}"), ("/open-apis/corehr/v2/offboardings/revoke", b"{}"), ("/nope", b"")]:
        conn.request("POST", path, body=body)
        reply = conn.getresponse()
        reply.read()
        names = [name for name, _ in reply.getheaders()]
        assert "X-Tt-Logid" in names, names
        seen.append(reply.getheader("X-Tt-Logid"))
    conn.close()
    assert len(set(seen)) == 3
    assert feishu_emulator.request_count() == 3
    assert feishu_emulator.request_count("unknown", http_status=404) == 1


@pytest.mark.feishu_emulator(apps={"cli_emulator": "emulator-secret"})  # the raw bodies name this app
def test_chunked_request_body_is_read(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"app_id": "cli_emulator",'
        yield b' "app_secret": "emulator-secret"}'

    response = api.session.post(api.url("token"), data=chunks(), timeout=10)
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.json()["code"] == 0
    assert api.get_token().json()["code"] == 0  # the connection is still in step


def test_an_emulator_bug_answers_500_instead_of_hanging(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider_feishu_corehr.client.codes import Endpoint
    from airflow_provider_feishu_corehr.testing import service

    def broken(call: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setitem(service.HANDLERS, Endpoint.SEARCH, broken)
    response = api.search()
    assert response.status_code == 500
    assert response.json()["msg"] == "emulator internal error: RuntimeError"
    assert "RuntimeError: boom" in capsys.readouterr().err
