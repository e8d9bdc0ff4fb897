"""Deferrable sensors that defer over a spread of time, as a scheduler starts mapped tasks: searches per interval.

Issue 20 part 0: 200 mapped deferrable sensors deferring over about 100 s cost 15 searches a minute (one per group
formed at deferral, and the groups never merged) where 2 do. Here ``OffboardingStatusTrigger`` s (rebuilt from
``serialize()``, each watching its own ``Approving`` employment, poll interval 60 s) start in one event loop at
moments drawn uniformly over the spread (fixed random seed), against the emulator in its own process enforcing the
search limit, and run until three intervals after the last one deferred. Scenarios: 200 over 100 s, 1,000 over
5 minutes. Goals after the first interval: at most 3 and 12 searches per interval.

Time is scaled (``--scale``, default 10): the interval, the spread, the poller's grouping window cap and first-look
cap are divided by it, and the search limit of the emulator and of the connection is multiplied by it (100 a
minute becomes 1,000), so a round of searches takes the same share of an interval as at full scale. Figures are
given in full-scale seconds. ``--scale 1`` runs in real time (about 25 minutes for both codes).

Printed per scenario and code: searches in each interval from the first deferral (the first interval holds the
first looks), the most after the first, HTTP 429 answers, how long after deferring each trigger's first answer came
(p50 / max), and the shortest time between two answers of one trigger.

``--before DIR`` runs the same scenarios, in the same run, on the code checked out in DIR (e.g.
``git worktree add /tmp/before-coalesce <commit>``), imported ahead of the editable install.

    .venv/bin/python benchmarks/deferral_spread.py [--scale 10] [--before /tmp/before-coalesce]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import subprocess
import sys
from typing import Any, cast

CONN_ID = "feishu_bench"
INTERVAL = 60.0
SCENARIOS = ((200, 100.0, 3), (1000, 300.0, 12))
"""(triggers, spread in seconds, goal: searches per interval after the first), at full scale."""


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


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _scenario(emu: Any, ids: list[str], spread: float, scale: float, seed: int) -> dict[str, Any]:
    from airflow_provider_feishu_corehr.client.tokens import TOKENS
    from airflow_provider_feishu_corehr.triggers._poller import active_pollers

    TOKENS.clear()
    await asyncio.to_thread(emu.reset)
    interval = INTERVAL / scale
    rng = random.Random(seed)
    moments = sorted(rng.uniform(0, spread / scale) for _ in ids)
    intervals = math.ceil(spread / INTERVAL) + 3
    triggers = _triggers(ids, interval)
    loop = asyncio.get_running_loop()
    start = loop.time()
    deferred: dict[str, float] = {}
    counts: list[int] = []

    async def defer_all() -> list[asyncio.Task[Any]]:
        tasks = []
        for trigger, at in zip(triggers, moments, strict=True):
            await asyncio.sleep(max(0.0, start + at - loop.time()))
            deferred[trigger.employment_id] = loop.time()
            tasks.append(asyncio.create_task(anext(trigger.run())))
        return tasks

    deferring = asyncio.create_task(defer_all())
    for k in range(1, intervals + 1):
        await asyncio.sleep(max(0.0, start + k * interval - loop.time()))
        counts.append((await asyncio.to_thread(emu.counts))["search"])
    tasks = await deferring
    (poller,) = active_pollers()
    looks = {sub.employment_ids[0]: list(sub.looks) for sub in poller.subscriptions}
    final = await asyncio.to_thread(emu.counts)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    per_interval = [b - a for a, b in zip([0, *counts], counts, strict=False)]
    first_look = [(looks[eid][0] - deferred[eid]) * scale for eid in ids if looks.get(eid)]
    gaps = [(b - a) * scale for seq in looks.values() for a, b in itertools.pairwise(seq)]
    return {
        "triggers": len(ids),
        "spread_s": spread,
        "searches_per_interval": per_interval,
        "after_first_max": max(per_interval[1:]),
        "http_429": final["search_429"],
        "first_answer_after_deferral_p50_s": round(_pct(first_look, 0.5), 1),
        "first_answer_after_deferral_max_s": round(max(first_look), 1),
        "shortest_gap_between_answers_s": round(min(gaps), 1),
    }


def _inner(scale: float) -> None:
    """Run every scenario on the code this interpreter imports; print one JSON line each."""
    from _airflow_home import use_temporary_airflow_home
    from _emulator_process import EmulatorProcess

    use_temporary_airflow_home()
    from airflow_provider_feishu_corehr.triggers import _poller

    _poller.MAX_GROUP_WINDOW /= scale  # the 2 s cap of the grouping window, scaled like the interval
    if hasattr(_poller, "FIRST_LOOK_MAX"):
        _poller.FIRST_LOOK_MAX /= scale
    rate = [int(100 * scale), 60]
    ids = [f"69500000000{n:08d}" for n in range(max(n for n, _, _ in SCENARIOS))]
    emu = EmulatorProcess(ids, limits={"search": rate})
    try:
        conn = json.loads(emu.conn_json)
        conn["extra"] = {"max_attempts": 5, "rate_limits": {"search": rate}}
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(conn)
        for seed, (count, spread, _) in enumerate(SCENARIOS):
            print(json.dumps(asyncio.run(_scenario(emu, ids[:count], spread, scale, seed))), flush=True)
    finally:
        emu.stop()


def _run(code: str | None, scale: float) -> list[dict[str, Any]]:
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (code, env.get("PYTHONPATH")) if p)
    out = subprocess.run(
        [sys.executable, __file__, "--inner", "--scale", str(scale)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--before", help="a checkout of the earlier code, run in the same run as the baseline")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        _inner(args.scale)
        return
    runs = [("now", None)] + ([("before", args.before)] if args.before else [])
    print(f"poll interval {INTERVAL:g} s, search 100/min; time scaled {args.scale:g}x (figures at full scale)")
    for name, code in runs:
        for result, (_, _, goal) in zip(_run(code, args.scale), SCENARIOS, strict=True):
            verdict = "ok" if result["after_first_max"] <= goal else "over"
            print(f"{name:6} {json.dumps(result)}  goal <= {goal} after the first interval: {verdict}")


if __name__ == "__main__":
    main()
