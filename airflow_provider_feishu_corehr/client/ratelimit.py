"""Client-side rate limiter: each endpoint paced evenly within its documented rate, per process or per host.

One slot every ``window / (limit * HEADROOM * share)`` seconds (:func:`next_slot`, the one rule of every schedule),
so no window of the server's length, aligned or not, holds more than ``limit`` requests. ``process`` scope books
under a lock in memory; ``host`` scope in a SQLite file (:class:`~.budget.HostRateLimiter`). Scopes, shares and the
long-wait log line: ``docs/scaling.md``, "Budgets across processes" and "A queue that is visible and bounded".
:func:`within` bounds the waits of the calls made inside it: a slot further away raises
:class:`FeishuRateLimitError` instead of being booked."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

from airflow_provider_feishu_corehr.client.errors import FeishuRateLimitError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from airflow_provider_feishu_corehr.client.codes import Endpoint
    from airflow_provider_feishu_corehr.client.models import ClientSettings

HEADROOM = 0.97
LOG_WAIT_OVER = 10.0
"""Seconds of limiter wait above which the wait is logged (once per episode)."""

log = logging.getLogger(__name__)
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("feishu_rate_limit_deadline", default=None)


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Inside the block, no limiter wait ends later than ``seconds`` from now (threads and tasks see their own).

    :param seconds: the time left.
    """
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _time_left() -> float | None:
    """The longest wait :func:`within` allows now (``None``: no bound)."""
    deadline = _deadline.get()
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


def next_slot(now: float, booked: float, interval: float, max_wait: float | None) -> tuple[float, float]:
    """The pacing rule, one home for every schedule (process and host, sync and async).

    The caller's slot is the later of ``now`` and the next free slot ``booked``; taking it moves the next free slot
    one ``interval`` on. A slot more than ``max_wait`` away is not taken.

    :param now: the schedule's clock now.
    :param booked: the next free slot (``-inf`` for a schedule nobody used yet).
    :param interval: seconds between two slots.
    :param max_wait: the longest acceptable wait, or ``None`` for no bound.
    :return: ``(wait, next free slot)``; the wait may exceed ``max_wait``, and then the next free slot is unchanged.
    """
    slot = max(now, booked)
    if max_wait is None or slot - now <= max_wait:
        booked = slot + interval
    return slot - now, booked


class RateLimiter:
    """Even pacing of one endpoint: at most ``limit`` requests per ``window`` seconds, one every ``interval``.

    :param limit: requests per window (> 0).
    :param window: window length in seconds (> 0).
    :param clock: monotonic clock in seconds; injectable for tests.
    :param share: part of the limit this limiter may use, (0, 1].
    :param label: what the budget is, for the long-wait log line (e.g. ``search budget of app cli_x``).
    :param endpoint: the endpoint's name, for errors.
    """

    scope = "process"

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        share: float = 1.0,
        label: str = "rate limit",
        endpoint: str | None = None,
    ) -> None:
        if limit <= 0 or window <= 0:
            raise ValueError("limit and window must be positive")
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self.limit = limit
        self.window = window
        self.share = share
        self.label = label
        self.endpoint = endpoint
        self.interval = window / (limit * HEADROOM * share)
        self._clock = clock
        self._next = float("-inf")
        self._lock = threading.Lock()
        self._warned = False

    def _book(self, max_wait: float | None) -> float:
        """Book the next free slot of this process's schedule by :func:`next_slot`; return the wait."""
        with self._lock:
            delay, self._next = next_slot(self._clock(), self._next, self.interval, max_wait)
            return delay

    async def _abook(self, max_wait: float | None) -> float:
        """:meth:`_book` for the event loop; the process schedule is a lock and arithmetic, so it runs inline."""
        return self._book(max_wait)

    def reserve(self) -> float:
        """Book the next free slot (atomically: concurrent callers get distinct slots) and return the wait for it.

        :raises FeishuRateLimitError: inside :func:`within`, when the slot is further away than the time left.
        """
        left = _time_left()
        return self._settle(self._book(left), left)

    async def areserve(self) -> float:
        """:meth:`reserve` for asyncio: the booking never blocks the event loop (see :meth:`_abook`).

        :raises FeishuRateLimitError: inside :func:`within`, when the slot is further away than the time left.
        """
        left = _time_left()
        return self._settle(await self._abook(left), left)

    def _settle(self, delay: float, left: float | None) -> float:
        """Refuse a slot beyond the time left (it was not booked), else note a long wait; return ``delay``."""
        if left is not None and delay > left:
            raise FeishuRateLimitError(
                f"the client-side {self.label} has no free slot for {delay:.1f} s, more than the {left:.1f} s "
                "left to this call; not sent",
                endpoint=self.endpoint,
            )
        self._note(delay)
        return delay

    def _note(self, delay: float) -> None:
        """Log a long wait once per episode: the reason and the expected delay."""
        if delay > LOG_WAIT_OVER:
            if not self._warned:
                self._warned = True
                log.warning(
                    "Waiting %.1f s for a slot of the %s (%d per %g s, %d %% of it used by this %s): requests queue "
                    "to stay under Feishu's limit. Fewer looks (longer poll intervals, batched sensors) or a larger "
                    "share shorten the queue.",
                    delay,
                    self.label,
                    self.limit,
                    self.window,
                    round(self.share * HEADROOM * 100),
                    self.scope,
                )
        elif delay < LOG_WAIT_OVER / 2:
            self._warned = False

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
        delay = await self.areserve()
        if delay > 0:
            await sleep(delay)
        return delay


def rate_for(settings: ClientSettings, endpoint: Endpoint) -> tuple[int, float] | None:
    """The rate that applies to ``endpoint``: the override in ``settings.rate_limits`` if the endpoint is named
    there (``None`` = limiter off), else the documented default.

    :param settings: client settings.
    :param endpoint: logical endpoint.
    """
    if endpoint.value in settings.rate_limits:
        return settings.rate_limits[endpoint.value]
    return endpoint.default_rate_limit
