"""Client-side rate limiter: each endpoint paced evenly within its documented rate, per process or per host.

One slot every ``window / (limit * HEADROOM * share)`` seconds (:func:`next_slot`, the one rule of every schedule),
so no window of the server's length, aligned or not, holds more than ``limit`` requests. ``process`` scope books
under a lock in memory; a shared scope in a store (:class:`~.budget.SharedRateLimiter`; ``host``: a SQLite file).
Scopes, shares and the long-wait log line: ``docs/scaling.md``, "Budgets across processes" and "A queue that is
visible and bounded". :func:`within` bounds the waits of the calls made inside it (the clients put every call
inside its ``max_elapsed``): a slot further away raises :class:`FeishuNotSentError` instead of being booked."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple

from airflow_provider_feishu_corehr.client.errors import FeishuNotSentError

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
    """Inside the block, no limiter wait ends later than ``seconds`` from now (threads and tasks see their own); an
    enclosing, earlier bound stays.

    :param seconds: the time left.
    """
    outer, end = _deadline.get(), time.monotonic() + seconds
    token = _deadline.set(end if outer is None else min(outer, end))
    try:
        yield
    finally:
        _deadline.reset(token)


def _time_left() -> float | None:
    """The longest wait :func:`within` allows now (``None``: no bound)."""
    deadline = _deadline.get()
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


class Booking(NamedTuple):
    """One try to book a slot (:func:`next_slot`).

    :param wait: seconds from now to the caller's slot.
    :param next_free: the schedule's next free slot afterwards.
    :param taken: whether the slot was booked (a slot beyond the caller's time left or the schedule's horizon is not).
    :param stale: the schedule's next free slot lay more than two horizons ahead and was dropped.
    """

    wait: float
    next_free: float
    taken: bool
    stale: bool = False


def next_slot(
    now: float,
    booked: float,
    interval: float,
    max_wait: float | None,
    horizon: float | None = None,
    floor: float = float("-inf"),
) -> Booking:
    """The pacing rule, one home for every schedule (process and shared, sync and async).

    The caller's slot is the later of ``now`` and the next free slot ``booked``; taking it moves the next free slot
    one ``interval`` on. A slot more than ``max_wait`` or ``horizon`` away is not taken. With a ``horizon`` (shared
    schedules: one window of the limit), no slot is ever booked further ahead than it, so a next free slot more than
    two horizons ahead cannot come from a booking on this clock (a clock stepped back, a store from another time):
    it is stale, and the schedule restarts from ``now``.

    :param now: the schedule's clock now.
    :param booked: the next free slot (``-inf`` for a schedule nobody used yet).
    :param interval: seconds between two slots.
    :param max_wait: the longest acceptable wait, or ``None`` for no bound.
    :param horizon: how far ahead a slot may be booked, or ``None`` for no bound.
    :param floor: a next free slot known from elsewhere (a shared store that lost its row goes on from the last one
        this process saw); ignored when stale.
    """

    def fresh(slot: float) -> bool:
        return horizon is None or slot - now <= 2 * horizon

    stale = not fresh(booked)
    start = max(booked if not stale else float("-inf"), floor if fresh(floor) else float("-inf"))
    slot = max(now, start)
    wait = slot - now
    taken = (max_wait is None or wait <= max_wait) and (horizon is None or wait <= horizon)
    return Booking(wait, slot + interval if taken else start, taken, stale)


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
    horizon: float | None = None
    """How far ahead a slot may be booked (``None``: no bound; shared schedules: one window)."""

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

    def _book(self, max_wait: float | None) -> Booking:
        """Book the next free slot of this process's schedule by :func:`next_slot`."""
        with self._lock:
            booking = next_slot(self._clock(), self._next, self.interval, max_wait, self.horizon)
            self._next = booking.next_free
            return booking

    async def _abook(self, max_wait: float | None) -> Booking:
        """:meth:`_book` for the event loop; the process schedule is a lock and arithmetic, so it runs inline."""
        return self._book(max_wait)

    def book(self) -> Booking:
        """Try to book the next free slot (atomically: concurrent callers get distinct slots).

        :raises FeishuNotSentError: inside :func:`within`, when the slot is further away than the time left.
        """
        left = _time_left()
        return self._settle(self._book(left), left)

    async def abook(self) -> Booking:
        """:meth:`book` for asyncio: the booking never blocks the event loop (see :meth:`_abook`).

        :raises FeishuNotSentError: inside :func:`within`, when the slot is further away than the time left.
        """
        left = _time_left()
        return self._settle(await self._abook(left), left)

    def reserve(self) -> float:
        """:meth:`book`, returning the wait: until the slot, or (not taken, shared schedules only) until the
        schedule may have room again (:meth:`acquire` books again then).

        :raises FeishuNotSentError: inside :func:`within`, when the slot is further away than the time left.
        """
        return self._pause(self.book())

    async def areserve(self) -> float:
        """:meth:`reserve` for asyncio.

        :raises FeishuNotSentError: inside :func:`within`, when the slot is further away than the time left.
        """
        return self._pause(await self.abook())

    def _pause(self, booking: Booking) -> float:
        """The wait before sending (slot taken) or before booking again: until the slot comes within the horizon,
        at least half a horizon (a queue of callers does not book again every slot), at most until the slot."""
        if booking.taken or self.horizon is None:
            return booking.wait
        return min(max(booking.wait - self.horizon, self.horizon / 2), booking.wait)

    def _settle(self, booking: Booking, left: float | None) -> Booking:
        """Refuse a slot beyond the time left (it was not booked), else note a long wait."""
        if left is not None and booking.wait > left:
            raise FeishuNotSentError(
                f"the client-side {self.label} has no free slot for {booking.wait:.1f} s, more than the {left:.1f} s "
                "left to this call; not sent",
                endpoint=self.endpoint,
            )
        self._note(booking.wait)
        return booking

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
        """Wait (blocking) until a slot is booked and due; return the seconds waited.

        :param sleep: the sleep function.
        :raises FeishuNotSentError: inside :func:`within`, when no slot comes within the time left.
        """
        waited = 0.0
        while True:
            booking = self.book()
            pause = self._pause(booking)
            if pause > 0:
                sleep(pause)
                waited += pause
            if booking.taken:
                return waited

    async def aacquire(self, sleep: Callable[[float], Awaitable[object]]) -> float:
        """Wait (without blocking the event loop) until a slot is booked and due; return the seconds waited.

        :param sleep: an async sleep function such as :func:`asyncio.sleep`.
        :raises FeishuNotSentError: inside :func:`within`, when no slot comes within the time left.
        """
        waited = 0.0
        while True:
            booking = await self.abook()
            pause = self._pause(booking)
            if pause > 0:
                await sleep(pause)
                waited += pause
            if booking.taken:
                return waited


def rate_for(settings: ClientSettings, endpoint: Endpoint) -> tuple[int, float] | None:
    """The rate that applies to ``endpoint``: the override in ``settings.rate_limits`` if the endpoint is named
    there (``None`` = limiter off), else the documented default.

    :param settings: client settings.
    :param endpoint: logical endpoint.
    """
    if endpoint.value in settings.rate_limits:
        return settings.rate_limits[endpoint.value]
    return endpoint.default_rate_limit
