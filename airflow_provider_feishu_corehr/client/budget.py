"""A request schedule shared through a store, which degrades to process pacing when the store cannot be used.

:class:`SharedRateLimiter` books by :func:`~.ratelimit.next_slot` in a :class:`SlotStore` (``host`` scope: the
SQLite file of :mod:`.budget_sqlite`; a second store plugs in behind the same protocol). What it adds to the process
limiter, whatever the store:

* the booking may wait for the store (a lock held by another process), so the async path hands it to one thread per
  process (:func:`booking_thread`): the event loop never waits for it, and the store bounds that wait itself;
* no slot is booked more than one window ahead (the schedule's ``horizon``): a caller finding the schedule full
  waits and books again, and a stored slot further ahead than two windows is stale and dropped;
* a store that raises :class:`StoreUnavailable` (corrupt beyond rebuilding, read-only, locked too long, unwritable
  directory) is left for :data:`STORE_RETRY_SECONDS`: meanwhile the process paces alone at :data:`FALLBACK_SHARE` of
  its share, with one warning per process naming the store; then the store is tried again.

Why these numbers: ``docs/scaling.md``, "When the store cannot be used"."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

from airflow_provider_feishu_corehr.client.ratelimit import RateLimiter

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_feishu_corehr.client.ratelimit import Booking

FALLBACK_SHARE = 0.25
"""Part of its share a process uses while its store cannot be used: four processes pacing alone stay within the
limit (a Celery worker's default concurrency on a small host, the four batches of ``benchmarks/``)."""

STORE_RETRY_SECONDS = 30.0
"""How long a process paces alone before it tries an unusable store again."""

log = logging.getLogger(__name__)
_warned: set[str] = set()
_warned_lock = threading.Lock()


class StoreUnavailable(Exception):
    """The store cannot book now; the message says why, naming the store (a path or connection id, never a secret).

    :param reason: what went wrong.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SlotStore(Protocol):
    """Where a shared schedule's next free slots are kept: one per (base URL, app id, endpoint) ``key``."""

    name: str
    """The store for log lines, e.g. ``SQLite file /tmp/x.sqlite3`` (no secret)."""

    def book(
        self, key: str, *, now: float, interval: float, max_wait: float | None, horizon: float, floor: float
    ) -> Booking:
        """Apply :func:`~.ratelimit.next_slot` to ``key``'s next free slot atomically across processes, writing the
        new one when the slot is taken or the stored one is stale. Waits for the store at most a short, bounded time.

        :param key: the schedule's row.
        :param now: the shared clock now.
        :param interval: seconds between two slots.
        :param max_wait: the caller's time left (``None``: no bound); also bounds the wait for the store.
        :param horizon: how far ahead a slot may be booked.
        :param floor: the next free slot this process last saw (``-inf``: none); a store that lost its row (deleted,
            rebuilt) goes on from there instead of from ``now``.
        :raises StoreUnavailable: the store cannot book now.
        """
        ...


_executor: tuple[int, ThreadPoolExecutor] | None = None
_executor_lock = threading.Lock()


def booking_thread() -> ThreadPoolExecutor:
    """The one thread of this process that books shared slots for asyncio callers (a forked child makes its own).

    One thread is enough: a process books one slot at a time anyway (the limiter's lock, then the store's), and it
    keeps the bookings of a thousand waiting triggers off the loop's default executor.
    """
    global _executor
    with _executor_lock:
        if _executor is None or _executor[0] != os.getpid():
            _executor = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="feishu-host-budget"))
        return _executor[1]


def _warn_once(store: str, reason: str, retry_after: float) -> None:
    """The one warning of this process about ``store``; later episodes log at INFO.

    :param store: the store's name.
    :param reason: why it cannot be used.
    :param retry_after: seconds until it is tried again.
    """
    with _warned_lock:
        first = store not in _warned
        _warned.add(store)
    log.log(
        logging.WARNING if first else logging.INFO,
        "The shared rate-limit store %s cannot be used (%s); this process paces its requests alone, at %d %% of its "
        "share, until it can (tried again every %g s).",
        store,
        reason,
        round(FALLBACK_SHARE * 100),
        retry_after,
    )


class SharedRateLimiter(RateLimiter):
    """A :class:`RateLimiter` whose schedule is kept in a :class:`SlotStore` shared with other processes.

    Parameters as :class:`RateLimiter`'s (``share``: of the scope), plus:

    :param key: the schedule's row: base URL, app id and endpoint.
    :param store: where the schedule is kept.
    :param clock: the clock the store's slots are on (the host's wall clock), injectable for tests.
    :param retry_after: seconds of process pacing before an unusable store is tried again.
    """

    scope = "host"

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        key: str,
        store: SlotStore,
        share: float = 1.0,
        label: str = "rate limit",
        endpoint: str | None = None,
        clock: Callable[[], float] = time.time,
        retry_after: float = STORE_RETRY_SECONDS,
    ) -> None:
        super().__init__(limit, window, clock=clock, share=share, label=label, endpoint=endpoint)
        self.key = key
        self.store = store
        self.horizon = self._horizon = max(window, self.interval)
        self.fallback = RateLimiter(limit, window, share=share * FALLBACK_SHARE, label=label, endpoint=endpoint)
        self._retry_after = retry_after
        self._retry_at: float | None = None
        self._seen = float("-inf")

    @property
    def degraded(self) -> bool:
        """Whether this process paces alone now because the store could not be used."""
        return self._retry_at is not None

    def _book(self, max_wait: float | None) -> Booking:
        """Book in the store (blocking: bounded by the store), else in the process fallback schedule."""
        with self._lock:  # one booking at a time per process; the store orders the processes
            if self._retry_at is not None and time.monotonic() < self._retry_at:
                return self.fallback._book(max_wait)
            try:
                booking = self.store.book(
                    self.key,
                    now=self._clock(),
                    interval=self.interval,
                    max_wait=max_wait,
                    horizon=self._horizon,
                    floor=self._seen,
                )
            except StoreUnavailable as exc:
                self._retry_at = time.monotonic() + self._retry_after
                _warn_once(self.store.name, exc.reason, self._retry_after)
                return self.fallback._book(max_wait)
            if self._retry_at is not None:
                self._retry_at = None
                log.info("The shared rate-limit store %s is used again.", self.store.name)
            if booking.stale:
                log.warning(
                    "The %s's next free slot in %s lay more than two windows ahead (a clock stepped back, or a store "
                    "from another time); the schedule starts again from now.",
                    self.label,
                    self.store.name,
                )
            if booking.taken:
                self._seen = booking.next_free
            return booking

    async def _abook(self, max_wait: float | None) -> Booking:
        """:meth:`_book` on :func:`booking_thread`, awaited: the loop never waits for the store (a caller cancelled
        meanwhile leaves its slot unused)."""
        return await asyncio.get_running_loop().run_in_executor(booking_thread(), self._book, max_wait)
