"""Many deferred sensors in one triggerer process: the coalesced poller against one search per trigger.

N ``OffboardingStatusTrigger`` s (default 1,000, distinct employments that stay ``Approving``) are rebuilt from
``serialize()`` and run in one event loop for ``--duration`` seconds, against the emulator in its own process with
the documented limits enforced (search 100 per minute). The baseline, in the same run, is the earlier behaviour:
every trigger with its own async client, searching for its own employment every interval. Printed per scenario:

* searches per interval (goal for the poller: <= 10 plus pages for 1,000 employments), HTTP 429 answers (goal 0);
* lateness of each look, p50 and p99: how long after it was due (previous look + interval) its answer came; looks
  still waiting at the end count with the time they have waited so far (goal: p99 <= interval + 2 s);
* event-loop lag p99 (a 50 ms ticker's overshoot) and RSS per trigger.

The interval defaults to 10 s: 1,000 employments need 10 searches per look, which the app's 100 searches per
minute allow every 6.2 s at the earliest.

    .venv/bin/python benchmarks/many_sensors.py [--triggers 1000] [--interval 10] [--duration 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any, cast

from _airflow_home import use_temporary_airflow_home
from _emulator_process import EmulatorProcess

use_temporary_airflow_home()

CONN_ID = "feishu_bench"


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _ticker(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.05)
        lags.append(time.perf_counter() - started - 0.05)


def _triggers(ids: list[str], interval: float) -> list[Any]:
    from airflow.sdk._shared.module_loading import import_string
    from airflow.sdk.serde import deserialize, serialize

    from airflow_provider_feishu_corehr.triggers.offboarding import OffboardingStatusTrigger

    made = []
    for eid in ids:
        classpath, kwargs = OffboardingStatusTrigger(
            feishu_conn_id=CONN_ID, employment_id=eid, target_statuses=["Approved"], poll_interval=interval
        ).serialize()
        made.append(import_string(classpath)(**cast("dict[str, Any]", deserialize(serialize(kwargs)))))
    return made


async def _baseline_trigger(trigger: Any, looks: list[float]) -> None:
    """The earlier trigger: its own client, one search for its own employment per interval."""
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    settings = await FeishuHook(CONN_ID).aget_settings()
    from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient

    async with AsyncFeishuClient(settings) as client:
        while True:
            await client.get_offboarding(trigger.employment_id)
            looks.append(time.monotonic())
            await asyncio.sleep(trigger.poll_interval)


def _lateness(start: float, looks: list[float], interval: float, end: float) -> list[float]:
    """Lateness of each look (the first was due at ``start``), plus the wait so far of the one pending at ``end``."""
    late, due = [], start
    for at in looks:
        late.append(max(0.0, at - due))
        due = at + interval
    if end > due:
        late.append(end - due)
    return late


async def _scenario(
    name: str, emu: EmulatorProcess, ids: list[str], interval: float, duration: float
) -> dict[str, Any]:
    from airflow_provider_feishu_corehr.client.tokens import TOKENS
    from airflow_provider_feishu_corehr.triggers._poller import active_pollers

    TOKENS.clear()
    rss_before = _rss_mb()
    emu.reset()
    lags: list[float] = []
    stop = asyncio.Event()
    ticker = asyncio.create_task(_ticker(lags, stop))
    triggers = _triggers(ids, interval)
    baseline_looks: list[list[float]] = [[] for _ in triggers]
    start = time.monotonic()
    if name == "coalesced":
        tasks = [asyncio.create_task(anext(t.run())) for t in triggers]
    else:
        tasks = [asyncio.create_task(_baseline_trigger(t, baseline_looks[i])) for i, t in enumerate(triggers)]
    await asyncio.sleep(duration)
    end = time.monotonic()
    rss_after = _rss_mb()
    if name == "coalesced":
        (poller,) = active_pollers()
        looks = {sub.employment_ids[0]: list(sub.looks) for sub in poller.subscriptions}
        per_trigger = [looks[eid] for eid in ids]
    else:
        per_trigger = baseline_looks
    counts = emu.counts()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    stop.set()
    await ticker
    lateness = [x for looks in per_trigger for x in _lateness(start, looks, interval, end)]
    done = sum(len(looks) for looks in per_trigger)
    return {
        "scenario": name,
        "searches_per_interval": round(counts["search"] / (duration / interval), 1),
        "http_429": counts["search_429"],
        "looks_done": done,
        "looks_due": round(len(ids) * duration / interval),
        "lateness_p50_s": round(statistics.median(lateness), 2),
        "lateness_p99_s": round(_pct(lateness, 0.99), 2),
        "loop_lag_p99_ms": round(_pct(lags, 0.99) * 1000, 1),
        "rss_per_trigger_kb": round((rss_after - rss_before) * 1024 / len(ids), 1),
    }


async def _warm_up(employment_id: str) -> None:
    """Import and build what both scenarios use (httpx, the client, Airflow's connection path) before measuring."""
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    async with await FeishuHook(CONN_ID).aget_conn() as client:
        await client.get_offboarding(employment_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args()
    ids = [f"69500000000{n:08d}" for n in range(args.triggers)]
    emu = EmulatorProcess(ids)
    try:
        conn = json.loads(emu.conn_json)
        conn["extra"] = {"max_attempts": 5}
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(conn)
        asyncio.run(_warm_up(ids[0]))
        results = [
            asyncio.run(_scenario(name, emu, ids, args.interval, args.duration))
            for name in ("coalesced", "one_search_per_trigger")
        ]
    finally:
        emu.stop()
    print(f"{args.triggers} triggers, poll interval {args.interval:g} s, {args.duration:g} s each, search 100/min")
    for result in results:
        print(json.dumps(result))
    coalesced, baseline = results
    print(
        f"goals: searches/interval {coalesced['searches_per_interval']} <= {-(-args.triggers // 100)} + pages; "
        f"429s {coalesced['http_429']} == 0; lateness p99 {coalesced['lateness_p99_s']} s <= "
        f"{args.interval + 2:g} s (baseline {baseline['lateness_p99_s']} s); looks done "
        f"{coalesced['looks_done']} vs baseline {baseline['looks_done']} of {coalesced['looks_due']} due"
    )


if __name__ == "__main__":
    main()
