"""What the client takes as small objects, against the emulator: the async ``aon_token`` callback is awaited with
every token before the first request carrying it is sent, and a refusal of the credentials names
``ClientSettings.conn_id`` (plain ``FeishuAuthError`` without one), on both transports."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from client_helpers import APPROVED, DATE, EMPLOYMENT, FAST, PINNED_RANDOM, EmulatorTime

from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient
from airflow_provider_feishu_corehr.client.errors import FeishuAuthError, FeishuCredentialsError
from airflow_provider_feishu_corehr.client.models import ClientSettings
from airflow_provider_feishu_corehr.client.sync import FeishuClient

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.client.tokens import TokenCache
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytestmark = pytest.mark.feishu_emulator(rate_limits="off")

WRONG = "not-the-secret"


def _settings(emu: FeishuEmulator, **overrides: Any) -> ClientSettings:
    params: dict[str, Any] = {"base_url": emu.base_url, "app_id": emu.app_id, "app_secret": emu.app_secret, **FAST}
    return ClientSettings(**{**params, **overrides})


def _async_client(emu: FeishuEmulator, emu_time: EmulatorTime, cache: TokenCache, **kwargs: Any) -> AsyncFeishuClient:
    settings = _settings(emu, **kwargs.pop("settings", {}))
    return AsyncFeishuClient(
        settings, sleep=emu_time.asleep, random=lambda: PINNED_RANDOM, clock=emu_time, token_cache=cache, **kwargs
    )


def test_aon_token_is_awaited_before_the_first_request_carrying_the_token(
    feishu_emulator: FeishuEmulator, emu_time: EmulatorTime, token_cache: TokenCache
) -> None:
    """Each callback yields to the event loop, then notes what the server had seen: only the token request that
    granted it, never a request carrying it (a callback merely scheduled, or not awaited, would see the search or
    never run). A refused token's replacement is announced again before the retry; ``on_token`` is told after."""
    seen: list[tuple[str, str, list[tuple[str, bool]]]] = []

    async def aon_token(token: str) -> None:
        await asyncio.sleep(0.05)  # a real yield: anything sent concurrently reaches the emulator meanwhile
        seen.append(("aon", token, [(r.endpoint, r.authorized) for r in feishu_emulator.requests]))

    def on_token(token: str) -> None:
        seen.append(("on", token, [(r.endpoint, r.authorized) for r in feishu_emulator.requests]))

    async def scenario() -> tuple[str, str]:
        async with _async_client(
            feishu_emulator, emu_time, token_cache, aon_token=aon_token, on_token=on_token
        ) as client:
            await client.get_offboarding(EMPLOYMENT)
            first = await client.fetch_token()
            await client.get_offboarding(EMPLOYMENT)  # the cached token: announced once only
            feishu_emulator.invalidate_tokens()
            await client.get_offboarding(EMPLOYMENT)  # refused, refreshed, replayed
            return first, await client.fetch_token()

    first, second = asyncio.run(scenario())
    assert first != second
    token_only = [("token", False)]
    refused = [*token_only, ("search", True), ("search", True), ("search", False), ("token", False)]
    assert seen == [
        ("aon", first, token_only),
        ("on", first, token_only),
        ("aon", second, refused),
        ("on", second, refused),
    ]
    assert [(r.endpoint, r.authorized) for r in feishu_emulator.requests] == [*refused, ("search", True)]


def test_a_token_another_client_fetched_is_awaited_before_this_client_sends_it(
    feishu_emulator: FeishuEmulator, emu_time: EmulatorTime, token_cache: TokenCache
) -> None:
    """The rule is per client: a token from the shared cache is new to this client, so it is announced to it."""
    announced: list[tuple[str, int]] = []

    async def aon_token(token: str) -> None:
        await asyncio.sleep(0)
        announced.append((token, feishu_emulator.request_count("search")))

    async def scenario() -> str:
        async with _async_client(feishu_emulator, emu_time, token_cache) as other:
            token = await other.fetch_token()
        async with _async_client(feishu_emulator, emu_time, token_cache, aon_token=aon_token) as client:
            await client.get_offboarding(EMPLOYMENT)
        return token

    token = asyncio.run(scenario())
    assert announced == [(token, 0)] and feishu_emulator.request_count("token") == 1


def test_a_refused_secret_names_the_settings_connection_on_both_transports(
    feishu_emulator: FeishuEmulator, emu_time: EmulatorTime, token_cache: TokenCache
) -> None:
    named = {"app_secret": WRONG, "conn_id": "feishu_hr"}
    sync = FeishuClient(_settings(feishu_emulator, **named), sleep=emu_time.sleep, token_cache=token_cache)
    with pytest.raises(FeishuCredentialsError) as caught:
        sync.edit_offboarding(APPROVED, DATE)
    sync.close()
    assert caught.value.conn_id == "feishu_hr" and caught.value.refused.endpoint == "token"
    assert feishu_emulator.request_count("edit") == 0

    async def search(settings: dict[str, str]) -> None:
        async with _async_client(feishu_emulator, emu_time, token_cache, settings=settings) as client:
            await client.get_offboarding(EMPLOYMENT)

    with pytest.raises(FeishuCredentialsError) as acaught:
        asyncio.run(search(named))
    error = acaught.value
    assert (error.conn_id, error.endpoint, error.code) == ("feishu_hr", "token", feishu_emulator.requests[-1].code)
    prefix = f"[token] code {error.code}: connection 'feishu_hr' (App ID {feishu_emulator.app_id}): "
    assert str(error).startswith(prefix)
    assert WRONG not in str(error) and feishu_emulator.app_secret not in str(error)

    with pytest.raises(FeishuAuthError) as plain:  # no conn_id: no connection to name, the client's own error
        asyncio.run(search({"app_secret": WRONG}))
    assert type(plain.value) is FeishuAuthError and plain.value.endpoint == "token"
    assert feishu_emulator.request_count("search") == 0
