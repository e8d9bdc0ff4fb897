"""The one masking rule of the provider: the App Secret and every tenant access token go to Airflow's secret masker.

Sync code uses ``mask_secret``; async code uses ``amask_secret`` where Airflow has it (3.x), because the sync call
blocks on the supervisor and must not run on the triggerer's event loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


def mask(secret: str) -> None:
    """Register ``secret`` with Airflow's secret masker (sync code).

    :param secret: the App Secret or a token.
    """
    from airflow.providers.common.compat.sdk import mask_secret

    if secret:
        mask_secret(secret)


def _async_masker() -> Callable[[str], Awaitable[None]] | None:
    try:
        from airflow.sdk.log import amask_secret
    except ImportError:  # Airflow 2.x: no async masker
        return None
    return amask_secret


async def amask(secret: str) -> None:
    """Register ``secret`` with Airflow's secret masker from async code (``amask_secret``, else ``mask_secret``).

    :param secret: the App Secret or a token.
    """
    if not secret:
        return
    masker = _async_masker()
    if masker is None:
        mask(secret)
    else:
        await masker(secret)


class MaskingAsyncClient(AsyncFeishuClient):
    """:class:`AsyncFeishuClient` that registers every token with :func:`amask` before it is first sent.

    The base client's ``on_token`` callback is synchronous; this client awaits the async masker instead, for every
    token it has not used yet (fetched by it or by another client of the process), before the token is sent.
    """

    _amasked: str | None = None

    async def _token(self, **kwargs: Any) -> str:
        # The base client hands the token back before sending it: masking here is masking before it is sent.
        token: str = await super()._token(**kwargs)
        if token != self._amasked:
            await amask(token)
            self._amasked = token
        return token
