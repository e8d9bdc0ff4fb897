"""Process-wide cache of tenant access tokens, in memory only, never logged.

Keyed by (base URL, app id, SHA-256 of the secret), so a wrong secret never reuses the right one's token. A token
is replaced :func:`refresh_margin` before it expires (``docs/decisions.md``). One fetch at a time per key (a thread
lock, and an asyncio lock per event loop); readers of a fresh token take no lock. :meth:`TokenCache.invalidate`
drops exactly the refused token, so a caller holding an old token cannot throw away a fresh one.
:func:`named_refusal` is the one rule that names the connection when Feishu refuses its credentials."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.errors import FeishuAuthError, FeishuCredentialsError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from airflow_provider_feishu_corehr.client.api import TokenGrant
    from airflow_provider_feishu_corehr.client.errors import FeishuError
    from airflow_provider_feishu_corehr.client.models import ClientSettings

REFRESH_MARGIN = 180.0
REFRESH_MARGIN_FRACTION = 0.2


@dataclass(frozen=True)
class TokenKey:
    """Cache key: base URL, app id and a SHA-256 hex digest of the app secret (the secret itself is not kept).

    :param base_url: API origin.
    :param app_id: the App ID.
    :param secret_hash: SHA-256 hex digest of the App Secret.
    """

    base_url: str
    app_id: str
    secret_hash: str = field(repr=False)

    @classmethod
    def for_settings(cls, settings: ClientSettings) -> TokenKey:
        """Key of the tokens of ``settings``.

        :param settings: client settings.
        """
        digest = hashlib.sha256(settings.app_secret.encode("utf-8")).hexdigest()
        return cls(settings.base_url, settings.app_id, digest)


def refresh_margin(expire: float) -> float:
    """Seconds before expiry at which a token of lifetime ``expire`` is replaced.

    :param expire: lifetime in seconds the server granted.
    """
    return min(REFRESH_MARGIN, expire * REFRESH_MARGIN_FRACTION)


def named_refusal(error: FeishuError, *, conn_id: str | None, app_id: str) -> FeishuError:
    """The error a token fetch raises for ``error``: a :class:`~.errors.FeishuCredentialsError` naming the
    connection when Feishu answered the token request with an error code (decided on the error's type, endpoint and
    code) and ``conn_id`` is known, else ``error`` itself (never named twice).

    :param error: an error of a token fetch.
    :param conn_id: the connection the settings came from (``ClientSettings.conn_id``); ``None``: not named.
    :param app_id: the App ID.
    """
    if conn_id is None or isinstance(error, FeishuCredentialsError) or not isinstance(error, FeishuAuthError):
        return error
    if error.endpoint == Endpoint.TOKEN and error.code is not None:
        return FeishuCredentialsError(error, conn_id=conn_id, app_id=app_id)
    return error


@dataclass(frozen=True)
class _Entry:
    token: str = field(repr=False)
    refresh_at: float


class TokenCache:
    """Tokens per :class:`TokenKey`, shared by every client of the process (see the module docstring).

    :param clock: monotonic clock in seconds; injectable for tests.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[TokenKey, _Entry] = {}
        self._mutex = threading.Lock()
        self._locks: dict[TokenKey, threading.Lock] = {}
        self._async_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[TokenKey, asyncio.Lock]] = (
            weakref.WeakKeyDictionary()
        )

    def cached(self, key: TokenKey) -> str | None:
        """The cached token of ``key`` if it is not due for refresh, else ``None``.

        :param key: cache key.
        """
        entry = self._entries.get(key)
        if entry is not None and self._clock() < entry.refresh_at:
            return entry.token
        return None

    def _store(self, key: TokenKey, grant: TokenGrant, requested_at: float) -> None:
        # The lifetime counts from when the request was sent: the token may have been issued just after.
        refresh_at = requested_at + grant.expire - refresh_margin(grant.expire)
        with self._mutex:
            self._entries[key] = _Entry(grant.token, refresh_at)

    def get(self, key: TokenKey, fetch: Callable[[], TokenGrant], *, fresh: bool = False) -> tuple[str, bool]:
        """Return ``(token, fetched)``: the cached token, or a new one from ``fetch`` (one fetch at a time per key).

        :param key: cache key.
        :param fetch: gets a new grant from the server (raises a typed error on failure).
        :param fresh: fetch a new token even if one is cached (diagnostics).
        """
        if not fresh:
            token = self.cached(key)
            if token is not None:
                return token, False
        with self._mutex:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if not fresh:
                token = self.cached(key)
                if token is not None:
                    return token, False
            requested_at = self._clock()
            grant = fetch()
            self._store(key, grant, requested_at)
            return grant.token, True

    async def aget(
        self, key: TokenKey, fetch: Callable[[], Awaitable[TokenGrant]], *, fresh: bool = False
    ) -> tuple[str, bool]:
        """Async twin of :meth:`get`: one fetch at a time per key among the coroutines of one event loop.

        :param key: cache key.
        :param fetch: coroutine function that gets a new grant from the server.
        :param fresh: fetch a new token even if one is cached (diagnostics).
        """
        if not fresh:
            token = self.cached(key)
            if token is not None:
                return token, False
        loop = asyncio.get_running_loop()
        with self._mutex:
            lock = self._async_locks.setdefault(loop, {}).setdefault(key, asyncio.Lock())
        async with lock:
            if not fresh:
                token = self.cached(key)
                if token is not None:
                    return token, False
            requested_at = self._clock()
            grant = await fetch()
            self._store(key, grant, requested_at)
            return grant.token, True

    def invalidate(self, key: TokenKey, token: str) -> bool:
        """Drop the cached token of ``key`` only if it is ``token``; return whether it was dropped.

        :param key: cache key.
        :param token: the token the server refused.
        """
        with self._mutex:
            entry = self._entries.get(key)
            if entry is not None and entry.token == token:
                del self._entries[key]
                return True
        return False

    def clear(self) -> None:
        """Forget every token (tests)."""
        with self._mutex:
            self._entries.clear()


TOKENS = TokenCache()
"""The process-wide cache every client uses unless given another one."""
