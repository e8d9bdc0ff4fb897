"""Feishu refusing a connection's credentials (a wrong App Secret, an unknown App ID) names the connection, on the
sync and the async path, never the secret; other errors pass unchanged."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import pytest

from airflow_provider_feishu_corehr.client.errors import (
    FeishuAuthError,
    FeishuBusinessError,
    FeishuCredentialsError,
    FeishuError,
)
from airflow_provider_feishu_corehr.client.tokens import named_refusal
from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytestmark = pytest.mark.feishu_emulator(rate_limits="off")

APPROVED = "7095671727698478604"
WRONG = "wrong-secret-value"


def _define(monkeypatch: pytest.MonkeyPatch, emu: FeishuEmulator, conn_id: str, **fields: str) -> None:
    conn = {"conn_type": "feishu", "login": emu.app_id, "password": emu.app_secret, "host": emu.base_url, **fields}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def _assert_names_the_connection(error: FeishuError, emu: FeishuEmulator, conn_id: str, app_id: str) -> None:
    last = emu.requests[-1]
    assert isinstance(error, FeishuCredentialsError) and isinstance(error, FeishuAuthError)
    assert (error.conn_id, error.endpoint, error.code, error.log_id) == (conn_id, "token", last.code, last.log_id)
    assert error.permanent and error.refused.code == last.code  # the client's error, kept
    text = str(error)
    assert f"connection {conn_id!r} (App ID {app_id}): " in text and f"code {last.code}" in text
    assert WRONG not in text and emu.app_secret not in text


def test_a_wrong_secret_names_the_connection_sync(
    feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _define(monkeypatch, feishu_emulator, "feishu_wrong", password=WRONG)
    with pytest.raises(FeishuCredentialsError) as caught:
        FeishuHook("feishu_wrong").revoke_offboarding(APPROVED)
    _assert_names_the_connection(caught.value, feishu_emulator, "feishu_wrong", feishu_emulator.app_id)
    assert [r.endpoint for r in feishu_emulator.requests] == ["token"]  # nothing else was sent


def test_an_unknown_app_id_names_the_connection(
    feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _define(monkeypatch, feishu_emulator, "feishu_other_app", login="cli_not_registered")
    with pytest.raises(FeishuCredentialsError) as caught:
        FeishuHook("feishu_other_app").get_conn().fetch_token()
    _assert_names_the_connection(caught.value, feishu_emulator, "feishu_other_app", "cli_not_registered")


def test_a_wrong_secret_names_the_connection_async(
    feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The triggers' path: ``aget_conn`` and the async client."""
    _define(monkeypatch, feishu_emulator, "feishu_wrong_async", password=WRONG)

    async def search() -> None:
        async with await FeishuHook("feishu_wrong_async").aget_conn() as client:
            await client.get_offboarding("6982509313466189341")

    with pytest.raises(FeishuCredentialsError) as caught:
        asyncio.run(search())
    _assert_names_the_connection(caught.value, feishu_emulator, "feishu_wrong_async", feishu_emulator.app_id)


def test_test_connection_does_not_name_the_random_id_airflow_tests_under(
    feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _define(monkeypatch, feishu_emulator, "feishu_wrong_test", password=WRONG)
    ok, message = FeishuHook("feishu_wrong_test").test_connection()
    assert not ok and message.startswith("Feishu refused the App ID and App Secret: [token] code ")
    assert "feishu_wrong_test" not in message and WRONG not in message


def test_only_a_refusal_of_the_token_request_is_named() -> None:
    """Decided on the error's type, endpoint and code: a refused scope on another endpoint, a token request that
    got no Feishu code (TLS, redirect) and a business error pass unchanged."""
    scope = FeishuAuthError("Access denied", code=99991672, endpoint="search")
    no_code = FeishuAuthError("HTTP 302 redirect", endpoint="token")
    business = FeishuBusinessError("parameter is illegal", code=1160102, endpoint="edit")
    for error in (scope, no_code, business):
        assert named_refusal(error, conn_id="c", app_id="cli_x") is error
    refused = FeishuAuthError("app secret invalid", code=10014, endpoint="token", log_id="L", attempts=1)
    named = named_refusal(refused, conn_id="c", app_id="cli_x")
    assert isinstance(named, FeishuCredentialsError) and named.refused is refused
    assert named_refusal(named, conn_id="d", app_id="cli_x") is named  # never named twice
    assert named_refusal(refused, conn_id=None, app_id="cli_x") is refused  # no connection to name
    assert (
        str(named)
        == "[token] code 10014: connection 'c' (App ID cli_x): app secret invalid (log_id L, 1 attempt(s) over 0.0s)"
    )
