"""The ``host`` scope's store: the processes of one machine book their slots in one SQLite file.

One row per (base URL, app id, endpoint) holds the next free slot, updated in a ``BEGIN IMMEDIATE`` transaction
(SQLite's file lock makes booking atomic across processes). Slots use the wall clock (``time.time``), which every
process of a machine shares. Every way the file can fail ends in :class:`~.budget.StoreUnavailable` (the limiter then
paces alone) after a bounded wait, never in a raw ``sqlite3`` error:

* another process holds the lock: SQLite's busy wait, at most :data:`LOCK_WAIT_SECONDS` (less when the caller has
  less time left);
* the file was deleted or replaced: the next booking sees another inode and opens the file at the path again (one
  schedule: every process moves to the new file, which goes on from the last slot this process saw);
* the file is corrupt: it is moved aside (``<name>.corrupt-<time>``) and created anew, once per booking;
* read-only, unwritable directory, anything else: unavailable.

Why SQLite and not a rate-limit library, and where the file lives: ``docs/scaling.md``, "Budgets across processes"."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_feishu_corehr.client.budget import STORE_RETRY_SECONDS, SharedRateLimiter, StoreUnavailable
from airflow_provider_feishu_corehr.client.ratelimit import next_slot

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_feishu_corehr.client.ratelimit import Booking

_SCHEMA = "CREATE TABLE IF NOT EXISTS slots (key TEXT PRIMARY KEY, next REAL NOT NULL)"
_UPSERT = "INSERT INTO slots (key, next) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET next = excluded.next"
_CORRUPT = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 2.0
"""Longest wait for another process's lock on the file (SQLite's busy timeout), far below any sane ``max_elapsed``:
a booking transaction takes well under a millisecond, so a lock held longer is a stuck or slow process."""


def default_path() -> Path:
    """The host's schedule file: ``<temp dir>/feishu-corehr-budget-<uid>.sqlite3``."""
    uid = getattr(os, "getuid", lambda: 0)()
    return Path(tempfile.gettempdir()) / f"feishu-corehr-budget-{uid}.sqlite3"


def _corrupt(exc: sqlite3.Error) -> bool:
    """Whether SQLite says the file is not a (sound) database."""
    return getattr(exc, "sqlite_errorname", "") in _CORRUPT


def _identity(path: Path) -> tuple[int, int] | None:
    """The file's (device, inode), or ``None`` when there is no file at ``path``."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino


class SqliteSlotStore:
    """The :class:`~.budget.SlotStore` of a SQLite file on local disk (one connection per process).

    :param path: the file; ``None`` = :func:`default_path`.
    :param lock_wait: longest wait for another process's lock, in seconds.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, lock_wait: float = LOCK_WAIT_SECONDS) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.name = f"SQLite file {self.path}"
        self.lock_wait = lock_wait
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        self._identity: tuple[int, int] | None = None

    def _open(self) -> sqlite3.Connection:
        """A connection in WAL mode (readers never block the booking writer), table created.

        Switching a new file to WAL takes an exclusive lock that SQLite's busy handler does not wait for, so
        processes setting up the same new file at once get "database is locked": the setup is tried again for up to
        :attr:`lock_wait`.
        """
        db = sqlite3.connect(self.path, timeout=self.lock_wait, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA synchronous=OFF")  # a schedule lost in a power cut is harmless
            give_up = time.monotonic() + self.lock_wait
            while True:
                try:
                    if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                        db.execute("PRAGMA journal_mode=WAL")
                    db.execute(_SCHEMA)
                    break
                except sqlite3.OperationalError as exc:
                    if getattr(exc, "sqlite_errorname", "SQLITE_BUSY") != "SQLITE_BUSY" or time.monotonic() >= give_up:
                        raise
                    time.sleep(0.01)
        except BaseException:
            db.close()
            raise
        self._identity = _identity(self.path)
        return db

    def _connection(self) -> sqlite3.Connection:
        """This process's connection, reopened when the file at the path is gone or another one (deleted, rebuilt
        by another process) or the process was forked."""
        if self._db is not None and (self._pid != os.getpid() or _identity(self.path) != self._identity):
            self._drop()
        if self._db is None:
            self._db, self._pid = self._open(), os.getpid()
        return self._db

    def _drop(self) -> None:
        """Forget the connection (closed unless it belongs to the parent of a forked process)."""
        if self._db is not None and self._pid == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None

    def _rebuild(self) -> bool:
        """Move a corrupt file aside so the next open creates it anew; ``False`` when that is impossible. A file
        that reads fine by now (another process rebuilt it first) is left alone."""
        try:
            probe = sqlite3.connect(self.path, timeout=self.lock_wait)
            try:
                probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return True
            finally:
                probe.close()
        except sqlite3.Error as exc:
            if not _corrupt(exc):
                return False
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}-{os.getpid()}")
        try:
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.path}{suffix}")
        except OSError:
            return False
        log.warning("The rate-limit store %s was corrupt: moved aside to %s and created anew.", self.path, aside)
        return True

    def book(
        self, key: str, *, now: float, interval: float, max_wait: float | None, horizon: float, floor: float
    ) -> Booking:
        """:meth:`.budget.SlotStore.book` in one ``BEGIN IMMEDIATE`` transaction (parameters there).

        :param key: the schedule's row.
        :param now: the host's wall clock now.
        :param interval: seconds between two slots.
        :param max_wait: the caller's time left; the wait for the file lock is capped by it too.
        :param horizon: how far ahead a slot may be booked.
        :param floor: the next free slot this process last saw.
        :raises StoreUnavailable: the file cannot be used now.
        """
        wait = self.lock_wait if max_wait is None else max(0.01, min(self.lock_wait, max_wait))
        for rebuilt in (False, True):
            try:
                return self._transaction(key, now, interval, max_wait, horizon, floor, wait)
            except sqlite3.Error as exc:
                self._drop()
                if rebuilt or not _corrupt(exc) or not self._rebuild():
                    raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
            except OSError as exc:
                self._drop()
                raise StoreUnavailable(f"{type(exc).__name__}: {exc.strerror}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _transaction(
        self, key: str, now: float, interval: float, max_wait: float | None, horizon: float, floor: float, wait: float
    ) -> Booking:
        db = self._connection()
        db.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT next FROM slots WHERE key = ?", (key,)).fetchone()
            stored = float("-inf") if row is None else float(row[0])
            booking = next_slot(now, stored, interval, max_wait, horizon, floor)
            if booking.next_free != stored:
                db.execute(_UPSERT, (key, booking.next_free))
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        return booking


class HostRateLimiter(SharedRateLimiter):
    """The ``host`` scope: a :class:`~.budget.SharedRateLimiter` on a :class:`SqliteSlotStore`.

    Parameters as :class:`~.budget.SharedRateLimiter`'s, with the store given by:

    :param limit: requests per window.
    :param window: window length in seconds.
    :param key: the schedule's row: base URL, app id and endpoint.
    :param path: the SQLite file; ``None`` = :func:`default_path`.
    :param lock_wait: longest wait for another process's lock on the file.
    :param share: part of the limit the host may use.
    :param label: what the budget is, for log lines.
    :param endpoint: the endpoint's name, for errors.
    :param clock: wall clock in seconds, shared by the host's processes.
    :param retry_after: seconds of process pacing before an unusable file is tried again.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        key: str,
        path: str | os.PathLike[str] | None = None,
        lock_wait: float = LOCK_WAIT_SECONDS,
        share: float = 1.0,
        label: str = "rate limit",
        endpoint: str | None = None,
        clock: Callable[[], float] = time.time,
        retry_after: float = STORE_RETRY_SECONDS,
    ) -> None:
        store = SqliteSlotStore(path, lock_wait=lock_wait)
        super().__init__(
            limit,
            window,
            key=key,
            store=store,
            share=share,
            label=label,
            endpoint=endpoint,
            clock=clock,
            retry_after=retry_after,
        )
        self.path = store.path
