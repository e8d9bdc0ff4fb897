"""Client-side rate limiter: keeps each endpoint within its documented rate, shared by the whole process.

Feishu counts requests per app and API in fixed windows (revoke and edit 20/s, search 100/min) and answers
HTTP 429 beyond that. A burst-then-wait limiter would hit the server's counter at every window edge it does not
share a clock with, so requests are paced evenly instead: one slot every ``window / (limit * HEADROOM)`` seconds.
A sequential caller reaches ``HEADROOM`` (97 %) of the documented rate, and any window of the server's length
holds at most ``limit`` requests even when the windows are not aligned.

Slots are booked under a lock (threads of one process, and coroutines, share one schedule per
(base URL, app id, endpoint)); the caller then sleeps until its slot, outside the lock.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from airflow_provider_feishu_corehr.client.codes import Endpoint
    from airflow_provider_feishu_corehr.client.models import ClientSettings

HEADROOM = 0.97


class RateLimiter:
    """Even pacing of one endpoint: at most ``limit`` requests per ``window`` seconds, one every ``interval``.

    :param limit: requests per window (> 0).
    :param window: window length in seconds (> 0).
    :param clock: monotonic clock in seconds; injectable for tests.
    """

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if limit <= 0 or window <= 0:
            raise ValueError("limit and window must be positive")
        self.limit = limit
        self.window = window
        self.interval = window / (limit * HEADROOM)
        self._clock = clock
        self._next = float("-inf")
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Book the next free slot and return how many seconds to wait for it (0 when it is now).

        Booking is atomic, so concurrent callers get distinct slots ``interval`` apart.
        """
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
            return slot - now

    def acquire(self, sleep: Callable[[float], object] = time.sleep) -> float:
        """Wait (blocking) until a slot is free; return the seconds waited.

        :param sleep: the sleep function.
        """
        delay = self.reserve()
        if delay > 0:
            sleep(delay)
        return delay

    async def aacquire(self, sleep: Callable[[float], Awaitable[object]]) -> float:
        """Wait (without blocking the event loop) until a slot is free; return the seconds waited.

        :param sleep: an async sleep function such as :func:`asyncio.sleep`.
        """
        delay = self.reserve()
        if delay > 0:
            await sleep(delay)
        return delay


_registry: dict[tuple[str, str, str, int, float], RateLimiter] = {}
_registry_lock = threading.Lock()


def rate_for(settings: ClientSettings, endpoint: Endpoint) -> tuple[int, float] | None:
    """The rate that applies to ``endpoint``: the override in ``settings.rate_limits`` if the endpoint is named
    there (``None`` = limiter off), else the documented default.

    :param settings: client settings.
    :param endpoint: logical endpoint.
    """
    if endpoint.value in settings.rate_limits:
        return settings.rate_limits[endpoint.value]
    return endpoint.default_rate_limit


def limiter_for(settings: ClientSettings, endpoint: Endpoint) -> RateLimiter | None:
    """The process-wide limiter of (base URL, app id, endpoint) at the configured rate, or ``None`` when off.

    Clients configured with the same rate share one limiter; a different rate gets its own.

    :param settings: client settings.
    :param endpoint: logical endpoint.
    """
    rate = rate_for(settings, endpoint)
    if rate is None:
        return None
    limit, window = rate
    key = (settings.base_url, settings.app_id, endpoint.value, limit, window)
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            limiter = _registry[key] = RateLimiter(limit, window)
        return limiter
