"""The one masking rule of the provider: the App Secret and every tenant access token go to Airflow's secret masker.

Sync code uses ``mask_secret``; async code uses ``amask_secret`` where Airflow has it (3.x), because the sync call
blocks on the supervisor and must not run on the triggerer's event loop. The hook gives :func:`mask` to its sync
client as ``on_token`` and :func:`amask` to its async client as ``aon_token``: the client calls them with every
token before it is first sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
