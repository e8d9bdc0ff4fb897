"""The host budget degrades safely (issue 18, part 3): one test per row of what was done to the SQLite store, on real
files and, where the case needs one, a real second process.

| row | test |
|---|---|
| contended, in the async path | ``test_async_bookings_run_on_the_booking_thread_and_a_held_lock_never_stalls...`` |
| deleted mid-run | ``test_a_store_deleted_mid_run_is_recreated_and_keeps_one_schedule`` |
| corrupted | ``test_a_corrupt_store_is_moved_aside_and_rebuilt`` and the client-level test |
| read-only | ``test_a_read_only_store_falls_back_to_process_pacing_with_one_warning`` |
| locked by another process | ``test_a_store_locked_by_another_process_falls_back_then_is_used_again`` |
| wall clock stepped back 1 h | ``test_a_slot_booked_an_hour_ahead_is_stale_and_the_schedule_restarts_from_now`` |

Plus: an unwritable directory, the call's ``max_elapsed`` bounding every limiter wait (not sent, before any
request), and a refusal after an ambiguous write attempt staying ``outcome_unknown``.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_feishu_corehr.client.budget import FALLBACK_SHARE
from airflow_provider_feishu_corehr.client.budget_sqlite import HostRateLimiter, SqliteSlotStore
from airflow_provider_feishu_corehr.client.errors import FeishuNotSentError
from airflow_provider_feishu_corehr.client.ratelimit import HEADROOM

if TYPE_CHECKING:
    from client_helpers import MakeClient

    from airflow_provider_feishu_corehr.client.ratelimit import Booking
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytestmark = pytest.mark.feishu_emulator(rate_limits="off")

LOGGERS = ("airflow_provider_feishu_corehr.client.budget", "airflow_provider_feishu_corehr.client.budget_sqlite")
INTERVAL = 1 / (20 * HEADROOM)
FORK = multiprocessing.get_context("fork")
SPAWN = multiprocessing.get_context("spawn")  # a clean process: SQLite's locks are unsound in a fork of a process
# that has the file open (the child inherits the parent's lock bookkeeping)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name in LOGGERS and r.levelno >= logging.WARNING]


def _row(path: Path, key: str = "k") -> float | None:
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT next FROM slots WHERE key = ?", (key,)).fetchone()
    return None if row is None else float(row[0])


def _hold_lock(path: str, held: Any, release: Any) -> None:
    """Another process: take the file's write lock and keep it until told."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    held.set()
    release.wait(60)
    db.execute("COMMIT")
    db.close()


class _Holder:
    """A real second process holding the store's write lock while the block runs."""

    def __init__(self, path: Path) -> None:
        self.held, self.release = SPAWN.Event(), SPAWN.Event()
        self.proc = SPAWN.Process(target=_hold_lock, args=(str(path), self.held, self.release))

    def __enter__(self) -> _Holder:
        self.proc.start()
        assert self.held.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.proc.join(30)


# -- contended, in the async path ------------------------------------------------------------------------------


class _RecordingStore(SqliteSlotStore):
    """The real SQLite store, noting which thread each booking ran on."""

    threads: list[str]

    def book(self, key: str, **kwargs: Any) -> Booking:
        self.threads.append(threading.current_thread().name)
        return super().book(key, **kwargs)


def test_async_bookings_run_on_the_booking_thread_and_a_held_lock_never_stalls_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    limiter = HostRateLimiter(20, 1.0, key="k", path=path, lock_wait=0.5, retry_after=0.0)
    store = _RecordingStore(path, lock_wait=0.5)
    store.threads = []
    limiter.store = store
    assert limiter.reserve() == 0  # the file exists, with its table (booked on this thread)

    async def main() -> tuple[int, Booking]:
        booking = asyncio.create_task(limiter.abook())
        turns = 0
        while not booking.done():  # the loop turns while the booking waits for the other process's lock
            await asyncio.sleep(0.005)
            turns += 1
        return turns, await booking

    with _Holder(path):
        turns, booking = asyncio.run(main())
    assert store.threads[0] == threading.current_thread().name
    assert store.threads[1].startswith("feishu-host-budget")  # the SQLite booking ran off the loop's thread
    assert turns >= 10  # the loop kept turning through the lock wait (0.5 s at 5 ms a turn: about 100)
    assert booking.taken and limiter.degraded  # the lock outlasted lock_wait: the process paces alone
    assert asyncio.run(limiter.abook()).taken and not limiter.degraded  # lock released: back to the store
    assert store.threads[2].startswith("feishu-host-budget")


# -- deleted mid-run -------------------------------------------------------------------------------------------


def _booker(path: str, conn: Any) -> None:
    """A process of the host booking on command, on a stopped clock (slots are then pure arithmetic)."""
    limiter = HostRateLimiter(20, 1.0, key="k", path=path, clock=lambda: 1000.0)
    while conn.recv() == "book":
        booking = limiter.book()
        conn.send((round(booking.wait / INTERVAL), booking.taken))


class _Process:
    def __init__(self, path: Path) -> None:
        self.conn, child = FORK.Pipe()
        self.proc = FORK.Process(target=_booker, args=(str(path), child))
        self.proc.start()

    def book(self) -> int:
        self.conn.send("book")
        slot, taken = self.conn.recv()
        assert taken
        return int(slot)

    def stop(self) -> None:
        self.conn.send("stop")
        self.proc.join(30)


def test_a_store_deleted_mid_run_is_recreated_and_keeps_one_schedule(tmp_path: Path) -> None:
    """Before: the running process kept booking in the deleted file, a new one in a new file, two schedules (the
    issue saw 21 HTTP 429 and 32 edits/s against 20)."""
    path = tmp_path / "b.sqlite3"
    first = _Process(path)
    try:
        assert [first.book() for _ in range(5)] == [0, 1, 2, 3, 4]
        for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
            (tmp_path / name).unlink(missing_ok=True)
        assert first.book() == 5  # the file is created anew, the schedule goes on from the last slot seen
        assert path.exists()
        second = _Process(path)  # a process started after the deletion finds the same, new file
        try:
            assert [second.book(), first.book(), second.book()] == [6, 7, 8]
        finally:
            second.stop()
    finally:
        first.stop()


# -- corrupted -------------------------------------------------------------------------------------------------


def test_a_corrupt_store_is_moved_aside_and_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "b.sqlite3"
    path.write_bytes(b"this is not a SQLite database\n" * 200)
    limiter = HostRateLimiter(20, 1.0, key="k", path=path, clock=lambda: 1000.0)
    with caplog.at_level(logging.WARNING):
        assert [limiter.reserve() for _ in range(2)] == pytest.approx([0.0, INTERVAL])
    assert not limiter.degraded  # rebuilt, so the host schedule is kept, not process pacing
    assert _row(path) == pytest.approx(1000.0 + 2 * INTERVAL)
    aside = list(tmp_path.glob("b.sqlite3.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")
    assert _warnings(caplog) == [
        f"The rate-limit store {path} was corrupt: moved aside to {aside[0]} and created anew."
    ]


def test_a_corrupt_store_reaches_no_caller_and_the_request_is_sent(
    tmp_path: Path, feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    """Before: a raw ``sqlite3.DatabaseError`` on every call until someone deleted the file."""
    store = tmp_path / "b.sqlite3"
    store.write_bytes(b"\x00garbage" * 512)
    client = make_client(rate_limit_scope="host", rate_limit_store=str(store), rate_limits={"search": (100, 60.0)})
    list(client.search_offboardings(employment_ids=["6982509313466189341"]))
    assert feishu_emulator.request_count("search") == 1
    assert list(tmp_path.glob("b.sqlite3.corrupt-*"))


# -- read-only, unwritable directory ---------------------------------------------------------------------------


def _book_read_only(path: str, out: Any) -> None:
    """As a user who may not write the store (root ignores file modes, so root becomes ``nobody`` here)."""
    if os.getuid() == 0:
        os.setuid(65534)
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(f"{record.levelname} {record.getMessage()}")  # type: ignore[method-assign]
    logging.getLogger("airflow_provider_feishu_corehr.client.budget").addHandler(handler)
    limiter = HostRateLimiter(20, 1.0, key="k", path=path, clock=lambda: 1000.0, retry_after=0.0)
    waits = [limiter.reserve() for _ in range(3)]
    out.put((waits, limiter.degraded, limiter.fallback.interval, seen))


def test_a_read_only_store_falls_back_to_process_pacing_with_one_warning(tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="feishu-ro-"))  # outside pytest's 0700 tree: readable by anyone
    try:
        path = folder / "b.sqlite3"
        HostRateLimiter(20, 1.0, key="k", path=path, clock=lambda: 1000.0).reserve()
        before = _row(path)
        path.chmod(0o444)
        folder.chmod(0o555)
        out = SPAWN.Queue()
        proc = SPAWN.Process(target=_book_read_only, args=(str(path), out))
        proc.start()
        waits, degraded, interval, lines = out.get(timeout=60)
        proc.join(30)
    finally:
        folder.chmod(0o755)
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()
    assert degraded and interval == pytest.approx(INTERVAL / FALLBACK_SHARE)
    assert waits == pytest.approx([0.0, interval, 2 * interval], abs=0.05)  # paced alone, at a quarter of the rate
    warnings = [line for line in lines if line.startswith("WARNING")]
    assert len(warnings) == 1 and f"SQLite file {path} cannot be used" in warnings[0]  # tried 3 times, warned once
    assert "25 % of its share" in warnings[0]
    assert before is not None


def test_an_unwritable_directory_falls_back_with_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    path = blocker / "b.sqlite3"
    limiter = HostRateLimiter(20, 1.0, key="k", path=path, retry_after=0.0)
    with caplog.at_level(logging.INFO):
        bookings = [limiter.book() for _ in range(3)]
    assert all(b.taken for b in bookings) and limiter.degraded
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and warnings[0].startswith(f"The shared rate-limit store SQLite file {path} cannot")


# -- locked by another process ---------------------------------------------------------------------------------


def test_a_store_locked_by_another_process_falls_back_then_is_used_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: one call blocked 30.3 s (SQLite's 30 s busy timeout), past ``max_elapsed``, then "database is
    locked". Now the wait for the lock is bounded (here 0.2 s), then the process paces alone."""
    path = tmp_path / "b.sqlite3"
    limiter = HostRateLimiter(20, 1.0, key="k", path=path, lock_wait=0.2, retry_after=0.0, clock=lambda: 1000.0)
    limiter.reserve()
    with caplog.at_level(logging.INFO), _Holder(path):
        locked = [limiter.book() for _ in range(2)]
    assert all(b.taken for b in locked) and limiter.degraded
    assert _row(path) == pytest.approx(1000.0 + INTERVAL)  # nothing was written while the lock was held
    with caplog.at_level(logging.INFO):
        again = limiter.book()
    assert again.taken and again.wait == pytest.approx(INTERVAL) and not limiter.degraded
    assert _row(path) == pytest.approx(1000.0 + 2 * INTERVAL)
    warnings = _warnings(caplog)
    assert (
        len(warnings) == 1
        and f"SQLite file {path} cannot be used (OperationalError: database is locked)" in (warnings[0])
    )
    assert any(
        r.getMessage() == f"The shared rate-limit store SQLite file {path} is used again." for r in caplog.records
    )


def test_a_lock_wait_is_bounded_by_the_time_left_too(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    limiter = HostRateLimiter(20, 1.0, key="k", path=path, lock_wait=30.0, retry_after=0.0)
    limiter.reserve()
    from airflow_provider_feishu_corehr.client.ratelimit import within

    with _Holder(path), within(0.2):
        booking = limiter.book()  # SQLite waits at most the 0.2 s left, not 30 s, then the process paces alone
    assert booking.taken and limiter.degraded


# -- wall clock stepped back 1 h -------------------------------------------------------------------------------


def test_a_slot_booked_an_hour_ahead_is_stale_and_the_schedule_restarts_from_now(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: a call waited "3600 s" and every host-scoped call of the machine with it."""
    path = tmp_path / "b.sqlite3"
    now = [1_000_000.0 + 3600]
    ahead = HostRateLimiter(20, 1.0, key="k", path=path, clock=lambda: now[0])
    assert [ahead.reserve() for _ in range(3)] == pytest.approx([0.0, INTERVAL, 2 * INTERVAL])
    now[0] -= 3600  # the wall clock steps back an hour
    other = HostRateLimiter(20, 1.0, key="k", path=path, clock=lambda: now[0])  # another process of the host
    with caplog.at_level(logging.WARNING):
        assert other.reserve() == 0.0
        assert ahead.reserve() == pytest.approx(INTERVAL)  # one schedule, from now
    assert _row(path) == pytest.approx(now[0] + 2 * INTERVAL)
    assert len([w for w in _warnings(caplog) if "more than two windows ahead" in w]) == 1


def test_no_slot_is_booked_more_than_one_window_ahead(tmp_path: Path) -> None:
    now = [1000.0]
    limiter = HostRateLimiter(20, 1.0, key="k", path=tmp_path / "b.sqlite3", clock=lambda: now[0])
    bookings = [limiter.book() for _ in range(25)]
    taken = [b for b in bookings if b.taken]
    assert len(taken) == 20 and max(b.wait for b in taken) <= 1.0  # 20 slots at 0.0515 s fill one window
    assert limiter.reserve() == pytest.approx(0.5)  # full: book again in half a window
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter.acquire(sleep)  # waits until the schedule has room, then for its slot
    assert len(slept) == 2 and sum(slept) == pytest.approx(20 * INTERVAL)


# -- every wait within the call's deadline; not sent ------------------------------------------------------------


def test_a_wait_longer_than_max_elapsed_is_not_sent(
    tmp_path: Path, feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    client = make_client(
        max_elapsed=5.0,
        rate_limit_scope="host",
        rate_limit_store=str(tmp_path / "b.sqlite3"),
        rate_limits={"search": (1, 3600.0)},
    )
    list(client.search_offboardings(employment_ids=["6982509313466189341"]))
    with pytest.raises(
        FeishuNotSentError, match=r"no free slot for 37\d\d\.\d s, more than the [45]\.\d s left.*not sent"
    ):
        list(client.search_offboardings(employment_ids=["6982509313466189341"]))
    assert feishu_emulator.request_count("search") == 1


def test_a_refusal_after_an_ambiguous_write_attempt_is_unknown(
    tmp_path: Path, feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    client = make_client(
        max_elapsed=5.0,
        rate_limit_scope="host",
        rate_limit_store=str(tmp_path / "b.sqlite3"),
        rate_limits={"revoke": (1, 3600.0)},
    )
    client.fetch_token()
    feishu_emulator.inject_fault("revoke", "http_500")
    with pytest.raises(FeishuNotSentError) as caught:
        client.revoke_offboarding("7095671727698478604")
    assert caught.value.outcome_unknown  # the first attempt may have landed: never reported as not sent
    assert feishu_emulator.request_count("revoke") == 1


def test_a_first_refusal_of_a_write_is_not_sent_and_not_unknown(
    tmp_path: Path, feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    client = make_client(
        max_elapsed=5.0,
        rate_limit_scope="host",
        rate_limit_store=str(tmp_path / "b.sqlite3"),
        rate_limits={"revoke": (1, 3600.0)},
    )
    client.revoke_offboarding("7095671727698478604")
    with pytest.raises(FeishuNotSentError) as caught:
        client.revoke_offboarding("7095671727698478604")
    assert not caught.value.outcome_unknown
    assert feishu_emulator.request_count("revoke") == 1
