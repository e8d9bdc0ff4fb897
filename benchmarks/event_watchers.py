"""Search cost of offboarding event watchers: the searches one poll may spend, and one shared poll for sibling
watchers against one poll each.

Time is scaled 60x so a run takes seconds: the connection's search rate is 6,000 a minute (97 a second paced) and
the poll interval 1 s, which gives the same page cap as the documented 100 a minute with an interval of a minute
or more (``poll_page_cap``: 24 searches a poll).

* budget (issue 18 part 4): a window whose pages never end (the emulator's ``endless_pages``, 100 made-up records a
  page) with ``max_pages`` 1000. Baseline, as before the cap: the whole window in one poll
  (``client.search_offboardings``, every page to ``max_pages``, the limiter off as in the issue). Now: the
  trigger's poll loop for 3 polls. Goal: at most 24 searches a poll, one warning.
* shared: N offboardings (default 5,000: 50 pages, a sweep of 3 polls) dated today, K watchers (default 3:
  ``Approved``, ``Offboarded``, ``Withdrawn``) on the same window, through Airflow 3.3's ``SharedStreamManager``,
  until each has read the whole window once (a sweep): goal ceil(N/100) searches for all K together; baseline,
  each watcher's own loop (``run()``, as on Airflow 3.0-3.2): K x ceil(N/100).

Also printed: the time one sweep needs under the documented budget, and the size of the memory one watcher keeps.

    .venv/bin/python benchmarks/event_watchers.py [--records 5000] [--watchers 3]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import math
import os
import time
from typing import TYPE_CHECKING, Any

from _airflow_home import use_temporary_airflow_home

use_temporary_airflow_home()

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

STATUSES = ("Approved", "Offboarded", "Withdrawn", "Approving", "Rejected", "NoNeedApproval")
PACED_SECONDS_PER_SEARCH = 60 / (100 * 0.97)
SCALED_RATE = (6000, 60)
"""The connection's search rate in this benchmark: 60x the documented, with a 1 s poll interval (see above)."""


def _watchers(count: int) -> list[Any]:
    from airflow_provider_feishu_corehr.triggers.offboarding_events import OffboardingStatusEventTrigger

    class Counting(OffboardingStatusEventTrigger):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.polls = 0
            self.sweeps = 0

        async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
            async def tap() -> AsyncIterator[Any]:
                async for snapshot in shared_stream:
                    yield snapshot
                    self.polls += 1  # resumed: the watcher finished with this snapshot
                    self.sweeps += snapshot.ends_sweep

            async for event in super().filter_shared_stream(tap()):
                yield event

    return [
        Counting(feishu_conn_id="feishu_default", statuses=[STATUSES[i % 3]], window_days_back=0, poll_interval=1.0)
        for i in range(count)
    ]


async def _until_one_poll_each(watchers: list[Any], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not all(w.sweeps >= 1 for w in watchers):
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the watchers' first sweep")
        await asyncio.sleep(0.05)


async def _shared(count: int) -> None:
    from airflow.triggers.shared_stream import SharedStreamManager

    watchers = _watchers(count)
    manager = SharedStreamManager()
    key = watchers[0].shared_stream_key()

    async def consume(trigger_id: int, watcher: Any) -> None:
        async for _ in watcher.filter_shared_stream(manager.subscribe(trigger_id=trigger_id, trigger=watcher, key=key)):
            pass

    tasks = [asyncio.create_task(consume(i, w)) for i, w in enumerate(watchers)]
    await _until_one_poll_each(watchers)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await manager.stop_all()


async def _separate(count: int) -> None:
    watchers = _watchers(count)

    async def consume(watcher: Any) -> None:
        async for _ in watcher.run():
            pass

    tasks = [asyncio.create_task(consume(w)) for w in watchers]
    await _until_one_poll_each(watchers)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _measure(emu: FeishuEmulator, variant: Any, count: int) -> tuple[int, float]:
    emu.reset_counters()
    started = time.perf_counter()
    asyncio.run(variant(count))
    return emu.request_count("search"), time.perf_counter() - started


def _connection(emu: FeishuEmulator, **extra: Any) -> None:
    conn = json.loads(emu.airflow_conn_json())
    conn["extra"] = {**conn.get("extra", {}), "rate_limits": {"search": list(SCALED_RATE)}, **extra}
    os.environ["AIRFLOW_CONN_FEISHU_DEFAULT"] = json.dumps(conn)


class _Cuts(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += "holds more than one poll may read" in record.getMessage()


async def _whole_window_in_one_poll() -> int:
    """Before the cap: one poll read every page (``client.search_offboardings``) up to ``max_pages``."""
    from airflow_provider_feishu_corehr.client.errors import FeishuPagingError
    from airflow_provider_feishu_corehr.triggers.event_poll import Window, connect

    window = Window.of("offboarding_date", 0, 0, "+08:00")
    async with await connect("feishu_default") as client:
        records = 0
        try:
            async for _ in client.search_offboardings(**window.search_filters(dt.datetime.now(dt.UTC))):
                records += 1
        except FeishuPagingError:
            pass  # past max_pages: the poll failed, no events
    return records


async def _bounded_polls(emu: FeishuEmulator, polls: int) -> list[int]:
    from airflow_provider_feishu_corehr.triggers.offboarding_events import OffboardingStatusEventTrigger

    trigger = OffboardingStatusEventTrigger(feishu_conn_id="feishu_default", window_days_back=0, poll_interval=1.0)
    searches: list[int] = []
    done = 0
    async for _ in trigger.snapshots():
        searches.append(emu.request_count("search") - done)
        done += searches[-1]
        if len(searches) == polls:
            break
    return searches


def budget() -> None:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

    cuts = _Cuts()
    logging.getLogger("airflow_provider_feishu_corehr").addHandler(cuts)
    with FeishuEmulator(rate_limits="off") as emu:
        emu.inject_fault("search", "endless_pages", ratio=1, items=100)
        _connection(emu, rate_limits="off", max_pages=1000)
        emu.reset_counters()
        started = time.perf_counter()
        asyncio.run(_whole_window_in_one_poll())
        before, before_s = emu.request_count("search"), time.perf_counter() - started
        _connection(emu, max_pages=1000)
        emu.reset_counters()
        started = time.perf_counter()
        after = asyncio.run(_bounded_polls(emu, 3))
        after_s = time.perf_counter() - started
    print("A window whose pages never end (100 records a page), max_pages 1000")
    print(f"  baseline, the whole window in one poll (limiter off): {before} searches in {before_s:.1f} s, no events")
    print(f"    under the documented budget: {before * PACED_SECONDS_PER_SEARCH / 60:.1f} min of the app's searches")
    print(f"  now, the trigger's poll loop: searches per poll {after} in {after_s:.1f} s (cap 24)")
    print(f"  warnings that the window is larger than a poll: {cuts.count} (want 1)")
    print(f"  ratio per poll now / before: {max(after) / before:.3f}")
    if max(after) > 24 or cuts.count != 1:
        raise SystemExit(f"FAILED: a poll made {max(after)} searches (cap 24) or {cuts.count} warnings (want 1)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--watchers", type=int, default=3)
    args = parser.parse_args()
    budget()

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    with FeishuEmulator(rate_limits="off") as emu:
        _connection(emu)
        for n in range(args.records):
            emu.add_offboarding(employment_id=f"69{n:017d}", status=STATUSES[n % len(STATUSES)], offboarding_date=today)
        in_window = sum(1 for r in emu.offboardings() if r["offboarding_info"].get("offboarding_date") == today)
        expected = math.ceil(in_window / 100)
        shared, shared_s = _measure(emu, _shared, args.watchers)
        separate, separate_s = _measure(emu, _separate, args.watchers)

    offboarded = sum(1 for n in range(args.records) if STATUSES[n % len(STATUSES)] == "Offboarded")
    memory = {
        "v": 1,
        "at": "2026-01-01T00:00:00.000000+00:00",
        "seen": {f"7{n:018d}": "Offboarded" for n in range(offboarded)},
    }
    print(f"{in_window} offboardings in the window, {args.watchers} watchers ({', '.join(STATUSES[:3])})")
    print(f"  expected per sweep: ceil({in_window}/100) = {expected} searches, in {math.ceil(expected / 24)} polls")
    print(f"  shared poll (SharedStreamManager):  {shared} searches for all {args.watchers} watchers, {shared_s:.1f} s")
    print(f"  baseline, one poll each (run()):    {separate} searches, {separate_s:.1f} s")
    print(f"  ratio shared / separate: {shared / separate:.2f} (goal 1/{args.watchers} = {1 / args.watchers:.2f})")
    print(
        f"  under the app's search budget one sweep needs >= {shared * PACED_SECONDS_PER_SEARCH:.0f} s of searches "
        f"({shared} x {PACED_SECONDS_PER_SEARCH:.2f} s), at most 24 a poll"
    )
    print(f"  memory of the Offboarded watcher ({offboarded} records): {len(json.dumps(memory)) / 1024:.0f} KiB JSON")
    if shared != expected:
        raise SystemExit(f"FAILED: the shared poll made {shared} searches, expected {expected}")


if __name__ == "__main__":
    main()
