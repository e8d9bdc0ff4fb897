"""Budgets across processes and bounded waits: the host schedule (SQLite file), the share, the logged long wait,
a wait bounded by the time left (``within``). The sensor's side (a poke bounded by its timeout, looks that slip
behind their interval) is in ``tests/sensors/test_sensor_budget.py``."""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import sqlite3
import time
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_feishu_corehr.client.base import limiter_for
from airflow_provider_feishu_corehr.client.budget_sqlite import HostRateLimiter
from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.errors import FeishuRateLimitError
from airflow_provider_feishu_corehr.client.models import ClientSettings
from airflow_provider_feishu_corehr.client.ratelimit import HEADROOM, RateLimiter, within

if TYPE_CHECKING:
    from pathlib import Path


def _book_slots(path: str, count: int, out: Any) -> None:
    """In a separate process: book ``count`` slots of a 20/s host schedule; report when each slot is."""
    seen: list[float] = []

    def clock() -> float:
        seen.append(time.time())
        return seen[-1]

    limiter = HostRateLimiter(20, 1.0, key="https://x app edit", path=path, clock=clock)
    booked = 0
    while booked < count:
        booking = limiter.book()
        if booking.taken:
            out.put(seen[-1] + booking.wait)  # the booked slot, on the clock the booking used
            booked += 1
        else:  # the schedule is full one window ahead: book again later
            time.sleep(0.2)


def test_processes_of_one_host_share_one_schedule(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    path = str(tmp_path / "budget.sqlite3")
    workers = [ctx.Process(target=_book_slots, args=(path, 10, out)) for _ in range(4)]
    for worker in workers:
        worker.start()
    slots = sorted(out.get(timeout=60) for _ in range(40))
    for worker in workers:
        worker.join(timeout=30)
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    interval = 1.0 / (20 * HEADROOM)
    assert min(gaps) >= interval - 1e-3  # distinct slots, evenly apart, whichever process booked them
    assert slots[-1] - slots[0] >= 39 * interval - 1e-3  # 40 requests of four processes take 40 slots


def _open_and_book(path: str, start: Any, out: Any) -> None:
    """In a forked process: wait for the others, then open the (new) schedule file and book one slot."""
    limiter = HostRateLimiter(20, 1.0, key="k", path=path)
    start.wait(30)
    try:
        limiter.reserve()
    except Exception as exc:  # reported to the test
        out.put(f"{type(exc).__name__}: {exc}")
    else:
        out.put("ok")


def test_processes_setting_up_a_new_schedule_file_at_once_all_get_their_slot(tmp_path: Path) -> None:
    """Switching a new file to WAL is not covered by SQLite's busy wait: without the retry, some of six processes
    opening the same new file at the same moment failed with "database is locked" (about one round in three)."""
    ctx = multiprocessing.get_context("fork")
    for round_ in range(10):
        path, start, out = str(tmp_path / f"new-{round_}.sqlite3"), ctx.Barrier(6), ctx.Queue()
        workers = [ctx.Process(target=_open_and_book, args=(path, start, out)) for _ in range(6)]
        for worker in workers:
            worker.start()
        results = [out.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
        assert results == ["ok"] * 6, f"round {round_}: {results}"


def test_a_share_slows_the_schedule_to_that_part_of_the_limit(tmp_path: Path) -> None:
    limiter = HostRateLimiter(20, 1.0, key="k", path=tmp_path / "b.sqlite3", share=0.5, clock=lambda: 100.0)
    delays = [limiter.reserve() for _ in range(3)]
    assert delays == pytest.approx([0.0, 1 / (10 * HEADROOM), 2 / (10 * HEADROOM)])


def test_a_long_wait_is_logged_once_with_reason_and_delay(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limiter = RateLimiter(100, 60.0, clock=lambda: now[0], label="search budget of app cli_x", endpoint="search")
    with caplog.at_level(logging.WARNING, logger="airflow_provider_feishu_corehr.client.ratelimit"):
        delays = [limiter.reserve() for _ in range(40)]
    assert delays[-1] > 20
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert lines[0].startswith("Waiting 10.")  # the first wait over 10 s, with its expected delay
    assert "search budget of app cli_x (100 per 60 s, 97 % of it used by this process)" in lines[0]


def test_within_refuses_a_slot_beyond_the_time_left_without_booking_it() -> None:
    limiter = RateLimiter(1, 60.0, endpoint="search", label="search budget of app a")
    assert limiter.reserve() == 0
    with within(2.0), pytest.raises(FeishuRateLimitError, match=r"no free slot for 6\d\.\d s, more than the"):
        limiter.reserve()
    assert 61 < limiter.reserve() < 62  # the refused slot was not booked: the next caller gets the first free one


def test_host_scope_and_share_pick_the_host_schedule(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    base = {"base_url": "http://127.0.0.1:1", "app_id": "a", "app_secret": "s"}
    settings = ClientSettings(**base, rate_limit_scope="host", rate_limit_share=0.25, rate_limit_store=store)
    limiter = limiter_for(settings, Endpoint.EDIT)
    assert isinstance(limiter, HostRateLimiter)
    assert limiter.interval == pytest.approx(1 / (20 * HEADROOM * 0.25))
    assert str(limiter.path) == store
    default = limiter_for(ClientSettings(**base), Endpoint.EDIT)
    assert type(default) is RateLimiter  # process scope unless the settings say host


def test_async_bookings_give_the_same_slots_as_sync_ones(tmp_path: Path) -> None:
    sync = HostRateLimiter(20, 1.0, key="k", path=tmp_path / "s.sqlite3", share=0.5, clock=lambda: 100.0)
    aio = HostRateLimiter(20, 1.0, key="k", path=tmp_path / "a.sqlite3", share=0.5, clock=lambda: 100.0)

    async def book() -> list[float]:
        return [await aio.areserve() for _ in range(3)]

    assert asyncio.run(book()) == [sync.reserve() for _ in range(3)]


def test_an_async_booking_waits_for_the_file_lock_off_the_event_loop(tmp_path: Path) -> None:
    """Another process holds the schedule file's write lock: the booking waits for it, the event loop does not."""
    path = tmp_path / "b.sqlite3"
    limiter = HostRateLimiter(20, 1.0, key="k", path=path, clock=lambda: 100.0)
    assert limiter.reserve() == 0  # the file exists, with its table
    holder = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    async def main() -> float:
        booking = asyncio.create_task(limiter.areserve())
        turns = 0
        for _ in range(20):
            await asyncio.sleep(0.01)
            turns += 1
        assert turns == 20 and not booking.done()  # the loop ran on while the booking waited for the lock
        holder.execute("COMMIT")
        return await booking

    try:
        assert asyncio.run(main()) == pytest.approx(1 / (20 * HEADROOM))
    finally:
        holder.close()


def test_within_bounds_async_bookings_too() -> None:
    limiter = RateLimiter(1, 60.0, endpoint="search", label="search budget of app a")

    async def main() -> None:
        assert await limiter.areserve() == 0
        with within(2.0), pytest.raises(FeishuRateLimitError, match="no free slot for"):
            await limiter.areserve()

    asyncio.run(main())
    assert 61 < limiter.reserve() < 62  # the refused slot was not booked
