"""Host-wide request schedule: the processes of one machine book their slots in one SQLite file.

Used when the connection says ``rate_limit_scope: host``. The rule is :func:`~.ratelimit.next_slot`; only where the
next free slot is kept differs: one row per (base URL, app id, endpoint), updated in a ``BEGIN IMMEDIATE``
transaction (SQLite's file lock makes booking atomic across processes). Booking may wait on that lock, so the async
path hands it to one thread per process (:func:`booking_thread`) and never blocks the event loop. Why SQLite and not
a rate-limit library, and where the file lives: ``docs/scaling.md``, "Budgets across processes". Slots use the wall
clock (``time.time``), which every process of a machine shares."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_feishu_corehr.client.ratelimit import RateLimiter, next_slot

if TYPE_CHECKING:
    from collections.abc import Callable

_SCHEMA = "CREATE TABLE IF NOT EXISTS slots (key TEXT PRIMARY KEY, next REAL NOT NULL)"
_UPSERT = "INSERT INTO slots (key, next) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET next = excluded.next"


def default_path() -> Path:
    """The host's schedule file: ``<temp dir>/feishu-corehr-budget-<uid>.sqlite3``."""
    uid = getattr(os, "getuid", lambda: 0)()
    return Path(tempfile.gettempdir()) / f"feishu-corehr-budget-{uid}.sqlite3"


_SETUP_SECONDS = 30.0
"""How long opening the file may keep retrying while other processes set the same new file up."""


def _open(path: Path) -> sqlite3.Connection:
    """A connection to the schedule file in WAL mode (readers never block the booking writer), table created.

    Switching a new file to WAL takes an exclusive lock that SQLite does not wait for in its busy handler, so
    processes setting up the same new file at the same moment get ``OperationalError`` ("database is locked");
    the setup is tried again for up to :data:`_SETUP_SECONDS`.
    """
    db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA synchronous=OFF")  # a schedule lost in a power cut is harmless
    give_up = time.monotonic() + _SETUP_SECONDS
    while True:
        try:
            if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)
            return db
        except sqlite3.OperationalError:
            if time.monotonic() >= give_up:
                db.close()
                raise
            time.sleep(0.01)


_executor: tuple[int, ThreadPoolExecutor] | None = None
_executor_lock = threading.Lock()


def booking_thread() -> ThreadPoolExecutor:
    """The one thread of this process that books host slots for asyncio callers (a forked child makes its own).

    One thread is enough: a process books one slot at a time anyway (the limiter's lock, then SQLite's file lock),
    and it keeps the bookings of a thousand waiting triggers off the loop's default executor.
    """
    global _executor
    with _executor_lock:
        if _executor is None or _executor[0] != os.getpid():
            _executor = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="feishu-host-budget"))
        return _executor[1]


class HostRateLimiter(RateLimiter):
    """A :class:`RateLimiter` whose schedule is shared by every process of the host through a SQLite file.

    Parameters as :class:`RateLimiter`'s (``share``: of the host), plus:

    :param key: the schedule's row: base URL, app id and endpoint.
    :param path: the SQLite file; ``None`` = :func:`default_path`.
    :param clock: wall clock in seconds, shared by the host's processes.
    """

    scope = "host"

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        key: str,
        path: str | os.PathLike[str] | None = None,
        share: float = 1.0,
        label: str = "rate limit",
        endpoint: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(limit, window, clock=clock, share=share, label=label, endpoint=endpoint)
        self.key = key
        self.path = Path(path) if path is not None else default_path()
        self._db: sqlite3.Connection | None = None
        self._pid = 0

    def _connection(self) -> sqlite3.Connection:
        """This process's connection to the file (a forked child opens its own)."""
        if self._db is None or self._pid != os.getpid():
            self._db, self._pid = _open(self.path), os.getpid()
        return self._db

    def _book(self, max_wait: float | None) -> float:
        """Book by :func:`~.ratelimit.next_slot` in the host's schedule row, in one ``BEGIN IMMEDIATE``
        transaction (blocking: SQLite may wait for another process's lock)."""
        with self._lock:  # one transaction at a time per process; the file lock orders the processes
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT next FROM slots WHERE key = ?", (self.key,)).fetchone()
                booked = float("-inf") if row is None else float(row[0])
                delay, following = next_slot(self._clock(), booked, self.interval, max_wait)
                if following != booked:
                    db.execute(_UPSERT, (self.key, following))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return delay

    async def _abook(self, max_wait: float | None) -> float:
        """:meth:`_book` on :func:`booking_thread`, awaited: the loop never waits for SQLite (a caller cancelled
        meanwhile leaves its slot unused)."""
        return await asyncio.get_running_loop().run_in_executor(booking_thread(), self._book, max_wait)
