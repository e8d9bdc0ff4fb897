"""The ``redis`` scope's store: every process on every host books its slots in one Redis server.

One key per (base URL, app id, endpoint) holds the next free slot. A booking is one round trip: ``EVALSHA`` of
:data:`BOOK_SCRIPT`, which applies the rule of :func:`~.ratelimit.next_slot` on the server, atomically (Redis runs
one script at a time), on the server's clock (``TIME``), so the hosts' clocks do not matter: the caller gets its wait
in seconds, not a time of day. The script is loaded again by redis-py when the server lost it (a restart).

Every way the server can fail ends in :class:`~.budget.StoreUnavailable` (the limiter then paces alone at the safe
share of :mod:`.budget` and tries the server again later) after a bounded wait, never in a raw redis-py error:
refused or dropped connections, :data:`SOCKET_TIMEOUT` passed (a slow, paused or unreachable server), a read-only
replica, wrong credentials, any error reply. redis-py's own retries are off, so one booking waits for the server at
most one socket timeout per round trip. A server that lost its keys (restart, flush, eviction) goes on from the last
slot this process saw (``floor``).

This is the one module that imports ``redis`` (the ``[redis]`` extra); :func:`~.base.limiter_for` imports it only for
the ``redis`` scope. Why a script of our own and not a rate-limit library: ``docs/decisions.md``."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.budget import STORE_RETRY_SECONDS, SharedRateLimiter, StoreUnavailable
from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.ratelimit import Booking

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - the lanes install the extra; tested by hiding the module
    raise FeishuInvalidInputError(
        "rate_limit_scope redis needs the redis package: pip install 'airflow-provider-feishu-corehr[redis]'"
    ) from exc

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_feishu_corehr.client.models import ClientSettings, RedisServer

SOCKET_TIMEOUT = 0.5
"""Seconds one connect or one reply may take. A booking script runs in microseconds and a round trip across a data
centre in milliseconds, so a server this slow is stuck, paused or unreachable; far below any sane ``max_elapsed``."""

KEY_PREFIX = "feishu-corehr:rate:v1"
"""Keys are ``<prefix>:<hash of base URL and app id>:<endpoint>`` (never a secret)."""

BOOK_SCRIPT = """
-- KEYS[1]: the schedule's key. ARGV: interval, max_wait ('' = none), horizon, floor ('' = none).
-- next_slot() of client/ratelimit.py on the server's clock; returns wait, next_free ('' = none), taken, stale, now.
if redis.replicate_commands then redis.replicate_commands() end  -- Redis < 5: a write after TIME; later: a no-op
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local horizon = tonumber(ARGV[3])
local floor = tonumber(ARGV[4])
local stored = tonumber(redis.call('GET', KEYS[1]) or '')
local stale = stored ~= nil and stored - now > 2 * horizon
local start = nil
if stored ~= nil and not stale then start = stored end
if floor ~= nil and floor - now <= 2 * horizon and (start == nil or floor > start) then start = floor end
local slot = now
if start ~= nil and start > now then slot = start end
local wait = slot - now
local taken = (max_wait == nil or wait <= max_wait) and wait <= horizon
local next_free = start
if taken then next_free = slot + interval end
if next_free == nil then
  if stale then redis.call('DEL', KEYS[1]) end
elseif next_free ~= stored then
  redis.call('SET', KEYS[1], string.format('%.17g', next_free), 'PX', math.ceil((next_free - now + horizon) * 1000))
end
local function num(x) if x == nil then return '' end return string.format('%.17g', x) end
return {num(wait), num(next_free), taken and 1 or 0, stale and 1 or 0, num(now)}
"""
"""The booking, one round trip. A key expires one horizon after its slot has passed: an unused schedule leaves
nothing behind. Numbers travel as text (``%.17g``: Redis would truncate a Lua number reply to an integer)."""


def redis_key(base_url: str, app_id: str, endpoint: str) -> str:
    """The key of one app's schedule for ``endpoint``.

    :param base_url: the API origin.
    :param app_id: the App ID.
    :param endpoint: the endpoint's name (kept readable for operators).
    """
    digest = hashlib.sha256(f"{base_url}\n{app_id}".encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}:{digest}:{endpoint}"


def _number(value: Any) -> float:
    """A number of the script's reply (``''``: none)."""
    text = value.decode() if isinstance(value, bytes) else str(value)
    return float(text) if text else float("-inf")


class RedisSlotStore:
    """The :class:`~.budget.SlotStore` of a Redis server (one redis-py client per store; its pool reconnects by
    itself and makes its own connections in a forked child).

    :param server: the server, read from an Airflow connection.
    :param timeout: seconds one connect or one reply may take.
    """

    def __init__(self, server: RedisServer, *, timeout: float = SOCKET_TIMEOUT) -> None:
        self.server = server
        self.name = f"Redis connection {server.conn_id!r} ({server.host}:{server.port}/{server.db})"
        tls: dict[str, Any] = dict(server.ssl)
        self.client = redis.Redis(
            host=server.host,
            port=server.port,
            db=server.db,
            username=server.username,
            password=server.password,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry_on_timeout=False,
            retry=Retry(NoBackoff(), 0),  # recent redis-py retries 10 times by default: one try, then pacing alone
            **tls,
        )
        self._script = self.client.register_script(BOOK_SCRIPT)
        self.now = float("nan")
        """The server's clock at the last booking (tests compare the script with :func:`~.ratelimit.next_slot`)."""

    def _reason(self, exc: Exception) -> str:
        """Why the server cannot be used, in words without the password (redis-py's messages carry none; checked)."""
        text = f"{type(exc).__name__}: {exc}"
        if self.server.password:
            text = text.replace(self.server.password, "***")
        return text

    def book(
        self, key: str, *, now: float, interval: float, max_wait: float | None, horizon: float, floor: float
    ) -> Booking:
        """:meth:`.budget.SlotStore.book` in one script run on the server (parameters there).

        :param key: the schedule's key (:func:`redis_key`).
        :param now: ignored: the server's clock decides.
        :param interval: seconds between two slots.
        :param max_wait: the caller's time left.
        :param horizon: how far ahead a slot may be booked.
        :param floor: the next free slot this process last saw, on the server's clock.
        :raises StoreUnavailable: the server cannot be used now.
        """
        args = [repr(interval), "" if max_wait is None else repr(max_wait), repr(horizon)]
        args.append("" if floor == float("-inf") else repr(floor))
        try:
            reply = self._script(keys=[key], args=args)
            wait, next_free, taken, stale, self.now = (
                _number(reply[0]),
                _number(reply[1]),
                bool(int(reply[2])),
                bool(int(reply[3])),
                _number(reply[4]),
            )
        except (redis.RedisError, OSError) as exc:
            raise StoreUnavailable(self._reason(exc)) from exc
        except (ValueError, TypeError, IndexError) as exc:
            raise StoreUnavailable(f"the server answered the booking script with {type(reply).__name__}") from exc
        return Booking(wait, next_free, taken, stale)


class RedisRateLimiter(SharedRateLimiter):
    """The ``redis`` scope: a :class:`~.budget.SharedRateLimiter` on a :class:`RedisSlotStore`.

    :param limit: requests per window.
    :param window: window length in seconds.
    :param key: the schedule's key (:func:`redis_key`).
    :param server: the Redis server.
    :param share: part of the limit every process together may use.
    :param label: what the budget is, for log lines.
    :param endpoint: the endpoint's name, for errors.
    :param timeout: seconds one connect or one reply may take.
    :param retry_after: seconds of process pacing before an unusable server is tried again.
    :param clock: passed to the store, which ignores it (the server's clock decides); kept for the protocol.
    """

    scope = "Redis server's hosts"

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        key: str,
        server: RedisServer,
        share: float = 1.0,
        label: str = "rate limit",
        endpoint: str | None = None,
        timeout: float = SOCKET_TIMEOUT,
        retry_after: float = STORE_RETRY_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis_store = RedisSlotStore(server, timeout=timeout)
        super().__init__(
            limit,
            window,
            key=key,
            store=self.redis_store,
            share=share,
            label=label,
            endpoint=endpoint,
            clock=clock,
            retry_after=retry_after,
        )


def redis_limiter(
    settings: ClientSettings, endpoint: str, limit: int, window: float, *, share: float, label: str
) -> RedisRateLimiter:
    """The ``redis`` scope's limiter of (base URL, app id, ``endpoint``) for :func:`~.base.limiter_for`.

    :param settings: client settings with ``rate_limit_redis`` set (the hook reads it from the connection).
    :param endpoint: the endpoint's name.
    :param limit: requests per window.
    :param window: window length in seconds.
    :param share: part of the limit every process together may use.
    :param label: what the budget is, for log lines.
    :raises FeishuInvalidInputError: the settings name no Redis server.
    """
    if settings.rate_limit_redis is None:
        raise FeishuInvalidInputError(
            "rate_limit_scope redis needs ClientSettings.rate_limit_redis (FeishuHook reads it from the connection "
            f"named by the extra rate_limit_redis_conn_id, {settings.rate_limit_redis_conn_id!r})"
        )
    return RedisRateLimiter(
        limit,
        window,
        key=redis_key(settings.base_url, settings.app_id, endpoint),
        server=settings.rate_limit_redis,
        share=share,
        label=label,
        endpoint=endpoint,
    )
