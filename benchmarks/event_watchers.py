"""Search cost of offboarding event watchers: one shared poll for sibling watchers against one poll each.

N offboardings (default 5,000) dated today are put in the emulator, in a mix of statuses; K watchers (default
3: ``Approved``, ``Offboarded``, ``Withdrawn``) watch the same window (today) on the same connection. Each
variant runs until every watcher has received one complete poll and reports the searches the emulator served:

* shared: the watchers subscribe to Airflow 3.3's ``SharedStreamManager`` (as in the triggerer): goal
  ceil(N/100) searches per poll for all K together;
* baseline, separate: each watcher runs its own poll loop (``run()``, as on Airflow 3.0-3.2): K x ceil(N/100).

Both limiters are off so the figures show counts, not pacing; the time one poll needs under the app's
documented search budget (100/min, paced at 97 %) is derived from the count. Also printed: the size of the
memory one watcher keeps in ``asset_state_store`` for the records in its status.

    .venv/bin/python benchmarks/event_watchers.py [--records 5000] [--watchers 3]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
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


def _watchers(count: int) -> list[Any]:
    from airflow_provider_feishu_corehr.triggers.offboarding_events import OffboardingStatusEventTrigger

    class Counting(OffboardingStatusEventTrigger):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.polls = 0

        async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
            async def tap() -> AsyncIterator[Any]:
                async for snapshot in shared_stream:
                    yield snapshot
                    self.polls += 1  # resumed: the watcher finished with this snapshot

            async for event in super().filter_shared_stream(tap()):
                yield event

    return [
        Counting(feishu_conn_id="feishu_default", statuses=[STATUSES[i % 3]], window_days_back=0, poll_interval=3600)
        for i in range(count)
    ]


async def _until_one_poll_each(watchers: list[Any], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not all(w.polls >= 1 for w in watchers):
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the watchers' first poll")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--watchers", type=int, default=3)
    args = parser.parse_args()

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    with FeishuEmulator(rate_limits="off") as emu:
        conn = json.loads(emu.airflow_conn_json())
        conn["extra"] = {**conn.get("extra", {}), "rate_limits": "off"}
        os.environ["AIRFLOW_CONN_FEISHU_DEFAULT"] = json.dumps(conn)
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
    print(f"  expected per poll: ceil({in_window}/100) = {expected} searches")
    print(f"  shared poll (SharedStreamManager):  {shared} searches for all {args.watchers} watchers, {shared_s:.1f} s")
    print(f"  baseline, one poll each (run()):    {separate} searches, {separate_s:.1f} s")
    print(f"  ratio shared / separate: {shared / separate:.2f} (goal 1/{args.watchers} = {1 / args.watchers:.2f})")
    print(
        f"  under the app's search budget one poll needs >= {shared * PACED_SECONDS_PER_SEARCH:.0f} s "
        f"({shared} x {PACED_SECONDS_PER_SEARCH:.2f} s); one poll each: {separate * PACED_SECONDS_PER_SEARCH:.0f} s"
    )
    print(f"  memory of the Offboarded watcher ({offboarded} records): {len(json.dumps(memory)) / 1024:.0f} KiB JSON")
    if shared != expected:
        raise SystemExit(f"FAILED: the shared poll made {shared} searches, expected {expected}")


if __name__ == "__main__":
    main()
