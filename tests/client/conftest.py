"""Fixtures of the client/hook tests: clients wired to the emulator with a recording sleep and small backoffs.

The recording sleep never sleeps: it notes the requested seconds and moves the emulator's clock forward by as
much, so rate-limit windows and token lifetimes on the server pass exactly as if the client had waited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from client_helpers import FAST, PINNED_RANDOM, EmulatorTime

from airflow_provider_feishu_corehr.client.models import ClientSettings
from airflow_provider_feishu_corehr.client.tokens import TokenCache

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient
    from airflow_provider_feishu_corehr.client.sync import FeishuClient
    from airflow_provider_feishu_corehr.testing import FeishuEmulator


def settings_for(emu: FeishuEmulator, **overrides: Any) -> ClientSettings:
    """Settings for the emulator's default app with fast retries and the client-side limiter off."""
    params: dict[str, Any] = {"base_url": emu.base_url, "app_id": emu.app_id, "app_secret": emu.app_secret, **FAST}
    params.update(overrides)
    return ClientSettings(**params)


@pytest.fixture
def emu_time(feishu_emulator: FeishuEmulator) -> EmulatorTime:
    return EmulatorTime(feishu_emulator)


@pytest.fixture
def token_cache(emu_time: EmulatorTime) -> TokenCache:
    """A token cache of the test's own (the process-wide one would carry tokens between tests), on the clock
    that moves with the emulator's."""
    return TokenCache(emu_time)


@pytest.fixture
def make_client(
    feishu_emulator: FeishuEmulator, emu_time: EmulatorTime, token_cache: TokenCache
) -> Callable[..., FeishuClient]:
    """``make_client(on_token=None, sleep=None, **settings_overrides)`` -> a FeishuClient on the emulator (closed
    after); ``sleep`` defaults to the recording sleep."""
    from airflow_provider_feishu_corehr.client.sync import FeishuClient

    made: list[FeishuClient] = []

    def make(
        *,
        on_token: Callable[[str], None] | None = None,
        sleep: Callable[[float], object] | None = None,
        **overrides: Any,
    ) -> FeishuClient:
        client = FeishuClient(
            settings_for(feishu_emulator, **overrides),
            on_token=on_token,
            sleep=sleep or emu_time.sleep,
            random=lambda: PINNED_RANDOM,
            clock=emu_time,
            token_cache=token_cache,
        )
        made.append(client)
        return client

    yield make  # type: ignore[misc]
    for client in made:
        client.close()


@pytest.fixture
def make_async_client(
    feishu_emulator: FeishuEmulator, emu_time: EmulatorTime, token_cache: TokenCache
) -> Callable[..., AsyncFeishuClient]:
    """``make_async_client(on_token=None, **settings_overrides)`` -> an AsyncFeishuClient (use ``async with``)."""
    from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient

    def make(*, on_token: Callable[[str], None] | None = None, **overrides: Any) -> AsyncFeishuClient:
        return AsyncFeishuClient(
            settings_for(feishu_emulator, **overrides),
            on_token=on_token,
            sleep=emu_time.asleep,
            random=lambda: PINNED_RANDOM,
            clock=emu_time,
            token_cache=token_cache,
        )

    return make
